#!/usr/bin/env bash
# Runs the operator against a simulated cluster on this machine: the real kube-apiserver, etcd,
# controller-manager and scheduler, with kwok's fake nodes that run pods as Ready with IPs.
#   hack/demo.sh up     build what is missing, start the cluster and the operator, apply the example
#   hack/demo.sh down   stop the operator and delete the cluster
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER="${DEMO_CLUSTER:-stellar-demo}"
NAMESPACE="${DEMO_NAMESPACE:-stellar}"
CACHE_ROOT="${STELLAR_OPERATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stellar-operator}"
STATE="${CACHE_ROOT}/demo/${CLUSTER}"
KUBECONFIG_PATH="${STATE}/kubeconfig"
METRICS_ADDR="${DEMO_METRICS_ADDR:-127.0.0.1:18080}"
PROBE_ADDR="${DEMO_PROBE_ADDR:-127.0.0.1:18081}"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

bins() {
  step "Control plane binaries (built once from the Go module proxy, then cached)"
  BIN="$("${ROOT}/hack/build-controlplane.sh" all | tail -n1)"
  echo "    ${BIN}"
  KWOKCTL="${BIN}/kwokctl"
  KUBECTL="${BIN}/kubectl --kubeconfig=${KUBECONFIG_PATH}"
}

stop_operator() {
  if [[ -f "${STATE}/operator.pid" ]]; then
    kill "$(cat "${STATE}/operator.pid")" 2>/dev/null || true
    rm -f "${STATE}/operator.pid"
  fi
}

up() {
  bins
  mkdir -p "${STATE}"
  stop_operator
  "${KWOKCTL}" delete cluster --name "${CLUSTER}" >/dev/null 2>&1 || true

  step "Starting the simulated cluster '${CLUSTER}' (kube-apiserver, etcd, controller-manager, scheduler, kwok)"
  "${KWOKCTL}" create cluster --name "${CLUSTER}" --runtime binary \
    --etcd-binary "${BIN}/etcd" --kube-apiserver-binary "${BIN}/kube-apiserver" \
    --kube-controller-manager-binary "${BIN}/kube-controller-manager" \
    --kube-scheduler-binary "${BIN}/kube-scheduler" --kwok-controller-binary "${BIN}/kwok" \
    --kubeconfig "${KUBECONFIG_PATH}" --wait 60s >"${STATE}/kwokctl.log" 2>&1
  "${KWOKCTL}" scale node --name "${CLUSTER}" --replicas 3 >>"${STATE}/kwokctl.log" 2>&1
  ${KUBECTL} get nodes

  step "Volumes for the validators (the simulated cluster has no provisioner)"
  for i in 1 2 3 4 5 6; do
    cat <<PV | ${KUBECTL} apply -f - >/dev/null
apiVersion: v1
kind: PersistentVolume
metadata:
  name: demo-pv-${i}
  labels: {app.kubernetes.io/part-of: stellar-operator-demo}
spec:
  capacity: {storage: 20Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Delete
  hostPath: {path: /tmp/stellar-demo-pv-${i}}
PV
  done
  echo "    6 PersistentVolumes of 20Gi"

  step "Installing the StellarNode CRD"
  ${KUBECTL} apply -f "${ROOT}/config/crd/bases"
  ${KUBECTL} wait --for=condition=Established crd/stellarnodes.stellar.org --timeout=30s >/dev/null

  step "Building and starting the operator (logs: ${STATE}/operator.log)"
  (cd "${ROOT}" && go build -o bin/manager ./cmd)
  ${KUBECTL} create namespace "${NAMESPACE}" >/dev/null
  # kwok's pod IPs are private addresses with nothing behind them: the validators' agents are not read.
  KUBECONFIG="${KUBECONFIG_PATH}" nohup "${ROOT}/bin/manager" --watch-namespaces="${NAMESPACE}" \
    --metrics-bind-address="${METRICS_ADDR}" --health-probe-bind-address="${PROBE_ADDR}" \
    --operator-image=stellar-operator:demo --log-format=console \
    --core-status-interval=0 --loopback-only-dials >"${STATE}/operator.log" 2>&1 &
  echo $! >"${STATE}/operator.pid"
  for _ in $(seq 1 100); do
    curl -sf "http://${PROBE_ADDR}/readyz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  echo "    operator running, pid $(cat "${STATE}/operator.pid")"

  step "Applying examples/multi-validator-with-peer-discovery.yaml in namespace ${NAMESPACE}"
  ${KUBECTL} -n "${NAMESPACE}" apply -f "${ROOT}/examples/multi-validator-with-peer-discovery.yaml"

  step "Waiting for the three validators to find each other"
  local start=$SECONDS peers=0
  while (( SECONDS - start < 120 )); do
    peers="$(${KUBECTL} -n "${NAMESPACE}" get configmap stellar-peers -o jsonpath='{.data.KNOWN_PEERS}' 2>/dev/null | grep -c . || true)"
    printf '\r    stellar-peers lists %s of 3 validators (%ss)' "${peers}" "$((SECONDS - start))"
    [[ "${peers}" == 3 ]] && break
    sleep 1
  done
  echo
  if [[ "${peers}" != 3 ]]; then
    echo "The validators did not find each other in time; the operator log follows." >&2
    tail -n 50 "${STATE}/operator.log" >&2
    exit 1
  fi

  step "StellarNodes"
  ${KUBECTL} -n "${NAMESPACE}" get stellarnodes -o wide
  step "Pods"
  ${KUBECTL} -n "${NAMESPACE}" get pods -o wide
  step "The stellar-peers ConfigMap"
  ${KUBECTL} -n "${NAMESPACE}" get configmap stellar-peers -o jsonpath='{.data.KNOWN_PEERS}'
  step "What discovery sees (http://${METRICS_ADDR}/peers)"
  curl -sf "http://${METRICS_ADDR}/peers" | head -n 40 || true

  cat <<MSG

Keep exploring:
  export KUBECONFIG=${KUBECONFIG_PATH}
  alias kubectl="${BIN}/kubectl"
  kubectl -n ${NAMESPACE} get sn -w                 # watch the validators
  kubectl -n ${NAMESPACE} patch sn validator-3 --type=merge -p '{"spec":{"suspended":true}}'
                                                    # validator-3 leaves; the others restart one at a time
  curl -s http://${METRICS_ADDR}/metrics | grep stellar_peer_discovery
  tail -f ${STATE}/operator.log
Remove it all with: make demo-down
MSG
}

down() {
  bins >/dev/null
  step "Stopping the operator and deleting the cluster '${CLUSTER}'"
  stop_operator
  "${KWOKCTL}" delete cluster --name "${CLUSTER}" >/dev/null 2>&1 || true
  rm -rf "${STATE}"
  echo "    done"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
