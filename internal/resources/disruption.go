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

// NetworkDisruptionBudget lets a drain evict at most one validator of a network at a time: minAvailable
// is the network's running validators less one, as a number. Not maxUnavailable 1: each validator is
// a StatefulSet of one pod, and the disruption controller counts a maxUnavailable budget's expected
// pods from the controllers of the pods that exist, so once an evicted pod is deleted and before its
// StatefulSet creates it again, the budget expects one pod fewer and allows a second eviction. A
// number of minAvailable counts the pods that exist: none is allowed while one is missing. A network
// of one validator gets 0, so a drain can move it. A pod that is not Ready may always be evicted: it
// is out of consensus already, and keeping it would only block the drain. Every validator of the
// network owns it, so it goes when the last one does.
func NetworkDisruptionBudget(namespace, networkID string, nodes []*stellarv1alpha1.StellarNode) *policyv1.PodDisruptionBudget {
	var owners []metav1.OwnerReference
	var network string
	running := int32(0)
	for _, n := range nodes {
		if !n.IsValidator() || n.NetworkID() != networkID || n.DeletionTimestamp != nil {
			continue
		}
		if n.IsRolloutMember() {
			running++
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
			MinAvailable:               new(intstr.FromInt32(max(running-1, 0))),
			Selector:                   &metav1.LabelSelector{MatchLabels: selector},
			UnhealthyPodEvictionPolicy: new(policyv1.AlwaysAllow),
		},
	}
}
