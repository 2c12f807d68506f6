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

# What to build: "envtest" (apiserver + etcd + kubectl), "all" (adds controller-manager, scheduler, kwok)
# or "node" (all of "all" but kwok, plus kubelet, kube-proxy and containerd for the real-kubelet test bed).
WHAT="${1:-envtest}"

mkdir -p "${BIN_DIR}"
# What `kubelet --version` and the API server's /version say (a module build leaves them empty).
VERSION_LDFLAGS="-X k8s.io/component-base/version.gitVersion=v${KUBE_VERSION} -X k8s.io/component-base/version.gitMajor=${KUBE_VERSION%%.*}"
VERSION_LDFLAGS+=" -X k8s.io/component-base/version.gitMinor=$(echo "${KUBE_VERSION}" | cut -d. -f2)"

build() {
  local name="$1" pkg="$2"
  if [[ -x "${BIN_DIR}/${name}" ]]; then
    echo "cached   ${name}" >&2
    return
  fi
  echo "building ${name} (${pkg}); the first kube-apiserver build takes about 10 minutes on 2 cores" >&2
  local start=$SECONDS
  (cd "${HERE}/controlplane" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w ${VERSION_LDFLAGS}" -o "${BIN_DIR}/${name}.tmp" "${pkg}")
  mv "${BIN_DIR}/${name}.tmp" "${BIN_DIR}/${name}"
  echo "built    ${name} in $((SECONDS - start))s" >&2
}

build etcd ./etcd
build kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
build kubectl k8s.io/kubernetes/cmd/kubectl

if [[ "${WHAT}" == "all" || "${WHAT}" == "node" ]]; then
  build kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
  build kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
fi

if [[ "${WHAT}" == "all" ]]; then
  for tool in kwok kwokctl; do
    if [[ ! -x "${BIN_DIR}/${tool}" ]]; then
      echo "building ${tool} ${KWOK_VERSION}" >&2
      GOBIN="${BIN_DIR}" go install "sigs.k8s.io/kwok/cmd/${tool}@${KWOK_VERSION}"
    else
      echo "cached   ${tool}" >&2
    fi
  done
fi

if [[ "${WHAT}" == "node" ]]; then
  # What the node needs from Debian: the CNI plugins, iptables and conntrack for kube-proxy, a static
  # busybox for the test images' shell, and libseccomp to build runc with.
  if [[ ! -x /usr/lib/cni/bridge || ! -x /bin/busybox ]] || ! command -v iptables conntrack pkg-config >/dev/null ||
    [[ ! -f /usr/include/seccomp.h ]]; then
    echo "installing the node's Debian packages" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends containernetworking-plugins \
      iptables conntrack busybox-static file libseccomp-dev pkg-config >/dev/null
  fi
  build kubelet k8s.io/kubernetes/cmd/kubelet
  build kube-proxy k8s.io/kubernetes/cmd/kube-proxy
  # containerd from the module proxy: Debian's 1.6 predates the CRI calls this kubelet needs. Static, without
  # the snapshotters that need C libraries (overlayfs and native are what the test bed uses).
  CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.2.9}"
  for tool in containerd containerd-shim-runc-v2 ctr; do
    if [[ -x "${BIN_DIR}/${tool}" ]] && { "${BIN_DIR}/${tool}" --version 2>/dev/null || "${BIN_DIR}/${tool}" -v 2>/dev/null; } | grep -q "${CONTAINERD_VERSION}"; then
      echo "cached   ${tool}" >&2
      continue
    fi
    echo "building ${tool} ${CONTAINERD_VERSION}" >&2
    CGO_ENABLED=0 GOBIN="${BIN_DIR}" go install -trimpath -tags "no_btrfs no_devmapper no_zfs no_aufs" \
      -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=${CONTAINERD_VERSION}" \
      "github.com/containerd/containerd/v2/cmd/${tool}@${CONTAINERD_VERSION}"
  done
  # runc from the proxy too: Debian's 1.1.5 cannot start a container on these kernels ("can't get final
  # child's PID from pipe: EOF"). It needs cgo for its nsenter part and seccomp.
  RUNC_VERSION="${RUNC_VERSION:-v1.4.4}"
  if [[ -x "${BIN_DIR}/runc" ]] && "${BIN_DIR}/runc" --version | grep -q "${RUNC_VERSION#v}"; then
    echo "cached   runc" >&2
  else
    echo "building runc ${RUNC_VERSION}" >&2
    CGO_ENABLED=1 GOBIN="${BIN_DIR}" go install -trimpath -tags "seccomp urfave_cli_no_docs" \
      -ldflags "-X main.version=${RUNC_VERSION#v}" "github.com/opencontainers/runc@${RUNC_VERSION}"
  fi
fi

echo "${BIN_DIR}"
