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
	// Self is the validator as its peers know it.
	Self peers.Member
	// TargetHash identifies the membership its configuration should name: every other member of its
	// network. MemberCount is that membership's size.
	TargetHash  string
	MemberCount int
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
// statefulSets and pods are keyed by validator name. It is a pure function; its result is sorted by
// name. It runs in time linear in the number of validators.
func BuildView(nodes []*stellarv1alpha1.StellarNode, statefulSets map[string]*appsv1.StatefulSet,
	pods map[string][]*corev1.Pod, clusterDomain string) []ValidatorState {
	states := make([]ValidatorState, 0, len(nodes))
	networks := map[string]*networkSet{}
	for _, node := range nodes {
		if !node.IsPeerDiscoveryMember() {
			continue
		}
		networkID := node.NetworkID()
		set := networks[networkID]
		if set == nil {
			set = &networkSet{}
			networks[networkID] = set
		}
		self := peers.Member{Name: node.Name, Port: node.PeerPort()}
		set.hash = set.hash.Add(self)
		set.size++
		st := ValidatorState{
			Name:             node.Name,
			Namespace:        node.Namespace,
			NetworkID:        networkID,
			Self:             self,
			RestartsForPeers: node.RestartsForPeers(),
			Peer: peers.Peer{
				Name:      node.Name,
				Network:   string(node.Spec.Network),
				NetworkID: networkID,
				PodName:   resources.PodName(node),
				Port:      self.Port,
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
	// A validator's membership is its network's minus itself.
	for i := range states {
		set := networks[states[i].NetworkID]
		states[i].TargetHash = set.hash.Remove(states[i].Self).String()
		states[i].MemberCount = set.size - 1
	}
	slices.SortFunc(states, func(a, b ValidatorState) int { return strings.Compare(a.Name, b.Name) })
	return states
}

type networkSet struct {
	hash peers.SetHash
	size int
}

// NetworkMembers lists the members of each network in a view, sorted by name.
func NetworkMembers(states []ValidatorState) map[string][]peers.Member {
	out := map[string][]peers.Member{}
	for _, s := range states {
		out[s.NetworkID] = append(out[s.NetworkID], s.Self)
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

// rolledOut reports whether the StatefulSet controller has caught up with the current template and
// its pods have been Ready for the StatefulSet's minReadySeconds.
func rolledOut(sts *appsv1.StatefulSet) bool {
	want := int32(1)
	if sts.Spec.Replicas != nil {
		want = *sts.Spec.Replicas
	}
	s := sts.Status
	return s.ObservedGeneration >= sts.Generation &&
		s.ReadyReplicas >= want && s.AvailableReplicas >= want && s.UpdatedReplicas >= want &&
		(s.UpdateRevision == "" || s.CurrentRevision == s.UpdateRevision)
}
