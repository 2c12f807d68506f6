# Image of the operator; the same image runs the validators' render-config init step.
IMG ?= stellar-operator:latest
# The release `manager version`, its start-up log line and stellar_operator_build_info report; unset, the commit.
VERSION ?=
VERSION_LDFLAGS = $(if $(VERSION),-X github.com/stellar-k8s/stellar-operator/internal/operator.Version=$(VERSION))

# Control plane used by the tests, built from the Go module proxy (see hack/build-controlplane.sh).
# Its version is written once, in hack/controlplane/go.mod.
KUBE_VERSION ?= $(shell hack/kube-version.sh)
CONTROLPLANE_CACHE ?= $(or $(STELLAR_OPERATOR_CACHE),$(or $(XDG_CACHE_HOME),$(HOME)/.cache)/stellar-operator)
CONTROLPLANE_BIN ?= $(CONTROLPLANE_CACHE)/controlplane/v$(KUBE_VERSION)/bin

SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec

GOBIN ?= $(shell go env GOPATH)/bin

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Demo

.PHONY: demo
demo: ## Start a simulated cluster on this machine, run the operator and three validators, show the result.
	@hack/demo.sh up

.PHONY: demo-down
demo-down: ## Remove the demo cluster and stop its operator.
	@hack/demo.sh down

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD and RBAC manifests from the Go markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: controller-gen ## Generate deepcopy code and docs/API.md.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."
	go run ./hack/apidocs config/crd/bases/stellar.org_stellarnodes.yaml config/crd/bases/stellar.org_stellarnetworkupgrades.yaml > docs/API.md

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet, the e2e, bench and kubelet suites included.
	go vet -tags e2e,bench,stellarcore,kubelet ./...

.PHONY: lint
lint: golangci-lint ## Run golangci-lint.
	$(GOLANGCI_LINT) run

.PHONY: lint-fix
lint-fix: golangci-lint ## Run golangci-lint and apply its fixes.
	$(GOLANGCI_LINT) run --fix

.PHONY: golden
golden: ## Rewrite the golden files of the stellar-core config renderer; review the diff.
	go test ./internal/stellarcore/ -update

.PHONY: controlplane
controlplane: ## Build (or reuse) kube-apiserver, etcd and kubectl for envtest.
	@hack/build-controlplane.sh envtest >/dev/null

.PHONY: controlplane-all
controlplane-all: ## Build (or reuse) the whole simulated cluster: adds controller-manager, scheduler, kwok.
	@hack/build-controlplane.sh all >/dev/null

.PHONY: test
test: manifests generate fmt vet controlplane ## Run unit and envtest integration tests, with the race detector.
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_BIN)" go test -race ./... -coverprofile cover.out

# Real stellar-core binaries for test-stellar-core, space-separated; without one its tests skip and say so.
STELLAR_CORE ?=
STELLAR_CORE_TESTS = TestRealStellarCore|TestThreeValidators|TestFullValidators

.PHONY: test-stellar-core
test-stellar-core: ## Prove configurations and consensus against real stellar-core binaries (STELLAR_CORE="path [path...]"), each with its own release line.
	@if [ -z "$(strip $(STELLAR_CORE))" ]; then \
	  STELLAR_CORE= go test -tags stellarcore ./internal/stellarcore/ -run '$(STELLAR_CORE_TESTS)' -v -timeout 20m; \
	else for core in $(STELLAR_CORE); do \
	  echo "== stellar-core binary $$core: $$($$core version | head -n 1)"; \
	  STELLAR_CORE="$$core" go test -count=1 -tags stellarcore ./internal/stellarcore/ -run '$(STELLAR_CORE_TESTS)' -v -timeout 20m || exit 1; \
	done; fi

FUZZTIME ?= 60s

.PHONY: fuzz
fuzz: ## Fuzz the spec -> base config -> stellar-peers -> final config path for FUZZTIME (seed corpus in the test).
	go test ./internal/stellarcore/ -run '^$$' -fuzz FuzzRenderPath -fuzztime $(FUZZTIME)

.PHONY: release-tables
release-tables: ## Re-read stellar-core's keys and rules per release line from its tags (STELLAR_CORE_SRC=path/to/stellar-core.git).
	go run ./hack/corekeys --src="$(STELLAR_CORE_SRC)" --out=internal/stellarcore/releases

.PHONY: test-e2e
test-e2e: manifests generate fmt vet ## Run the end-to-end suite on a simulated cluster (kwok), the operator as its own process.
	@hack/build-controlplane.sh all >/dev/null
	go test -tags e2e ./test/e2e/ -v -ginkgo.v -timeout 30m

CHAOS_STEPS ?= 40
CHAOS_SEED ?= $(shell date +%s)
.PHONY: test-chaos
test-chaos: manifests generate fmt vet ## Run the Tier-1 specs and a seeded schedule of CHAOS_STEPS combined faults on two simulated clusters (CHAOS_SEED to repeat one).
	@hack/build-controlplane.sh all >/dev/null
	CHAOS_SEED=$(CHAOS_SEED) CHAOS_STEPS=$(CHAOS_STEPS) go test -tags e2e ./test/e2e/ -v -ginkgo.v -ginkgo.focus "Tier-1" -timeout 120m

.PHONY: cluster-real
cluster-real: ## Start a one-node cluster whose kubelet runs real containers (root; pods on 198.18.0.0/16); prints its kubeconfig.
	@hack/kubelet-cluster.sh up

.PHONY: cluster-real-down
cluster-real-down: ## Stop the real-kubelet cluster and remove its network.
	@hack/kubelet-cluster.sh down

.PHONY: test-kubelet
test-kubelet: manifests kustomize ## Install the operator with make deploy on the real-kubelet cluster and run test/kubelet (STELLAR_CORE="path" for a real stellar-core image).
	hack/test-kubelet.sh

.PHONY: bench
bench: controlplane ## Measure discovery against the seed's polling design at 10, 100 and 1000 validators.
	mkdir -p test/bench/results
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_BIN)" go test -tags bench ./test/bench/ -run TestBench -v -timeout 3h -args -out=$(CURDIR)/test/bench/results/latest.json

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary (VERSION=v0.2.0 stamps `manager version`).
	go build -ldflags "$(VERSION_LDFLAGS)" -o bin/manager ./cmd

.PHONY: run
run: manifests generate fmt vet ## Run the operator against the current kubeconfig.
	go run ./cmd

.PHONY: docker-build
docker-build: ## Build the operator image (needs a Docker engine).
	docker build --build-arg VERSION=$(VERSION) -t $(IMG) .

.PHONY: build-installer
build-installer: manifests generate kustomize ## Write dist/install.yaml: CRDs and the operator in one file.
	mkdir -p dist
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default > dist/install.yaml

.PHONY: cluster-wide-installer
cluster-wide-installer: manifests generate kustomize ## Write dist/install-cluster-wide.yaml: the operator watching and bound in every namespace.
	mkdir -p dist
	$(KUSTOMIZE) build config/cluster-wide > dist/install-cluster-wide.yaml

.PHONY: secure-metrics-installer
secure-metrics-installer: manifests generate kustomize ## Write dist/install-secure-metrics.yaml: the operator with a cert-manager metrics certificate Prometheus verifies.
	mkdir -p dist
	$(KUSTOMIZE) build config/secure-metrics > dist/install-secure-metrics.yaml

.PHONY: remote-clusters-installer
remote-clusters-installer: manifests generate kustomize ## Write dist/install-remote-clusters.yaml: the operator reading other clusters (docs/TIER1.md).
	mkdir -p dist
	$(KUSTOMIZE) build config/remote-clusters > dist/install-remote-clusters.yaml

.PHONY: remote-access
remote-access: kustomize ## Write dist/remote-access.yaml: the read-only access other clusters' operators get here (docs/TIER1.md).
	mkdir -p dist
	$(KUSTOMIZE) build config/remote-access > dist/remote-access.yaml

.PHONY: monitoring
monitoring: kustomize ## Render the optional monitoring: config/prometheus and config/grafana into dist/.
	mkdir -p dist
	$(KUSTOMIZE) build config/prometheus > dist/monitoring.yaml
	$(KUSTOMIZE) build config/grafana > dist/grafana-dashboard.yaml

CHART_VERSION ?= 0.1.0
CHART_RENDERS = $(LOCALBIN)/chart-renders

.PHONY: chart
chart: manifests kustomize ## Regenerate dist/chart, the Helm chart, from config/default and its overlays (hack/chart).
	mkdir -p $(CHART_RENDERS)
	for o in default cluster-wide secure-metrics remote-clusters prometheus; do $(KUSTOMIZE) build config/$$o > $(CHART_RENDERS)/$$o.yaml; done
	go run ./hack/chart -renders $(CHART_RENDERS) -out $(or $(CHART_OUT),dist/chart) -version $(CHART_VERSION) -app-version $(or $(APP_VERSION),latest)

# The chart's switches; chart-check renders every combination of them.
CHART_SWITCHES = clusterWide secureMetrics.enabled remoteClusters.enabled monitoring.enabled

.PHONY: chart-check
chart-check: chart helm ## helm lint and helm template of dist/chart: each overlay's render equal to kustomize's, every combination renders, RBAC as the kustomize install's.
	$(HELM) lint dist/chart
	$(HELM) lint dist/chart --set $(subst $(space),$(comma),$(addsuffix =true,$(CHART_SWITCHES)))
	@set -e; t="$(HELM) template stellar-operator dist/chart -n stellar-operator-system --include-crds --set namespace.create=true"; \
	r=$(CHART_RENDERS); \
	$$t > $$r/helm-default.yaml; go run ./hack/chart -compare $$r/default.yaml $$r/helm-default.yaml; \
	$$t --set clusterWide=true > $$r/helm-cluster-wide.yaml; go run ./hack/chart -compare $$r/cluster-wide.yaml $$r/helm-cluster-wide.yaml; \
	$$t --set secureMetrics.enabled=true > $$r/helm-secure-metrics.yaml; go run ./hack/chart -compare $$r/secure-metrics.yaml $$r/helm-secure-metrics.yaml; \
	$$t --set remoteClusters.enabled=true > $$r/helm-remote-clusters.yaml; go run ./hack/chart -compare $$r/remote-clusters.yaml $$r/helm-remote-clusters.yaml; \
	cat $$r/default.yaml > $$r/default-monitoring.yaml; echo --- >> $$r/default-monitoring.yaml; cat $$r/prometheus.yaml >> $$r/default-monitoring.yaml; \
	$$t --set monitoring.enabled=true > $$r/helm-monitoring.yaml; go run ./hack/chart -compare $$r/default-monitoring.yaml $$r/helm-monitoring.yaml; \
	for rbac in helm-default helm-secure-metrics helm-remote-clusters; do go run ./hack/rbaccheck $$r/$$rbac.yaml; done; \
	$$t --set 'watchNamespaces={validators,more}' > $$r/helm-watched.yaml; go run ./hack/rbaccheck $$r/helm-watched.yaml; \
	grep -q -- '--watch-namespaces=stellar-operator-system,validators,more' $$r/helm-watched.yaml; \
	n=0; for cw in false true; do for sm in false true; do for rc in false true; do for mon in false true; do \
	  $$t --set clusterWide=$$cw,secureMetrics.enabled=$$sm,remoteClusters.enabled=$$rc,monitoring.enabled=$$mon >/dev/null; n=$$((n+1)); \
	done; done; done; done; echo "chart-check: every overlay's render equals kustomize's; $$n combinations of the switches render"

comma := ,
space := $(empty) $(empty)

.PHONY: release
release: manifests generate kustomize helm ## Render a release: make release VERSION=0.2.0 [IMG_REPO=registry/stellar-operator] writes dist/release/ (install files, the packaged chart).
	@test -n "$(VERSION)" || { echo "make release VERSION=x.y.z" >&2; exit 1; }
	rm -rf dist/release && mkdir -p dist/release
	cp config/manager/kustomization.yaml $(LOCALBIN)/kustomization.yaml.before-release
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(or $(IMG_REPO),stellar-operator):v$(VERSION)
	for o in default cluster-wide secure-metrics remote-clusters; do $(KUSTOMIZE) build config/$$o > dist/release/install-$$o.yaml; done
	mv dist/release/install-default.yaml dist/release/install.yaml
	cp $(LOCALBIN)/kustomization.yaml.before-release config/manager/kustomization.yaml
	$(KUSTOMIZE) build config/prometheus > dist/release/monitoring.yaml
	$(MAKE) chart CHART_VERSION=$(VERSION) APP_VERSION=v$(VERSION) CHART_OUT=dist/release/chart
	sed -i 's|^  repository: stellar-operator$$|  repository: $(or $(IMG_REPO),stellar-operator)|' dist/release/chart/values.yaml
	$(HELM) lint dist/release/chart
	$(HELM) package dist/release/chart -d dist/release
	@echo "dist/release: install.yaml, install-cluster-wide.yaml, install-secure-metrics.yaml, install-remote-clusters.yaml, monitoring.yaml, stellar-operator-$(VERSION).tgz (image $(or $(IMG_REPO),stellar-operator):v$(VERSION)); build the image with make docker-build VERSION=v$(VERSION)"

##@ Deployment

ifndef ignore-not-found
  ignore-not-found = false
endif

.PHONY: install
install: manifests kustomize ## Install the CRDs into the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply -f -

.PHONY: uninstall
uninstall: manifests kustomize ## Remove the CRDs, and so every StellarNode and its validator, from the cluster of the current kubeconfig.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: deploy
deploy: manifests kustomize ## Deploy the operator to the cluster of the current kubeconfig.
	cd config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build config/default | $(KUBECTL) apply -f -

.PHONY: undeploy
undeploy: kustomize ## Remove the operator from the cluster of the current kubeconfig; its CRDs, namespace and validators stay.
	$(KUSTOMIZE) build config/undeploy | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

.PHONY: undeploy-all
undeploy-all: kustomize ## Remove the operator and its CRDs: every StellarNode, validator and the namespace go with them.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found=$(ignore-not-found) -f -

##@ Tools

LOCALBIN ?= $(shell pwd)/bin
$(LOCALBIN):
	mkdir -p $(LOCALBIN)

KUBECTL ?= kubectl
KUSTOMIZE ?= $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
GOLANGCI_LINT ?= $(LOCALBIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)
HELM ?= $(LOCALBIN)/helm-$(HELM_VERSION)

KUSTOMIZE_VERSION ?= v5.7.1
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0
HELM_VERSION ?= v4.3.2

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Install kustomize into ./bin.
$(KUSTOMIZE): | $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into ./bin.
$(CONTROLLER_GEN): | $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: helm
helm: $(HELM) ## Install the helm CLI into ./bin (built from the Go module proxy).
$(HELM): | $(LOCALBIN)
	$(call go-install-tool,$(HELM),helm.sh/helm/v4/cmd/helm,$(HELM_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Install golangci-lint into ./bin.
$(GOLANGCI_LINT): | $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

# go-install-tool installs a pinned Go tool as $(1), a versioned file in ./bin.
define go-install-tool
@[ -f "$(1)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Installing $${package}" ;\
rm -f $(1) || true ;\
GOBIN=$(LOCALBIN) go install $${package} ;\
mv $(LOCALBIN)/$$(basename "$$(echo "$(2)" | sed "s/\/v[0-9]*$$//")") $(1) ;\
}
endef
