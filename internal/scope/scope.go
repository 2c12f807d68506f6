// Package scope says which namespaces of this cluster share peer discovery, and what the validators
// of the other namespaces of a scope are to one namespace: peers to publish in its stellar-peers,
// members of its networks' quorums, and rollout members whose turns its validators wait for.
//
// A scope is named by the operator's administrator (--discovery-scope), never by a namespace label:
// whoever may label a namespace must not be able to put validators into another namespace's quorum.
package scope

import (
	"fmt"
	"slices"
	"strings"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
)

// Scopes are the groups of namespaces that share discovery. A namespace in none shares with none.
type Scopes struct {
	// others maps a namespace to the other namespaces of its group, sorted.
	others map[string][]string
}

// Parse reads the groups, each a comma-separated list of two or more namespaces. A namespace may be
// in one group only: two groups sharing one would be one group.
func Parse(groups []string) (Scopes, error) {
	s := Scopes{others: map[string][]string{}}
	for _, g := range groups {
		var names []string
		for ns := range strings.SplitSeq(g, ",") {
			ns = strings.TrimSpace(ns)
			if err := stellarv1alpha1.ValidName("namespace", ns); err != nil || len(ns) > 63 || strings.Contains(ns, ".") {
				return Scopes{}, fmt.Errorf("--discovery-scope %q: %q is not a namespace name (a DNS label)", g, ns)
			}
			if _, taken := s.others[ns]; taken || slices.Contains(names, ns) {
				return Scopes{}, fmt.Errorf("--discovery-scope %q: namespace %s is named twice; a namespace shares discovery with one group", g, ns)
			}
			names = append(names, ns)
		}
		if len(names) < 2 {
			return Scopes{}, fmt.Errorf("--discovery-scope %q: a scope names two or more namespaces", g)
		}
		slices.Sort(names)
		for _, ns := range names {
			s.others[ns] = slices.DeleteFunc(slices.Clone(names), func(o string) bool { return o == ns })
		}
	}
	return s, nil
}

// Others are the other namespaces that share discovery with ns, sorted; nil when it shares with none.
func (s Scopes) Others(ns string) []string { return s.others[ns] }

// Namespaces are every namespace named in a scope, sorted.
func (s Scopes) Namespaces() []string {
	out := make([]string, 0, len(s.others))
	for ns := range s.others {
		out = append(out, ns)
	}
	slices.Sort(out)
	return out
}

// Namespace is what one namespace holds for discovery, as the cache shows it (read only).
type Namespace struct {
	Name   string
	Nodes  []*stellarv1alpha1.StellarNode
	Lookup rollout.Lookup
}

// Neighbours are the validators of the other namespaces of a scope, as one namespace sees them. Each
// is named "<name>.<namespace>", so it never takes a name of this namespace's own validators.
type Neighbours struct {
	// Peers are their discovery members, addressed by their stable in-cluster DNS names, with the pod
	// IP of those Ready. They join the namespace's networks they share (peers.NewIndex).
	Peers []peers.Peer
	// members are their rollout members, by network ID.
	members map[string][]rollout.Member
}

// Of builds the neighbours of a namespace from the other namespaces of its scope.
func Of(others []Namespace, clusterDomain string) Neighbours {
	n := Neighbours{members: map[string][]rollout.Member{}}
	for _, o := range others {
		// Their own namespace's rules first: a validator shadowed there by an older one with its key is
		// no member here either.
		for _, nw := range peers.NewIndex(o.Nodes, nil).Networks {
			for _, node := range nw.Nodes {
				p := resources.PeerOf(node, clusterDomain)
				if o.Lookup.Pod != nil {
					if pod := rollout.ReadyPod(o.Lookup.Pod(node.Name)); pod != nil {
						p.PodIP = pod.Status.PodIP
					}
				}
				n.Peers = append(n.Peers, peers.Neighbour(p, o.Name))
			}
		}
		if o.Lookup.StatefulSet == nil || o.Lookup.Pod == nil {
			continue
		}
		for id, members := range rollout.Networks(o.Nodes, o.Lookup) {
			for _, m := range members {
				m.Ref = o.Name + "/" + m.Name
				m.Name = peers.NeighbourName(m.Name, o.Name)
				n.members[id] = append(n.members[id], m)
			}
		}
	}
	return n
}

// Members adds the neighbours' rollout members of a network to the namespace's own, sorted by name:
// a turn in one namespace of a scope waits for its network's validators in all of them.
func (n Neighbours) Members(network string, own []rollout.Member) []rollout.Member {
	theirs := n.members[network]
	if len(theirs) == 0 {
		return own
	}
	all := append(slices.Clone(own), theirs...)
	slices.SortFunc(all, func(a, b rollout.Member) int { return strings.Compare(a.Name, b.Name) })
	return all
}
