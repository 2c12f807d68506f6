package controller

import (
	"context"
	"maps"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

// StellarTOMLReconciler keeps, per namespace, one ConfigMap per home domain of its validators with
// the [[VALIDATORS]] section of that domain's stellar.toml (SEP-1), for the user to serve: written
// when it differs, deleted when the domain has no validator left, never written over a ConfigMap
// the operator did not create. A request is a namespace.
type StellarTOMLReconciler struct {
	client.Client
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
	desired, err := resources.StellarTOMLConfigMaps(req.Namespace, nodes)
	if err != nil {
		// A value outside the grammar: the StellarNode's own checks refuse it too; publish nothing new.
		logf.FromContext(ctx).Error(err, "stellar.toml fragments not written")
		return ctrl.Result{}, nil
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

func (r *StellarTOMLReconciler) write(ctx context.Context, desired *corev1.ConfigMap) error {
	live := &corev1.ConfigMap{}
	err := r.Get(ctx, client.ObjectKeyFromObject(desired), live)
	switch {
	case apierrors.IsNotFound(err):
		return client.IgnoreAlreadyExists(r.Create(ctx, desired, client.FieldOwner(FieldOwner)))
	case err != nil:
		return err
	case live.Labels[resources.LabelComponent] != resources.StellarTOMLComponent || live.Labels[resources.LabelManagedBy] != resources.ManagedBy:
		logf.FromContext(ctx).Info("a ConfigMap of that name is not the operator's: left alone", "configMap", desired.Name)
		return nil
	case maps.Equal(live.Data, desired.Data) && maps.Equal(live.Annotations, desired.Annotations):
		return nil
	}
	updated := live.DeepCopy()
	updated.Data, updated.Annotations = desired.Data, desired.Annotations
	return r.Update(ctx, updated, client.FieldOwner(FieldOwner))
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
