package controller

import (
	"context"
	"fmt"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

// reconcileAPIServer applies the Deployment and Service of a Horizon or Soroban RPC node.
func (r *StellarNodeReconciler) reconcileAPIServer(ctx context.Context, node *stellarv1alpha1.StellarNode) (observed, error) {
	deploy := resources.HorizonDeployment
	if node.Spec.NodeType == stellarv1alpha1.NodeTypeSorobanRPC {
		deploy = resources.SorobanDeployment
	}
	desired := deploy(node)
	res, err := r.apply(ctx, node, desired, nil)
	if err != nil {
		return observed{}, err
	}
	r.recordApplied(node, res, "Deployment", desired.Name)
	if _, err := r.apply(ctx, node, resources.APIService(node), nil); err != nil {
		return observed{}, err
	}

	status := desired.Status
	obs, err := r.observe(ctx, node, status.ReadyReplicas,
		status.ObservedGeneration < desired.Generation || status.UpdatedReplicas < node.DesiredReplicas())
	if err != nil {
		return observed{}, err
	}
	obs.endpoint = fmt.Sprintf("http://%s.%s.svc.%s:%d", node.Name, node.Namespace, r.Options.ClusterDomain, resources.APIPort)
	return obs, nil
}
