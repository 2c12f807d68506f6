package peers

import (
	"testing"
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
	empty, _ := ConfigMapData(nil)
	if empty[KeyKnownPeers] != "" || empty[KeyPeersJSON] != "{\n  \"peers\": []\n}\n" {
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
