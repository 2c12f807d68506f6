package remote

import "github.com/stellar-k8s/stellar-operator/internal/metrics"

const labelCluster = "cluster"

// Metrics of the remote clusters.
var (
	staleGauge = metrics.GaugeVec("stellar_remote_cluster_stale",
		"1 while a remote cluster's last read failed (its last known members are kept), else 0.", labelCluster)
	membersGauge = metrics.GaugeVec("stellar_remote_cluster_members",
		"Validators of a remote cluster taking part in discovery, as last read.", labelCluster)
	droppedGauge = metrics.GaugeVec("stellar_remote_cluster_dropped",
		"Validators of a remote cluster left out because a value broke the input grammar or was missing.", labelCluster)
	lastReadGauge = metrics.GaugeVec("stellar_remote_cluster_last_read_timestamp_seconds",
		"When a remote cluster last answered (Unix time).", labelCluster)
	readErrorsTotal = metrics.CounterVec("stellar_remote_cluster_read_errors_total", "Failed reads of a remote cluster.", labelCluster)
)

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
