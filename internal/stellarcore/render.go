package stellarcore

import (
	"errors"
	"fmt"
	"slices"

	"github.com/BurntSushi/toml"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// RenderInput is what a validator pod knows when it starts.
type RenderInput struct {
	// Profile is the release line of the stellar-core that reads the file.
	Profile Profile
	// Seed is the validator's secret seed. It goes into the rendered file and nowhere else.
	Seed string
	// NodeName is the validator's StellarNode name; it is never its own peer.
	NodeName string
	// PodIP is the pod's own address; a stale entry with it is never a peer either.
	PodIP string
	// NetworkID is the validator's network; peers of any other network are left out.
	NetworkID string
	// Discovered is the content of the stellar-peers ConfigMap; empty when it does not exist yet.
	Discovered peers.Document
	// QuorumFromPeers adds every other validator of the network that is in its quorum (one with a
	// public key) as a [[VALIDATORS]] entry, with its archive as HISTORY when it publishes one.
	QuorumFromPeers bool
}

// Render is the final stellar-core.cfg: the base configuration with NODE_SEED, KNOWN_PEERS (the user's
// static peers, then the discovered ip:port) and PREFERRED_PEERS (the discovered stable DNS names,
// which stellar-core re-resolves by itself when a peer's pod gets a new IP).
func Render(base string, in RenderInput) (string, error) {
	if in.Seed == "" {
		return "", errors.New("the validator seed is empty")
	}
	return assemble(base, in)
}

// Preview is what Render would write, without the seed: the reconciler checks it before anything runs.
func Preview(base string, in RenderInput) (string, error) {
	in.Seed = ""
	return assemble(base, in)
}

func assemble(base string, in RenderInput) (string, error) {
	// A peer that breaks the input grammar never reaches the file (render-config reports it).
	in.Discovered, _ = in.Discovered.Checked()
	var cfg map[string]any
	if _, err := toml.Decode(base, &cfg); err != nil {
		return "", fmt.Errorf("parse base config: %w", err)
	}
	if in.Seed != "" {
		cfg["NODE_SEED"] = in.Seed
	}

	known := stringList(cfg["KNOWN_PEERS"])
	var discoveredKnown, preferred []string
	for _, p := range in.Discovered.Peers {
		if p.NetworkID != in.NetworkID || in.isSelf(p) {
			continue
		}
		if p.PodIP != "" {
			discoveredKnown = append(discoveredKnown, p.Address())
		}
		if p.DNSName != "" {
			preferred = append(preferred, p.StableAddress())
		}
	}
	for _, addr := range sortedUnique(discoveredKnown) {
		if !slices.Contains(known, addr) {
			known = append(known, addr)
		}
	}
	if len(known) > 0 {
		cfg["KNOWN_PEERS"] = known
	}
	if len(preferred) > 0 {
		cfg["PREFERRED_PEERS"] = sortedUnique(preferred)
	}
	if in.QuorumFromPeers {
		addQuorumMembers(cfg, in)
	}
	return encode(cfg)
}

// isSelf reports whether a discovered peer's address is the node being rendered's own: a validator
// of its namespace by its name, or of its cluster by its pod IP (a member of another cluster never
// is; Checked keeps its key off a local one's).
func (in RenderInput) isSelf(p peers.Peer) bool {
	return in.isSelfByName(p) || (!p.Remote() && in.PodIP != "" && p.PodIP == in.PodIP)
}

// isSelfByName reports whether a discovered peer is the node itself, by name: its quorum entries
// never name it (a pod IP says nothing of who a quorum member is).
func (in RenderInput) isSelfByName(p peers.Peer) bool { return p.Own() && p.Name == in.NodeName }

// addQuorumMembers lists the network's other validators that are in its quorum in [[VALIDATORS]],
// sorted by name, never the node itself, and their organisations in [[HOME_DOMAINS]] when missing.
func addQuorumMembers(cfg map[string]any, in RenderInput) {
	validators := tableArray(cfg["VALIDATORS"])
	domains := tableArray(cfg["HOME_DOMAINS"])
	known := map[string]bool{}
	for _, d := range domains {
		known[fmt.Sprint(d[keyHomeDomain])] = true
	}
	members := slices.Clone(in.Discovered.Peers)
	peers.Sort(members)
	for _, p := range members {
		if p.NetworkID != in.NetworkID || in.isSelfByName(p) || !p.InQuorum() {
			continue
		}
		entry := map[string]any{keyName: p.Name, keyHomeDomain: p.HomeDomain, keyPublicKey: p.PublicKey, keyAddress: p.StableAddress()}
		if p.History != "" {
			entry[keyHistory] = archiveGet(p.History)
		}
		validators = append(validators, entry)
		if !known[p.HomeDomain] {
			domains = append(domains, map[string]any{keyHomeDomain: p.HomeDomain, keyQuality: p.Quality})
			known[p.HomeDomain] = true
		}
	}
	if len(validators) > 0 {
		cfg["VALIDATORS"] = validators
	}
	if len(domains) > 0 {
		cfg["HOME_DOMAINS"] = domains
	}
}

// tableArray reads an array of tables as decoded from TOML.
func tableArray(v any) []map[string]any {
	switch t := v.(type) {
	case []map[string]any:
		return t
	case []any:
		out := make([]map[string]any, 0, len(t))
		for _, item := range t {
			if m, ok := item.(map[string]any); ok {
				out = append(out, m)
			}
		}
		return out
	}
	return nil
}

func stringList(v any) []string {
	items, _ := v.([]any)
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
