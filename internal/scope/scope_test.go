package scope_test

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

func TestParseRefusesWhatIsNoScope(t *testing.T) {
	for _, groups := range [][]string{
		{"alone"},                        // one namespace shares with nobody
		{"a,b", "b,c"},                   // b in two groups
		{"a,a"},                          // named twice
		{"a,B"},                          // not a DNS label
		{"a,b.c"},                        // a subdomain, no namespace
		{"a,"},                           // empty name
		{"a,b\nNODE_SEED=x"},             // a hostile value
		{"a," + strings.Repeat("x", 64)}, // too long for a label
	} {
		if _, err := scope.Parse(groups); err == nil {
			t.Errorf("Parse(%q) accepted", groups)
		}
	}
}

func TestParseGroups(t *testing.T) {
	s, err := scope.Parse([]string{"c, a,b", "x,y"})
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Others("a"); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("Others(a) = %v", got)
	}
	if got := s.Others("y"); !slices.Equal(got, []string{"x"}) {
		t.Errorf("Others(y) = %v", got)
	}
	if got := s.Others("elsewhere"); got != nil {
		t.Errorf("Others of a namespace in no scope = %v", got)
	}
	if got := s.Namespaces(); !slices.Equal(got, []string{"a", "b", "c", "x", "y"}) {
		t.Errorf("Namespaces() = %v", got)
	}
}

// lookup plays the cache: every validator has a settled StatefulSet and a Ready pod, but down.
func lookup(down ...string) rollout.Lookup {
	return rollout.Lookup{
		StatefulSet: func(name string) *appsv1.StatefulSet {
			one := int32(1)
			return &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Replicas: &one},
				Status: appsv1.StatefulSetStatus{ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}}
		},
		Pod: func(name string) *corev1.Pod {
			if slices.Contains(down, name) {
				return nil
			}
			return &corev1.Pod{Spec: corev1.PodSpec{NodeName: "node"}, Status: corev1.PodStatus{PodIP: "10.0.0." + name[1:],
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
		},
	}
}

func TestNeighboursAreNamedAfterTheirNamespace(t *testing.T) {
	org := func(key int) fixture.Option {
		return fixture.InOrganisation("example.org", fixture.OrgKeys[key], nil)
	}
	b := scope.Namespace{Name: "b", Lookup: lookup("v2")}
	b.Nodes = append(b.Nodes, fixture.Validator("b", "v1", org(0)), fixture.Validator("b", "v2", org(1)),
		// Its key is v1's: in its own namespace it is no member, so it is none here either.
		fixture.Validator("b", "v3", org(0)), fixture.Validator("b", "off", fixture.Suspended()))
	n := scope.Of([]scope.Namespace{b}, "cluster.local")

	var names []string
	for _, p := range n.Peers {
		names = append(names, p.Name)
		if p.Namespace != "b" || !strings.HasSuffix(p.DNSName, ".b.svc.cluster.local") || p.Validate() != nil {
			t.Errorf("%s: namespace %q, DNS name %q, %v", p.Name, p.Namespace, p.DNSName, p.Validate())
		}
	}
	if !slices.Equal(names, []string{"v1.b", "v2.b"}) {
		t.Errorf("peers %v, want v1.b and v2.b (v3 shares v1's key, off is suspended)", names)
	}
	if n.Peers[0].PodIP != "10.0.0.1" || n.Peers[1].PodIP != "" {
		t.Errorf("pod IPs %q %q: only a Ready pod's", n.Peers[0].PodIP, n.Peers[1].PodIP)
	}

	own := []rollout.Member{{Name: "v1"}, {Name: "w"}}
	members := n.Members(fixture.Validator("a", "x").NetworkID(), own)
	var got []string
	for _, m := range members {
		got = append(got, m.Name+"="+m.Ref)
	}
	if !slices.Equal(got, []string{"v1=", "v1.b=b/v1", "v2.b=b/v2", "v3.b=b/v3", "w="}) {
		t.Errorf("rollout members %v", got)
	}
	if members[2].InConsensus {
		t.Error("v2.b's pod is not Ready: it is not in consensus")
	}
	if got := n.Members("another network", own); !slices.Equal(got, own) {
		t.Errorf("a network the neighbours do not run: %v", got)
	}
}
