package roster_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/operator"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/roster"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// The roster follows a real API server through the manager's kind of cache: validators only and by
// name, a StatefulSet only when its validator controls it, the validator's pod, stellar-peers, and
// every change, deletion included, followed by a call of its listeners.
func TestRosterFollowsTheAPIServer(t *testing.T) {
	env, cfg, c, err := testutil.StartEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	ns := newNamespace(ctx, t, c, "roster")
	other := newNamespace(ctx, t, c, "roster-other")
	onlyPeers := newNamespace(ctx, t, c, "roster-peers")
	v1, v2 := fixture.Validator(ns, "v1"), fixture.Validator(ns, "v2")
	for _, obj := range []client.Object{v2, v1, fixture.Horizon(ns, "h1"), fixture.Validator(other, "v9"),
		&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: onlyPeers, Name: peers.ConfigMapName}}} {
		create(ctx, t, c, obj)
	}
	create(ctx, t, c, statefulSet(v1, true))
	// v2's namesake StatefulSet is somebody else's: no validator's.
	create(ctx, t, c, statefulSet(v2, false))
	create(ctx, t, c, pod(v1))

	informers, err := cache.New(cfg, cache.Options{Scheme: operator.NewScheme()})
	if err != nil {
		t.Fatal(err)
	}
	r := roster.New(informers)
	var changes atomic.Int64
	r.OnChange(func() { changes.Add(1) })
	go func() { _ = informers.Start(ctx) }()
	go func() { _ = r.Start(ctx) }()
	if err := r.WaitSynced(ctx); err != nil {
		t.Fatal(err)
	}

	if got := names(r.Validators(ns)); !slices.Equal(got, []string{"v1", "v2"}) {
		t.Errorf("validators of %s: %v, want [v1 v2] (no Horizon, by name)", ns, got)
	}
	if got := names(r.Validators(other)); !slices.Equal(got, []string{"v9"}) {
		t.Errorf("validators of %s: %v, want [v9]", other, got)
	}
	lookup := r.Lookup(ns)
	if lookup.StatefulSet("v1") == nil || lookup.Pod("v1") == nil {
		t.Errorf("v1's StatefulSet and pod not found")
	}
	if lookup.StatefulSet("v2") != nil {
		t.Errorf("a StatefulSet v2 does not control was taken for v2's")
	}
	if lookup.Pod("v2") != nil || r.Lookup(other).StatefulSet("v1") != nil {
		t.Errorf("found what does not exist: another validator's or another namespace's objects")
	}
	if !slices.Contains(r.Namespaces(), onlyPeers) || r.PeersConfigMap(onlyPeers) == nil {
		t.Errorf("a namespace with stellar-peers and no validator is missing: %v", r.Namespaces())
	}

	// A pod's change is the namespace's, not its validators': what is built from them alone holds.
	generation, nodes := r.Generation(ns), r.NodesGeneration(ns)
	p := &corev1.Pod{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(pod(v1)), p); err != nil {
		t.Fatal(err)
	}
	p.Labels["example.org/touched"] = "yes"
	if err := c.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return r.Generation(ns) > generation }, "the pod's change to reach the roster")
	if r.NodesGeneration(ns) != nodes {
		t.Errorf("a pod's change counted as a change of the namespace's StellarNodes")
	}

	before := changes.Load()
	if err := c.Delete(ctx, v2); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return slices.Equal(names(r.Validators(ns)), []string{"v1"}) }, "v2 to leave the roster")
	if r.NodesGeneration(ns) == nodes {
		t.Errorf("a validator's deletion left the count of the namespace's StellarNode changes as it was")
	}
	if changes.Load() == before {
		t.Errorf("the deletion reached the roster without calling its listeners")
	}
}

func newNamespace(ctx context.Context, t *testing.T, c client.Client, prefix string) string {
	t.Helper()
	ns, err := testutil.NewNamespace(ctx, c, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

func create(ctx context.Context, t *testing.T, c client.Client, obj client.Object) {
	t.Helper()
	if err := c.Create(ctx, obj); err != nil {
		t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

func statefulSet(node *stellarv1alpha1.StellarNode, controlled bool) *appsv1.StatefulSet {
	labels := map[string]string{resources.LabelInstance: node.Name}
	sts := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: node.Namespace, Name: node.Name},
		Spec: appsv1.StatefulSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "stellar-core", Image: "stellar/stellar-core:27.1.0"}}},
			},
		},
	}
	if controlled {
		sts.OwnerReferences = []metav1.OwnerReference{{APIVersion: stellarv1alpha1.GroupVersion.String(), Kind: "StellarNode",
			Name: node.Name, UID: node.UID, Controller: new(true)}}
	}
	return sts
}

func pod(node *stellarv1alpha1.StellarNode) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: node.Namespace, Name: node.Name + "-0", Labels: map[string]string{
			resources.LabelName: resources.AppName, resources.LabelInstance: node.Name,
			resources.LabelComponent: resources.Component(stellarv1alpha1.NodeTypeValidator),
		}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "stellar-core", Image: "stellar/stellar-core:27.1.0"}}},
	}
}

func names(nodes []*stellarv1alpha1.StellarNode) []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.Name
	}
	return out
}

// eventually waits for an informer event; the deadline only bounds a failing run.
func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
