package peerdiscovery

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

func viewNode(name string, network stellarv1alpha1.Network, mutate ...func(*stellarv1alpha1.StellarNode)) *stellarv1alpha1.StellarNode {
	n := &stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
		Spec: stellarv1alpha1.StellarNodeSpec{NodeType: stellarv1alpha1.NodeTypeValidator, Network: network, Version: "1",
			ValidatorConfig: &stellarv1alpha1.ValidatorConfig{SeedSecretRef: "s"}},
	}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func readyPodWith(ip string, ready bool) *corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return &corev1.Pod{
		Spec:   corev1.PodSpec{NodeName: "n"},
		Status: corev1.PodStatus{PodIP: ip, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}},
	}
}

func TestBuildView(t *testing.T) {
	inQuorum := func(key string) func(*stellarv1alpha1.StellarNode) {
		return func(n *stellarv1alpha1.StellarNode) {
			vc := n.Spec.ValidatorConfig
			vc.PublicKey, vc.HomeDomain, vc.Quorum = key, "example.org", &stellarv1alpha1.QuorumSpec{}
		}
	}
	nodes := []*stellarv1alpha1.StellarNode{
		viewNode("b", stellarv1alpha1.NetworkTestnet, inQuorum(fixture.OrgKeys[1])),
		viewNode("a", stellarv1alpha1.NetworkTestnet, inQuorum(fixture.OrgKeys[0]),
			func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.PeerPort = 12000 }),
		viewNode("main", stellarv1alpha1.NetworkMainnet, inQuorum(fixture.OrgKeys[2])),
		viewNode("off", stellarv1alpha1.NetworkTestnet, func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.PeerDiscovery.Enabled = new(false)
		}),
		viewNode("zero", stellarv1alpha1.NetworkTestnet, func(n *stellarv1alpha1.StellarNode) { n.Spec.Replicas = new(int32(0)) }),
		viewNode("sleepy", stellarv1alpha1.NetworkTestnet, func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = true }),
	}
	terminating := readyPodWith("10.0.0.3", true)
	terminating.DeletionTimestamp = &metav1.Time{}
	pods := map[string]*corev1.Pod{
		"a":    readyPodWith("10.0.0.1", true),
		"b":    terminating,
		"main": readyPodWith("10.0.0.5", true),
	}
	sets := map[string]*appsv1.StatefulSet{
		"a": {ObjectMeta: metav1.ObjectMeta{Generation: 2}, Spec: appsv1.StatefulSetSpec{Replicas: new(int32(1)),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{peers.AnnotationMembership: "old"}}}},
			Status: appsv1.StatefulSetStatus{ObservedGeneration: 2, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1}},
	}

	view := flatten(BuildView(peers.NewIndex(nodes, nil), lookupIn(sets, pods), "cluster.local"))
	if len(view) != 3 {
		t.Fatalf("members = %d, want a, b and main", len(view))
	}
	a, b, mainnet := view[0], view[1], view[2]
	if a.Name != "a" || b.Name != "b" || mainnet.Name != "main" {
		t.Fatalf("order = %s %s %s", a.Name, b.Name, mainnet.Name)
	}
	if a.Peer.Address() != "10.0.0.1:12000" || a.Peer.DNSName != "a-0.a-headless.ns.svc.cluster.local" {
		t.Errorf("a = %+v", a.Peer)
	}
	if rollout.ReadyPod(readyPodWith("10.0.0.4", false)) != nil {
		t.Error("an unready pod gives no address")
	}
	if b.Peer.Ready() {
		t.Error("b's pods are terminating or unready, so it has no address")
	}
	if want := peers.MembershipHash([]peers.Member{peers.MemberOf(nodes[0])}); a.TargetHash != want || a.MemberCount != 1 {
		t.Errorf("a's membership = %s (%d), want only b: main is another network", a.TargetHash, a.MemberCount)
	}
	if mainnet.MemberCount != 0 || mainnet.TargetHash != peers.MembershipHash(nil) {
		t.Errorf("main's membership = %s (%d)", mainnet.TargetHash, mainnet.MemberCount)
	}
	if a.AppliedHash != "old" || !a.NeedsRestart() {
		t.Errorf("a = %+v", a)
	}
	if b.HasStatefulSet || b.NeedsRestart() {
		t.Errorf("b has no StatefulSet yet: %+v", b)
	}
}

// BenchmarkBuildViewAndPlan1000 measures the pure part of a pass (view and plan) over 1000 validators.
func BenchmarkBuildViewAndPlan1000(b *testing.B) {
	nodes := make([]*stellarv1alpha1.StellarNode, 0, 1000)
	pods := map[string]*corev1.Pod{}
	for i := range 1000 {
		name := "v" + string(rune('a'+i%26)) + itoa(i)
		nodes = append(nodes, viewNode(name, stellarv1alpha1.NetworkTestnet))
		pods[name] = readyPodWith("10.0.0.1", true)
	}
	lookup := lookupIn(nil, pods)
	b.ReportAllocs()
	for b.Loop() {
		BuildView(peers.NewIndex(nodes, nil), lookup, "cluster.local")
		rollout.Networks(nodes, lookup)
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var s []byte
	for i > 0 {
		s = append([]byte{byte('0' + i%10)}, s...)
		i /= 10
	}
	return string(s)
}

func lookupIn(sets map[string]*appsv1.StatefulSet, pods map[string]*corev1.Pod) Lookup {
	return Lookup{
		StatefulSet: func(name string) *appsv1.StatefulSet { return sets[name] },
		Pod:         func(name string) *corev1.Pod { return pods[name] },
	}
}

// flatten lists a view's states sorted by name.
func flatten(v View) []ValidatorState {
	var out []ValidatorState
	for _, nw := range v.Networks {
		out = append(out, nw.States...)
	}
	slices.SortFunc(out, func(a, b ValidatorState) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// A pass over a namespace nothing changed in reuses its index and view; a new generation of the
// roster, or another member read from another cluster, builds them again.
func TestIndexAndViewAreBuiltAgainOnlyAfterAChange(t *testing.T) {
	d := &PeerDiscovery{views: map[string]builtView{}, cfg: Config{ClusterDomain: "cluster.local"}}
	nodes := []*stellarv1alpha1.StellarNode{viewNode("a", stellarv1alpha1.NetworkTestnet), viewNode("b", stellarv1alpha1.NetworkTestnet)}
	pods := map[string]*corev1.Pod{"a": readyPodWith("10.0.0.1", true)}
	lookup := lookupIn(nil, pods)
	remote := []peers.Peer{}

	_, first := d.indexAndView("ns", 7, nodes, scope.Neighbours{}, remote, lookup)
	_, again := d.indexAndView("ns", 7, nodes, scope.Neighbours{}, remote, lookup)
	if d.Stats().ViewsBuilt != 1 || &first.Peers()[0] != &again.Peers()[0] {
		t.Fatalf("built %d views for one generation, want 1 reused", d.Stats().ViewsBuilt)
	}
	// b's pod became Ready: the roster's generation moved, and the view shows it.
	pods["b"] = readyPodWith("10.0.0.2", true)
	_, next := d.indexAndView("ns", 8, nodes, scope.Neighbours{}, remote, lookup)
	if d.Stats().ViewsBuilt != 2 || next.Peers()[1].PodIP != "10.0.0.2" {
		t.Errorf("a new generation was not built again: %d views, b at %q", d.Stats().ViewsBuilt, next.Peers()[1].PodIP)
	}
	d.indexAndView("other", 8, nodes, scope.Neighbours{}, remote, lookup)
	if d.Stats().ViewsBuilt != 3 {
		t.Errorf("another namespace of the same generation reused ns's view")
	}
	remote = append(remote, peers.Peer{Name: "x.ns.b", NetworkID: nodes[0].NetworkID(), Port: 11625, DNSName: "x.example.org", Cluster: "b"})
	if _, v := d.indexAndView("ns", 8, nodes, scope.Neighbours{}, remote, lookup); d.Stats().ViewsBuilt != 4 || len(v.Peers()) != 3 {
		t.Errorf("a member read from another cluster was not taken in: %d views, %d peers", d.Stats().ViewsBuilt, len(v.Peers()))
	}
}
