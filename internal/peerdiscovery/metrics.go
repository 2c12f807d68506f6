package peerdiscovery

import "github.com/stellar-k8s/stellar-operator/internal/metrics"

// labelNamespace is the namespace label of discovery's metrics.
const labelNamespace = "namespace"

// Metrics of peer discovery.
var (
	passesTotal           = metrics.Counter("stellar_peer_discovery_passes_total", "Discovery passes run.")
	errorsTotal           = metrics.Counter("stellar_peer_discovery_errors_total", "Errors met by discovery passes.")
	peersGauge            = metrics.GaugeVec("stellar_peer_discovery_peers", "Ready peers published, per namespace and network.", labelNamespace, "network")
	configMapUpdatesTotal = metrics.CounterVec("stellar_peer_discovery_configmap_updates_total", "Writes of the stellar-peers ConfigMap, per namespace.", labelNamespace)
	restartsTotal         = metrics.CounterVec("stellar_peer_discovery_restarts_total", "Validator restarts triggered for a new peer membership, per namespace.", labelNamespace)
	passDuration          = metrics.Histogram("stellar_peer_discovery_pass_duration_seconds", "Duration of discovery passes.",
		[]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5})
	lastSuccess = metrics.Gauge("stellar_peer_discovery_last_success_timestamp_seconds", "Unix time of the last discovery pass that met no error.")
)
