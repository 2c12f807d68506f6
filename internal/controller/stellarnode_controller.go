// Package controller holds the StellarNode reconciler: it turns each StellarNode into the workload,
// Services and configuration that run it, and reports what it sees in the StellarNode's status.
package controller

import (
	"context"
	"errors"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/quorumgate"
	"github.com/stellar-k8s/stellar-operator/internal/remote"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/roster"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
)

// StellarNodeReconciler reconciles StellarNode objects.
type StellarNodeReconciler struct {
	client.Client
	// APIReader reads past the cache: the pod spec of a StatefulSet, which the cache does not keep
	// (SlimStatefulSet), when it is not known to be the one wanted.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  recorder.EventRecorder
	Options   resources.Options
	// Planner grants the turns of every network's rollout; peer discovery asks the same one.
	Planner *rollout.Planner
	// RolloutBlockedAfter is how long a change may wait for its turn before the node is Degraded.
	RolloutBlockedAfter time.Duration
	// Policy is what the administrator allows of images and archive programs.
	Policy Policy
	// Remote are the validators of other clusters; nil when there are none. ClusterName is this
	// cluster's name among them.
	Remote      *remote.Clusters
	ClusterName string
	// Scopes name the namespaces whose validators discover each other.
	Scopes scope.Scopes
	// Roster holds each namespace's validators, their StatefulSets and pods; read instead of listing.
	Roster *roster.Roster
	// Quorum decides whether the quorums a network's validators would run with intersect; peer
	// discovery asks the same one.
	Quorum *quorumgate.Gate

	// wakeNamespaces are the namespaces whose validators are to be reconciled again ("" for all).
	wakeMu         sync.Mutex
	wakeNamespaces map[string]bool

	podSpecs podSpecs
	networks networks
}

// +kubebuilder:rbac:groups=stellar.org,resources=stellarnodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=stellar.org,resources=stellarnodes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=apps,resources=statefulsets;deployments,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=services;configmaps,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one StellarNode's children to the state its spec asks for, then writes its status.
func (r *StellarNodeReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	log := logf.FromContext(ctx)
	node := &stellarv1alpha1.StellarNode{}
	if err := r.Get(ctx, req.NamespacedName, node); err != nil {
		if apierrors.IsNotFound(err) {
			r.podSpecs.forget(req.NamespacedName)
			degradedGauge.DeleteLabelValues(req.Namespace, req.Name)
			r.networks.forgetEmpty(req.Namespace, r.Roster)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !node.DeletionTimestamp.IsZero() {
		// Children go with the node through their owner references.
		return ctrl.Result{}, nil
	}

	var (
		obs observed
		err error
	)
	switch policyErr := r.Policy.Check(node); {
	case policyErr != nil:
		// Nothing is applied for a node the administrator's policy refuses; what runs keeps running.
		obs = observed{configError: policyErr, configReason: stellarv1alpha1.ReasonNotAllowed}
	case node.Spec.NodeType == stellarv1alpha1.NodeTypeValidator:
		obs, err = r.reconcileValidator(ctx, node)
	default:
		obs, err = r.reconcileAPIServer(ctx, node)
	}
	if conflict, ok := errors.AsType[*NameConflictError](err); ok {
		obs, err = observed{configError: conflict, configReason: stellarv1alpha1.ReasonNameConflict}, nil
	}
	if err != nil {
		if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) || errors.Is(err, errRosterBehind) {
			// The cache was behind; the next pass sees the newer object.
			return ctrl.Result{RequeueAfter: retryConflictAfter}, nil
		}
		// The Degraded condition the status gets is the failure's one Warning event.
		log.Error(err, "reconcile failed")
		if statusErr := r.writeStatus(ctx, node, observed{failure: err}); statusErr != nil {
			log.Error(statusErr, "write status")
		}
		return ctrl.Result{}, err
	}
	if err := r.writeStatus(ctx, node, obs); err != nil {
		return ctrl.Result{}, err
	}
	if obs.waiting != nil {
		return ctrl.Result{RequeueAfter: waitingRecheck}, nil
	}
	switch obs.configReason {
	case stellarv1alpha1.ReasonDuplicateKey, stellarv1alpha1.ReasonDuplicateKeyElsewhere, stellarv1alpha1.ReasonSharedArchive, stellarv1alpha1.ReasonNameConflict,
		stellarv1alpha1.ReasonQuorumSplit, stellarv1alpha1.ReasonQuorumUnproven:
		// What it waits on is another validator's, or an object that is not the operator's: its
		// change reaches this one only here.
		return ctrl.Result{RequeueAfter: claimRecheck}, nil
	}
	return ctrl.Result{}, nil
}

// podsOfNode indexes the cached pods by the StellarNode they run (their instance label), so a
// reconcile reads its own pods without walking every pod of the namespace.
const podsOfNode = "stellar.org/node"

func nodeOfPod(obj client.Object) []string {
	if name := podToNode(context.Background(), obj); len(name) == 1 {
		return []string{name[0].Name}
	}
	return nil
}

// SetupWithManager registers the reconciler and the objects it watches.
func (r *StellarNodeReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &corev1.Pod{}, podsOfNode, nodeOfPod); err != nil {
		return err
	}
	// What another cluster says changes every local validator's quorum, and a network's critical
	// groups found off the reconcile path belong in its validators' status: each is reconciled again.
	changed := make(chan event.TypedGenericEvent[*stellarv1alpha1.StellarNode], 1)
	wake := func(namespace string) {
		r.wakeMu.Lock()
		if r.wakeNamespaces == nil {
			r.wakeNamespaces = map[string]bool{}
		}
		r.wakeNamespaces[namespace] = true
		r.wakeMu.Unlock()
		select {
		case changed <- event.TypedGenericEvent[*stellarv1alpha1.StellarNode]{Object: &stellarv1alpha1.StellarNode{}}:
		default: // one pending is enough: it enqueues the validators of every namespace woken
		}
	}
	if r.Remote != nil {
		r.Remote.OnChange(func() { wake("") })
	}
	if r.Quorum != nil {
		r.Quorum.OnChange(wake)
	}
	return ctrl.NewControllerManagedBy(mgr).
		WatchesRawSource(source.Channel(changed, handler.TypedEnqueueRequestsFromMapFunc(r.wokenValidators))).
		For(&stellarv1alpha1.StellarNode{}).
		Owns(&appsv1.StatefulSet{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&networkingv1.NetworkPolicy{}).
		// A network's PodDisruptionBudget has all its validators as owners and none as controller.
		Watches(&policyv1.PodDisruptionBudget{}, handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &stellarv1alpha1.StellarNode{})).
		// Pods tell whether a node is ready and why it cannot start (a missing seed Secret, say).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podToNode)).
		// A validator's pod or StatefulSet settling may end the turn another validator waits for.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(r.nextInLine)).
		Watches(&appsv1.StatefulSet{}, handler.EnqueueRequestsFromMapFunc(r.nextInLine)).
		Named("stellarnode").
		Complete(r)
}

// wokenValidators enqueues the validators the cache holds of each namespace woken since the last
// call ("" wakes all).
func (r *StellarNodeReconciler) wokenValidators(ctx context.Context, _ *stellarv1alpha1.StellarNode) []reconcile.Request {
	r.wakeMu.Lock()
	woken := r.wakeNamespaces
	r.wakeNamespaces = nil
	r.wakeMu.Unlock()
	if woken[""] {
		woken = map[string]bool{"": true}
	}
	var out []reconcile.Request
	for ns := range woken {
		var all stellarv1alpha1.StellarNodeList
		if err := r.List(ctx, &all, client.UnsafeDisableDeepCopy, client.InNamespace(ns)); err != nil {
			continue
		}
		for i := range all.Items {
			if all.Items[i].IsValidator() {
				out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&all.Items[i])})
			}
		}
	}
	return out
}

// nextInLine wakes, on a change of a validator's pod or StatefulSet, the validator of each network
// whose change waits for its turn next: the change may be a replaced validator back in consensus, and
// the waiting one would otherwise see it only at its next recheck.
func (r *StellarNodeReconciler) nextInLine(_ context.Context, obj client.Object) []reconcile.Request {
	labels := obj.GetLabels()
	if labels[resources.LabelName] != resources.AppName || labels[resources.LabelComponent] != resources.Component(stellarv1alpha1.NodeTypeValidator) {
		return nil
	}
	next := r.Planner.NextInLine()
	out := make([]reconcile.Request, len(next))
	for i, key := range next {
		out[i] = reconcile.Request{NamespacedName: key}
	}
	return out
}

func podToNode(_ context.Context, obj client.Object) []reconcile.Request {
	labels := obj.GetLabels()
	if labels[resources.LabelName] != resources.AppName || labels[resources.LabelInstance] == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: labels[resources.LabelInstance]}}}
}
