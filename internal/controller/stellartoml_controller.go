package controller

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

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
		if err := r.write(ctx, cm); err != nil {
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
// operator did not create is left alone, and said.
func (r *StellarTOMLReconciler) write(ctx context.Context, desired *corev1.ConfigMap) error {
	var live *corev1.ConfigMap
	existing := &corev1.ConfigMap{}
	switch err := r.Get(ctx, client.ObjectKeyFromObject(desired), existing); {
	case apierrors.IsNotFound(err):
	case err != nil:
		return err
	default:
		live = existing
	}
	_, _, err := owned.Writer{Client: r.Client, Reader: r.APIReader, FieldOwner: FieldOwner}.ConfigMap(ctx, desired, live)
	if conflict, ok := errors.AsType[*owned.ConflictError](err); ok {
		logf.FromContext(ctx).Info("stellar.toml fragment not written", "why", conflict.Error())
		return nil
	}
	return err
}

// SetupWithManager watches StellarNodes (their keys, domains, archives and status.externalAddress)
// and the fragments, each as a request for its namespace.
func (r *StellarTOMLReconciler) SetupWithManager(mgr ctrl.Manager) error {
	toNamespace := func(_ context.Context, obj client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: obj.GetNamespace(), Name: resources.StellarTOMLComponent}}}
	}
	fragment := func(ctx context.Context, obj client.Object) []reconcile.Request {
		if obj.GetLabels()[resources.LabelComponent] != resources.StellarTOMLComponent {
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
