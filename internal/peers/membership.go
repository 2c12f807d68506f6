package peers

import (
	"slices"
	"strconv"
	"strings"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// Index is the peer membership of every network of one namespace, computed once from its
// StellarNodes: the reconciler reads a new validator's membership from it, discovery builds its view,
// plans restarts and describes changes from the same value. It depends on specs only, never on pods,
// so a pod restarting or moving never changes it.
type Index struct {
	// Networks are the namespace's networks, sorted by ID.
	Networks []*Network
	byID     map[string]*Network
	// OthersDropped says which members of other namespaces or clusters were left out, and why.
	OthersDropped []string
	// shadowed maps a validator that has the publicKey of an older one of its network to that one:
	// one key on two pods is one node twice, so the later one is never a member.
	shadowed map[string]string
	// sharedArchive maps a validator that writes the object-storage archive of an older one to that one.
	sharedArchive map[string]string
}

// Network is one network's discovery members.
type Network struct {
	ID string
	// Members are the network's validators that take part in discovery, sorted by name; Nodes holds
	// their StellarNodes in the same order.
	Members []Member
	Nodes   []*stellarv1alpha1.StellarNode
	hashes  []SetHash // of each member, in the same order
	// Others are the network's members elsewhere: in the other namespaces of its scope and in other
	// clusters, sorted by name. They are part of every local member's membership, so one joining,
	// leaving or changing its quorum restarts the local validators (paced) like a local one would.
	Others []Peer
	// quorum is the hash of the members, here and elsewhere, that enter generated quorums.
	quorum SetHash
}

// MemberOf is the node as its network's members see it.
func MemberOf(node *stellarv1alpha1.StellarNode) Member {
	m := Member{Name: node.Name, Port: node.PeerPort()}
	if node.QuorumFromCluster() && node.Spec.ValidatorConfig.PublicKey != "" {
		m.Quorum = node.Spec.ValidatorConfig.PublicKey + "/" + node.Spec.ValidatorConfig.HomeDomain + "/" + string(node.QuorumQuality())
	}
	switch {
	case node.PublishesLocally():
		m.Archive = "local:" + strconv.Itoa(int(node.HistoryPort()))
	case node.ObjectStorage() != nil:
		m.Archive = node.ObjectStorage().URL
	}
	return m
}

// OtherMemberOf is a member of another namespace or cluster as this namespace's validators see it:
// its address is part of it, since it is written into their configurations.
func OtherMemberOf(p Peer) Member {
	m := Member{Name: p.Name, Port: p.Port, Archive: p.History, Address: p.StableAddress()}
	if p.InQuorum() {
		m.Quorum = p.PublicKey + "/" + p.HomeDomain + "/" + p.Quality
	}
	return m
}

// NewIndex groups the discovery members among nodes (all of one namespace) by network, and adds to
// each of those networks its members elsewhere (others, checked already): in the other namespaces of
// its scope and in other clusters. One of those whose name or publicKey a member of its network has,
// or one before it in precedence order had, is left out and named in OthersDropped.
func NewIndex(nodes []*stellarv1alpha1.StellarNode, others []Peer) Index {
	ix := Index{byID: map[string]*Network{}, shadowed: firstClaims(nodes, keyClaim), sharedArchive: firstClaims(nodes, archiveClaim)}
	// Sorted by name first, so every network's members come out sorted.
	byName := func(a, b *stellarv1alpha1.StellarNode) int { return strings.Compare(a.Name, b.Name) }
	if !slices.IsSortedFunc(nodes, byName) {
		nodes = slices.Clone(nodes)
		slices.SortFunc(nodes, byName)
	}
	for _, node := range nodes {
		if !node.IsPeerDiscoveryMember() || ix.shadowed[node.Name] != "" {
			continue
		}
		id := node.NetworkID()
		nw := ix.byID[id]
		if nw == nil {
			nw = &Network{ID: id, Members: make([]Member, 0, len(nodes)), Nodes: make([]*stellarv1alpha1.StellarNode, 0, len(nodes)),
				hashes: make([]SetHash, 0, len(nodes))}
			ix.byID[id] = nw
			ix.Networks = append(ix.Networks, nw)
		}
		m := MemberOf(node)
		h := HashOf(m)
		nw.Members = append(nw.Members, m)
		nw.Nodes = append(nw.Nodes, node)
		nw.hashes = append(nw.hashes, h)
		if m.Quorum != "" {
			nw.quorum = nw.quorum.plus(h)
		}
	}
	slices.SortFunc(ix.Networks, func(a, b *Network) int { return strings.Compare(a.ID, b.ID) })
	ix.addOthers(nodes, others)
	return ix
}

func (ix *Index) addOthers(nodes []*stellarv1alpha1.StellarNode, others []Peer) {
	if len(others) == 0 {
		return
	}
	taken := Claims{}
	for _, n := range nodes {
		key := ""
		if n.Spec.ValidatorConfig != nil {
			key = n.Spec.ValidatorConfig.PublicKey
		}
		// Every local validator's, member or not: the older of two with one key is dealt with locally.
		// Not one held from starting, for a key another cluster's validator has first: it must not
		// take that one out of the quorums here.
		if !n.HeldBeforeStart() {
			taken.Take(n.NetworkID(), n.Name, key)
		}
	}
	for _, p := range byPrecedence(others) {
		nw := ix.byID[p.NetworkID]
		if nw == nil {
			continue // no validator of that network here
		}
		if !taken.Claim(p.NetworkID, p.Name, p.PublicKey) {
			ix.OthersDropped = append(ix.OthersDropped, p.Name+": its name or publicKey belongs to another validator of its network")
			continue
		}
		nw.Others = append(nw.Others, p)
		if m := OtherMemberOf(p); m.Quorum != "" {
			nw.quorum = nw.quorum.plus(HashOf(m))
		}
	}
	for _, nw := range ix.Networks {
		Sort(nw.Others)
	}
}

// Older says whether a came before b (created first, then by name). Of two validators claiming one
// thing, a public key or an archive, the older keeps it; one being deleted keeps it until it is gone,
// since its pod may still run.
func Older(a, b *stellarv1alpha1.StellarNode) bool {
	if !a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.CreationTimestamp.Before(&b.CreationTimestamp)
	}
	return a.Name < b.Name
}

// firstClaims maps every validator that claims something an older one claims to that older one's
// name. claims says what a validator claims; an empty claim is none.
func firstClaims(nodes []*stellarv1alpha1.StellarNode, claims func(*stellarv1alpha1.StellarNode) []string) map[string]string {
	owner := map[string]*stellarv1alpha1.StellarNode{}
	for _, n := range nodes {
		for _, c := range claims(n) {
			if o := owner[c]; c != "" && (o == nil || Older(n, o)) {
				owner[c] = n
			}
		}
	}
	shadowed := map[string]string{}
	for _, n := range nodes {
		for _, c := range claims(n) {
			if o := owner[c]; c != "" && o.Name != n.Name && shadowed[n.Name] == "" {
				shadowed[n.Name] = o.Name
			}
		}
	}
	return shadowed
}

// keyClaim is a validator's publicKey in its network.
func keyClaim(n *stellarv1alpha1.StellarNode) []string {
	if n.Spec.ValidatorConfig == nil || n.Spec.ValidatorConfig.PublicKey == "" {
		return nil
	}
	return []string{n.NetworkID() + "/" + n.Spec.ValidatorConfig.PublicKey}
}

// archiveClaim is the object-storage archive a validator writes: its put command and its URL, each
// on its own (two validators sharing either corrupt one archive).
func archiveClaim(n *stellarv1alpha1.StellarNode) []string {
	store := n.ObjectStorage()
	if store == nil {
		return nil
	}
	var out []string
	if put := strings.TrimSpace(store.Put); put != "" {
		out = append(out, "put "+put)
	}
	if url := strings.TrimSuffix(store.URL, "/"); url != "" {
		out = append(out, "url "+url)
	}
	return out
}

// DuplicateKeyOf names the older validator of the node's network that has the node's publicKey, or "".
func (ix Index) DuplicateKeyOf(node *stellarv1alpha1.StellarNode) string {
	return ix.shadowed[node.Name]
}

// SharedArchiveOf names the older validator of the namespace that writes the node's object-storage
// archive (the same put command or the same URL), or "".
func (ix Index) SharedArchiveOf(node *stellarv1alpha1.StellarNode) string {
	return ix.sharedArchive[node.Name]
}

// Network is the network of that ID, or nil when it has no member.
func (ix Index) Network(id string) *Network { return ix.byID[id] }

// Membership is what a validator starts with from its peers and cannot change while it runs, as a
// hash, and how many peers it has. stellar-core reads its quorum ([[VALIDATORS]], HOME_DOMAINS) only
// at start: for a validator whose quorum is built from the cluster, the hash covers the other members
// in generated quorums (key, home domain, quality, address, archive); for one with a quorum of its
// own, nothing. Its other peers are connected live by its agent, so they never restart it. A node
// that is not a member itself (suspended, say) has its whole network.
func (ix Index) Membership(node *stellarv1alpha1.StellarNode) (hash string, size int) {
	nw := ix.byID[node.NetworkID()]
	if nw == nil {
		return SetHash{}.String(), 0
	}
	if i, found := slices.BinarySearchFunc(nw.Members, node.Name, byName); found {
		return nw.MembershipOf(i)
	}
	if !node.QuorumFromCluster() {
		return SetHash{}.String(), len(nw.Members) + len(nw.Others)
	}
	return nw.quorum.String(), len(nw.Members) + len(nw.Others)
}

// MembershipOf is the membership of the network's member number i (see Membership): the quorum of
// every other member, and how many they are.
func (nw *Network) MembershipOf(i int) (hash string, size int) {
	size = len(nw.Members) + len(nw.Others) - 1
	if !nw.Nodes[i].QuorumFromCluster() {
		return SetHash{}.String(), size
	}
	if nw.Members[i].Quorum == "" {
		return nw.quorum.String(), size
	}
	return nw.quorum.minus(nw.hashes[i]).String(), size
}

// Node is the member's StellarNode of that name, or nil.
func (nw *Network) Node(name string) *stellarv1alpha1.StellarNode {
	if nw == nil {
		return nil
	}
	if i, found := slices.BinarySearchFunc(nw.Members, name, byName); found {
		return nw.Nodes[i]
	}
	return nil
}

func byName(m Member, name string) int { return strings.Compare(m.Name, name) }
