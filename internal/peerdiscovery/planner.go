package peerdiscovery

import "slices"

// Plan is what a pass decides about restarts.
type Plan struct {
	// Restarts are the validators to restart now: at most one per network.
	Restarts []ValidatorState
	// Pending are all validators whose configuration names an outdated membership, by network, then name.
	Pending []string
	// BlockedBy names, per network, the validators whose rollout or readiness holds the next restart back.
	BlockedBy map[string][]string
}

// PlanRestarts chooses which validators to restart so that each learns its new peers while its network
// keeps consensus: never more than one validator of a network at a time, and only when every member
// of that network is settled (rolled out and Ready), so the restarted one sees all its peers, and has a
// spec the reconciler checked and accepted, so nobody restarts into what a refused member brings.
// inFlight names validators restarted by an earlier pass that the cache may not show yet.
func PlanRestarts(view View, inFlight map[string]bool) Plan {
	plan := Plan{BlockedBy: map[string][]string{}}
	for _, nw := range view.Networks {
		var due []ValidatorState
		var blockers []string
		for _, m := range nw.States {
			if m.NeedsRestart() {
				due = append(due, m)
				plan.Pending = append(plan.Pending, m.Name)
			}
			if !m.Settled || !m.SpecAccepted || inFlight[m.Name] {
				blockers = append(blockers, m.Name)
			}
		}
		if len(due) == 0 {
			continue
		}
		if len(blockers) > 0 {
			plan.BlockedBy[nw.ID] = blockers
			continue
		}
		plan.Restarts = append(plan.Restarts, due[0])
	}
	slices.Sort(plan.Pending)
	return plan
}
