package rollout

import "github.com/stellar-k8s/stellar-operator/internal/metrics"

var (
	turnsTotal = metrics.CounterVec("stellar_rollout_turns_total",
		"Turns granted to replace a validator's pod, by namespace and why the turn was granted.", "namespace", "reason")
	// BlockedGauge is 1 for a validator whose change has waited for its turn past the threshold.
	BlockedGauge = metrics.GaugeVec("stellar_rollout_blocked",
		"1 when a validator's change has waited for its turn longer than --rollout-blocked-after.", "namespace", "stellarnode")
)
