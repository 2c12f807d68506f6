package peerdiscovery

import (
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

// ValidatorState is one discovery member as a pass sees it.
type ValidatorState struct {
	Name      string
	Namespace string
	NetworkID string
	// Peer is what stellar-peers publishes for the validator; PodIP is set only while its pod is Ready.
	Peer peers.Peer
	// Members is the membership its configuration should name; TargetHash identifies it.
	Members    []peers.Member
	TargetHash string
	// AppliedHash is the membership its pods were started with, from the StatefulSet's pod template.
	AppliedHash string
	// HasStatefulSet is false until the reconciler has created the validator's StatefulSet.
	HasStatefulSet bool
	// Settled means the StatefulSet has rolled out its current template and the pod is Ready.
	Settled bool
	// RestartsForPeers is false for restartPolicy None.
	RestartsForPeers bool
}

// NeedsRestart reports whether the validator runs with an outdated membership and may be restarted for it.
func (v ValidatorState) NeedsRestart() bool {
	return v.RestartsForPeers && v.HasStatefulSet && v.AppliedHash != v.TargetHash
}

// BuildView computes the state of every discovery member of one namespace from cached objects.
// statefulSets and pods are keyed by validator name. It is a pure function; its result is sorted by name.
func BuildView(nodes []*stellarv1alpha1.StellarNode, statefulSets map[string]*appsv1.StatefulSet,
	pods map[string][]*corev1.Pod, clusterDomain string) []ValidatorState {
	all := make([]stellarv1alpha1.StellarNode, 0, len(nodes))
	for _, n := range nodes {
		if n.IsPeerDiscoveryMember() {
			all = append(all, *n)
		}
	}
	slices.SortFunc(all, func(a, b stellarv1alpha1.StellarNode) int { return strings.Compare(a.Name, b.Name) })
	byNetwork := map[string][]peers.Member{}
	for i := range all {
		byNetwork[all[i].NetworkID()] = append(byNetwork[all[i].NetworkID()], peers.Member{Name: all[i].Name, Port: all[i].PeerPort()})
	}

	states := make([]ValidatorState, 0, len(all))
	for i := range all {
		node := &all[i]
		members := othersThan(byNetwork[node.NetworkID()], node.Name)
		st := ValidatorState{
			Name:             node.Name,
			Namespace:        node.Namespace,
			NetworkID:        node.NetworkID(),
			Members:          members,
			TargetHash:       peers.MembershipHash(members),
			RestartsForPeers: node.RestartsForPeers(),
			Peer: peers.Peer{
				Name:      node.Name,
				Network:   string(node.Spec.Network),
				NetworkID: node.NetworkID(),
				PodName:   resources.PodName(node),
				Port:      node.PeerPort(),
				DNSName:   resources.PeerDNSName(node, clusterDomain),
			},
		}
		pod := readyPod(pods[node.Name])
		if pod != nil {
			st.Peer.PodIP = pod.Status.PodIP
		}
		if sts := statefulSets[node.Name]; sts != nil {
			st.HasStatefulSet = true
			st.AppliedHash = sts.Spec.Template.Annotations[peers.AnnotationMembership]
			st.Settled = pod != nil && rolledOut(sts)
		}
		states = append(states, st)
	}
	return states
}

func othersThan(members []peers.Member, name string) []peers.Member {
	out := make([]peers.Member, 0, len(members))
	for _, m := range members {
		if m.Name != name {
			out = append(out, m)
		}
	}
	return out
}

// readyPod is the validator's pod when it is scheduled, not terminating, Ready and has an IP.
func readyPod(list []*corev1.Pod) *corev1.Pod {
	for _, p := range list {
		if p.DeletionTimestamp != nil || p.Spec.NodeName == "" || p.Status.PodIP == "" {
			continue
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return p
			}
		}
	}
	return nil
}

// rolledOut reports whether the StatefulSet controller has caught up with the current template.
func rolledOut(sts *appsv1.StatefulSet) bool {
	want := int32(1)
	if sts.Spec.Replicas != nil {
		want = *sts.Spec.Replicas
	}
	s := sts.Status
	return s.ObservedGeneration >= sts.Generation &&
		s.ReadyReplicas >= want && s.UpdatedReplicas >= want &&
		(s.UpdateRevision == "" || s.CurrentRevision == s.UpdateRevision)
}
