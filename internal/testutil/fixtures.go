// Package testutil holds what the tests of every package share: StellarNode fixtures built with
// options, the pods a StatefulSet controller would create, readiness, a request counter and the
// envtest environment. A new required field of the API is one edit here.
package testutil

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// Option changes a fixture before it is returned.
type Option func(*stellarv1alpha1.StellarNode)

// DefaultVersion is the stellar-core, Horizon or Soroban RPC version fixtures run.
const DefaultVersion = "22.1.0"

// Validator is a Testnet validator with its seed Secret named <name>-seed.
func Validator(ns, name string, opts ...Option) *stellarv1alpha1.StellarNode {
	return build(ns, name, stellarv1alpha1.StellarNodeSpec{
		NodeType: stellarv1alpha1.NodeTypeValidator, Network: stellarv1alpha1.NetworkTestnet, Version: DefaultVersion,
		ValidatorConfig: &stellarv1alpha1.ValidatorConfig{SeedSecretRef: name + "-seed"},
	}, opts)
}

// Horizon is a Testnet Horizon whose database URL is in the Secret "horizon-db".
func Horizon(ns, name string, opts ...Option) *stellarv1alpha1.StellarNode {
	return build(ns, name, stellarv1alpha1.StellarNodeSpec{
		NodeType: stellarv1alpha1.NodeTypeHorizon, Network: stellarv1alpha1.NetworkTestnet, Version: "2.32.0",
		HorizonConfig: &stellarv1alpha1.HorizonConfig{DatabaseSecretRef: "horizon-db"},
	}, opts)
}

// SorobanRPC is a Testnet Soroban RPC.
func SorobanRPC(ns, name string, opts ...Option) *stellarv1alpha1.StellarNode {
	return build(ns, name, stellarv1alpha1.StellarNodeSpec{
		NodeType: stellarv1alpha1.NodeTypeSorobanRPC, Network: stellarv1alpha1.NetworkTestnet, Version: DefaultVersion,
		SorobanConfig: &stellarv1alpha1.SorobanConfig{},
	}, opts)
}

func build(ns, name string, spec stellarv1alpha1.StellarNodeSpec, opts []Option) *stellarv1alpha1.StellarNode {
	n := &stellarv1alpha1.StellarNode{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	for _, o := range opts {
		o(n)
	}
	return n
}

// OnNetwork puts the node on another network.
func OnNetwork(network stellarv1alpha1.Network) Option {
	return func(n *stellarv1alpha1.StellarNode) { n.Spec.Network = network }
}

// WithHomeDomain sets a validator's home domain.
func WithHomeDomain(domain string) Option {
	return func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.HomeDomain = domain }
}

// Suspended scales the node to zero.
func Suspended() Option {
	return func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = true }
}

// WithRestartPolicy sets a validator's peer-discovery restart policy.
func WithRestartPolicy(p stellarv1alpha1.PeerRestartPolicy) Option {
	return func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.PeerDiscovery.RestartPolicy = p }
}

// WithQuorumSet sets a validator's raw [QUORUM_SET] text.
func WithQuorumSet(text string) Option {
	return func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.QuorumSet = text }
}
