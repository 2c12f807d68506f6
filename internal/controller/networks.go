package controller

import (
	"slices"
	"sync"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/roster"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// networks keep, per namespace, what every reconcile of one of its validators computes alike from
// the StellarNodes: their index, and each network's peers document with its digest. At a thousand
// validators, building them was most of a reconcile, and a pod's change reconciles its validator.
// They are built again when a StellarNode of the namespace, an object of another namespace of its
// scope or the members read from other clusters change.
type networks struct {
	mu   sync.Mutex
	byNS map[string]*namespaceNetworks
}

// namespaceNetworks are read only once built, but for docs, filled on first use.
type namespaceNetworks struct {
	generation uint64
	remote     []peers.Peer
	nodes      []*stellarv1alpha1.StellarNode
	neighbours scope.Neighbours
	index      peers.Index

	mu   sync.Mutex
	docs map[string]peersDoc
}

// peersDoc is a network's members as its validators' configurations are checked with them.
type peersDoc struct {
	doc    peers.Document
	digest string
}

// networksOf are the validators of node's namespace (node as this reconcile read it among them), the
// validators of the other namespaces of its scope, and their index. All are shared: read only.
func (r *StellarNodeReconciler) networksOf(node *stellarv1alpha1.StellarNode) *namespaceNetworks {
	ns := node.Namespace
	// Generations before objects, as discovery reads them: a change taken in meanwhile leaves the
	// generation kept behind the objects, so the next reconcile builds again.
	generation := r.Roster.NodesGeneration(ns)
	for _, o := range r.Scopes.Others(ns) {
		generation += r.Roster.Generation(o)
	}
	remote := r.Remote.Peers()
	r.networks.mu.Lock()
	built := r.networks.byNS[ns]
	r.networks.mu.Unlock()
	if built == nil || built.generation != generation || !slices.Equal(built.remote, remote) {
		built = r.buildNetworks(r.Roster.Validators(ns), ns, remote)
		built.generation = generation
		r.networks.mu.Lock()
		if r.networks.byNS == nil {
			r.networks.byNS = map[string]*namespaceNetworks{}
		}
		r.networks.byNS[ns] = built
		r.networks.mu.Unlock()
	}
	i := slices.IndexFunc(built.nodes, func(n *stellarv1alpha1.StellarNode) bool { return n.Name == node.Name })
	if i >= 0 && built.nodes[i].ResourceVersion == node.ResourceVersion {
		return built
	}
	// The roster does not show this version of the node yet (or no longer): built for this reconcile only.
	nodes := slices.Clone(built.nodes)
	if i < 0 {
		nodes = append(nodes, node)
	} else {
		nodes[i] = node
	}
	return r.buildNetworks(nodes, ns, remote)
}

// forgetEmpty drops what is kept of a namespace that has no validator left.
func (n *networks) forgetEmpty(ns string, validators *roster.Roster) {
	if validators == nil || len(validators.Validators(ns)) > 0 {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.byNS, ns)
}

func (r *StellarNodeReconciler) buildNetworks(nodes []*stellarv1alpha1.StellarNode, ns string, remote []peers.Peer) *namespaceNetworks {
	neighbours := r.neighbours(ns)
	return &namespaceNetworks{
		remote: remote, nodes: nodes, neighbours: neighbours,
		index: peers.NewIndex(nodes, append(slices.Clip(neighbours.Peers), remote...)),
	}
}

// peersOf is the network's members, those of other namespaces and clusters too, as stellar-peers
// publishes them (without pod addresses), and the digest a configuration check's fingerprint holds of them.
func (n *namespaceNetworks) peersOf(networkID, clusterDomain string) peersDoc {
	n.mu.Lock()
	defer n.mu.Unlock()
	if d, ok := n.docs[networkID]; ok {
		return d
	}
	var doc peers.Document
	if nw := n.index.Network(networkID); nw != nil {
		for _, member := range nw.Nodes {
			doc.Peers = append(doc.Peers, resources.PeerOf(member, clusterDomain))
		}
		// Members of other namespaces and clusters too: a quorum they change is checked here before
		// any pod has it.
		doc.Peers = append(doc.Peers, nw.Others...)
	}
	d := peersDoc{doc: doc, digest: stellarcore.PeersDigest(doc)}
	if n.docs == nil {
		n.docs = map[string]peersDoc{}
	}
	n.docs[networkID] = d
	return d
}
