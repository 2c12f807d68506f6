package peerdiscovery

import (
	"slices"
	"strings"
)

// Plan is what a pass decides about restarts.
type Plan struct {
	// Restarts are the validators to restart now: at most one per network.
	Restarts []ValidatorState
	// Pending are all validators whose configuration names an outdated membership, by name.
	Pending []string
	// BlockedBy names, per network, the validators whose rollout or readiness holds the next restart back.
	BlockedBy map[string][]string
}

// PlanRestarts chooses which validators to restart so that each learns its new peers while its network
// keeps consensus: never more than one validator of a network at a time, and only when every member
// of that network is settled (rolled out and Ready), so the restarted one sees all its peers.
// inFlight names validators restarted by an earlier pass that the cache may not show yet.
func PlanRestarts(states []ValidatorState, inFlight map[string]bool) Plan {
	plan := Plan{BlockedBy: map[string][]string{}}
	networks := map[string][]ValidatorState{}
	for _, s := range states {
		networks[s.NetworkID] = append(networks[s.NetworkID], s)
	}
	ids := make([]string, 0, len(networks))
	for id := range networks {
		ids = append(ids, id)
	}
	slices.Sort(ids)

	for _, id := range ids {
		members := networks[id]
		slices.SortFunc(members, func(a, b ValidatorState) int { return strings.Compare(a.Name, b.Name) })
		var due []ValidatorState
		var blockers []string
		for _, m := range members {
			if m.NeedsRestart() {
				due = append(due, m)
				plan.Pending = append(plan.Pending, m.Name)
			}
			if !m.Settled || inFlight[m.Name] {
				blockers = append(blockers, m.Name)
			}
		}
		if len(due) == 0 {
			continue
		}
		if len(blockers) > 0 {
			plan.BlockedBy[id] = blockers
			continue
		}
		plan.Restarts = append(plan.Restarts, due[0])
	}
	slices.Sort(plan.Pending)
	return plan
}
