package resources

import (
	"slices"
	"strings"

	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// NetworkDisruptionBudgetName names the PodDisruptionBudget of a network's validators in a namespace.
func NetworkDisruptionBudgetName(networkID string) string { return "stellar-validators-" + networkID }

// NetworkDisruptionBudget lets a drain evict at most one validator of a network at a time.
// maxUnavailable 1, not minAvailable: on a network of one validator minAvailable 1 would block every
// drain forever, while maxUnavailable 1 lets its only pod go. A pod that is not Ready may always be
// evicted: it is out of consensus already, and keeping it would only block the drain. Every
// validator of the network owns it, so it goes when the last one does.
func NetworkDisruptionBudget(namespace, networkID string, nodes []*stellarv1alpha1.StellarNode) *policyv1.PodDisruptionBudget {
	var owners []metav1.OwnerReference
	var network string
	for _, n := range nodes {
		if !n.IsValidator() || n.NetworkID() != networkID || n.DeletionTimestamp != nil {
			continue
		}
		network = strings.ToLower(string(n.Spec.Network))
		owners = append(owners, metav1.OwnerReference{
			APIVersion: stellarv1alpha1.GroupVersion.String(), Kind: "StellarNode", Name: n.Name, UID: n.UID,
		})
	}
	slices.SortFunc(owners, func(a, b metav1.OwnerReference) int { return strings.Compare(a.Name, b.Name) })
	selector := map[string]string{LabelName: AppName, LabelComponent: Component(stellarv1alpha1.NodeTypeValidator), LabelNetworkID: networkID}
	labels := map[string]string{LabelName: AppName, LabelComponent: Component(stellarv1alpha1.NodeTypeValidator),
		LabelManagedBy: ManagedBy, LabelNetwork: network, LabelNetworkID: networkID}
	return &policyv1.PodDisruptionBudget{
		TypeMeta: metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
		ObjectMeta: metav1.ObjectMeta{
			Name: NetworkDisruptionBudgetName(networkID), Namespace: namespace, Labels: labels, OwnerReferences: owners,
		},
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable:             new(intstr.FromInt32(1)),
			Selector:                   &metav1.LabelSelector{MatchLabels: selector},
			UnhealthyPodEvictionPolicy: new(policyv1.AlwaysAllow),
		},
	}
}
