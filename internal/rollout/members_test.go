package rollout

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// A validator held from running with no pod ready (its names taken, or its key another's) is no
// rollout member: nobody waits for it. Found by the chaos schedule (seed 20261208, step 23): a
// NameConflict validator that had entered its peers' quorums held the very restarts that take it out.
func TestNetworksLeaveOutValidatorsHeldFromRunning(t *testing.T) {
	held := func(name, reason string, ready int32) *stellarv1alpha1.StellarNode {
		n := fixture.Validator("ns", name)
		n.Generation = 2
		n.Status.ReadyReplicas = ready
		meta.SetStatusCondition(&n.Status.Conditions, metav1.Condition{Type: stellarv1alpha1.ConditionDegraded,
			Status: metav1.ConditionTrue, Reason: reason, ObservedGeneration: 2})
		return n
	}
	nodes := []*stellarv1alpha1.StellarNode{
		fixture.Validator("ns", "a"),
		held("conflict", stellarv1alpha1.ReasonNameConflict, 0),
		held("twin", stellarv1alpha1.ReasonDuplicateKeyElsewhere, 0),
		held("running-twin", stellarv1alpha1.ReasonDuplicateKey, 1), // still runs: stopped through its turn
	}
	lookup := Lookup{StatefulSet: func(string) *appsv1.StatefulSet { return nil }, Pod: func(string) *corev1.Pod { return nil }}
	var names []string
	for _, members := range Networks(nodes, lookup) {
		for _, m := range members {
			names = append(names, m.Name)
		}
	}
	if len(names) != 2 || names[0] != "a" || names[1] != "running-twin" {
		t.Errorf("members %v, want a and running-twin", names)
	}
}
