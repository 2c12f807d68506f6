#!/usr/bin/env bash
# A one-node cluster whose kubelet starts real containers, on this machine (needs root):
# etcd, kube-apiserver, controller-manager, scheduler, kube-proxy and kubelet built from the Go module
# proxy (hack/build-controlplane.sh node), containerd from the proxy too, Debian's runc and CNI plugins.
#
#   hack/kubelet-cluster.sh up      start it; writes the kubeconfig to $STATE/kubeconfig
#   hack/kubelet-cluster.sh down    stop every process and container, remove the bridge and the rules
#   hack/kubelet-cluster.sh import TAR...   import image archives into the node's containerd
#
# The network is a test bed of its own: pods get addresses of 198.18.0.0/16 on the bridge stellar0
# (198.18.0.1 is the node), Services 198.19.0.0/16, both inside 198.18.0.0/15, which is reserved for
# network test beds. Pods have no default route and a FORWARD rule drops anything from the bridge to
# another range, so nothing a pod sends leaves the test bed; pods get no DNS server.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${STELLAR_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stellar-operator}"
STATE="${KUBELET_CLUSTER_STATE:-${CACHE_ROOT}/kubelet-cluster}"
RUN=/run/stellar-test-bed
NODE=stellar-test-bed
BRIDGE=stellar0
NODE_IP=198.18.0.1
POD_RANGE=198.18.0.0/16
SERVICE_RANGE=198.19.0.0/16
BED_RANGE=198.18.0.0/15
SOCK="${RUN}/containerd.sock"
PV_COUNT="${KUBELET_CLUSTER_PVS:-8}"
# The validators' user (internal/resources/security.go): hostPath volumes are not chowned by fsGroup.
POD_UID=10001

# Where hack/build-controlplane.sh puts what it builds; down and import never build.
BIN="${CACHE_ROOT}/controlplane/v$("${ROOT}/hack/kube-version.sh")/bin"

step() { printf '==> %s\n' "$*" >&2; }

bins() {
  BIN="$("${ROOT}/hack/build-controlplane.sh" node | tail -n1)"
  export PATH="${BIN}:${PATH}"
}

ctr_() { "${BIN}/ctr" --address "${SOCK}" -n k8s.io "$@"; }

start() { # name, then the command
  local name="$1"
  shift
  nohup "$@" >"${STATE}/logs/${name}.log" 2>&1 &
  echo $! >"${STATE}/pids/${name}"
}

wait_for() { # what, then a command that succeeds when it is there
  local what="$1"
  shift
  for _ in $(seq 1 120); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "${what} did not come up; its log:" >&2
  tail -n 30 "${STATE}/logs/${what}.log" >&2 || true
  return 1
}

pki() {
  local dir="${STATE}/pki"
  mkdir -p "${dir}"
  [[ -f "${dir}/done" ]] && return
  cd "${dir}"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.crt \
    -days 30 -subj "/CN=stellar-test-bed-ca" 2>/dev/null
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  cert() { # file, subject, extensions
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -out "$1.crt" -days 30 \
      -extfile <(printf '%s\n' "$3") 2>/dev/null
    rm -f "$1.csr"
  }
  cert apiserver "/CN=kube-apiserver" \
    "subjectAltName=IP:${NODE_IP},IP:198.19.0.1,IP:127.0.0.1,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc
extendedKeyUsage=serverAuth"
  cert kubelet "/CN=${NODE}" "subjectAltName=IP:${NODE_IP},DNS:${NODE}
extendedKeyUsage=serverAuth"
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" "extendedKeyUsage=clientAuth"
  cert admin "/O=system:masters/CN=stellar-test-bed-admin" "extendedKeyUsage=clientAuth"
  cert node "/O=system:nodes/CN=system:node:${NODE}" "extendedKeyUsage=clientAuth"
  touch done
  cd - >/dev/null
}

kubeconfig() { # file, client cert name
  local pki="${STATE}/pki"
  KUBECONFIG="$1" kubectl config set-cluster bed --server="https://${NODE_IP}:6443" \
    --certificate-authority="${pki}/ca.crt" --embed-certs >/dev/null
  KUBECONFIG="$1" kubectl config set-credentials user --client-certificate="${pki}/$2.crt" \
    --client-key="${pki}/$2.key" --embed-certs >/dev/null
  KUBECONFIG="$1" kubectl config set-context bed --cluster=bed --user=user >/dev/null
  KUBECONFIG="$1" kubectl config use-context bed >/dev/null
}

network() {
  if ! ip link show "${BRIDGE}" >/dev/null 2>&1; then
    ip link add "${BRIDGE}" type bridge
    ip addr add "${NODE_IP}/16" dev "${BRIDGE}"
  fi
  ip link set "${BRIDGE}" up
  # Nothing from the bridge is forwarded outside the test bed's range.
  iptables -C FORWARD -i "${BRIDGE}" ! -d "${BED_RANGE}" -j DROP 2>/dev/null ||
    iptables -I FORWARD -i "${BRIDGE}" ! -d "${BED_RANGE}" -j DROP
  mkdir -p "${STATE}/cni"
  cat >"${STATE}/cni/10-stellar-test-bed.conflist" <<EOF
{"cniVersion": "1.0.0", "name": "stellar-test-bed", "plugins": [
  {"type": "bridge", "bridge": "${BRIDGE}", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "${STATE}/cni-ipam",
            "ranges": [[{"subnet": "${POD_RANGE}", "rangeStart": "198.18.1.1", "rangeEnd": "198.18.255.254", "gateway": "${NODE_IP}"}]],
            "routes": [{"dst": "${BED_RANGE}"}]}}
]}
EOF
}

containerd_config() {
  cat >"${STATE}/containerd.toml" <<EOF
version = 3
root = "${STATE}/containerd"
state = "${RUN}/containerd"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "${SOCK}"
[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "localhost/stellar-operator-test/pause:1"
[plugins.'io.containerd.cri.v1.runtime']
  enable_cdi = false
  # These machines withhold CAP_SYS_RESOURCE even from root: no score below containerd's own.
  restrict_oom_score_adj = true
  [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
      BinaryName = "${BIN}/runc"
      SystemdCgroup = false
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["/usr/lib/cni"]
    conf_dir = "${STATE}/cni"
[plugins.'io.containerd.grpc.v1.cri']
  stream_server_address = "127.0.0.1"
EOF
}

kubelet_config() {
  : >"${STATE}/resolv.conf"
  cat >"${STATE}/kubelet.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# These machines boot cgroup v1: Kubernetes 1.35 and later refuse it unless told.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://${SOCK}
address: ${NODE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
tlsCertFile: ${STATE}/pki/kubelet.crt
tlsPrivateKeyFile: ${STATE}/pki/kubelet.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: ${STATE}/pki/ca.crt}
authorization: {mode: Webhook}
# No DNS server in the test bed: pods get none rather than this machine's.
resolvConf: ${STATE}/resolv.conf
podLogsDir: ${STATE}/pod-logs
failSwapOn: false
serializeImagePulls: false
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
EOF
  cat >"${STATE}/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: ${STATE}/admin.kubeconfig}
hostnameOverride: ${NODE}
mode: iptables
clusterCIDR: ${POD_RANGE}
bindAddress: ${NODE_IP}
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
conntrack: {maxPerCore: 0}
EOF
}

volumes() {
  kubectl --kubeconfig="${STATE}/kubeconfig" apply -f - >/dev/null <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: stellar-test-bed}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Retain
EOF
  for i in $(seq 1 "${PV_COUNT}"); do
    mkdir -p "${STATE}/volumes/pv-${i}"
    chown "${POD_UID}:${POD_UID}" "${STATE}/volumes/pv-${i}"
    kubectl --kubeconfig="${STATE}/kubeconfig" apply -f - >/dev/null <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: stellar-test-bed-pv-${i}}
spec:
  capacity: {storage: 20Gi}
  accessModes: [ReadWriteOnce]
  storageClassName: stellar-test-bed
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: ${STATE}/volumes/pv-${i}, type: Directory}
EOF
  done
}

up() {
  [[ "$(id -u)" == 0 ]] || { echo "the real-kubelet test bed needs root (kubelet, containerd, network)" >&2; exit 1; }
  bins
  down_quietly
  rm -rf "${STATE}/etcd" "${STATE}/logs" "${STATE}/pids" "${STATE}/volumes" "${STATE}/cni-ipam"
  mkdir -p "${STATE}/logs" "${STATE}/pids" "${RUN}"
  step "kubelet $("${BIN}/kubelet" --version), $("${BIN}/containerd" --version | awk '{print $1, $3}'), $("${BIN}/runc" --version | head -n1), CNI plugins $(dpkg-query -W -f='${Version}' containernetworking-plugins 2>/dev/null || echo '?')"
  pki
  network
  kubeconfig "${STATE}/kubeconfig" admin
  cp "${STATE}/kubeconfig" "${STATE}/admin.kubeconfig"
  kubeconfig "${STATE}/node.kubeconfig" node
  containerd_config
  kubelet_config
  local pki="${STATE}/pki"

  step "etcd and kube-apiserver on ${NODE_IP}:6443"
  start etcd "${BIN}/etcd" --name bed --data-dir "${STATE}/etcd" \
    --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \
    --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 \
    --initial-cluster bed=http://127.0.0.1:23800
  start kube-apiserver "${BIN}/kube-apiserver" --etcd-servers=http://127.0.0.1:23790 \
    --bind-address="${NODE_IP}" --advertise-address="${NODE_IP}" --secure-port=6443 \
    --service-cluster-ip-range="${SERVICE_RANGE}" \
    --tls-cert-file="${pki}/apiserver.crt" --tls-private-key-file="${pki}/apiserver.key" \
    --client-ca-file="${pki}/ca.crt" --kubelet-certificate-authority="${pki}/ca.crt" \
    --kubelet-client-certificate="${pki}/apiserver-kubelet-client.crt" --kubelet-client-key="${pki}/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP \
    --service-account-key-file="${pki}/sa.pub" --service-account-signing-key-file="${pki}/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction
  wait_for kube-apiserver kubectl --kubeconfig="${STATE}/kubeconfig" get --raw /readyz

  step "controller-manager and scheduler"
  start kube-controller-manager "${BIN}/kube-controller-manager" --kubeconfig="${STATE}/admin.kubeconfig" \
    --authentication-kubeconfig="${STATE}/admin.kubeconfig" --authorization-kubeconfig="${STATE}/admin.kubeconfig" \
    --service-account-private-key-file="${pki}/sa.key" --root-ca-file="${pki}/ca.crt" \
    --use-service-account-credentials --leader-elect=false --bind-address=127.0.0.1 --secure-port=10357
  start kube-scheduler "${BIN}/kube-scheduler" --kubeconfig="${STATE}/admin.kubeconfig" \
    --authentication-kubeconfig="${STATE}/admin.kubeconfig" --authorization-kubeconfig="${STATE}/admin.kubeconfig" \
    --leader-elect=false --bind-address=127.0.0.1 --secure-port=10359

  step "containerd, the test bed's pause image, kubelet and kube-proxy"
  PATH="${BIN}:${PATH}" start containerd "${BIN}/containerd" --config "${STATE}/containerd.toml"
  wait_for containerd "${BIN}/ctr" --address "${SOCK}" version
  pause_image
  start kubelet "${BIN}/kubelet" --config="${STATE}/kubelet.yaml" --kubeconfig="${STATE}/node.kubeconfig" \
    --root-dir="${STATE}/kubelet" --hostname-override="${NODE}" --node-ip="${NODE_IP}" --v=1
  start kube-proxy "${BIN}/kube-proxy" --config="${STATE}/kube-proxy.yaml"
  wait_for kubelet kubectl --kubeconfig="${STATE}/kubeconfig" wait --for=condition=Ready "node/${NODE}" --timeout=2s
  volumes
  kubectl --kubeconfig="${STATE}/kubeconfig" get nodes -o wide >&2
  echo "${STATE}/kubeconfig"
}

# The sandbox image every pod starts with; no registry is reachable, so it is made here.
pause_image() {
  local tar="${STATE}/pause.tar"
  if [[ ! -s "${tar}" ]]; then
    (cd "${ROOT}/hack/images" && go run . -o "${tar}" -name localhost/stellar-operator-test/pause:1 \
      -file /bin/busybox="$(busybox_static)" -link /bin/sleep=busybox -entrypoint /bin/sleep,2147483647 -user 65535:65535)
  fi
  ctr_ images import "${tar}" >/dev/null
}

busybox_static() {
  file -L /bin/busybox | grep -q 'statically linked' || { echo "/bin/busybox is not static: install busybox-static" >&2; exit 1; }
  echo /bin/busybox
}

import() {
  for tar in "$@"; do
    ctr_ images import "${tar}" | sed 's/^/    /' >&2
  done
}

stop_pid() {
  local file="${STATE}/pids/$1"
  [[ -f "${file}" ]] || return 0
  local pid
  pid="$(cat "${file}")"
  kill "${pid}" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "${pid}" 2>/dev/null || break; sleep 0.2; done
  kill -9 "${pid}" 2>/dev/null || true
  rm -f "${file}"
}

down_quietly() {
  stop_pid kubelet
  stop_pid kube-proxy
  if [[ -S "${SOCK}" && -x "${BIN}/ctr" ]]; then
    for task in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "${task}" >/dev/null 2>&1 || true; done
    sleep 1
    for task in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "${task}" >/dev/null 2>&1 || true; done
    for c in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "${c}" >/dev/null 2>&1 || true; done
  fi
  pkill -9 -f "containerd-shim-runc-v2 -namespace k8s.io -address ${SOCK}" 2>/dev/null || true
  for name in containerd kube-scheduler kube-controller-manager kube-apiserver etcd; do stop_pid "${name}"; done
  if [[ -x "${BIN}/kube-proxy" ]]; then "${BIN}/kube-proxy" --cleanup >/dev/null 2>&1 || true; fi
  # What the kubelet and containerd mounted (memory volumes, service account tokens, rootfs, netns).
  { grep -oE " (${STATE}|${RUN})/[^ ]+" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "${m}" 2>/dev/null || true; done
  for ns in $(ip netns list 2>/dev/null | awk '/^cni-/{print $1}'); do ip netns delete "${ns}" 2>/dev/null || true; done
  iptables -D FORWARD -i "${BRIDGE}" ! -d "${BED_RANGE}" -j DROP 2>/dev/null || true
  ip link delete "${BRIDGE}" 2>/dev/null || true
  rm -rf "${RUN}" "${STATE}/kubelet" "${STATE}/containerd"
}

down() {
  down_quietly
  step "the real-kubelet test bed is down"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  import) shift; import "$@" ;;
  *) echo "usage: $0 up|down|import TAR..." >&2; exit 2 ;;
esac
