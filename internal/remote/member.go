package remote

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// Member is a validator of another cluster as this one uses it.
type Member struct {
	// Peer is what this cluster's validators are given: its name is "<name>.<namespace>.<cluster>",
	// its address the one it advertises.
	Peer peers.Peer `json:"peer"`
	// Namespace is its namespace there.
	Namespace string `json:"namespace"`
	// InConsensus: its StellarNode is Ready there, and a validator's readiness is being in consensus.
	InConsensus bool `json:"inConsensus"`
	// Settled: in consensus, its spec reconciled and no rollout of it waiting or under way.
	Settled bool `json:"settled"`
	// Key is its public key, whatever its quorum is built from; Created when its StellarNode was
	// created. Of two validators of a network with one key, the first by KeyHolderBefore's rule runs.
	Key     string    `json:"key,omitempty"`
	Created time.Time `json:"created"`
}

// Name is its StellarNode's name in its cluster.
func (m Member) Name() string { return strings.SplitN(m.Peer.Name, ".", 2)[0] }

// maxPassphrase bounds a remote network passphrase as the CRD bounds a local one.
const maxPassphrase = 256

var networks = []stellarv1alpha1.Network{stellarv1alpha1.NetworkMainnet, stellarv1alpha1.NetworkTestnet,
	stellarv1alpha1.NetworkFuturenet, stellarv1alpha1.NetworkCustom}

// memberOf turns a StellarNode read from cluster into a member, or says why it cannot be one. Every
// value that reaches a configuration passes the input grammar here, and again where it is read.
func memberOf(cluster string, n *stellarv1alpha1.StellarNode, loopback bool) (Member, error) {
	vc := n.Spec.ValidatorConfig
	var errs []error
	if !slices.Contains(networks, n.Spec.Network) {
		errs = append(errs, fmt.Errorf("network %q is not one of %v", n.Spec.Network, networks))
	}
	errs = append(errs, stellarv1alpha1.ValidText("customNetworkPassphrase", n.Spec.CustomNetworkPassphrase, maxPassphrase))
	errs = append(errs, stellarv1alpha1.ValidName("namespace", n.Namespace))
	addr := n.Status.ExternalAddress
	if addr == "" {
		errs = append(errs, errors.New("no status.externalAddress yet: nothing outside its cluster can dial it"))
	} else {
		errs = append(errs, stellarv1alpha1.ValidAddress("status.externalAddress", addr),
			stellarv1alpha1.ValidDialAddress("status.externalAddress", addr, loopback))
	}
	if vc.PublicKey != "" {
		errs = append(errs, stellarv1alpha1.ValidPublicKey("publicKey", vc.PublicKey))
	}
	if err := errors.Join(errs...); err != nil {
		return Member{}, err
	}
	host, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	p := peers.Peer{
		Name:      n.Name + "." + n.Namespace + "." + cluster,
		Network:   string(n.Spec.Network),
		NetworkID: n.NetworkID(),
		DNSName:   host,
		Port:      int32(port),
		Cluster:   cluster,
	}
	if n.QuorumFromCluster() && vc.PublicKey != "" {
		p.PublicKey, p.HomeDomain, p.Quality = vc.PublicKey, vc.HomeDomain, string(n.QuorumQuality())
	}
	switch {
	case vc.History != nil && vc.History.PublicURL != "":
		p.History = stellarv1alpha1.TrimURL(vc.History.PublicURL)
	case n.ObjectStorage() != nil:
		p.History = stellarv1alpha1.TrimURL(n.ObjectStorage().URL)
	}
	if err := p.Validate(); err != nil {
		return Member{}, err
	}
	if p.History != "" {
		if err := stellarv1alpha1.ValidDialURL("history", p.History, loopback); err != nil {
			return Member{}, err
		}
	}
	ready := meta.IsStatusConditionTrue(n.Status.Conditions, stellarv1alpha1.ConditionReady)
	return Member{
		Peer:        p,
		Namespace:   n.Namespace,
		InConsensus: ready,
		Settled:     ready && n.Status.ObservedGeneration == n.Generation && n.Status.Rollout == nil,
		Key:         vc.PublicKey,
		Created:     n.CreationTimestamp.UTC().Truncate(time.Second),
	}, nil
}

// isMember reports whether a remote StellarNode takes part in discovery at all; one that does not is
// skipped without a word, as a local one would be.
func isMember(n *stellarv1alpha1.StellarNode) bool {
	return n.IsValidator() && n.IsPeerDiscoveryMember()
}

// membersOf converts what a cluster listed: members sorted by name, and "namespace/name: why" for
// each validator left out.
func membersOf(cluster string, list []stellarv1alpha1.StellarNode, loopback bool) ([]Member, []string) {
	var members []Member
	var dropped []string
	for i := range list {
		n := &list[i]
		if !isMember(n) {
			continue
		}
		m, err := memberOf(cluster, n, loopback)
		if err != nil {
			dropped = append(dropped, fmt.Sprintf("%s/%s: %v", n.Namespace, n.Name, err))
			continue
		}
		members = append(members, m)
	}
	slices.SortFunc(members, func(a, b Member) int { return strings.Compare(a.Peer.Name, b.Peer.Name) })
	slices.Sort(dropped)
	return members, dropped
}
