package controller

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// retryConflictAfter is how soon a pass that lost a race with another writer is retried.
const retryConflictAfter = 200 * time.Millisecond

// observed is what one reconcile pass saw of a node's children.
type observed struct {
	// configError is a spec the user must fix; nothing was applied.
	configError error
	// failure is an error talking to the API server.
	failure error
	// podProblem says why a pod cannot start.
	podProblem string

	desired, ready int32
	rolling        bool
	endpoint       string
	peerAddress    string
}

// writeStatus computes the node's status from what was observed and patches it when it changed.
// Only the fields the reconciler owns are in the patch, so peer discovery's `peers` is kept.
func (r *StellarNodeReconciler) writeStatus(ctx context.Context, node *stellarv1alpha1.StellarNode, obs observed) error {
	old := node.DeepCopy()
	st := &node.Status
	gen := node.Generation
	set := func(condType string, status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: condType, Status: status, Reason: reason, Message: msg, ObservedGeneration: gen,
		})
	}

	switch {
	case obs.configError != nil:
		set(stellarv1alpha1.ConditionDegraded, metav1.ConditionTrue, "InvalidConfig", obs.configError.Error())
		set(stellarv1alpha1.ConditionProgressing, metav1.ConditionFalse, "InvalidConfig", "waiting for the spec to be fixed")
		if !meta.IsStatusConditionPresentAndEqual(st.Conditions, stellarv1alpha1.ConditionReady, metav1.ConditionTrue) {
			set(stellarv1alpha1.ConditionReady, metav1.ConditionFalse, "InvalidConfig", obs.configError.Error())
		}
		st.Phase = stellarv1alpha1.PhaseDegraded
	case obs.failure != nil:
		set(stellarv1alpha1.ConditionDegraded, metav1.ConditionTrue, "ReconcileError", obs.failure.Error())
		st.Phase = stellarv1alpha1.PhaseDegraded
	default:
		st.ReadyReplicas = obs.ready
		st.Endpoint = obs.endpoint
		st.PeerAddress = obs.peerAddress
		if obs.podProblem != "" {
			set(stellarv1alpha1.ConditionDegraded, metav1.ConditionTrue, "PodCannotStart", obs.podProblem)
		} else {
			set(stellarv1alpha1.ConditionDegraded, metav1.ConditionFalse, "AsExpected", "no problem seen")
		}
		if obs.rolling {
			set(stellarv1alpha1.ConditionProgressing, metav1.ConditionTrue, "RollingOut", "pods are being updated")
		} else {
			set(stellarv1alpha1.ConditionProgressing, metav1.ConditionFalse, "Stable", "all pods run the current spec")
		}
		switch {
		case node.Spec.Suspended:
			set(stellarv1alpha1.ConditionReady, metav1.ConditionFalse, "Suspended", "scaled to zero; data is kept")
			st.Phase = stellarv1alpha1.PhaseSuspended
		case obs.desired == 0:
			set(stellarv1alpha1.ConditionReady, metav1.ConditionFalse, "ScaledToZero", "replicas is 0")
			st.Phase = stellarv1alpha1.PhasePending
		case obs.ready >= obs.desired:
			set(stellarv1alpha1.ConditionReady, metav1.ConditionTrue, "Ready", fmt.Sprintf("%d/%d pods ready", obs.ready, obs.desired))
			st.Phase = stellarv1alpha1.PhaseRunning
		default:
			set(stellarv1alpha1.ConditionReady, metav1.ConditionFalse, "NotReady", fmt.Sprintf("%d/%d pods ready", obs.ready, obs.desired))
			st.Phase = stellarv1alpha1.PhasePending
		}
		if obs.podProblem != "" {
			st.Phase = stellarv1alpha1.PhaseDegraded
		}
	}
	st.ObservedGeneration = gen

	r.recordTransitions(node, &old.Status, st)
	if equality.Semantic.DeepEqual(old.Status, node.Status) {
		return nil
	}
	return r.Status().Patch(ctx, node, client.MergeFrom(old))
}

// recordTransitions emits an event when the node becomes degraded, suspended or running.
func (r *StellarNodeReconciler) recordTransitions(node *stellarv1alpha1.StellarNode, before, after *stellarv1alpha1.StellarNodeStatus) {
	oldDeg := meta.FindStatusCondition(before.Conditions, stellarv1alpha1.ConditionDegraded)
	newDeg := meta.FindStatusCondition(after.Conditions, stellarv1alpha1.ConditionDegraded)
	if newDeg != nil && newDeg.Status == metav1.ConditionTrue && (oldDeg == nil || oldDeg.Status != metav1.ConditionTrue || oldDeg.Message != newDeg.Message) {
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, newDeg.Reason, "Reconcile", "%s", newDeg.Message)
	}
	if before.Phase == after.Phase {
		return
	}
	switch after.Phase {
	case stellarv1alpha1.PhaseSuspended:
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "Suspended", "Suspend", "scaled to zero; volume and configuration are kept")
	case stellarv1alpha1.PhaseRunning:
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "Running", "Reconcile", "all pods are ready")
	}
}
