package peerdiscovery

import (
	"slices"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// PeerDiff is how a namespace's published peers changed.
type PeerDiff struct {
	Added, Removed, Readdressed []string
}

// Empty reports whether nothing changed.
func (d PeerDiff) Empty() bool {
	return len(d.Added) == 0 && len(d.Removed) == 0 && len(d.Readdressed) == 0
}

// DiffPeers compares two peer lists by validator name: who joined, who left, and whose address
// (pod IP, port or readiness) changed.
func DiffPeers(before, after []peers.Peer) PeerDiff {
	old := map[string]peers.Peer{}
	for _, p := range before {
		old[p.Name] = p
	}
	var d PeerDiff
	seen := map[string]bool{}
	for _, p := range after {
		seen[p.Name] = true
		prev, ok := old[p.Name]
		switch {
		case !ok:
			d.Added = append(d.Added, p.Name)
		case prev != p:
			d.Readdressed = append(d.Readdressed, p.Name)
		}
	}
	for _, p := range before {
		if !seen[p.Name] {
			d.Removed = append(d.Removed, p.Name)
		}
	}
	slices.Sort(d.Added)
	slices.Sort(d.Removed)
	slices.Sort(d.Readdressed)
	return d
}

// MemberDiff lists the members that joined and left between two memberships.
func MemberDiff(before, after []peers.Member) (joined, left []peers.Member) {
	had := map[peers.Member]bool{}
	for _, m := range before {
		had[m] = true
	}
	has := map[peers.Member]bool{}
	for _, m := range after {
		has[m] = true
		if !had[m] {
			joined = append(joined, m)
		}
	}
	for _, m := range before {
		if !has[m] {
			left = append(left, m)
		}
	}
	return joined, left
}
