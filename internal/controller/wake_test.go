package controller

import (
	"context"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

func TestAValidatorsPodOrStatefulSetWakesTheNextInLine(t *testing.T) {
	planner := rollout.NewPlanner()
	members := []rollout.Member{
		{Name: "a", InConsensus: true, Settled: true, Accepted: true, Pending: true, Generation: 1},
		{Name: "b", InConsensus: true, Settled: true, Accepted: true, Pending: true, Generation: 1},
	}
	_, turn := planner.Request("ns", "net", members, "a")
	turn.Done(2)
	planner.Request("ns", "net", members, "b")
	r := &StellarNodeReconciler{Planner: planner}

	validator := resources.Labels(fixture.Validator("ns", "a"))
	horizon := resources.Labels(fixture.Horizon("ns", "h"))
	for _, c := range []struct {
		obj  client.Object
		want bool
	}{
		{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a-0", Labels: validator}}, true},
		{&appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "a", Labels: validator}}, true},
		{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "h-0", Labels: horizon}}, false},
		{&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "other"}}, false},
	} {
		got := r.nextInLine(context.Background(), c.obj)
		woken := len(got) == 1 && got[0].NamespacedName == types.NamespacedName{Namespace: "ns", Name: "b"}
		if woken != c.want || (!c.want && len(got) > 0) {
			t.Errorf("%T %s: woke %v, want b woken: %v", c.obj, c.obj.GetName(), got, c.want)
		}
	}
}
