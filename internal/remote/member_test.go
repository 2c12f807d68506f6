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
