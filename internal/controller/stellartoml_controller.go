package controller

import (
	"context"
	"errors"
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/owned"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

// StellarTOMLReconciler keeps, per namespace, one ConfigMap per home domain of its validators with
// the [[VALIDATORS]] section of that domain's stellar.toml (SEP-1), for the user to serve: written
// when it differs, deleted when the domain has no validator left, never written over a ConfigMap
// the operator did not create. A request is a namespace.
type StellarTOMLReconciler struct {
	client.Client
	// APIReader reads past the cache where a write finds it behind.
	APIReader client.Reader
	// Recorder tells the validators of a domain whose fragment's name is taken.
	Recorder recorder.EventRecorder

	mu sync.Mutex
	// told are the pairs of a foreign ConfigMap and a validator told of it (by UID), so each is said once.
	told map[[2]types.UID]bool
}

func (r *StellarTOMLReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	// Read only: the fragments copy the strings they need.
	var list stellarv1alpha1.StellarNodeList
	if err := r.List(ctx, &list, client.InNamespace(req.Namespace), client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, err
	}
	nodes := make([]*stellarv1alpha1.StellarNode, len(list.Items))
	for i := range list.Items {
		nodes[i] = &list.Items[i]
	}
	desired, skipped, err := resources.StellarTOMLConfigMaps(req.Namespace, nodes)
	if err != nil {
		return ctrl.Result{}, err
	}
	for _, why := range skipped {
		// A value outside the grammar: the StellarNode's own checks refuse it too.
		logf.FromContext(ctx).Info("validator left out of its stellar.toml fragment", "why", why.Error())
	}
	wanted := map[string]bool{}
	for _, cm := range desired {
		wanted[cm.Name] = true
		if err := r.write(ctx, cm, nodes); err != nil {
			return ctrl.Result{}, err
		}
	}
	var existing corev1.ConfigMapList
	if err := r.List(ctx, &existing, client.InNamespace(req.Namespace), client.MatchingLabels{
		resources.LabelComponent: resources.StellarTOMLComponent, resources.LabelManagedBy: resources.ManagedBy}); err != nil {
		return ctrl.Result{}, err
	}
	for i := range existing.Items {
		if cm := &existing.Items[i]; !wanted[cm.Name] {
			if err := r.Delete(ctx, cm, client.Preconditions{UID: &cm.UID}); client.IgnoreNotFound(err) != nil {
				return ctrl.Result{}, err
			}
		}
	}
	return ctrl.Result{}, nil
}

// write writes one fragment through the one writer of owned ConfigMaps: a ConfigMap of that name the
// operator did not create is left alone, and said to the validators of its domain among nodes.
func (r *StellarTOMLReconciler) write(ctx context.Context, desired *corev1.ConfigMap, nodes []*stellarv1alpha1.StellarNode) error {
	var live *corev1.ConfigMap
	existing := &corev1.ConfigMap{}
	switch err := r.Get(ctx, client.ObjectKeyFromObject(desired), existing); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	default:
		live = existing
	}
	current, _, err := owned.Writer{Client: r.Client, Reader: r.APIReader, FieldOwner: FieldOwner}.ConfigMap(ctx, desired, live)
	if conflict, ok := errors.AsType[*owned.ConflictError](err); ok {
		logf.FromContext(ctx).Info("stellar.toml fragment not written", "why", conflict.Error())
		r.tell(current, desired.Annotations[resources.AnnotationHomeDomain], nodes, conflict)
		return nil
	}
	return err
}

// tell gives each validator of domain a NameConflict event naming the foreign ConfigMap, once per
// validator and such ConfigMap. Nothing else of the validator changes: its fragment is for the user
// to serve, and a name taken there never holds what runs.
func (r *StellarTOMLReconciler) tell(foreign *corev1.ConfigMap, domain string, nodes []*stellarv1alpha1.StellarNode, conflict error) {
	if r.Recorder == nil || foreign == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.told == nil {
		r.told = map[[2]types.UID]bool{}
	}
	for _, n := range nodes {
		pair := [2]types.UID{foreign.UID, n.UID}
		if !n.IsValidator() || n.Spec.ValidatorConfig.HomeDomain != domain || r.told[pair] {
			continue
		}
		r.told[pair] = true
		r.Recorder.Eventf(n, nil, corev1.EventTypeWarning, stellarv1alpha1.ReasonNameConflict, "Reconcile",
			"the stellar.toml fragment of %s is not written: %s", domain, conflict.Error())
	}
}

// SetupWithManager watches StellarNodes (their keys, domains, archives and status.externalAddress)
// and the fragments, each as a request for its namespace.
func (r *StellarTOMLReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toNamespace := func(_ context.Context, obj client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: resources.StellarTOMLComponent}}}
	}
	// A fragment, or a ConfigMap that may hold a fragment's name (its removal frees the name).
	fragment := func(ctx context.Context, obj client.Object) []reconcile.Request {
		if obj.GetLabels()[resources.LabelComponent] != resources.StellarTOMLComponent &&
			!strings.HasPrefix(obj.GetName(), resources.StellarTOMLComponent+"-") {
			return nil
		}
		return toNamespace(ctx, obj)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("stellartoml").
		Watches(&stellarv1alpha1.StellarNode{}, handler.EnqueueRequestsFromMapFunc(toNamespace)).
		Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(fragment)).
		Complete(r)
}
