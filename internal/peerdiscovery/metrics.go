package peerdiscovery

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

// labelNamespace is the namespace label of discovery's metrics.
const labelNamespace = "namespace"

// Metrics of peer discovery, served with the manager's own on /metrics.
var (
	passesTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "stellar_peer_discovery_passes_total",
		Help: "Discovery passes run.",
	})
	errorsTotal = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "stellar_peer_discovery_errors_total",
		Help: "Errors met by discovery passes.",
	})
	peersGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stellar_peer_discovery_peers",
		Help: "Ready peers published, per namespace and network.",
	}, []string{labelNamespace, "network"})
	configMapUpdatesTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stellar_peer_discovery_configmap_updates_total",
		Help: "Writes of the stellar-peers ConfigMap, per namespace.",
	}, []string{labelNamespace})
	restartsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stellar_peer_discovery_restarts_total",
		Help: "Validator restarts triggered for a new peer membership, per namespace.",
	}, []string{labelNamespace})
	passDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "stellar_peer_discovery_pass_duration_seconds",
		Help:    "Duration of discovery passes.",
		Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
	})
	lastSuccess = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "stellar_peer_discovery_last_success_timestamp_seconds",
		Help: "Unix time of the last discovery pass that met no error.",
	})
)

// Collectors are peer discovery's metrics, registered with the manager's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{passesTotal, errorsTotal, peersGauge, configMapUpdatesTotal, restartsTotal, passDuration, lastSuccess}
}

func init() {
	ctrlmetrics.Registry.MustRegister(Collectors()...)
}
