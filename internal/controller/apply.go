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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/util/csaupgrade"
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
// reconciling an unchanged StellarNode writes nothing. A child the cache does not show is created
// (create, when given, does it), never applied: an object of that name made a moment before, which the
// cache has not shown yet, is then found (AlreadyExists), read past the cache, and left alone unless
// it is the node's own. Over a child of its own it server-side applies: fields the reconciler sets are
// forced back when edited by hand, fields of other managers (peer discovery's pod-template
// annotations) are left alone. On return obj holds the live object, status included.
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
	case !found:
		return r.createChild(ctx, node, obj, create)
	}
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return unchanged, err
	}
	delete(content, "status")
	dropNullTimestamps(content)
	// A child created by create (a StatefulSet, with the peer membership of the moment) keeps its
	// create's fields: those are peer discovery's from then on, and the applies leave them alone.
	if err := r.applyContent(ctx, content, obj, create == nil); err != nil {
		return unchanged, err
	}
	return updated, nil
}

// createChild creates a child the cache does not show. If one of that name exists after all, it is
// read past the cache and decided on again: never adopted when it is not the node's.
func (r *StellarNodeReconciler) createChild(ctx context.Context, node *stellarv1alpha1.StellarNode, obj client.Object,
	create func(context.Context, client.Object) error) (applyResult, error) {
	if create == nil {
		create = func(ctx context.Context, obj client.Object) error {
			return r.Create(ctx, obj, client.FieldOwner(FieldOwner))
		}
	}
	err := create(ctx, obj)
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return unchanged, err
		}
		return created, nil
	}
	live, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return unchanged, fmt.Errorf("%T is not a client.Object", obj)
	}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(obj), live); err != nil {
		return unchanged, err
	}
	if !ours(node, obj, live) {
		return unchanged, &NameConflictError{Kind: obj.GetObjectKind().GroupVersionKind().Kind, Name: obj.GetName()}
	}
	// The node's own, created by an earlier pass the cache has not caught up with: applied over.
	return r.applyOver(ctx, node, obj, live, create)
}

// applyContent server-side applies content and reads the result into obj. The fields of a child this
// reconciler created are held by its create's entry in managedFields, not by its applies, so a field
// it stops setting would stay: with handOver, the first apply after a create hands them to the apply
// entry (as client-go's csaupgrade does for kubectl) and applies again, which drops them.
func (r *StellarNodeReconciler) applyContent(ctx context.Context, content map[string]any, obj client.Object, handOver bool) error {
	u := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(content)}
	if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
	}
	var patch []byte
	if handOver {
		var err error
		if patch, err = csaupgrade.UpgradeManagedFieldsPatch(u, sets.New(FieldOwner), FieldOwner); err != nil {
			return err
		}
	}
	if patch != nil {
		if err := r.Patch(ctx, u, client.RawPatch(types.JSONPatchType, patch)); err != nil {
			return fmt.Errorf("hand %s %s's created fields to its applies: %w", u.GetKind(), u.GetName(), err)
		}
		u = &unstructured.Unstructured{Object: runtime.DeepCopyJSON(content)}
		if err := r.Apply(ctx, client.ApplyConfigurationFromUnstructured(u), client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("apply %s %s: %w", u.GetKind(), u.GetName(), err)
		}
	}
	return runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj)
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
		// DeepDerivative takes a shorter list for a derivative one: a port removed counts here.
		l := live.(*corev1.Service)
		return len(d.Spec.Ports) == len(l.Spec.Ports) && same(d.Spec, l.Spec)
	case *appsv1.StatefulSet:
		return same(d.Spec, live.(*appsv1.StatefulSet).Spec)
	case *appsv1.Deployment:
		return same(d.Spec, live.(*appsv1.Deployment).Spec)
	case *policyv1.PodDisruptionBudget:
		return same(d.Spec, live.(*policyv1.PodDisruptionBudget).Spec)
	case *networkingv1.NetworkPolicy:
		l := live.(*networkingv1.NetworkPolicy)
		return len(d.Spec.Ingress) == len(l.Spec.Ingress) && same(d.Spec, l.Spec)
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
