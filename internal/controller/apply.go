package controller

import (
	"context"
	"fmt"
	"reflect"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// FieldOwner is the server-side apply field manager of the reconciler.
const FieldOwner = "stellar-operator"

// applyResult says what an apply did.
type applyResult int

const (
	unchanged applyResult = iota
	created
	updated
)

// apply brings a child object owned by node to what the reconciler wants. It reads the child once,
// from the cache, and sends nothing when every field the reconciler sets already has its value, so
// reconciling an unchanged StellarNode writes nothing. Otherwise it server-side applies: fields the
// reconciler sets are forced back when edited by hand, fields of other managers (peer discovery's
// pod-template annotations) are left alone. create, when given, creates a missing child instead of
// applying it. On return obj holds the live object, status included.
func (r *StellarNodeReconciler) apply(ctx context.Context, node *stellarv1alpha1.StellarNode, obj client.Object,
	create func(context.Context, client.Object) error) (applyResult, error) {
	live, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return unchanged, fmt.Errorf("%T is not a client.Object", obj)
	}
	err := r.Get(ctx, client.ObjectKeyFromObject(obj), live)
	if apierrors.IsNotFound(err) {
		return r.applyOver(ctx, node, obj, nil, create)
	}
	if err != nil {
		return unchanged, err
	}
	return r.applyOver(ctx, node, obj, live, create)
}

// applyOver is apply over the live object already read, nil when there is none.
func (r *StellarNodeReconciler) applyOver(ctx context.Context, node *stellarv1alpha1.StellarNode, obj, live client.Object,
	create func(context.Context, client.Object) error) (applyResult, error) {
	// A child that names its owners (a network's PodDisruptionBudget, owned by all its validators) has no controller.
	if len(obj.GetOwnerReferences()) == 0 {
		if err := controllerutil.SetControllerReference(node, obj, r.Scheme); err != nil {
			return unchanged, err
		}
	}
	found := live != nil
	if found && !ours(node, obj, live) {
		return unchanged, &NameConflictError{Kind: obj.GetObjectKind().GroupVersionKind().Kind, Name: obj.GetName()}
	}
	switch {
	case found && upToDate(obj, live):
		// Hand the live object back to the caller.
		reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(live).Elem())
		return unchanged, nil
	case !found && create != nil:
		return created, create(ctx, obj)
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return unchanged, err
	}
	delete(content, "status")
	dropNullTimestamps(content)
	u := &unstructured.Unstructured{Object: content}
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return unchanged, fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return unchanged, err
	}
	if !found {
		return created, nil
	}
	return updated, nil
}

// NameConflictError: an object the reconciler would write exists and is not the StellarNode's. It is
// never adopted: applying over it would take its traffic or its data, and its garbage collection
// with the StellarNode.
type NameConflictError struct{ Kind, Name string }

func (e *NameConflictError) Error() string {
	return fmt.Sprintf("%s %s already exists and does not belong to this StellarNode: the operator leaves it alone; "+
		"rename or remove it, or rename the StellarNode", e.Kind, e.Name)
}

// ours says whether live is the object the reconciler manages for node: controlled by it, or, for a
// child shared by a network's validators (owners, no controller), owned by StellarNodes only.
func ours(node *stellarv1alpha1.StellarNode, desired, live client.Object) bool {
	if ref := metav1.GetControllerOf(desired); ref != nil {
		c := metav1.GetControllerOf(live)
		return c != nil && c.UID == node.UID
	}
	owners := live.GetOwnerReferences()
	for _, o := range owners {
		if o.Kind != "StellarNode" || o.APIVersion != stellarv1alpha1.GroupVersion.String() {
			return false
		}
	}
	return len(owners) > 0
}

// upToDate reports whether every field the reconciler sets in desired already has its value in live.
// Fields it leaves empty are the API server's defaults or other managers' and do not count.
func upToDate(desired, live client.Object) bool {
	same := equality.Semantic.DeepDerivative
	if !same(desired.GetLabels(), live.GetLabels()) || !same(desired.GetAnnotations(), live.GetAnnotations()) ||
		!sameOwners(desired.GetOwnerReferences(), live.GetOwnerReferences()) {
		return false
	}
	switch d := desired.(type) {
	case *corev1.ConfigMap:
		return same(d.Data, live.(*corev1.ConfigMap).Data)
	case *corev1.Service:
		return same(d.Spec, live.(*corev1.Service).Spec)
	case *appsv1.StatefulSet:
		return same(d.Spec, live.(*appsv1.StatefulSet).Spec)
	case *appsv1.Deployment:
		return same(d.Spec, live.(*appsv1.Deployment).Spec)
	case *policyv1.PodDisruptionBudget:
		return same(d.Spec, live.(*policyv1.PodDisruptionBudget).Spec)
	case *networkingv1.NetworkPolicy:
		return same(d.Spec, live.(*networkingv1.NetworkPolicy).Spec)
	default:
		return false
	}
}

// sameOwners is equality.Semantic.DeepDerivative of owner references, without reflection: a network's
// PodDisruptionBudget has one per validator, and each validator's reconcile compares them all.
func sameOwners(desired, live []metav1.OwnerReference) bool {
	if len(desired) > len(live) {
		return false
	}
	unsetOrSame := func(d, l string) bool { return d == "" || d == l }
	unsetOrSameFlag := func(d, l *bool) bool { return d == nil || (l != nil && *d == *l) }
	for i, d := range desired {
		l := live[i]
		if !unsetOrSame(d.APIVersion, l.APIVersion) || !unsetOrSame(d.Kind, l.Kind) || !unsetOrSame(d.Name, l.Name) ||
			!unsetOrSame(string(d.UID), string(l.UID)) || !unsetOrSameFlag(d.Controller, l.Controller) ||
			!unsetOrSameFlag(d.BlockOwnerDeletion, l.BlockOwnerDeletion) {
			return false
		}
	}
	return true
}

// dropNullTimestamps removes the creationTimestamp: null that typed objects carry, so the applied
// configuration only holds fields the reconciler means to own.
func dropNullTimestamps(v any) {
	switch t := v.(type) {
	case map[string]any:
		if ts, ok := t["creationTimestamp"]; ok && ts == nil {
			delete(t, "creationTimestamp")
		}
		if st, ok := t["status"].(map[string]any); ok && len(st) == 0 {
			delete(t, "status")
		}
		for _, child := range t {
			dropNullTimestamps(child)
		}
	case []any:
		for _, child := range t {
			dropNullTimestamps(child)
		}
	}
}
