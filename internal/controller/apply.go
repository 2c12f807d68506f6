package controller

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
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

// apply server-side applies a child object owned by node. Fields the reconciler sets are forced back
// when edited by hand; fields owned by other managers (such as peer discovery's pod-template
// annotations) are left alone. Applying what is already there changes nothing. On return obj holds
// the live object.
func (r *StellarNodeReconciler) apply(ctx context.Context, node *stellarv1alpha1.StellarNode, obj client.Object) (applyResult, error) {
	if err := controllerutil.SetControllerReference(node, obj, r.Scheme); err != nil {
		return unchanged, err
	}
	existing, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return unchanged, fmt.Errorf("%T is not a client.Object", obj)
	}
	found := false
	if err := r.Get(ctx, client.ObjectKeyFromObject(obj), existing); err == nil {
		found = true
	} else if !apierrors.IsNotFound(err) {
		return unchanged, err
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
	// Hand the live object, status included, back to the caller.
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, obj); err != nil {
		return unchanged, err
	}
	switch {
	case !found:
		return created, nil
	case existing.GetGeneration() > 0 && u.GetGeneration() != existing.GetGeneration():
		// A workload's spec changed; a change of bookkeeping alone (managedFields) is no update.
		return updated, nil
	case existing.GetGeneration() == 0 && u.GetResourceVersion() != existing.GetResourceVersion():
		return updated, nil
	default:
		return unchanged, nil
	}
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
