// Package quorumgate decides, before the operator changes anyone's quorum, whether the quorum sets
// it is about to give a network's validators intersect. The reconciler and peer discovery ask the
// same gate: a network whose proposed quorums can split, or whose intersection is not proven within
// the limit, gets no change that would restart a validator, and its validators say why.
package quorumgate

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/metrics"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/quorum"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// DefaultLimit bounds one check, as stellar-core's --time-limit-ms does by default.
const DefaultLimit = 5 * time.Second

var toleranceGauge = metrics.GaugeVec("stellar_quorum_failure_tolerance",
	"How many validators of its quorum set may fail before a validator's quorum does (its set's smallest blocking set, less one).",
	"namespace", "stellarnode")

var intersectionGauge = metrics.GaugeVec("stellar_quorum_intersection",
	"Whether the quorum sets the operator gives a network's validators intersect: 1 proven, 0 split, -1 not proven.",
	"namespace", "network")

// Verdict is the gate's answer for one network.
type Verdict struct {
	quorum.Result
	// Names are the validators of the map by key: "namespace/name".
	Names map[string]string
	// Unknown are the keys the sets name whose own sets the operator does not know (validators of other
	// clusters or outside Kubernetes): they are taken as in no quorum, as stellar-core's checker does.
	Unknown []string
}

// Holds reports whether the verdict holds back every change of the network's quorums: a split, or
// intersection not proven (unless allowed).
func (v Verdict) Holds(allowUnproven bool) bool {
	return v.Verdict == quorum.Split || (v.Verdict == quorum.Unknown && !allowUnproven)
}

// Reason is the condition reason of a verdict that holds.
func (v Verdict) Reason() string {
	if v.Verdict == quorum.Split {
		return stellarv1alpha1.ReasonQuorumSplit
	}
	return stellarv1alpha1.ReasonQuorumUnproven
}

// Message says the verdict, naming validators by namespace/name and key.
func (v Verdict) Message() string {
	msg := v.Describe(func(key string) string {
		if name, ok := v.Names[key]; ok {
			return name + " (" + key[:5] + "...)"
		}
		return key[:min(len(key), 5)] + "..."
	})
	if len(v.Unknown) > 0 {
		msg += fmt.Sprintf("; %d validators named in these sets are outside what the operator knows and count as in no quorum", len(v.Unknown))
	}
	return msg
}

// Gate remembers each network's verdict until what it was computed from changes.
type Gate struct {
	// Limit bounds one check; DefaultLimit when zero.
	Limit time.Duration
	// ClusterDomain names the validators' stable DNS names, as the configurations do.
	ClusterDomain string

	mu   sync.Mutex
	last map[string]remembered
	// sets are each validator's quorum set, by namespace/name, until its spec or what its
	// configuration reads of the others (its peer membership) changes.
	sets map[string]rememberedSet
	// exported are the validators of each network with a tolerance exported, to remove those gone.
	exported map[string][]string
}

type rememberedSet struct {
	generation int64
	membership string
	set        *quorum.QSet
}

type remembered struct {
	fingerprint string
	verdict     Verdict
}

// Check is the verdict on the quorum sets the validators of one namespace's network would run
// with: each one's configuration as its pod would render it now (its base configuration and the
// network's members here and elsewhere, as stellar-peers lists them), decided by
// stellarcore.QuorumSetOf.
func (g *Gate) Check(ns string, nw *peers.Network) Verdict {
	if g == nil {
		g = &Gate{}
	}
	if nw == nil {
		return Verdict{Result: quorum.Result{Verdict: quorum.Intersecting}}
	}
	nodes := nw.Nodes
	var doc peers.Document
	for _, member := range nodes {
		doc.Peers = append(doc.Peers, resources.PeerOf(member, g.ClusterDomain))
	}
	doc.Peers = append(doc.Peers, nw.Others...)
	fingerprint := fingerprintOf(nodes, doc)
	networkID := nw.ID
	key := ns + "/" + networkID
	g.mu.Lock()
	if r, ok := g.last[key]; ok && r.fingerprint == fingerprint {
		g.mu.Unlock()
		return r.verdict
	}
	g.mu.Unlock()

	m, names := quorum.Map{}, map[string]string{}
	for i, n := range nodes {
		k := n.Spec.ValidatorConfig.PublicKey
		if k == "" {
			continue
		}
		names[k] = n.Namespace + "/" + n.Name
		membership, _ := nw.MembershipOf(i)
		m[k] = g.setOf(n, membership, doc)
	}
	var unknown []string
	for _, q := range m {
		if q != nil {
			unknown = append(unknown, q.Keys()...)
		}
	}
	slices.Sort(unknown)
	unknown = slices.DeleteFunc(slices.Compact(unknown), func(k string) bool { _, known := m[k]; return known })
	limit := g.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	result, err := quorum.Check(m, limit)
	if err != nil {
		result = quorum.Result{Verdict: quorum.Unknown}
	}
	v := Verdict{Result: result, Names: names, Unknown: unknown}
	intersectionGauge.WithLabelValues(ns, networkID).Set(map[quorum.Verdict]float64{quorum.Intersecting: 1, quorum.Split: 0, quorum.Unknown: -1}[result.Verdict])
	g.exportTolerance(key, ns, nodes, m)
	g.mu.Lock()
	if g.last == nil {
		g.last = map[string]remembered{}
	}
	g.last[key] = remembered{fingerprint: fingerprint, verdict: v}
	g.mu.Unlock()
	return v
}

// setOf is setOfConfig, remembered while the validator's spec and its peer membership (what its
// configuration reads of the others' keys, domains, qualities, addresses and archives) are the same.
func (g *Gate) setOf(n *stellarv1alpha1.StellarNode, membership string, doc peers.Document) *quorum.QSet {
	key := n.Namespace + "/" + n.Name
	g.mu.Lock()
	r, ok := g.sets[key]
	g.mu.Unlock()
	if ok && r.generation == n.Generation && r.membership == membership {
		return r.set
	}
	set := setOfConfig(n, doc)
	g.mu.Lock()
	if g.sets == nil {
		g.sets = map[string]rememberedSet{}
	}
	g.sets[key] = rememberedSet{generation: n.Generation, membership: membership, set: set}
	g.mu.Unlock()
	return set
}

// setOfConfig is the quorum set of the validator's configuration as its pod would render it now; nil
// when it cannot be told (a configuration the checker refuses: that validator changes nothing anyway).
func setOfConfig(n *stellarv1alpha1.StellarNode, doc peers.Document) *quorum.QSet {
	profile, err := stellarcore.ProfileFor(n.Spec.Version)
	if err != nil {
		return nil
	}
	base, err := stellarcore.BaseConfig(n, profile)
	if err != nil {
		return nil
	}
	text, err := stellarcore.Preview(base, stellarcore.RenderInput{Profile: profile, NodeName: n.Name, NetworkID: n.NetworkID(),
		Discovered: doc, QuorumFromPeers: n.QuorumFromCluster()})
	if err != nil {
		return nil
	}
	q, err := stellarcore.QuorumSetOf(text, profile, n.Spec.ValidatorConfig.PublicKey)
	if err != nil {
		return nil
	}
	return &q
}

// fingerprintOf names what a verdict is computed from: each validator's spec (by generation) and
// the members' entries.
func fingerprintOf(nodes []*stellarv1alpha1.StellarNode, doc peers.Document) string {
	h := sha256.New()
	for _, n := range nodes {
		_, _ = fmt.Fprintf(h, "%s/%s@%d\n", n.Namespace, n.Name, n.Generation)
	}
	_, _ = h.Write([]byte(stellarcore.PeersDigest(doc)))
	return hex.EncodeToString(h.Sum(nil))
}

// Describe joins a verdict's message for several networks.
func Describe(vs []Verdict) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Message()
	}
	return strings.Join(out, "; ")
}

// exportTolerance exports each validator's failure tolerance, and removes those of validators the
// network no longer has.
func (g *Gate) exportTolerance(network, ns string, nodes []*stellarv1alpha1.StellarNode, m quorum.Map) {
	var names []string
	for _, n := range nodes {
		if q := m[n.Spec.ValidatorConfig.PublicKey]; q != nil {
			toleranceGauge.WithLabelValues(ns, n.Name).Set(float64(q.MinBlocking() - 1))
			names = append(names, n.Name)
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, old := range g.exported[network] {
		if !slices.Contains(names, old) {
			toleranceGauge.DeleteLabelValues(ns, old)
		}
	}
	if g.exported == nil {
		g.exported = map[string][]string{}
	}
	g.exported[network] = names
}
