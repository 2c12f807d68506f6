package rollout

import (
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// Lookup finds a validator's cached StatefulSet and pod by the StellarNode's name; either may be nil.
type Lookup struct {
	StatefulSet func(name string) *appsv1.StatefulSet
	Pod         func(name string) *corev1.Pod
}

// Networks groups the rollout members among nodes (all of one namespace) by network ID, each
// network's members sorted by name. Suspended validators, validators scaled to zero and those being
// deleted are left out: they are out on purpose, and nobody waits for them.
func Networks(nodes []*stellarv1alpha1.StellarNode, lookup Lookup) map[string][]Member {
	sizes := map[string]int{}
	for _, node := range nodes {
		if node.IsRolloutMember() {
			sizes[node.NetworkID()]++
		}
	}
	// Each network's members in one allocation of its size.
	out := make(map[string][]Member, len(sizes))
	for id, n := range sizes {
		out[id] = make([]Member, 0, n)
	}
	for _, node := range nodes {
		if !node.IsRolloutMember() {
			continue
		}
		id := node.NetworkID()
		out[id] = append(out[id], MemberOf(node, lookup.StatefulSet(node.Name), lookup.Pod(node.Name)))
	}
	byName := func(a, b Member) int { return strings.Compare(a.Name, b.Name) }
	for _, members := range out {
		if !slices.IsSortedFunc(members, byName) {
			slices.SortFunc(members, byName)
		}
	}
	return out
}

// MemberOf is a validator's state from its StellarNode and its cached StatefulSet and pod.
func MemberOf(node *stellarv1alpha1.StellarNode, sts *appsv1.StatefulSet, pod *corev1.Pod) Member {
	m := Member{
		Name:        node.Name,
		InConsensus: ReadyPod(pod) != nil,
		Accepted:    node.SpecAccepted(),
		// A spec not reconciled yet may bring a change: it keeps its place in the order.
		Pending:   node.Status.ObservedGeneration != node.Generation || node.Status.Rollout != nil,
		Immediate: node.RollsOutImmediately(),
	}
	if sts != nil {
		m.Generation, m.UID = sts.Generation, sts.UID
		m.Settled = m.InConsensus && RolledOut(sts)
	}
	return m
}

// MarkPending marks the named members as having a change that waits (peer discovery's restarts).
func MarkPending(members []Member, names ...string) {
	for i := range members {
		if slices.Contains(names, members[i].Name) {
			members[i].Pending = true
		}
	}
}

// ReadyPod is the pod when it is scheduled, not terminating, Ready and has an IP; else nil.
func ReadyPod(p *corev1.Pod) *corev1.Pod {
	if p == nil || p.DeletionTimestamp != nil || p.Spec.NodeName == "" || p.Status.PodIP == "" {
		return nil
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
			return p
		}
	}
	return nil
}

// RolledOut reports whether the StatefulSet controller has caught up with the current template and
// its pods have been Ready for the StatefulSet's minReadySeconds.
func RolledOut(sts *appsv1.StatefulSet) bool {
	want := int32(1)
	if sts.Spec.Replicas != nil {
		want = *sts.Spec.Replicas
	}
	s := sts.Status
	return s.ObservedGeneration >= sts.Generation &&
		s.ReadyReplicas >= want && s.AvailableReplicas >= want && s.UpdatedReplicas >= want &&
		(s.UpdateRevision == "" || s.CurrentRevision == s.UpdateRevision)
}
