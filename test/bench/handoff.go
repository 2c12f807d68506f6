//go:build bench

package bench

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/operator"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

// Handoff is the rollout planner passing a network's turn from one validator to the next.
type Handoff struct {
	// Turns is how many hand-offs were timed.
	Turns           int           `json:"turns"`
	P50             time.Duration `json:"p50"`
	P99             time.Duration `json:"p99"`
	Max             time.Duration `json:"max"`
	StatefulSetsNew int           `json:"statefulSetsWithNewTemplate"`
}

// handoff gives the first turns+1 validators (by name) of one network of N a change that replaces
// their pods, and plays the StatefulSet controller and kubelet for each turn the operator grants: the
// pod goes NotReady, then Ready, and the StatefulSet's status shows it rolled out. Each hand-off is
// timed from that last write, which brings the replaced validator back in consensus, to the next
// validator's StatefulSet showing its new template (its turn granted and written). minReadySeconds is
// not waited: the bench writes the status the StatefulSet controller would write once it has passed.
// It fails when a turn is granted while another validator is still out.
func handoff(t *testing.T, cfg *rest.Config, direct client.Client, n, turns int) *Handoff {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	defer func() { cancel(); <-stopped }()
	ns := fmt.Sprintf("handoff-%d", n)
	t.Logf("N=%d: hand-offs: creating validators", n)
	createValidators(t, direct, ns, n)
	opCfg := testutil.TestConfig()
	opCfg.Namespaces = []string{ns}
	op, err := operator.New(rest.CopyConfig(cfg), opCfg)
	must(t, err)
	go func() { _ = op.Manager.Start(ctx); close(stopped) }()
	waitReconciled(t, direct, ns, n, 3*time.Minute)
	waitPeersStatus(t, direct, ns, n, 3*time.Minute)

	k := min(turns+1, n)
	t.Logf("N=%d: hand-offs: a change that replaces the pods of %d validators", n, k)
	for i := range k {
		node := &stellarv1alpha1.StellarNode{}
		must(t, direct.Get(ctx, client.ObjectKey{Namespace: ns, Name: validatorName(i)}, node))
		patch := client.MergeFrom(node.DeepCopy())
		node.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}
		must(t, direct.Patch(ctx, node, patch))
	}
	var lat []time.Duration
	var back time.Time
	for i := range k {
		sts := waitNewTemplate(t, direct, ns, validatorName(i), 2*time.Minute)
		if i > 0 {
			lat = append(lat, time.Since(back))
		}
		back = replace(t, direct, sts, func() {
			// Just before this validator is back, the next one must still wait.
			if i+1 < k {
				next := &appsv1.StatefulSet{}
				must(t, direct.Get(ctx, client.ObjectKey{Namespace: ns, Name: validatorName(i + 1)}, next))
				if next.Generation != 1 {
					t.Fatalf("%s got its turn while %s was out of consensus", validatorName(i+1), validatorName(i))
				}
			}
		})
	}
	var sets appsv1.StatefulSetList
	must(t, direct.List(ctx, &sets, client.InNamespace(ns)))
	h := &Handoff{Turns: len(lat)}
	for _, s := range sets.Items {
		if s.Generation != 1 {
			h.StatefulSetsNew++
		}
	}
	slices.Sort(lat)
	h.P50, h.P99, h.Max = quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1)
	return h
}

func validatorName(i int) string { return fmt.Sprintf("v%04d", i) }

// waitNewTemplate polls a validator's StatefulSet until it has a template its status has not caught up with.
func waitNewTemplate(t *testing.T, c client.Client, ns, name string, limit time.Duration) *appsv1.StatefulSet {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		sts := &appsv1.StatefulSet{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, sts); err == nil &&
			sts.Generation > sts.Status.ObservedGeneration {
			return sts
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s/%s got no turn within %s", ns, name, limit)
	return nil
}

// replace plays the StatefulSet controller and kubelet replacing the validator's pod with the new
// template: NotReady, then Ready and rolled out. before runs just before that last write, whose end
// it returns.
func replace(t *testing.T, c client.Client, sts *appsv1.StatefulSet, before func()) time.Time {
	ctx := context.Background()
	podName := sts.Name + "-0"
	setReady(t, c, sts.Namespace, sts.Name, false)
	writeStatus(t, c, sts, appsv1.StatefulSetStatus{Replicas: 1, UpdatedReplicas: 1})
	pod := &corev1.Pod{}
	must(t, c.Get(ctx, client.ObjectKey{Namespace: sts.Namespace, Name: podName}, pod))
	testutil.SetReady(pod, true)
	must(t, c.Status().Update(ctx, pod))
	before()
	writeStatus(t, c, sts, appsv1.StatefulSetStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1, UpdatedReplicas: 1, CurrentReplicas: 1})
	return time.Now()
}

// writeStatus writes the StatefulSet's status as its controller would, observing its generation. The
// operator writes the StatefulSet too (what it found of its pod spec): on a conflict it is read again.
func writeStatus(t *testing.T, c client.Client, sts *appsv1.StatefulSet, status appsv1.StatefulSetStatus) {
	must(t, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(sts), sts); err != nil {
			return err
		}
		status.ObservedGeneration = sts.Generation
		sts.Status = status
		return c.Status().Update(context.Background(), sts)
	}))
}
