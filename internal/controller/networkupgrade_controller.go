package controller

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/metrics"
	"github.com/stellar-k8s/stellar-operator/internal/owned"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// +kubebuilder:rbac:groups=stellar.org,resources=stellarnetworkupgrades,verbs=get;list;watch
// +kubebuilder:rbac:groups=stellar.org,resources=stellarnetworkupgrades/status,verbs=get;update;patch

// armedGauge is 1 for each voter whose agent reports the vote armed.
var armedGauge = metrics.GaugeVec("stellar_network_upgrade_armed",
	"1 when a voter's stellar-core holds the StellarNetworkUpgrade's vote, as its agent reports it; 0 while it does not.",
	"namespace", "upgrade", "stellarnode")

// NetworkUpgradeReconciler keeps a namespace's votes: it plans them from the StellarNetworkUpgrades
// and validators there (votes.Make), writes the stellar-votes ConfigMap the validators' agents arm
// from, and reports each vote's status from what the agents say in status.core. A request is a
// namespace: its name is always votes.ConfigMapName.
type NetworkUpgradeReconciler struct {
	client.Client
	// APIReader reads past the cache where a write finds it behind.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// RecheckInterval bounds how long a vote in progress waits for the next look.
const RecheckInterval = 30 * time.Second

func (r *NetworkUpgradeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ns := req.Namespace
	now := time.Now()
	if r.Now != nil {
		now = r.Now()
	}
	var upgrades stellarv1alpha1.StellarNetworkUpgradeList
	if err := r.List(ctx, &upgrades, client.InNamespace(ns)); err != nil {
		return ctrl.Result{}, err
	}
	// Read only: the plan copies what it keeps of them.
	var nodes stellarv1alpha1.StellarNodeList
	if err := r.List(ctx, &nodes, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, err
	}
	plan := votes.Make(upgrades.Items, nodes.Items, now)
	conflict, err := r.writeVotes(ctx, ns, plan.Document, len(upgrades.Items) > 0)
	if err != nil {
		return ctrl.Result{}, err
	}
	armedGauge.DeletePartialMatch(prometheus.Labels{"namespace": ns})
	requeue := time.Duration(0)
	for i := range upgrades.Items {
		u := &upgrades.Items[i]
		verdict, ok := plan.Verdicts[u.Name]
		if !ok || verdict.Final {
			continue
		}
		if conflict != "" {
			verdict.Phase, verdict.Reason, verdict.Message = stellarv1alpha1.VoteRefused, stellarv1alpha1.ReasonNameConflict, conflict
		}
		for _, v := range verdict.Voters {
			armedGauge.WithLabelValues(ns, u.Name, v.Name).Set(map[bool]float64{true: 1}[v.Armed])
		}
		if err := r.updateStatus(ctx, u, verdict); err != nil {
			return ctrl.Result{}, err
		}
		if verdict.Phase == stellarv1alpha1.VotePending || verdict.Phase == stellarv1alpha1.VoteArmed ||
			verdict.Reason == stellarv1alpha1.ReasonWaitingForLedger {
			requeue = RecheckInterval
			if until := verdict.ExpiresAt.Sub(now); until > 0 && until < requeue {
				requeue = until
			}
		}
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// writeVotes writes the namespace's stellar-votes ConfigMap when it differs. It is created only once
// the namespace has a vote (before that the agents leave stellar-core alone) and kept afterwards, so
// a vote withdrawn is cleared. A ConfigMap of that name the operator did not create is never taken
// over: the conflict is returned, for every vote's status.
func (r *NetworkUpgradeReconciler) writeVotes(ctx context.Context, ns string, doc votes.Document, haveUpgrades bool) (string, error) {
	desired := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: votes.ConfigMapName, Namespace: ns,
		Labels: resources.NamespaceConfigMapLabels(votes.ConfigMapName, "network-upgrades")}, Data: map[string]string{votes.KeyVotesJSON: doc.Encode()}}
	var live *corev1.ConfigMap
	existing := &corev1.ConfigMap{}
	switch err := r.Get(ctx, client.ObjectKeyFromObject(desired), existing); {
	case apierrors.IsNotFound(err):
		if len(doc.Votes) == 0 && !haveUpgrades {
			return "", nil
		}
	case err != nil:
		return "", err
	default:
		live = existing
	}
	_, _, err := owned.Writer{Client: r.Client, Reader: r.APIReader, FieldOwner: FieldOwner}.ConfigMap(ctx, desired, live)
	if conflict, ok := errors.AsType[*owned.ConflictError](err); ok {
		return conflict.Error() + ": votes are not written over it", nil
	}
	return "", err
}

// updateStatus writes the verdict into the upgrade's status and says a change of phase in an event.
func (r *NetworkUpgradeReconciler) updateStatus(ctx context.Context, u *stellarv1alpha1.StellarNetworkUpgrade, v votes.Verdict) error {
	next := u.Status.DeepCopy()
	next.ObservedGeneration, next.Phase, next.Message = u.Generation, v.Phase, v.Message
	next.Validators, next.Network, next.ExpiresAt = v.Voters, v.Network, v.ExpiresAt
	conditions := map[string]metav1.Condition{
		stellarv1alpha1.ConditionArmed:   {Status: metav1.ConditionFalse, Reason: v.Reason},
		stellarv1alpha1.ConditionApplied: {Status: metav1.ConditionFalse, Reason: v.Reason},
		stellarv1alpha1.ConditionDegraded: {Status: metav1.ConditionFalse, Reason: stellarv1alpha1.ReasonAsExpected,
			Message: "the vote passed its checks"},
	}
	switch v.Phase {
	case stellarv1alpha1.VoteArmed:
		conditions[stellarv1alpha1.ConditionArmed] = metav1.Condition{Status: metav1.ConditionTrue, Reason: v.Reason}
	case stellarv1alpha1.VoteApplied:
		conditions[stellarv1alpha1.ConditionApplied] = metav1.Condition{Status: metav1.ConditionTrue, Reason: v.Reason}
	case stellarv1alpha1.VoteRefused, stellarv1alpha1.VoteExpired:
		conditions[stellarv1alpha1.ConditionDegraded] = metav1.Condition{Status: metav1.ConditionTrue, Reason: v.Reason}
	}
	for kind, c := range conditions {
		setCondition(&next.Conditions, u.Generation, kind, c.Status, c.Reason, cmp.Or(c.Message, v.Message))
	}
	if equality.Semantic.DeepEqual(&u.Status, next) {
		return nil
	}
	before := u.Status.Phase
	patch := client.MergeFrom(u.DeepCopy())
	u.Status = *next
	if err := r.Status().Patch(ctx, u, patch); err != nil {
		return client.IgnoreNotFound(err)
	}
	if before != v.Phase || (v.Phase == stellarv1alpha1.VoteRefused && u.Status.Message != v.Message) {
		kind := corev1.EventTypeNormal
		if v.Phase == stellarv1alpha1.VoteRefused || v.Phase == stellarv1alpha1.VoteExpired {
			kind = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(u, nil, kind, v.Reason, "Vote", "%s", v.Message)
	}
	return nil
}

// SetupWithManager watches StellarNetworkUpgrades, StellarNodes (their versions, labels and
// status.core) and the stellar-votes ConfigMaps, each as a request for its namespace.
func (r *NetworkUpgradeReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toNamespace := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, obj client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: votes.ConfigMapName}}}
	})
	votesConfigMap := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, obj client.Object) []reconcile.Request {
		if obj.GetName() != votes.ConfigMapName {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: votes.ConfigMapName}}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("stellarnetworkupgrade").
		Watches(&stellarv1alpha1.StellarNetworkUpgrade{}, toNamespace).
		Watches(&stellarv1alpha1.StellarNode{}, toNamespace).
		Watches(&corev1.ConfigMap{}, votesConfigMap).
		Complete(r)
}
