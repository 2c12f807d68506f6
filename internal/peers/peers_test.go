package peers

import (
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

func TestConfigMapDataIsDeterministic(t *testing.T) {
	a := Peer{Name: "a", PodIP: "10.0.0.2", Port: 11625, DNSName: "a-0"}
	b := Peer{Name: "b", PodIP: "10.0.0.1", Port: 11625, DNSName: "b-0"}
	c := Peer{Name: "c", Port: 11625, DNSName: "c-0"} // not Ready
	one, err := ConfigMapData([]Peer{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	two, _ := ConfigMapData([]Peer{c, b, a})
	if one[KeyKnownPeers] != two[KeyKnownPeers] || one[KeyPeersJSON] != two[KeyPeersJSON] {
		t.Error("the same peers in another order must give the same bytes")
	}
	if one[KeyKnownPeers] != "10.0.0.1:11625\n10.0.0.2:11625\n" {
		t.Errorf("KNOWN_PEERS = %q: sorted, Ready peers only", one[KeyKnownPeers])
	}
	doc, err := ParseDocument([]byte(one[KeyPeersJSON]))
	if err != nil || len(doc.Peers) != 3 || doc.Peers[0].Name != "a" {
		t.Errorf("peers.json = %+v, %v", doc, err)
	}
	if lines := strings.Split(one[KeyPeersJSON], "\n"); len(lines) != 6 || lines[0] != `{"peers":[` ||
		!strings.HasPrefix(lines[1], `{"name":"a",`) || lines[4] != "]}" {
		t.Errorf("peers.json is not one peer a line:\n%s", one[KeyPeersJSON])
	}
	empty, _ := ConfigMapData(nil)
	if empty[KeyKnownPeers] != "" || empty[KeyPeersJSON] != "{\"peers\":[]}\n" {
		t.Errorf("empty = %q", empty)
	}
}

func TestMembershipHash(t *testing.T) {
	x, y, z := Member{Name: "x", Port: 11625}, Member{Name: "y", Port: 11625}, Member{Name: "z", Port: 11625}
	if MembershipHash([]Member{x, y, z}) != MembershipHash([]Member{z, x, y}) {
		t.Error("order must not matter")
	}
	if MembershipHash([]Member{x, y}) == MembershipHash([]Member{x, z}) {
		t.Error("different members, different hash")
	}
	if MembershipHash([]Member{x, y}) == MembershipHash([]Member{x, {Name: "y", Port: 11626}}) {
		t.Error("a port change is a membership change")
	}
	var all SetHash
	for _, m := range []Member{x, y, z} {
		all = all.Add(m)
	}
	if all.Remove(y).String() != MembershipHash([]Member{x, z}) {
		t.Error("removing a member gives the hash of the others")
	}
}

func validatorNode(name, key string, created int64) *stellarv1alpha1.StellarNode {
	n := &stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, CreationTimestamp: metav1.Unix(created, 0)},
		Spec: stellarv1alpha1.StellarNodeSpec{NodeType: stellarv1alpha1.NodeTypeValidator, Network: stellarv1alpha1.NetworkTestnet,
			ValidatorConfig: &stellarv1alpha1.ValidatorConfig{SeedSecretRef: "s", PublicKey: key, HomeDomain: "example.org",
				Quorum: &stellarv1alpha1.QuorumSpec{}}},
	}
	return n
}

func TestIndexMembership(t *testing.T) {
	a, b, c := validatorNode("a", "GA", 1), validatorNode("b", "GB", 2), validatorNode("c", "GC", 3)
	ix := NewIndex([]*stellarv1alpha1.StellarNode{c, a, b}, nil)
	nw := ix.Network(a.NetworkID())
	if len(nw.Members) != 3 || nw.Members[0].Name != "a" || nw.Nodes[2] != c {
		t.Fatalf("members = %+v: sorted by name with their nodes", nw.Members)
	}
	hash, size := ix.Membership(a)
	if size != 2 || hash != MembershipHash([]Member{MemberOf(b), MemberOf(c)}) {
		t.Errorf("a's membership = %s (%d), want b and c", hash, size)
	}
	// What a member brings to its peers' quorum is part of their membership.
	b2 := b.DeepCopy()
	b2.Spec.ValidatorConfig.Quorum.Quality = stellarv1alpha1.QualityHigh
	if changed, _ := NewIndex([]*stellarv1alpha1.StellarNode{a, b2, c}, nil).Membership(a); changed == hash {
		t.Error("a member's quality changes the others' membership")
	}
	// A later validator with an older one's key is one node twice: never a member.
	dup := validatorNode("d", "GA", 4)
	ix = NewIndex([]*stellarv1alpha1.StellarNode{a, b, c, dup}, nil)
	if ix.DuplicateKeyOf(dup) != "a" || ix.DuplicateKeyOf(a) != "" || len(ix.Network(a.NetworkID()).Members) != 3 {
		t.Errorf("duplicate of a: %q, members %v", ix.DuplicateKeyOf(dup), ix.Network(a.NetworkID()).Members)
	}
	// Without quorum fields, a member is its name and port, as before.
	plain := validatorNode("p", "", 5)
	plain.Spec.ValidatorConfig.Quorum = nil
	if MemberOf(plain).String() != "p:11625" {
		t.Errorf("member = %s", MemberOf(plain))
	}
}

func TestCheckedKeepsLocalOverRemote(t *testing.T) {
	key := "GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y"
	local := Peer{Name: "v1", NetworkID: "n", Port: 11625, DNSName: "v1-0.v1.ns.svc.cluster.local", PublicKey: key, HomeDomain: "example.org"}
	sameKey := Peer{Name: "v9.ns.cluster-b", NetworkID: "n", Port: 11625, DNSName: "v9.example.org", PublicKey: key,
		HomeDomain: "example.org", Cluster: "cluster-b"}
	sameName := Peer{Name: "v1", NetworkID: "n", Port: 11625, DNSName: "v1.example.org", Cluster: "cluster-b"}
	withIP := Peer{Name: "v2.ns.cluster-b", NetworkID: "n", Port: 11625, DNSName: "v2.example.org", PodIP: "10.0.0.9", Cluster: "cluster-b"}
	fine := Peer{Name: "v3.ns.cluster-b", NetworkID: "n", Port: 11625, DNSName: "v3.example.org", Cluster: "cluster-b"}
	// Remote ones first in the document: the local one still wins.
	doc, dropped := Document{Peers: []Peer{sameKey, sameName, withIP, fine, local}}.Checked()
	if len(doc.Peers) != 2 || doc.Peers[0].Name != "v1" || doc.Peers[0].Remote() || doc.Peers[1].Name != "v3.ns.cluster-b" {
		t.Errorf("kept %+v, want the local v1 and v3", doc.Peers)
	}
	if len(dropped) != 3 {
		t.Errorf("dropped %v, want the same key, the same name and a remote one with a pod IP", dropped)
	}
}

func TestIndexLeavesOutARemoteMemberWithALocalKey(t *testing.T) {
	local := fixture.Validator("ns", "v1", fixture.InOrganisation("example.org", fixture.OrgKeys[0], nil))
	taken := Peer{Name: "v9.ns.cluster-b", NetworkID: local.NetworkID(), Port: 11625, DNSName: "v9.example.org",
		PublicKey: fixture.OrgKeys[0], HomeDomain: "example.org", Cluster: "cluster-b"}
	fine := Peer{Name: "v8.ns.cluster-b", NetworkID: local.NetworkID(), Port: 11625, DNSName: "v8.example.org", Cluster: "cluster-b"}
	ix := NewIndex([]*stellarv1alpha1.StellarNode{local}, []Peer{taken, fine})
	nw := ix.Network(local.NetworkID())
	if len(nw.Others) != 1 || nw.Others[0].Name != fine.Name || len(ix.OthersDropped) != 1 ||
		!strings.HasPrefix(ix.OthersDropped[0], taken.Name+": ") {
		t.Errorf("remote %+v, dropped %v: want v8 kept and v9 (v1's key) left out", nw.Others, ix.OthersDropped)
	}
}

// Of one key in three places, the validator of this namespace keeps it, then the one of another
// namespace of the scope, then the one of another cluster; in the document and in the index alike.
func TestOwnThenNeighbourThenRemote(t *testing.T) {
	local := fixture.Validator("a", "v1", fixture.InOrganisation("example.org", fixture.OrgKeys[0], nil))
	nw := local.NetworkID()
	neighbour := func(name string, key int) Peer {
		return Neighbour(Peer{Name: name, NetworkID: nw, Port: 11625, DNSName: name + "-0." + name + "-headless.b.svc.cluster.local",
			PublicKey: fixture.OrgKeys[key], HomeDomain: "example.org"}, "b")
	}
	remote := func(name string, key int) Peer {
		return Peer{Name: name + ".ns.cluster-b", NetworkID: nw, Port: 11625, DNSName: name + ".example.org",
			PublicKey: fixture.OrgKeys[key], HomeDomain: "example.org", Cluster: "cluster-b"}
	}
	// "a1.b" sorts before "v1": precedence, not the name, decides.
	others := []Peer{remote("r1", 1), remote("a0", 2), neighbour("a1", 0), neighbour("w1", 1)}
	ix := NewIndex([]*stellarv1alpha1.StellarNode{local}, others)
	var kept []string
	for _, p := range ix.Network(nw).Others {
		kept = append(kept, p.Name)
	}
	if !slices.Equal(kept, []string{"a0.ns.cluster-b", "w1.b"}) || len(ix.OthersDropped) != 2 {
		t.Errorf("kept %v, dropped %v: want a1.b (v1's key) and r1 (w1.b's key) left out", kept, ix.OthersDropped)
	}

	own := Peer{Name: "v1", NetworkID: nw, Port: 11625, DNSName: "v1-0.v1-headless.a.svc.cluster.local", PublicKey: fixture.OrgKeys[0],
		HomeDomain: "example.org"}
	doc, dropped := Document{Peers: append(slices.Clone(others), own)}.Checked()
	var names []string
	for _, p := range doc.Peers {
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{"a0.ns.cluster-b", "v1", "w1.b"}) || len(dropped) != 2 {
		t.Errorf("kept %v, dropped %v", names, dropped)
	}
}

func TestANeighbourIsNamedAfterItsNamespace(t *testing.T) {
	p := Neighbour(Peer{Name: "v1", NetworkID: "n", Port: 11625, DNSName: "v1-0.v1-headless.b.svc.cluster.local", PodIP: "10.0.0.1"}, "b")
	if p.Name != "v1.b" || p.Own() || p.Remote() || p.Validate() != nil {
		t.Errorf("%+v: %v", p, p.Validate())
	}
	p.Name = "v1" // claims a name of the reader's namespace
	if p.Validate() == nil {
		t.Error("a member of another namespace named like one of this namespace's validators was accepted")
	}
	p.Name, p.Namespace = "v1.b", "B;x"
	if p.Validate() == nil {
		t.Error("a namespace outside the grammar was accepted")
	}
}

// A validator restarts only for what stellar-core reads at start and cannot change live: its generated
// quorum. A member that joins outside every generated quorum, or any member for a validator with a
// quorum of its own, changes no restart membership; it is peered live.
func TestMembershipIsWhatAValidatorCannotChangeLive(t *testing.T) {
	a, b := validatorNode("a", "GA", 1), validatorNode("b", "GB", 2)
	raw := validatorNode("r", "", 3)
	raw.Spec.ValidatorConfig.Quorum, raw.Spec.ValidatorConfig.QuorumSet = nil, "[QUORUM_SET]\nTHRESHOLD_PERCENT = 67\n"
	before := NewIndex([]*stellarv1alpha1.StellarNode{a, b, raw}, nil)
	hashA, _ := before.Membership(a)
	hashRaw, peersRaw := before.Membership(raw)
	if hashA != MembershipHash([]Member{MemberOf(b)}) {
		t.Errorf("a's membership is b, the only other member in generated quorums")
	}
	if hashRaw != (SetHash{}).String() || peersRaw != 2 {
		t.Errorf("a validator with its own quorum set reads no member at start: %s, %d peers", hashRaw, peersRaw)
	}

	// A member with no key joins: a's quorum is unchanged, so is r's; both have one peer more.
	keyless := validatorNode("k", "", 4)
	after := NewIndex([]*stellarv1alpha1.StellarNode{a, b, raw, keyless}, nil)
	if h, n := after.Membership(a); h != hashA || n != 3 {
		t.Errorf("a keyless member changed a's restart membership (%v) or was not counted (%d)", h != hashA, n)
	}
	// A member in generated quorums joins: a's quorum changes, r's does not.
	c := validatorNode("c", "GC", 5)
	after = NewIndex([]*stellarv1alpha1.StellarNode{a, b, raw, c}, nil)
	if h, _ := after.Membership(a); h == hashA {
		t.Error("c enters a's generated quorum: a must restart for it")
	}
	if h, _ := after.Membership(raw); h != hashRaw {
		t.Error("r's quorum is its own: c never restarts it")
	}
	// A member elsewhere in generated quorums counts like a local one.
	remote := Peer{Name: "x.ns.b", NetworkID: a.NetworkID(), Port: 11625, DNSName: "x.example.org", PublicKey: fixtureKey,
		HomeDomain: "example.org", Quality: "MEDIUM", Cluster: "b"}
	if h, _ := NewIndex([]*stellarv1alpha1.StellarNode{a, b}, []Peer{remote}).Membership(a); h == hashA {
		t.Error("a member of another cluster in a's generated quorum must restart a")
	}
}

const fixtureKey = "GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y"

// One "older keeps it" rule for a key and an archive: created first, then by name; one being deleted
// keeps what it holds until it is gone.
func TestOlderKeepsTheKeyAndTheArchive(t *testing.T) {
	archive := func(n *stellarv1alpha1.StellarNode, put, url string) *stellarv1alpha1.StellarNode {
		n.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Publish: new(true),
			ObjectStorage: &stellarv1alpha1.ObjectStorageArchive{Put: put, URL: url}}
		return n
	}
	owner := archive(validatorNode("owner", "GA", 1), "aws s3 cp {0} s3://a/{1}", "https://a.example.org/")
	samePut := archive(validatorNode("b-put", "GB", 2), " aws s3 cp {0} s3://a/{1} ", "https://b.example.org")
	sameURL := archive(validatorNode("c-url", "GC", 2), "aws s3 cp {0} s3://c/{1}", "https://a.example.org")
	apart := archive(validatorNode("d", "GD", 2), "aws s3 cp {0} s3://d/{1}", "https://d.example.org")
	// Created in the same second as owner, with its key: first by name, so it holds the key.
	sameKey := validatorNode("a-key", "GA", 1)
	deleting := owner.DeepCopy()
	deleting.DeletionTimestamp = new(metav1.Unix(9, 0))

	for _, c := range []struct {
		name                 string
		nodes                []*stellarv1alpha1.StellarNode
		node                 *stellarv1alpha1.StellarNode
		wantKey, wantArchive string
	}{
		{"the same put command", []*stellarv1alpha1.StellarNode{samePut, owner}, samePut, "", "owner"},
		{"the same URL", []*stellarv1alpha1.StellarNode{owner, sameURL}, sameURL, "", "owner"},
		{"the owner itself", []*stellarv1alpha1.StellarNode{owner, samePut, sameURL}, owner, "", ""},
		{"an archive of its own", []*stellarv1alpha1.StellarNode{owner, apart}, apart, "", ""},
		{"one being deleted keeps it", []*stellarv1alpha1.StellarNode{deleting, samePut}, samePut, "", "owner"},
		{"by name in the same second", []*stellarv1alpha1.StellarNode{owner, sameKey}, owner, "a-key", ""},
	} {
		ix := NewIndex(c.nodes, nil)
		if got := ix.DuplicateKeyOf(c.node); got != c.wantKey {
			t.Errorf("%s: key held by %q, want %q", c.name, got, c.wantKey)
		}
		if got := ix.SharedArchiveOf(c.node); got != c.wantArchive {
			t.Errorf("%s: archive held by %q, want %q", c.name, got, c.wantArchive)
		}
	}
}

// held marks a validator as the reconciler holds it from starting, for reason, with no pod ready.
func held(n *stellarv1alpha1.StellarNode, reason string) *stellarv1alpha1.StellarNode {
	n = n.DeepCopy()
	n.Generation = 1
	n.Status.Conditions = []metav1.Condition{{Type: stellarv1alpha1.ConditionDegraded, Status: metav1.ConditionTrue,
		Reason: reason, ObservedGeneration: 1}}
	return n
}

func TestAValidatorHeldFromStartingIsInNoQuorumAndClaimsNoKey(t *testing.T) {
	a, b := validatorNode("a", "GA", 1), validatorNode("b", "GB", 2)
	x := held(validatorNode("x", "GX", 3), stellarv1alpha1.ReasonNameConflict)
	nw := NewIndex([]*stellarv1alpha1.StellarNode{a, b, x}, nil).Network(a.NetworkID())
	if len(nw.Members) != 2 {
		t.Errorf("members %v: x, whose names are taken, cannot run and must be in no quorum", nw.Members)
	}
	// One that already runs stays a member whatever it is told: taking it out would restart the others.
	running := x.DeepCopy()
	running.Status.ReadyReplicas = 1
	if nw := NewIndex([]*stellarv1alpha1.StellarNode{a, b, running}, nil).Network(a.NetworkID()); len(nw.Members) != 3 {
		t.Errorf("members %v: a running validator left out", nw.Members)
	}
	// A spec edited since the verdict is judged again before it counts as held.
	edited := x.DeepCopy()
	edited.Generation = 2
	if nw := NewIndex([]*stellarv1alpha1.StellarNode{a, b, edited}, nil).Network(a.NetworkID()); len(nw.Members) != 3 {
		t.Errorf("members %v: a verdict of an older generation held it", nw.Members)
	}

	// A twin held here for a key another cluster's validator has first does not take it out of the quorums.
	local := fixture.Validator("ns", "v1", fixture.InOrganisation("example.org", fixture.OrgKeys[1], nil))
	twin := held(fixture.Validator("ns", "twin", fixture.InOrganisation("example.org", fixture.OrgKeys[0], nil)),
		stellarv1alpha1.ReasonDuplicateKeyElsewhere)
	first := Peer{Name: "a1.ns.cluster-a", NetworkID: local.NetworkID(), Port: 11625, DNSName: "a1.example.org",
		PublicKey: fixture.OrgKeys[0], HomeDomain: "example.org", Cluster: "cluster-a"}
	ix := NewIndex([]*stellarv1alpha1.StellarNode{local, twin}, []Peer{first})
	if others := ix.Network(local.NetworkID()).Others; len(others) != 1 || others[0].Name != first.Name || len(ix.OthersDropped) != 0 {
		t.Errorf("others %v, dropped %v: the held twin shadowed the validator whose key it copied", others, ix.OthersDropped)
	}
}
