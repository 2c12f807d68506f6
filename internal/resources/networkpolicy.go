package resources

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// namespaceNameLabel is the label the API server sets on every namespace to its name.
const namespaceNameLabel = "kubernetes.io/metadata.name"

// ValidatorNetworkPolicy admits to a validator's pod only what each port is for: the peer port from
// anywhere (peers in and out of the cluster dial it); a Full validator's archive port from the
// validators of its namespace (its peers catch up from it), the operator and the monitoring namespace;
// the agent's port (status, metrics) from the operator and the monitoring namespace only. stellar-core's
// admin port listens on 127.0.0.1 and is reachable from nowhere else anyway.
func ValidatorNetworkPolicy(node *stellarv1alpha1.StellarNode, opts Options) *networkingv1.NetworkPolicy {
	tcp := corev1.ProtocolTCP
	port := func(p int32) []networkingv1.NetworkPolicyPort {
		v := intstr.FromInt32(p)
		return []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &v}}
	}
	var trusted []networkingv1.NetworkPolicyPeer
	for _, ns := range []string{opts.OperatorNamespace, opts.MonitoringNamespace} {
		if ns != "" {
			trusted = append(trusted, networkingv1.NetworkPolicyPeer{
				NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{namespaceNameLabel: ns}}})
		}
	}
	rules := []networkingv1.NetworkPolicyIngressRule{{Ports: port(node.PeerPort())}}
	if node.PublishesLocally() {
		validators := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{
			LabelName: AppName, LabelComponent: Component(stellarv1alpha1.NodeTypeValidator)}}}
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{Ports: port(node.HistoryPort()), From: append([]networkingv1.NetworkPolicyPeer{validators}, trusted...)})
	}
	if len(trusted) > 0 {
		// With no trusted namespace the agent's port admits nobody: a rule without From would admit all.
		rules = append(rules, networkingv1.NetworkPolicyIngressRule{Ports: port(AgentPort), From: trusted})
	}
	return &networkingv1.NetworkPolicy{
		TypeMeta:   metav1.TypeMeta{APIVersion: "networking.k8s.io/v1", Kind: "NetworkPolicy"},
		ObjectMeta: objectMeta(node, node.Name),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: SelectorLabels(node)},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     rules,
		},
	}
}
