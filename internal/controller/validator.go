package controller

import (
	"context"
	"errors"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// reconcileValidator applies a validator's base configuration, Services and StatefulSet.
// A configuration the user must fix touches nothing: the running validator keeps its last good state.
func (r *StellarNodeReconciler) reconcileValidator(ctx context.Context, node *stellarv1alpha1.StellarNode) (observed, error) {
	base, err := stellarcore.BaseConfig(node)
	if err != nil {
		if _, ok := errors.AsType[*stellarcore.QuorumSetError](err); ok {
			return observed{configError: err}, nil
		}
		return observed{}, err
	}
	for _, obj := range []client.Object{
		resources.ValidatorConfigMap(node, base),
		resources.ValidatorHeadlessService(node),
		resources.ValidatorService(node),
	} {
		if _, err := r.apply(ctx, node, obj, nil); err != nil {
			return observed{}, err
		}
	}

	sts, err := r.applyValidatorStatefulSet(ctx, node, resources.ValidatorStatefulSet(node, base, r.Options))
	if err != nil {
		return observed{}, err
	}
	status := sts.Status
	obs, err := r.observe(ctx, node, status.ReadyReplicas, status.ObservedGeneration < sts.Generation ||
		status.UpdatedReplicas < node.DesiredReplicas() ||
		(status.UpdateRevision != "" && status.CurrentRevision != status.UpdateRevision))
	if err != nil {
		return observed{}, err
	}
	obs.endpoint = fmt.Sprintf("%s.%s.svc.%s:%d", node.Name, node.Namespace, r.Options.ClusterDomain, node.PeerPort())
	obs.peerAddress = resources.PeerAddress(node, r.Options.ClusterDomain)
	return obs, nil
}

// applyValidatorStatefulSet creates the StatefulSet with the peer membership of the moment, so a new
// validator starts with the current peers and is never restarted for them; afterwards it applies the
// reconciler's fields only, leaving peer discovery's annotations as they are.
func (r *StellarNodeReconciler) applyValidatorStatefulSet(ctx context.Context, node *stellarv1alpha1.StellarNode, desired *appsv1.StatefulSet) (*appsv1.StatefulSet, error) {
	res, err := r.apply(ctx, node, desired, func(ctx context.Context, obj client.Object) error {
		var all stellarv1alpha1.StellarNodeList
		if err := r.List(ctx, &all, client.InNamespace(node.Namespace)); err != nil {
			return err
		}
		nodes := make([]*stellarv1alpha1.StellarNode, len(all.Items))
		for i := range all.Items {
			nodes[i] = &all.Items[i]
		}
		desired.Spec.Template.Annotations[peers.AnnotationMembership], _ = peers.NewIndex(nodes).Membership(node)
		return r.Create(ctx, obj, client.FieldOwner(FieldOwner))
	})
	if err != nil {
		return nil, err
	}
	r.recordApplied(node, res, "StatefulSet", desired.Name)
	return desired, nil
}

// observe is what the reconciler saw of a node's workload: its ready pods, whether it is rolling out,
// and why its pods cannot start, if they cannot. The kubelet reports a missing Secret or key on the
// pod, so the operator learns it without ever reading a Secret.
func (r *StellarNodeReconciler) observe(ctx context.Context, node *stellarv1alpha1.StellarNode, ready int32, rolling bool) (observed, error) {
	obs := observed{desired: node.DesiredReplicas(), ready: ready, rolling: rolling}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(node.Namespace), client.MatchingLabels(resources.SelectorLabels(node))); err != nil {
		return observed{}, err
	}
	for _, pod := range pods.Items {
		statuses := append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...)
		for _, cs := range statuses {
			if w := cs.State.Waiting; w != nil && w.Reason == "CreateContainerConfigError" {
				obs.podProblem = fmt.Sprintf("pod %s cannot start container %s: %s", pod.Name, cs.Name, w.Message)
				return obs, nil
			}
		}
	}
	return obs, nil
}
