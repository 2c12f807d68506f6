package v1alpha1

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestSpecAccepted(t *testing.T) {
	degraded := func(status metav1.ConditionStatus, reason string) []metav1.Condition {
		return []metav1.Condition{{Type: ConditionDegraded, Status: status, Reason: reason}}
	}
	for _, c := range []struct {
		name       string
		generation int64
		observed   int64
		conditions []metav1.Condition
		want       bool
	}{
		{"not reconciled yet", 1, 0, nil, false},
		{"a newer spec not checked yet", 2, 1, degraded(metav1.ConditionFalse, ReasonAsExpected), false},
		{"checked, no problem", 2, 2, degraded(metav1.ConditionFalse, ReasonAsExpected), true},
		{"refused by stellar-core's rules", 2, 2, degraded(metav1.ConditionTrue, "UnsafeQuorum"), false},
		{"a duplicate key", 1, 1, degraded(metav1.ConditionTrue, ReasonDuplicateKey), false},
		{"a pod problem after the check", 1, 1, degraded(metav1.ConditionTrue, ReasonPodCannotStart), true},
	} {
		n := &StellarNode{ObjectMeta: metav1.ObjectMeta{Generation: c.generation},
			Status: StellarNodeStatus{ObservedGeneration: c.observed, Conditions: c.conditions}}
		if got := n.SpecAccepted(); got != c.want {
			t.Errorf("%s: SpecAccepted = %v, want %v", c.name, got, c.want)
		}
	}
}
