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

// DefaultVersion is the stellar-core version fixtures run: the newest release line the operator knows.
const DefaultVersion = "27.1.0"

// SorobanRPCVersion is the stellar-rpc version fixtures run.
const SorobanRPCVersion = "22.1.0"

// SafeQuorumSet is a raw [QUORUM_SET] of SDF's three Testnet validators and one more key at 67 %: four
// entries tolerate one failure, so stellar-core accepts it without UNSAFE_QUORUM.
const SafeQuorumSet = `[QUORUM_SET]
THRESHOLD_PERCENT = 67
VALIDATORS = ["GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y", "GCUCJTIYXSOXKBSNFGNFWW5MUQ54HKRPGJUTQFJ5RQXZXNOLNXYDHRAP",
  "GC2V2EFSXN6SQTWVYA5EPJPBWWIMSD2XQNKUOHGEKB535AQE2I6IXV2Z", "GCYKZEUA6S5TU7CSMUEJNH7NGUQKKLHVCFK6W32GCUR6VB324MSCIKNS"]
`

// Validator is a Testnet validator with its seed Secret named <name>-seed and a quorum stellar-core
// accepts (SafeQuorumSet; Testnet brings SDF's archives).
func Validator(ns, name string, opts ...Option) *stellarv1alpha1.StellarNode {
	return build(ns, name, stellarv1alpha1.StellarNodeSpec{
		NodeType: stellarv1alpha1.NodeTypeValidator, Network: stellarv1alpha1.NetworkTestnet, Version: DefaultVersion,
		ValidatorConfig: &stellarv1alpha1.ValidatorConfig{SeedSecretRef: name + "-seed", QuorumSet: SafeQuorumSet},
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
		NodeType: stellarv1alpha1.NodeTypeSorobanRPC, Network: stellarv1alpha1.NetworkTestnet, Version: SorobanRPCVersion,
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

// InOrganisation gives a validator a public key and a quorum built from the cluster under homeDomain,
// with the extra organisations and validators of quorum (nil for none).
func InOrganisation(homeDomain, publicKey string, quorum *stellarv1alpha1.QuorumSpec) Option {
	return func(n *stellarv1alpha1.StellarNode) {
		vc := n.Spec.ValidatorConfig
		vc.QuorumSet, vc.HomeDomain, vc.PublicKey = "", homeDomain, publicKey
		vc.Quorum = &stellarv1alpha1.QuorumSpec{}
		if quorum != nil {
			vc.Quorum = quorum.DeepCopy()
		}
	}
}

// AllowingUnsafeQuorum sets allowUnsafeQuorum.
func AllowingUnsafeQuorum() Option {
	return func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.AllowUnsafeQuorum = true }
}

// WithQuorumSet sets a validator's raw [QUORUM_SET] text.
func WithQuorumSet(text string) Option {
	return func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.QuorumSet = text }
}
