// Package resources builds the Kubernetes objects of a StellarNode. Every builder is a pure function:
// a StellarNode in, objects out; applying them is the reconciler's job.
package resources

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// Label keys and values shared by every object the operator creates.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelComponent = "app.kubernetes.io/component"
	LabelManagedBy = "app.kubernetes.io/managed-by"
	LabelNetwork   = "stellar.org/network"
	// LabelNetworkID tells validators of different Custom networks apart: a network's
	// PodDisruptionBudget selects its validators by it.
	LabelNetworkID = "stellar.org/network-id"

	AppName   = "stellar-node"
	ManagedBy = "stellar-operator"

	// AnnotationConfigHash on a pod template restarts the pods when the reconciler's configuration changes.
	AnnotationConfigHash = "stellar.org/config-hash"
)

// Options are the operator-wide settings builders need.
type Options struct {
	// OperatorImage runs the render-config init step of validator pods.
	OperatorImage string
	// ClusterDomain is the cluster's DNS domain, for stable peer names.
	ClusterDomain string
	// NetworkPolicies gives each validator a NetworkPolicy (ValidatorNetworkPolicy).
	NetworkPolicies bool
	// OperatorNamespace and MonitoringNamespace may reach a validator's agent and archive ports.
	OperatorNamespace, MonitoringNamespace string
	// AllowLoopbackPeers admits loopback peers and archives in configurations (a test bed on one
	// machine, --allow-loopback-peers); anywhere else they would point a validator at its own pod.
	AllowLoopbackPeers bool
}

// Component is the app.kubernetes.io/component value of a node type.
func Component(t stellarv1alpha1.NodeType) string {
	switch t {
	case stellarv1alpha1.NodeTypeHorizon:
		return "horizon"
	case stellarv1alpha1.NodeTypeSorobanRPC:
		return "soroban-rpc"
	default:
		return "validator"
	}
}

// NamespaceConfigMapLabels are the labels of a ConfigMap the operator keeps for a whole namespace
// (stellar-peers, stellar-turns, stellar-votes, the stellar.toml fragments, stellar-remote-members):
// its managed-by label is what makes it the operator's (owned.Ours).
func NamespaceConfigMapLabels(name, component string) map[string]string {
	return map[string]string{LabelName: name, LabelComponent: component, LabelManagedBy: ManagedBy}
}

// Labels are the labels of every object of a node.
func Labels(node *stellarv1alpha1.StellarNode) map[string]string {
	l := SelectorLabels(node)
	l[LabelComponent] = Component(node.Spec.NodeType)
	l[LabelManagedBy] = ManagedBy
	l[LabelNetwork] = strings.ToLower(string(node.Spec.Network))
	if node.IsValidator() {
		l[LabelNetworkID] = node.NetworkID()
	}
	return l
}

// SelectorLabels select a node's pods; they never change for the life of the node.
func SelectorLabels(node *stellarv1alpha1.StellarNode) map[string]string {
	return map[string]string{LabelName: AppName, LabelInstance: node.Name}
}

func objectMeta(node *stellarv1alpha1.StellarNode, name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: node.Namespace, Labels: Labels(node)}
}

// ConfigMapName is the name of the ConfigMap holding a node's base configuration.
func ConfigMapName(node *stellarv1alpha1.StellarNode) string { return node.Name + "-config" }

// HeadlessServiceName gives each validator pod a stable DNS name.
func HeadlessServiceName(node *stellarv1alpha1.StellarNode) string { return node.Name + "-headless" }

// PodName is the name of a validator's (only) pod.
func PodName(node *stellarv1alpha1.StellarNode) string { return PodNameOf(node.Name) }

// PodNameOf is the name of the (only) pod of the validator named name: its StatefulSet's first.
func PodNameOf(name string) string { return name + "-0" }

// PeerDNSName is the stable DNS name of a validator's pod.
func PeerDNSName(node *stellarv1alpha1.StellarNode, clusterDomain string) string {
	return PodName(node) + "." + HeadlessServiceName(node) + "." + node.Namespace + ".svc." + clusterDomain
}

// Names of ports and volumes the builders share.
const (
	portPeer       = "peer"
	portHTTP       = "http"
	portHistory    = "history"
	volumePeers    = "peers"
	volumeVotes    = "votes"
	volumeRendered = "rendered"
	volumeTools    = "tools"
	volumeScratch  = "scratch"
)

func servicePort(name string, port int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromString(name), Protocol: corev1.ProtocolTCP}
}

// clusterIPService selects the node's pods on the given ports.
func clusterIPService(node *stellarv1alpha1.StellarNode, name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: objectMeta(node, name),
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, Selector: SelectorLabels(node), Ports: ports},
	}
}

// shell runs a script with the image's /bin/sh.
func shell(script string) []string { return []string{"/bin/sh", "-c", script} }

// PeerOf is the validator as stellar-peers publishes it, without its pod's address.
func PeerOf(node *stellarv1alpha1.StellarNode, clusterDomain string) peers.Peer {
	p := peers.Peer{
		Name:      node.Name,
		Network:   string(node.Spec.Network),
		NetworkID: node.NetworkID(),
		PodName:   PodName(node),
		Port:      node.PeerPort(),
		DNSName:   PeerDNSName(node, clusterDomain),
	}
	p.History = HistoryArchiveURL(node, clusterDomain)
	if node.QuorumFromCluster() && node.Spec.ValidatorConfig.PublicKey != "" {
		p.PublicKey = node.Spec.ValidatorConfig.PublicKey
		p.HomeDomain = node.Spec.ValidatorConfig.HomeDomain
		p.Quality = string(node.QuorumQuality())
	}
	return p
}

// HistoryArchiveURL is where everyone reads the validator's own history archive: its archive server
// under its stable DNS name, or its object storage; "" when it publishes none.
func HistoryArchiveURL(node *stellarv1alpha1.StellarNode, clusterDomain string) string {
	switch {
	case node.PublishesLocally():
		return "http://" + PeerDNSName(node, clusterDomain) + ":" + strconv.Itoa(int(node.HistoryPort()))
	case node.ObjectStorage() != nil:
		return strings.TrimSuffix(node.ObjectStorage().URL, "/")
	}
	return ""
}
