#!/usr/bin/env bash
# Builds kube-apiserver, etcd, kube-controller-manager, kube-scheduler and kubectl
# from the Go module proxy into a versioned cache outside the checkout, and kwok/kwokctl.
# Binaries already in the cache are reused. Prints the bin directory on the last line.
set -euo pipefail

KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
CACHE_ROOT="${STELLAR_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stellar-operator}"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KUBE_VERSION="${KUBE_VERSION:-$("${HERE}/kube-version.sh")}"
BIN_DIR="${CACHE_ROOT}/controlplane/v${KUBE_VERSION}/bin"

# What to build: "envtest" (apiserver + etcd + kubectl) or "all" (adds controller-manager, scheduler, kwok).
WHAT="${1:-envtest}"

mkdir -p "${BIN_DIR}"

build() {
  local name="$1" pkg="$2"
  if [[ -x "${BIN_DIR}/${name}" ]]; then
    echo "cached   ${name}" >&2
    return
  fi
  echo "building ${name} (${pkg}); the first kube-apiserver build takes about 10 minutes on 2 cores" >&2
  local start=$SECONDS
  (cd "${HERE}/controlplane" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${BIN_DIR}/${name}.tmp" "${pkg}")
  mv "${BIN_DIR}/${name}.tmp" "${BIN_DIR}/${name}"
  echo "built    ${name} in $((SECONDS - start))s" >&2
}

build etcd ./etcd
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kubectl k8s.io/kubernetes/cmd/kubectl

if [[ "${WHAT}" == "all" ]]; then
  build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
  build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
  for tool in kwok kwokctl; do
    if [[ ! -x "${BIN_DIR}/${tool}" ]]; then
      echo "building ${tool} ${KWOK_VERSION}" >&2
      GOBIN="${BIN_DIR}" go install "sigs.k8s.io/kwok/cmd/${tool}@${KWOK_VERSION}"
    else
      echo "cached   ${tool}" >&2
    fi
  done
fi

echo "${BIN_DIR}"
