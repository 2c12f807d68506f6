package remote

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

func remoteValidator(name string, mutate ...func(*stellarv1alpha1.StellarNode)) stellarv1alpha1.StellarNode {
	n := fixture.Validator("tier1", name, fixture.InOrganisation("example.org", fixture.OrgKeys[0], nil),
		fixture.PublishingHistory("https://"+name+".example.org/history"))
	n.Status.ExternalAddress = name + ".example.org:11625"
	meta.SetStatusCondition(&n.Status.Conditions, metav1.Condition{Type: stellarv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "R"})
	for _, m := range mutate {
		m(n)
	}
	return *n
}

func TestMembersOf(t *testing.T) {
	list := []stellarv1alpha1.StellarNode{
		remoteValidator("good"),
		remoteValidator("newline", func(n *stellarv1alpha1.StellarNode) {
			n.Status.ExternalAddress = "x.example.org:11625\nNODE_SEED=\"S\""
		}),
		remoteValidator("quote", func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.HomeDomain = `example.org"` }),
		remoteValidator("archive", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.History.PublicURL = "https://h.example.org/$(id)"
		}),
		remoteValidator("key", func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.PublicKey = "GABC" }),
		remoteValidator("network", func(n *stellarv1alpha1.StellarNode) { n.Spec.Network = "Public network" }),
		remoteValidator("unaddressed", func(n *stellarv1alpha1.StellarNode) { n.Status.ExternalAddress = "" }),
		remoteValidator("suspended", func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = true }),
		// The hostile neighbours of the safety issue: the cloud metadata address, the validator's own
		// admin port on loopback, an archive at the metadata service, a passphrase a YAML reader folds.
		remoteValidator("metadata", func(n *stellarv1alpha1.StellarNode) { n.Status.ExternalAddress = "169.254.169.254:80" }),
		remoteValidator("loopback", func(n *stellarv1alpha1.StellarNode) { n.Status.ExternalAddress = "127.0.0.1:11626" }),
		remoteValidator("metaarchive", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.History.PublicURL = "http://169.254.169.254/latest/meta-data"
		}),
		remoteValidator("folded", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.Network, n.Spec.CustomNetworkPassphrase = stellarv1alpha1.NetworkCustom, "Probe\u0085Net"
		}),
		*fixture.Horizon("tier1", "horizon"),
	}
	members, dropped := membersOf("cluster-b", list, false)
	if len(members) != 1 {
		t.Fatalf("members = %+v, want good only", members)
	}
	p := members[0].Peer
	if p.Name != "good.tier1.cluster-b" || p.Cluster != "cluster-b" || p.DNSName != "good.example.org" || p.Port != 11625 ||
		p.PodIP != "" || p.PublicKey != fixture.OrgKeys[0] || p.History != "https://good.example.org/history" || !members[0].InConsensus {
		t.Errorf("good = %+v", members[0])
	}
	want := []string{"archive", "folded", "key", "loopback", "metaarchive", "metadata", "network", "newline", "quote", "unaddressed"}
	if len(dropped) != len(want) {
		t.Fatalf("dropped = %q, want one each of %q", dropped, want)
	}
	for i, name := range want {
		if !strings.HasPrefix(dropped[i], "tier1/"+name+": ") {
			t.Errorf("dropped[%d] = %q, want tier1/%s", i, dropped[i], name)
		}
	}
}

func TestStaleClusterHoldsTurns(t *testing.T) {
	c := &Clusters{names: []string{"cluster-b"}, state: map[string]Cluster{}}
	members, _ := membersOf("cluster-b", []stellarv1alpha1.StellarNode{remoteValidator("b1")}, false)
	c.state["cluster-b"] = Cluster{Name: "cluster-b", Members: members, Stale: true, Error: "timeout"}
	got := c.RolloutMembers(members[0].Peer.NetworkID)
	if len(got) != 1 || !got[0].Stale || got[0].Settled || got[0].InConsensus || !got[0].Remote {
		t.Errorf("stale member = %+v, want stale, unsettled, remote", got)
	}
	st := StatusFor(c.Snapshot(), members[0].Peer.NetworkID)
	if len(st) != 1 || st[0].Members != 1 || !st[0].Stale || st[0].Message != "timeout" {
		t.Errorf("status = %+v", st)
	}
	if len(c.Peers()) != 1 {
		t.Errorf("a stale cluster keeps its last known members, got %d", len(c.Peers()))
	}
}

// A test bed on one machine (--allow-loopback-peers) admits a loopback member, never a metadata one.
func TestMembersOfOnALoopbackTestBed(t *testing.T) {
	list := []stellarv1alpha1.StellarNode{
		remoteValidator("loopback", func(n *stellarv1alpha1.StellarNode) { n.Status.ExternalAddress = "127.0.0.2:11625" }),
		remoteValidator("metadata", func(n *stellarv1alpha1.StellarNode) { n.Status.ExternalAddress = "169.254.169.254:80" }),
	}
	members, dropped := membersOf("cluster-b", list, true)
	if len(members) != 1 || members[0].Peer.DNSName != "127.0.0.2" || len(dropped) != 1 || !strings.HasPrefix(dropped[0], "tier1/metadata: ") {
		t.Errorf("members %+v, dropped %q", members, dropped)
	}
}

// Of two validators of a network with one key, every operator picks the same one to run: created
// first, then by cluster name, then namespace/name.
func TestKeyHolderBefore(t *testing.T) {
	at := func(sec int64) metav1.Time { return metav1.Unix(1_800_000_000+sec, 0) }
	local := fixture.Validator("tier1", "a1", fixture.InOrganisation("example.org", fixture.OrgKeys[0], nil))
	local.CreationTimestamp = at(10)
	member := func(cluster, name string, created metav1.Time, key string) Member {
		n := remoteValidator(name, func(n *stellarv1alpha1.StellarNode) {
			n.CreationTimestamp, n.Spec.ValidatorConfig.PublicKey = created, key
		})
		m, err := memberOf(cluster, &n, false)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, c := range []struct {
		name    string
		members map[string][]Member
		want    string
	}{
		{"no other holder", map[string][]Member{"b": {member("b", "b1", at(5), fixture.OrgKeys[1])}}, ""},
		{"created later elsewhere", map[string][]Member{"b": {member("b", "b1", at(20), fixture.OrgKeys[0])}}, ""},
		{"created first elsewhere", map[string][]Member{"b": {member("b", "b1", at(5), fixture.OrgKeys[0])}}, "b1.tier1.b"},
		{"created the same second, a cluster named first", map[string][]Member{"0-first": {member("0-first", "z9", at(10), fixture.OrgKeys[0])}}, "z9.tier1.0-first"},
		{"created the same second, a cluster named after", map[string][]Member{"z-last": {member("z-last", "a0", at(10), fixture.OrgKeys[0])}}, ""},
		{"two earlier ones: the first of them", map[string][]Member{
			"b": {member("b", "b1", at(7), fixture.OrgKeys[0])}, "c": {member("c", "c1", at(6), fixture.OrgKeys[0])}}, "c1.tier1.c"},
	} {
		cl := &Clusters{state: map[string]Cluster{}}
		for name, ms := range c.members {
			cl.names = append(cl.names, name)
			cl.state[name] = Cluster{Name: name, Members: ms}
		}
		got := ""
		if m := cl.KeyHolderBefore(local, "a"); m != nil {
			got = m.Peer.Name
		}
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
