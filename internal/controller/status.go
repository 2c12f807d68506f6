package controller

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/metrics"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
)

// retryConflictAfter is how soon a pass that lost a race with another writer is retried.
const retryConflictAfter = 200 * time.Millisecond

// observed is what one reconcile pass saw of a node's children.
type observed struct {
	// configError is a spec the user must fix; nothing was applied. configReason is its condition reason.
	configError  error
	configReason string
	// failure is an error talking to the API server.
	failure error
	// podProblem says why a pod cannot start; podReason is its condition reason.
	podProblem, podReason string

	suspended      bool
	desired, ready int32
	// readyKnown: ready was read for a node whose spec is refused (a duplicate being stopped).
	readyKnown     bool
	rolling        bool
	endpoint       string
	peerAddress    string
	historyArchive string
	// externalAddress is what validators outside the cluster dial, when the validator is exposed.
	externalAddress string
	// releaseLine is the stellar-core release line the validator's configuration follows;
	// releaseLineNote says why it is not the version's own, when it is not.
	releaseLine, releaseLineNote string
	// configChecked fingerprints the validator's configuration stellar-core's rules accepted; "" when
	// they did not, or were not asked.
	configChecked string
	// waiting is the planner's answer when a change that replaces the pod waits for its turn.
	waiting *rollout.Decision
	// quorum is the gate's verdict on the validator's network, when it was asked.
	quorum *stellarv1alpha1.QuorumStatus

	// now and blockedAfter date a waiting change and say when it counts as blocked.
	now          time.Time
	blockedAfter time.Duration
}

// degradedGauge is 1 for a StellarNode whose Degraded condition is True: the alert on it points at
// the condition, which says why.
var degradedGauge = metrics.GaugeVec("stellar_node_degraded",
	"1 when the StellarNode's Degraded condition is True (its reason and message say why).", "namespace", "stellarnode")

// computeStatus is the node's status after what was observed. It is a pure function of the previous
// status (kept: peer discovery's peers, condition transition times) and the observation.
func computeStatus(prev stellarv1alpha1.StellarNodeStatus, generation int64, obs observed) stellarv1alpha1.StellarNodeStatus {
	st := *prev.DeepCopy()
	set := func(condType string, status metav1.ConditionStatus, reason, msg string) {
		setCondition(&st.Conditions, generation, condType, status, reason, msg)
	}
	const (
		yes = metav1.ConditionTrue
		no  = metav1.ConditionFalse
	)
	st.ObservedGeneration = generation
	st.ReleaseLine, st.ReleaseLineNote, st.ConfigChecked = obs.releaseLine, obs.releaseLineNote, obs.configChecked
	if obs.quorum != nil {
		st.Quorum = obs.quorum
	}
	switch {
	case obs.configError != nil:
		reason := cmp.Or(obs.configReason, stellarv1alpha1.ReasonInvalidConfig)
		set(stellarv1alpha1.ConditionDegraded, yes, reason, obs.configError.Error())
		set(stellarv1alpha1.ConditionProgressing, no, reason, "waiting for the spec to be fixed")
		if obs.externalAddress != "" {
			st.ExternalAddress = obs.externalAddress
		}
		// A validator that runs keeps running its last good configuration: it stays Ready, unless its
		// pods are known to be gone (a duplicate stopped).
		if obs.readyKnown {
			st.ReadyReplicas = obs.ready
		}
		if !meta.IsStatusConditionTrue(st.Conditions, stellarv1alpha1.ConditionReady) || (obs.readyKnown && obs.ready == 0) {
			set(stellarv1alpha1.ConditionReady, no, reason, obs.configError.Error())
		}
	case obs.failure != nil:
		set(stellarv1alpha1.ConditionDegraded, yes, stellarv1alpha1.ReasonReconcileError, obs.failure.Error())
	default:
		st.ReadyReplicas = obs.ready
		st.Endpoint = obs.endpoint
		st.PeerAddress = obs.peerAddress
		st.HistoryArchive = obs.historyArchive
		st.ExternalAddress = obs.externalAddress
		if obs.podProblem != "" {
			set(stellarv1alpha1.ConditionDegraded, yes, cmp.Or(obs.podReason, stellarv1alpha1.ReasonPodCannotStart), obs.podProblem)
		} else {
			set(stellarv1alpha1.ConditionDegraded, no, stellarv1alpha1.ReasonAsExpected, "no problem seen")
		}
		st.Rollout = waitingStatus(prev.Rollout, obs)
		switch {
		case st.Rollout != nil:
			set(stellarv1alpha1.ConditionProgressing, yes, stellarv1alpha1.ReasonWaitingForTurn, "a change that replaces the pod "+st.Rollout.Reason)
			if waited := obs.now.Sub(st.Rollout.WaitingSince.Time); obs.blockedAfter > 0 && waited >= obs.blockedAfter && obs.podProblem == "" {
				set(stellarv1alpha1.ConditionDegraded, yes, stellarv1alpha1.ReasonRolloutBlocked, fmt.Sprintf(
					"a change that replaces the pod has waited for its turn since %s (over %s): %s",
					st.Rollout.WaitingSince.UTC().Format(time.RFC3339), obs.blockedAfter, st.Rollout.Reason))
			}
		case obs.rolling:
			set(stellarv1alpha1.ConditionProgressing, yes, stellarv1alpha1.ReasonRollingOut, "pods are being updated")
		default:
			set(stellarv1alpha1.ConditionProgressing, no, stellarv1alpha1.ReasonStable, "all pods run the current spec")
		}
		switch {
		case obs.suspended:
			set(stellarv1alpha1.ConditionReady, no, stellarv1alpha1.ReasonSuspended, "scaled to zero; data is kept")
		case obs.desired == 0:
			set(stellarv1alpha1.ConditionReady, no, stellarv1alpha1.ReasonScaledToZero, "replicas is 0")
		case obs.ready >= obs.desired:
			set(stellarv1alpha1.ConditionReady, yes, stellarv1alpha1.ReasonReady, fmt.Sprintf("%d/%d pods ready", obs.ready, obs.desired))
		default:
			set(stellarv1alpha1.ConditionReady, no, stellarv1alpha1.ReasonNotReady, fmt.Sprintf("%d/%d pods ready", obs.ready, obs.desired))
		}
	}
	st.Phase = phaseOf(st.Conditions, obs.suspended)
	return st
}

// setCondition is how every condition the operator writes is set: at the object's generation, its
// message bounded to what the API takes.
func setCondition(conditions *[]metav1.Condition, generation int64, condType string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(conditions, metav1.Condition{
		Type: condType, Status: status, Reason: reason, Message: bounded(msg), ObservedGeneration: generation,
	})
}

// maxMessage is the API's bound on a condition message: a longer one makes the whole status write
// fail, every time, and the node would never show anything again.
const maxMessage = 32768

// bounded cuts a message to maxMessage bytes at a rune boundary, saying it was cut.
func bounded(msg string) string {
	if len(msg) <= maxMessage {
		return msg
	}
	const cut = " [cut]"
	end := maxMessage - len(cut)
	for end > 0 && !utf8.RuneStart(msg[end]) {
		end--
	}
	return msg[:end] + cut
}

// waitingStatus is status.rollout for a change waiting for its turn, keeping when it started waiting.
func waitingStatus(prev *stellarv1alpha1.RolloutStatus, obs observed) *stellarv1alpha1.RolloutStatus {
	if obs.waiting == nil {
		return nil
	}
	since := metav1.NewTime(obs.now.Truncate(time.Second))
	if prev != nil {
		since = prev.WaitingSince
	}
	return &stellarv1alpha1.RolloutStatus{WaitingSince: since, WaitingFor: obs.waiting.WaitingFor, Reason: obs.waiting.Detail,
		Changes: obs.waiting.Changes}
}

// phaseOf is the one-word summary of the conditions.
func phaseOf(conditions []metav1.Condition, suspended bool) string {
	switch {
	case meta.IsStatusConditionTrue(conditions, stellarv1alpha1.ConditionDegraded):
		return stellarv1alpha1.PhaseDegraded
	case suspended:
		return stellarv1alpha1.PhaseSuspended
	case meta.IsStatusConditionTrue(conditions, stellarv1alpha1.ConditionReady):
		return stellarv1alpha1.PhaseRunning
	default:
		return stellarv1alpha1.PhasePending
	}
}

// writeStatus computes the node's status, emits the events of its transitions and patches it once,
// only when it changed. Only the fields the reconciler owns are in the patch, so peer discovery's
// `peers` is kept.
func (r *StellarNodeReconciler) writeStatus(ctx context.Context, node *stellarv1alpha1.StellarNode, obs observed) error {
	old := node.DeepCopy()
	obs.suspended = node.Spec.Suspended
	obs.now, obs.blockedAfter = time.Now(), r.RolloutBlockedAfter
	node.Status = computeStatus(old.Status, node.Generation, obs)
	r.recordTransitions(node, &old.Status, &node.Status)
	c := meta.FindStatusCondition(node.Status.Conditions, stellarv1alpha1.ConditionDegraded)
	degraded := c != nil && c.Status == metav1.ConditionTrue
	if degraded && c.Reason == stellarv1alpha1.ReasonRolloutBlocked {
		rollout.BlockedGauge.WithLabelValues(node.Namespace, node.Name).Set(1)
	} else {
		rollout.BlockedGauge.DeleteLabelValues(node.Namespace, node.Name)
	}
	degradedGauge.WithLabelValues(node.Namespace, node.Name).Set(map[bool]float64{true: 1}[degraded])
	if equality.Semantic.DeepEqual(old.Status, node.Status) {
		return nil
	}
	return r.Status().Patch(ctx, node, client.MergeFrom(old))
}

// recordTransitions is where the reconciler's status events come from: one Warning when the node
// becomes degraded (or degraded for another reason), one Normal when it is suspended or running.
func (r *StellarNodeReconciler) recordTransitions(node *stellarv1alpha1.StellarNode, before, after *stellarv1alpha1.StellarNodeStatus) {
	oldDeg := meta.FindStatusCondition(before.Conditions, stellarv1alpha1.ConditionDegraded)
	newDeg := meta.FindStatusCondition(after.Conditions, stellarv1alpha1.ConditionDegraded)
	if newDeg != nil && newDeg.Status == metav1.ConditionTrue && (oldDeg == nil || oldDeg.Status != metav1.ConditionTrue || oldDeg.Message != newDeg.Message) {
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, newDeg.Reason, "Reconcile", "%s", newDeg.Message)
	}
	switch {
	case after.ReleaseLineNote != "" && after.ReleaseLineNote != before.ReleaseLineNote:
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, stellarv1alpha1.EventReleaseLineAssumed, "Reconcile", "%s", after.ReleaseLineNote)
	case after.ReleaseLine != "" && after.ReleaseLine != before.ReleaseLine && after.ReleaseLineNote == "":
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, stellarv1alpha1.EventReleaseLine, "Reconcile",
			"the configuration follows the rules of stellar-core %s", after.ReleaseLine)
	}
	r.recordQuorum(node, oldDeg, before.Quorum, after.Quorum)
	oldProg := meta.FindStatusCondition(before.Conditions, stellarv1alpha1.ConditionProgressing)
	newProg := meta.FindStatusCondition(after.Conditions, stellarv1alpha1.ConditionProgressing)
	if oldProg != nil && oldProg.Reason == stellarv1alpha1.ReasonRollingOut && newProg != nil && newProg.Reason == stellarv1alpha1.ReasonStable {
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "RolloutFinished", "Rollout", "the pod runs the current spec")
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

// recordQuorum says what the Degraded condition does not: an unproven quorum let through by the
// node's override (when it starts to be, also for a node that was held for it before the override
// was set), and critical groups newly found in an intersecting network.
func (r *StellarNodeReconciler) recordQuorum(node *stellarv1alpha1.StellarNode, degradedBefore *metav1.Condition,
	before, after *stellarv1alpha1.QuorumStatus) {
	if after == nil {
		return
	}
	heldBefore := degradedBefore != nil && degradedBefore.Status == metav1.ConditionTrue &&
		degradedBefore.Reason == stellarv1alpha1.ReasonQuorumUnproven
	if after.Intersection == stellarv1alpha1.QuorumUnproven && node.Spec.ValidatorConfig.AllowUnprovenQuorum &&
		(before == nil || before.Intersection != stellarv1alpha1.QuorumUnproven || heldBefore) {
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, stellarv1alpha1.EventQuorumUnprovenAllowed, "Reconcile",
			"the network's quorum intersection is not proven; changes go through because allowUnprovenQuorum is set")
	}
	if len(after.CriticalGroups) > 0 && (before == nil || !slices.Equal(before.CriticalGroups, after.CriticalGroups)) {
		r.Recorder.Eventf(node, nil, corev1.EventTypeWarning, stellarv1alpha1.EventQuorumCriticalGroups, "Reconcile",
			"a misconfiguration of any one of these groups alone could split the network: %s", strings.Join(after.CriticalGroups, "; "))
	}
}

// recordApplied emits the event of a workload the reconciler created or changed.
func (r *StellarNodeReconciler) recordApplied(node *stellarv1alpha1.StellarNode, res applyResult, kind, name string) {
	switch res {
	case created:
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "Created", "Create", "%s %s created", kind, name)
	case updated:
		r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "Updated", "Update", "%s %s updated", kind, name)
	case unchanged:
	}
}
