#!/usr/bin/env bash
# make test-kubelet: the operator installed with `make deploy` on the real-kubelet test bed
# (hack/kubelet-cluster.sh), its validators' pods started by a real kubelet, then the scenarios of
# test/kubelet, then the test bed torn down. Needs root.
#
# STELLAR_CORE="path [path...]": the first real stellar-core binary given makes the validators' image;
# without one, the fake of test/kubelet/fakecore does (everything but consensus runs).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${STELLAR_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stellar-operator}"
IMAGES="${CACHE_ROOT}/kubelet-cluster/images"
REPO=localhost/stellar-operator-test
start=$SECONDS

step() { printf '==> %s\n' "$*" >&2; }

cd "${ROOT}"
mkdir -p "${IMAGES}"
KUBECONFIG="$(hack/kubelet-cluster.sh up | tail -n1)"
export KUBECONFIG
# KEEP_CLUSTER=1 leaves the cluster up afterwards, to look at (make cluster-real-down removes it).
trap '[[ -n "${KEEP_CLUSTER:-}" ]] || hack/kubelet-cluster.sh down; git checkout -- config/manager/kustomization.yaml 2>/dev/null || true' EXIT

assemble() { (cd "${ROOT}/hack/images" && go run . "$@"); }

step "the manager image, from the Dockerfile's build step (a static binary) on a base assembled here"
CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o "${IMAGES}/manager" ./cmd
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"${IMAGES}/passwd"
tag="$(git rev-parse --short HEAD)"
MANAGER_IMAGE="${REPO}/manager:${tag}"
assemble -o "${IMAGES}/manager.tar" -name "${MANAGER_IMAGE}" -file /manager="${IMAGES}/manager" \
  -file /etc/passwd="${IMAGES}/passwd:0644" -dir /tmp:1777 -dir /home/nonroot:0700 -user 65532:65532 -entrypoint /manager
# The same manager under another tag: what an operator upgrade installs.
MANAGER_IMAGE_NEXT="${MANAGER_IMAGE}-next"
assemble -o "${IMAGES}/manager-next.tar" -name "${MANAGER_IMAGE_NEXT}" -file /manager="${IMAGES}/manager" \
  -file /etc/passwd="${IMAGES}/passwd:0644" -dir /tmp:1777 -dir /home/nonroot:0700 -user 65532:65532 -entrypoint /manager

# The validators' shell: the start script needs sh and touch; the scenarios use the rest.
shell=(-file /bin/busybox=/bin/busybox)
for applet in sh touch cat stat id sleep kill ls; do shell+=(-link "/bin/${applet}=busybox"); done

core=""
for candidate in ${STELLAR_CORE:-}; do
  if [[ -x "${candidate}" ]]; then core="${candidate}"; break; fi
done
if [[ -n "${core}" ]]; then
  version="$("${core}" version | head -n1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' | head -n1)"
  CORE_IMAGE="${REPO}/stellar-core:${version}"
  libs=()
  while read -r lib; do libs+=(-file "${lib}=${lib}:0755"); done < <(ldd "${core}" | grep -oE '/[^ ]+' | sort -u)
  step "the validators' image: the real stellar-core ${version} from ${core}, with the ${#libs[@]} files ldd names"
  core_files=(-file /usr/bin/stellar-core="${core}" "${libs[@]}")
else
  version=26.0.1
  CORE_IMAGE="${REPO}/stellar-core-fake:${version}"
  step "the validators' image: no STELLAR_CORE given, so the fake stellar-core of test/kubelet/fakecore as ${version}"
  CGO_ENABLED=0 go build -trimpath -ldflags "-X main.version=${version}" -o "${IMAGES}/fakecore" ./test/kubelet/fakecore
  core_files=(-file /usr/bin/stellar-core="${IMAGES}/fakecore")
fi
assemble -o "${IMAGES}/core.tar" -name "${CORE_IMAGE}" "${core_files[@]}" "${shell[@]}" -dir /tmp:1777 -user 10001:10001
hack/kubelet-cluster.sh import "${IMAGES}/manager.tar" "${IMAGES}/manager-next.tar" "${IMAGES}/core.tar"

step "make deploy IMG=${MANAGER_IMAGE}"
KUBECTL="${CACHE_ROOT}/controlplane/v$(hack/kube-version.sh)/bin/kubectl"
make --no-print-directory deploy IMG="${MANAGER_IMAGE}" KUBECTL="${KUBECTL}"

step "the scenarios (test/kubelet)"
KUBELET_TEST_MANAGER_IMAGE="${MANAGER_IMAGE}" KUBELET_TEST_MANAGER_IMAGE_NEXT="${MANAGER_IMAGE_NEXT}" \
  KUBELET_TEST_CORE_IMAGE="${CORE_IMAGE}" KUBELET_TEST_CORE_VERSION="${version}" \
  KUBELET_TEST_REAL_CORE="${core}" KUBELET_TEST_KUBECTL="${KUBECTL}" \
  go test -tags kubelet ./test/kubelet/ -v -ginkgo.v -timeout 40m
step "make test-kubelet took $((SECONDS - start)) s"
