package resources

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// Topology keys of the spread: a node, and a zone where nodes carry one.
const (
	TopologyHostname = "kubernetes.io/hostname"
	TopologyZone     = "topology.kubernetes.io/zone"
)

// validatorSpread keeps a validator's pod away from the other validators of its network, so that
// one node's loss (or one zone's, where nodes carry zones) takes at most one of them: a soft
// spread by default, a hard one across nodes when asked, none when turned off. Across zones it
// is always soft: a cluster without zone labels would otherwise place nothing.
func validatorSpread(node *stellarv1alpha1.StellarNode) []corev1.TopologySpreadConstraint {
	policy := stellarv1alpha1.SpreadSoft
	if s := node.Spec.Scheduling; s != nil && s.Spread != "" {
		policy = s.Spread
	}
	if policy == stellarv1alpha1.SpreadNone {
		return nil
	}
	onNodes := corev1.ScheduleAnyway
	if policy == stellarv1alpha1.SpreadHard {
		onNodes = corev1.DoNotSchedule
	}
	network := &metav1.LabelSelector{MatchLabels: map[string]string{LabelName: AppName,
		LabelComponent: Component(stellarv1alpha1.NodeTypeValidator), LabelNetworkID: node.NetworkID()}}
	return []corev1.TopologySpreadConstraint{
		{MaxSkew: 1, TopologyKey: TopologyHostname, WhenUnsatisfiable: onNodes, LabelSelector: network},
		{MaxSkew: 1, TopologyKey: TopologyZone, WhenUnsatisfiable: corev1.ScheduleAnyway, LabelSelector: network.DeepCopy()},
	}
}

// schedule gives a pod template the node's scheduling fields, after the spread given.
func schedule(t *corev1.PodTemplateSpec, node *stellarv1alpha1.StellarNode, spread []corev1.TopologySpreadConstraint) {
	t.Spec.TopologySpreadConstraints = spread
	s := node.Spec.Scheduling
	if s == nil {
		return
	}
	spec := &t.Spec
	if len(s.NodeSelector) > 0 {
		spec.NodeSelector = make(map[string]string, len(s.NodeSelector))
		for k, v := range s.NodeSelector {
			spec.NodeSelector[k] = string(v)
		}
	}
	spec.Affinity = s.Affinity.DeepCopy()
	spec.Tolerations = append([]corev1.Toleration(nil), s.Tolerations...)
	spec.TopologySpreadConstraints = append(spread, s.TopologySpreadConstraints...)
	spec.PriorityClassName = s.PriorityClassName
	spec.ServiceAccountName = s.ServiceAccountName
	spec.ImagePullSecrets = append([]corev1.LocalObjectReference(nil), s.ImagePullSecrets...)
	// The operator's own labels and annotations win: the API refuses their prefixes anyway.
	for k, v := range s.PodLabels {
		if _, own := t.Labels[k]; !own {
			t.Labels[k] = string(v)
		}
	}
	for k, v := range s.PodAnnotations {
		if t.Annotations == nil {
			t.Annotations = map[string]string{}
		}
		if _, own := t.Annotations[k]; !own {
			t.Annotations[k] = string(v)
		}
	}
}
