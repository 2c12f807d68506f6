package peerdiscovery

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
)

// ValidatorState is one discovery member as a pass sees it.
type ValidatorState struct {
	Name      string
	Namespace string
	NetworkID string
	// Peer is what stellar-peers publishes for the validator; PodIP is set only while its pod is Ready.
	// It points into the view's list of peers.
	Peer *peers.Peer
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
	// RestartsForPeers is false for restartPolicy None.
	RestartsForPeers bool
}

// NeedsRestart reports whether the validator runs with an outdated membership and may be restarted for
// it, when the rollout planner grants its turn.
func (v ValidatorState) NeedsRestart() bool {
	return v.RestartsForPeers && v.HasStatefulSet && v.AppliedHash != v.TargetHash
}

// View is the state of every discovery member of one namespace, grouped by network.
type View struct {
	// Networks follow the index's order (by ID); each one's states are sorted by name.
	Networks []NetworkView
	peers    []peers.Peer
}

// NetworkView is the state of one network's members.
type NetworkView struct {
	ID      string
	Members []peers.Member
	States  []ValidatorState
}

// Peers lists what stellar-peers publishes, sorted by name.
func (v View) Peers() []peers.Peer { return v.peers }

// Lookup finds a validator's objects in the cache; either may be nil.
type Lookup = rollout.Lookup

// BuildView computes the state of every member of an index from the cached StatefulSets and pods. It
// is a pure function, linear in the number of validators, and groups nothing again: the index did.
func BuildView(ix peers.Index, lookup Lookup, clusterDomain string) View {
	total, others := 0, 0
	for _, nw := range ix.Networks {
		total += len(nw.Nodes)
		others += len(nw.Others)
	}
	// One allocation each for every peer and every state of the pass.
	view := View{Networks: make([]NetworkView, 0, len(ix.Networks)), peers: make([]peers.Peer, 0, total+others)}
	states := make([]ValidatorState, total)
	for _, nw := range ix.Networks {
		nv := NetworkView{ID: nw.ID, Members: nw.Members, States: states[:len(nw.Nodes):len(nw.Nodes)]}
		states = states[len(nw.Nodes):]
		for i, node := range nw.Nodes {
			view.peers = append(view.peers, resources.PeerOf(node, clusterDomain))
			nv.States[i] = validatorState(node, &view.peers[len(view.peers)-1], lookup)
			nv.States[i].Self = nw.Members[i]
			nv.States[i].TargetHash, nv.States[i].MemberCount = nw.MembershipOf(i)
		}
		view.Networks = append(view.Networks, nv)
	}
	// Members of other namespaces and clusters are published after this namespace's (the states
	// point into the first part) and have no state here: their own namespace or cluster restarts them.
	for _, nw := range ix.Networks {
		view.peers = append(view.peers, nw.Others...)
	}
	if len(view.Networks) > 1 || others > 0 {
		// The states keep pointing at their peer: sort a copy.
		view.peers = slices.Clone(view.peers)
		peers.Sort(view.peers)
	}
	return view
}

func validatorState(node *stellarv1alpha1.StellarNode, peer *peers.Peer, lookup Lookup) ValidatorState {
	st := ValidatorState{
		Name:      node.Name,
		Namespace: node.Namespace,
		NetworkID: peer.NetworkID,
		// Only once the reconciler has checked the current spec, and accepted it: a refused one is
		// applied by nobody, and its validator keeps running as it is.
		RestartsForPeers: node.RestartsForPeers() && node.Status.ObservedGeneration == node.Generation && !node.SpecRefused(),
		Peer:             peer,
	}
	var pod *corev1.Pod
	if lookup.Pod != nil {
		pod = rollout.ReadyPod(lookup.Pod(node.Name))
	}
	if pod != nil {
		st.Peer.PodIP = pod.Status.PodIP
	}
	var sts *appsv1.StatefulSet
	if lookup.StatefulSet != nil {
		sts = lookup.StatefulSet(node.Name)
	}
	if sts != nil {
		st.HasStatefulSet = true
		st.AppliedHash = sts.Spec.Template.Annotations[peers.AnnotationMembership]
	}
	return st
}
