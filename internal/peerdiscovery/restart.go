package peerdiscovery

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
)

// restartDue asks the rollout planner, network by network, for the turn of each validator whose
// configuration names an outdated membership, and restarts those it grants.
func (d *PeerDiscovery) restartDue(ctx context.Context, ns string, nodes []*stellarv1alpha1.StellarNode, neighbours scope.Neighbours,
	view View, index peers.Index, lookup Lookup, now time.Time, report *NamespaceReport) []error {
	networks := rollout.Networks(nodes, lookup)
	var errs []error
	ids := make([]string, 0, len(view.Networks))
	for _, nw := range view.Networks {
		ids = append(ids, nw.ID)
	}
	d.planner.Retain(ns, ids)
	for _, nw := range view.Networks {
		members := neighbours.Members(nw.ID, networks[nw.ID])
		var due []ValidatorState
		for _, s := range nw.States {
			if s.NeedsRestart() {
				due = append(due, s)
				rollout.MarkPending(members, s.Name)
			}
		}
		if d.cfg.Remote != nil {
			// Before any turn is asked for: the reconciler's and these restarts alike.
			if err := d.stepClusterTurn(ctx, ns, nw.ID, members); err != nil {
				errs = append(errs, err)
			}
		}
		if len(due) == 0 {
			d.planner.Observe(ns, nw.ID, members)
			continue
		}
		// A restart for peers gives the validator the quorum set it would have with the network as it
		// is now: none while those sets can split the network, or their intersection is not proven.
		if verdict := d.cfg.Quorum.Check(ns, index.Network(nw.ID)); verdict.Holds(allowUnproven(index.Network(nw.ID))) {
			for _, v := range due {
				report.PendingRestarts = append(report.PendingRestarts, v.Name)
			}
			if report.BlockedBy == nil {
				report.BlockedBy = map[string][]string{}
			}
			report.BlockedBy[nw.ID] = []string{verdict.Reason() + ": " + verdict.Message()}
			continue
		}
		for _, v := range due {
			report.PendingRestarts = append(report.PendingRestarts, v.Name)
			decision, turn := d.planner.Request(ns, nw.ID, members, v.Name)
			if turn == nil {
				if report.BlockedBy == nil {
					report.BlockedBy = map[string][]string{}
				}
				report.BlockedBy[nw.ID] = decision.WaitingFor
				continue
			}
			generation, err := d.restart(ctx, v, lookup.StatefulSet(v.Name), index.Network(v.NetworkID).Node(v.Name), decision, now)
			if err != nil {
				turn.Cancel()
				errs = append(errs, err)
				continue
			}
			turn.Done(generation)
		}
	}
	slices.Sort(report.PendingRestarts)
	return errs
}

// restart rolls a validator's StatefulSet so its pod starts again with its new peers: the same
// restartedAt annotation `kubectl rollout restart` sets, next to the membership hash the new pod runs
// with. It returns the StatefulSet's new generation.
func (d *PeerDiscovery) restart(ctx context.Context, v ValidatorState, sts *appsv1.StatefulSet, node *stellarv1alpha1.StellarNode,
	decision rollout.Decision, now time.Time) (int64, error) {
	if sts == nil || node == nil {
		return 0, fmt.Errorf("restart %s: its StatefulSet or StellarNode is gone from the cache", v.Name)
	}
	patched := sts.DeepCopy()
	if patched.Spec.Template.Annotations == nil {
		patched.Spec.Template.Annotations = map[string]string{}
	}
	patched.Spec.Template.Annotations[peers.AnnotationRestartedAt] = now.UTC().Format(time.RFC3339)
	patched.Spec.Template.Annotations[peers.AnnotationMembership] = v.TargetHash
	if err := d.client.Patch(ctx, patched, client.MergeFrom(sts), client.FieldOwner(FieldOwner)); err != nil {
		return 0, fmt.Errorf("restart %s: %w", v.Name, err)
	}
	d.mu.Lock()
	change, known := d.lastChange[key(v.Namespace, v.NetworkID)]
	d.mu.Unlock()
	restartsTotal.WithLabelValues(v.Namespace).Inc()

	reason := fmt.Sprintf("its generated quorum changed, %d peers", v.MemberCount)
	if known {
		if joined := inQuorum(change.joined, v.Self); len(joined) > 0 {
			reason += "; joined: " + strings.Join(joined, ", ")
		}
		if left := inQuorum(change.left, v.Self); len(left) > 0 {
			reason += "; left: " + strings.Join(left, ", ")
		}
	}
	d.recorder.Eventf(node, nil, corev1.EventTypeNormal, "RestartingForPeers", "Restart",
		"restarting to load its new quorum, which stellar-core reads only at start: %s (%s)", reason, decision.Detail)
	d.log.Info("restarting validator for new peers", "namespace", v.Namespace, "validator", v.Name, "reason", reason,
		"membership", v.TargetHash, "turn", decision.Reason)
	return patched.Generation, nil
}

// recordStatus shows in status.peers how many peers a validator's running configuration names, once
// it runs its current membership, and in status.remoteClusters what is known of the other clusters.
func (d *PeerDiscovery) recordStatus(ctx context.Context, v ValidatorState, node *stellarv1alpha1.StellarNode,
	clusters []stellarv1alpha1.RemoteClusterStatus) error {
	if node == nil {
		return nil
	}
	count := node.Status.Peers
	if v.HasStatefulSet && v.AppliedHash == v.TargetHash {
		count = int32(v.MemberCount)
	}
	if node.Status.Peers == count && equality.Semantic.DeepEqual(node.Status.RemoteClusters, clusters) {
		return nil
	}
	patched := node.DeepCopy()
	patched.Status.Peers = count
	patched.Status.RemoteClusters = clusters
	if err := d.client.Status().Patch(ctx, patched, client.MergeFrom(node), client.FieldOwner(FieldOwner)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("status of %s: %w", v.Name, err))
	}
	return nil
}

func key(ns, name string) string { return ns + "/" + name }

// membershipChange is who joined and left a network in its latest change.
type membershipChange struct {
	joined, left []peers.Member
}

// noteMembership remembers each network's members and, when they change, who joined and left, for
// the events that follow. It returns, per network that changed in this pass, the members that joined
// it (new names).
func (d *PeerDiscovery) noteMembership(ns string, index peers.Index) map[string][]peers.Member {
	d.mu.Lock()
	defer d.mu.Unlock()
	var joinedNow map[string][]peers.Member
	// Members are sorted by name, so equal memberships are equal slices: no hashing needed.
	for _, nw := range index.Networks {
		members := nw.Members
		if len(nw.Others) > 0 {
			members = slices.Clone(members)
			for _, p := range nw.Others {
				members = append(members, peers.OtherMemberOf(p))
			}
			slices.SortFunc(members, func(a, b peers.Member) int { return strings.Compare(a.Name, b.Name) })
		}
		k := key(ns, nw.ID)
		prev, seen := d.networks[k]
		if seen && !slices.Equal(prev, members) {
			joined, left := MemberDiff(prev, members)
			d.lastChange[k] = membershipChange{joined: joined, left: left}
			// A member that only changed what it brings is no newcomer.
			var newcomers []peers.Member
			for _, m := range joined {
				if !slices.ContainsFunc(prev, func(p peers.Member) bool { return p.Name == m.Name }) {
					newcomers = append(newcomers, m)
				}
			}
			if len(newcomers) > 0 {
				if joinedNow == nil {
					joinedNow = map[string][]peers.Member{}
				}
				joinedNow[nw.ID] = newcomers
			}
		}
		d.networks[k] = members
	}
	return joinedNow
}

// inQuorum lists the members, other than self, that enter generated quorums: the only ones a
// validator restarts for.
func inQuorum(list []peers.Member, self peers.Member) []string {
	out := make([]string, 0, len(list))
	for _, m := range list {
		if m.Quorum != "" && m != self {
			out = append(out, m.String())
		}
	}
	return out
}

// announceJoins says, on each validator of the namespace that just joined a network with members,
// which of them restart for it (their generated quorum names it) and which peer it live.
func (d *PeerDiscovery) announceJoins(view View, index peers.Index, joined map[string][]peers.Member) {
	for _, nw := range view.Networks {
		members := joined[nw.ID]
		if len(members) == 0 {
			continue
		}
		restarting, live := 0, 0
		for _, s := range nw.States {
			switch {
			case slices.Contains(members, s.Self):
			case s.NeedsRestart():
				restarting++
			default:
				live++
			}
		}
		for _, m := range members {
			node := index.Network(nw.ID).Node(m.Name)
			if node == nil || restarting+live == 0 {
				continue // a member elsewhere, or the first of its network here
			}
			d.recorder.Eventf(node, nil, corev1.EventTypeNormal, "JoinedNetwork", "Discovery",
				"%d validators of its network here restart for it, one at a time (their generated quorum names it); "+
					"%d connect to it live through their agents, without a restart", restarting, live)
		}
	}
}

// allowUnproven: every validator of the network allows an unproven quorum (allowUnprovenQuorum).
func allowUnproven(nw *peers.Network) bool {
	if nw == nil || len(nw.Nodes) == 0 {
		return false
	}
	for _, n := range nw.Nodes {
		if !n.Spec.ValidatorConfig.AllowUnprovenQuorum {
			return false
		}
	}
	return true
}
