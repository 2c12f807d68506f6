package controller

import (
	"fmt"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// notes records what a reconciler says as events, by reason.
type notes struct{ said []string }

func (n *notes) Eventf(_ runtime.Object, _ runtime.Object, _, reason, _, note string, args ...any) {
	n.said = append(n.said, reason+": "+fmt.Sprintf(note, args...))
}

func (n *notes) AnnotatedEventf(_ runtime.Object, _ runtime.Object, _ map[string]string, _, reason, _, note string, args ...any) {
	n.said = append(n.said, reason+": "+fmt.Sprintf(note, args...))
}

// The override is said once when an unproven map goes through because of it, and critical groups once
// when they are first found or change; nothing is said again for the same verdict.
func TestQuorumEvents(t *testing.T) {
	said := &notes{}
	r := &StellarNodeReconciler{Recorder: said}
	node := &stellarv1alpha1.StellarNode{Spec: stellarv1alpha1.StellarNodeSpec{ValidatorConfig: &stellarv1alpha1.ValidatorConfig{AllowUnprovenQuorum: true}}}
	unproven := &stellarv1alpha1.QuorumStatus{Intersection: stellarv1alpha1.QuorumUnproven}
	critical := &stellarv1alpha1.QuorumStatus{Intersection: stellarv1alpha1.QuorumIntersecting, CriticalGroups: []string{"ns/a"}, CriticalGroupsChecked: true}
	held := &metav1.Condition{Type: stellarv1alpha1.ConditionDegraded, Status: metav1.ConditionTrue, Reason: stellarv1alpha1.ReasonQuorumUnproven}
	steps := []struct {
		degradedBefore *metav1.Condition
		before, after  *stellarv1alpha1.QuorumStatus
		want           string
	}{
		{nil, nil, unproven, stellarv1alpha1.EventQuorumUnprovenAllowed},
		{nil, unproven, unproven, ""},
		// Held for the unproven map, then the override set: said when it starts letting changes through.
		{held, unproven, unproven, stellarv1alpha1.EventQuorumUnprovenAllowed},
		{nil, unproven, critical, stellarv1alpha1.EventQuorumCriticalGroups + ": a misconfiguration of any one of these groups alone could split the network: ns/a"},
		{nil, critical, critical, ""},
	}
	for i, s := range steps {
		said.said = nil
		r.recordQuorum(node, s.degradedBefore, s.before, s.after)
		got := strings.Join(said.said, "; ")
		if (s.want == "") != (got == "") || !strings.HasPrefix(got, s.want) {
			t.Errorf("step %d: said %q, want %q", i, got, s.want)
		}
	}
	node.Spec.ValidatorConfig.AllowUnprovenQuorum = false
	said.said = nil
	r.recordQuorum(node, held, nil, unproven)
	if len(said.said) != 0 {
		t.Errorf("without the override an unproven map is held, and its Degraded condition says so: %v", said.said)
	}
}
