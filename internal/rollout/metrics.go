package rollout

import (
	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	turnsTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "stellar_rollout_turns_total",
		Help: "Turns granted to replace a validator's pod, by namespace and why the turn was granted.",
	}, []string{"namespace", "reason"})
	// BlockedGauge is 1 for a validator whose change has waited for its turn past the threshold.
	BlockedGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "stellar_rollout_blocked",
		Help: "1 when a validator's change has waited for its turn longer than --rollout-blocked-after.",
	}, []string{"namespace", "stellarnode"})
)

// Collectors are the rollout metrics, registered with the manager's registry.
func Collectors() []prometheus.Collector { return []prometheus.Collector{turnsTotal, BlockedGauge} }

func init() {
	ctrlmetrics.Registry.MustRegister(Collectors()...)
}
