package testutil

import (
	"context"
	"fmt"
	"slices"

	"github.com/BurntSushi/toml"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// RenderedQuorum renders the configuration a validator's pod would start with (without its seed) from
// the live <name>-config and stellar-peers, checks it with its release line's rules, and returns the
// public keys its [[VALIDATORS]] name, sorted.
func RenderedQuorum(ctx context.Context, c client.Client, ns, name string) ([]string, error) {
	node := &stellarv1alpha1.StellarNode{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, node); err != nil {
		return nil, err
	}
	base, discovered := &corev1.ConfigMap{}, &corev1.ConfigMap{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-config"}, base); err != nil {
		return nil, err
	}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: peers.ConfigMapName}, discovered); err != nil {
		return nil, err
	}
	doc, err := peers.ParseDocument([]byte(discovered.Data[peers.KeyPeersJSON]))
	if err != nil {
		return nil, err
	}
	profile, err := stellarcore.ProfileFor(node.Spec.Version)
	if err != nil {
		return nil, err
	}
	out, err := stellarcore.Preview(base.Data["stellar-core.cfg"], stellarcore.RenderInput{Profile: profile, NodeName: name,
		NetworkID: node.NetworkID(), Discovered: doc, QuorumFromPeers: node.QuorumFromCluster()})
	if err != nil {
		return nil, err
	}
	if err := stellarcore.Check(out, stellarcore.CheckOptions{Profile: profile, SelfKey: node.Spec.ValidatorConfig.PublicKey}); err != nil {
		return nil, fmt.Errorf("stellar-core would refuse %s's configuration: %w", name, err)
	}
	var cfg struct {
		Validators []struct {
			PublicKey string `toml:"PUBLIC_KEY"`
		} `toml:"VALIDATORS"`
	}
	if _, err := toml.Decode(out, &cfg); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(cfg.Validators))
	for _, v := range cfg.Validators {
		keys = append(keys, v.PublicKey)
	}
	slices.Sort(keys)
	return keys, nil
}
