package remote

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

const labelCluster = "cluster"

// Metrics of the remote clusters, served with the manager's own on /metrics.
var (
	staleGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stellar_remote_cluster_stale",
		Help: "1 while a remote cluster's last read failed (its last known members are kept), else 0.",
	}, []string{labelCluster})
	membersGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stellar_remote_cluster_members",
		Help: "Validators of a remote cluster taking part in discovery, as last read.",
	}, []string{labelCluster})
	droppedGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stellar_remote_cluster_dropped",
		Help: "Validators of a remote cluster left out because a value broke the input grammar or was missing.",
	}, []string{labelCluster})
	lastReadGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stellar_remote_cluster_last_read_timestamp_seconds",
		Help: "When a remote cluster last answered (Unix time).",
	}, []string{labelCluster})
	readErrorsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stellar_remote_cluster_read_errors_total",
		Help: "Failed reads of a remote cluster.",
	}, []string{labelCluster})
)

func init() {
	ctrlmetrics.Registry.MustRegister(staleGauge, membersGauge, droppedGauge, lastReadGauge, readErrorsTotal)
}

func observe(c Cluster) {
	stale := 0.0
	if c.Stale {
		stale = 1
	}
	staleGauge.WithLabelValues(c.Name).Set(stale)
	membersGauge.WithLabelValues(c.Name).Set(float64(len(c.Members)))
	droppedGauge.WithLabelValues(c.Name).Set(float64(len(c.Dropped)))
	if !c.LastRead.IsZero() {
		lastReadGauge.WithLabelValues(c.Name).Set(float64(c.LastRead.Unix()))
	}
}
