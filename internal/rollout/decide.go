// Package rollout decides when a validator's pod may be replaced, for any reason: a new version, new
// resources, a new configuration (the reconciler) or a new peer membership (peer discovery). Its rule
// is that no change the operator makes takes more than one validator of a network out of consensus.
// Decisions are pure functions of what the objects show; the Planner adds only the turns it granted
// that the cache may not show yet, so an operator restart changes no decision.
package rollout

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/types"
)

// Member is one validator of a network as the planner sees it.
type Member struct {
	Name string
	// InConsensus: its pod is Ready, and a validator's readiness is stellar-core in consensus.
	InConsensus bool
	// Settled: its StatefulSet runs its current template and its pod has been Ready for minReadySeconds.
	Settled bool
	// Accepted: the reconciler checked its current spec and stellar-core would accept it. A member
	// refused or not yet checked holds every turn: the others would start with what it brings.
	Accepted bool
	// Pending: it has a change waiting that replaces its pod, or a spec not reconciled yet.
	Pending bool
	// Immediate: its rolloutPolicy lets its changes through at once.
	Immediate bool
	// Generation is its StatefulSet's metadata.generation as the cache shows it, UID the
	// StatefulSet's (a validator deleted and created again has a new one).
	Generation int64
	UID        types.UID
	// Remote: a validator of another cluster, which paces its own; here it only holds turns back.
	Remote bool
	// Ref is "namespace/name" of a validator of another namespace of the scope (its Name is then
	// "<name>.<namespace>"): the turns granted to it there are in flight here too.
	Ref string
	// Stale: its cluster did not answer its last read, so its state is unknown. It holds every
	// turn, and counts as maybe in consensus.
	Stale bool
}

// Why a turn was granted, or why not.
const (
	// GrantedSettled: every member is settled and this one is first in order.
	GrantedSettled = "NetworkSettled"
	// GrantedNetworkDown: no member is in consensus, so there is no quorum to lose; waiting for
	// readiness would deadlock a brand-new or halted network.
	GrantedNetworkDown = "NetworkDown"
	// GrantedAlreadyDown: the validator itself is out of consensus; replacing its pod takes no other
	// validator out.
	GrantedAlreadyDown = "AlreadyDown"
	// GrantedNotMember: the validator is no running member of its network (suspended, scaled to zero,
	// being deleted): nothing of the network depends on it.
	GrantedNotMember = "NotMember"
	// GrantedImmediate: rolloutPolicy Immediate.
	GrantedImmediate = "Immediate"
	// WaitingForMembers: some members are being replaced, not back in consensus, or refused.
	WaitingForMembers = "WaitingForMembers"
	// WaitingForOrder: the network is settled but another validator comes first.
	WaitingForOrder = "WaitingForOrder"
	// WaitingForClusters: the network is settled, but another cluster of it holds, or may be taking,
	// the network's turn across clusters.
	WaitingForClusters = "WaitingForClusters"
)

// Decision is whether a validator may have its pod replaced now.
type Decision struct {
	Granted bool
	Reason  string
	// WaitingFor names the members holding the turn back, sorted.
	WaitingFor []string
	// Detail says it in words, for status and events.
	Detail string
	// Changes are what the pod would be replaced for (Changes), filled in by the reconciler.
	Changes []string `json:",omitempty"`
}

// Decide says whether the named member may have its pod replaced now. members are all validators of
// one network in one namespace (with those of the other namespaces of its scope) and its members in
// other clusters, sorted by name; inFlight names those granted a turn whose write the cache may not
// show yet. The rules, in order:
//   - rolloutPolicy Immediate goes through;
//   - a network where no member is in consensus rolls at once;
//   - a member that is itself out of consensus may be replaced;
//   - otherwise every member must be settled, accepted and not in flight, and the turn goes to the
//     first pending member by name; a member in another cluster that does not answer holds it.
func Decide(members []Member, inFlight map[string]bool, name string) Decision {
	self, found := find(members, name)
	if !found {
		// Not a member (suspended, being deleted): nothing of the network's depends on it.
		return Decision{Granted: true, Reason: GrantedNotMember, Detail: "not a running member of its network"}
	}
	if self.Immediate {
		return Decision{Granted: true, Reason: GrantedImmediate, Detail: "rolloutPolicy is Immediate"}
	}
	anyInConsensus := false
	for _, m := range members {
		anyInConsensus = anyInConsensus || m.InConsensus || m.Stale
	}
	if !anyInConsensus {
		return Decision{Granted: true, Reason: GrantedNetworkDown, Detail: "no validator of the network is in consensus"}
	}
	if !self.InConsensus && !inFlight[self.Name] {
		return Decision{Granted: true, Reason: GrantedAlreadyDown, Detail: "this validator is out of consensus already"}
	}
	var blockers, why []string
	for _, m := range members {
		switch {
		case m.Stale:
			blockers = append(blockers, m.Name)
			why = append(why, m.Name+" (its cluster does not answer: its state is unknown)")
		case inFlight[m.Name] || !m.Settled:
			blockers = append(blockers, m.Name)
			why = append(why, m.Name+" (being replaced or not back in consensus)")
		case !m.Accepted:
			blockers = append(blockers, m.Name)
			why = append(why, m.Name+" (spec refused or not checked yet)")
		}
	}
	if len(blockers) > 0 {
		return Decision{Reason: WaitingForMembers, WaitingFor: blockers, Detail: "waiting for " + listed(why)}
	}
	for _, m := range members {
		if m.Name == self.Name {
			break
		}
		if m.Pending {
			return Decision{Reason: WaitingForOrder, WaitingFor: []string{m.Name},
				Detail: fmt.Sprintf("waiting for %s, whose change comes first (by name)", m.Name)}
		}
	}
	return Decision{Granted: true, Reason: GrantedSettled, Detail: "every validator of the network is in consensus"}
}

// shownInDetail is how many blockers Detail names: a network of a thousand waiting on all but one
// would write a condition message past the API's 32 KiB (WaitingFor has them all).
const shownInDetail = 10

// listed joins the first shownInDetail reasons and counts the rest.
func listed(why []string) string {
	if len(why) <= shownInDetail {
		return strings.Join(why, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(why[:shownInDetail], ", "), len(why)-shownInDetail)
}

func find(members []Member, name string) (Member, bool) {
	for _, m := range members {
		if m.Name == name {
			return m, true
		}
	}
	return Member{}, false
}
