package peers

import (
	"slices"
	"strings"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// MembershipOf is the peer membership of a validator: every other member validator of the same
// namespace and network, by name and peer port, sorted by name. It depends on specs only, never on
// pods, so a pod restarting or moving never changes it.
func MembershipOf(node *stellarv1alpha1.StellarNode, all []stellarv1alpha1.StellarNode) []Member {
	var members []Member
	for i := range all {
		other := &all[i]
		if other.Name == node.Name || other.Namespace != node.Namespace {
			continue
		}
		if !other.IsPeerDiscoveryMember() || other.NetworkID() != node.NetworkID() {
			continue
		}
		members = append(members, Member{Name: other.Name, Port: other.PeerPort()})
	}
	slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return members
}
