// Package quorumgate decides, before the operator changes anyone's quorum, whether the quorum sets
// it is about to give a network's validators intersect. The reconciler and peer discovery ask the
// same gate: a network whose proposed quorums can split, or whose intersection is not proven within
// the limit, gets no change that would restart a validator, and its validators say why.
package quorumgate

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
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

var organisationGauge = metrics.GaugeVec("stellar_quorum_organisation_failure_tolerance",
	"How many validators of the network, anywhere, may fail before no validator of an organisation here has a quorum (failures cascading through the others' sets), on a map whose quorums intersect.",
	"namespace", "network", "organisation")

var criticalGauge = metrics.GaugeVec("stellar_quorum_critical_groups",
	"How many groups of a network's validators could split it by a misconfiguration of their own (stellar-core's intersection-critical groups); -1 while not known.",
	"namespace", "network")

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
	// Reported counts the validators outside the operator's whose sets came from the network's own
	// report (a validator's stellar-core, /quorum?transitive=true, through its agent).
	Reported int
	// tolerance is each validator's failure tolerance by namespace/name (its set's MinBlocking less one).
	tolerance map[string]int
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
	if v.Reported > 0 {
		msg += fmt.Sprintf("; the sets of %d validators outside the operator's are as the network last reported them", v.Reported)
	}
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
	// Neighbours are the validators of a namespace, for those of the other namespaces of a scope: their
	// sets are the operator's to know, as those of this namespace are. Nil: none are known.
	Neighbours func(namespace string) []*stellarv1alpha1.StellarNode
	// Decide is the intersection check; quorum.Check when nil. Set before the gate is first used.
	Decide func(m quorum.Map, limit time.Duration) (quorum.Result, error)

	mu   sync.Mutex
	last map[string]remembered
	// sets are each validator's quorum set, by namespace/name, until its spec or what its
	// configuration reads of the others (its peer membership) changes.
	sets map[string]rememberedSet
	// exported are the validators of each network with a tolerance exported, to remove those gone;
	// exportedOrganisations, the organisations.
	exported, exportedOrganisations map[string][]string
	// critical are the critical groups of each network's map, by the fingerprint they were found for.
	critical map[string]Critical
	// reported is the latest transitive quorum map a validator of each network reported, with its digest.
	reported map[string]reportedMap
	// onChange are told the namespace of a network whose critical groups were found, or whose
	// reported map changed.
	onChange []func(namespace string)
	// wanted is the newest map of each network whose critical groups are wanted; searching, whether
	// a search of the network runs.
	wanted    map[string]criticalSearch
	searching map[string]bool
}

// Critical are the groups whose misconfiguration alone could split a network whose quorums intersect
// (quorum.CriticalGroups), each named "namespace/name" for a validator here and by key otherwise, and
// what each organisation here survives.
type Critical struct {
	fingerprint string
	Groups      [][]string
	// Complete: every candidate was tried within the limit.
	Complete bool
	// Tolerance is, by home domain of the validators here, how many failures anywhere in the map leave
	// one of the organisation's validators (here or elsewhere) with a quorum (quorum.Blocking, less
	// one); an organisation whose search ran out of time is absent.
	Tolerance map[string]int
}

type reportedMap struct {
	m      quorum.Map
	digest string
}

// Report keeps the transitive quorum map a validator of the namespace's network reported, the latest
// of any of them (in memory only). The sets of validators outside the operator's then come from it:
// a split among them, or between them and the validators here, holds changes as one here would. A
// changed map has the network's validators checked again.
func (g *Gate) Report(ns, networkID string, m quorum.Map) {
	if m.Validate() != nil {
		return
	}
	data, err := m.JSON()
	if err != nil {
		return
	}
	sum := sha256.Sum256(data)
	digest := hex.EncodeToString(sum[:])
	key := ns + "/" + networkID
	g.mu.Lock()
	if g.reported == nil {
		g.reported = map[string]reportedMap{}
	}
	changed := g.reported[key].digest != digest
	g.reported[key] = reportedMap{m: m, digest: digest}
	hooks := slices.Clone(g.onChange)
	g.mu.Unlock()
	if changed {
		for _, f := range hooks {
			f(ns)
		}
	}
}

// withReported gives the validators m names but does not hold the sets the network reported for
// them, and so on for those their sets name: only what the validators here reach counts.
func withReported(m quorum.Map, reported quorum.Map) (added int) {
	var next []string
	for _, q := range m {
		if q != nil {
			next = append(next, q.Keys()...)
		}
	}
	for len(next) > 0 {
		k := next[len(next)-1]
		next = next[:len(next)-1]
		if _, known := m[k]; known {
			continue
		}
		q := reported[k]
		m[k] = q
		if q != nil {
			added++
			next = append(next, q.Keys()...)
		}
	}
	return added
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
	neighbours := g.neighboursOf(nw.Others)
	networkID := nw.ID
	key := ns + "/" + networkID
	g.mu.Lock()
	reported := g.reported[key]
	fingerprint := fingerprintOf(append(slices.Clone(nodes), neighbours...), doc) + reported.digest
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
	g.addNeighbours(m, names, ns, neighbours, doc)
	local := make(map[string]bool, len(m))
	for k := range m {
		local[k] = true
	}
	added := withReported(m, reported.m)
	var unknown []string
	for _, q := range m {
		if q != nil {
			unknown = append(unknown, q.Keys()...)
		}
	}
	slices.Sort(unknown)
	unknown = slices.DeleteFunc(slices.Compact(unknown), func(k string) bool { return m[k] != nil })
	limit := g.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	decide := g.Decide
	if decide == nil {
		decide = quorum.Check
	}
	result, err := decide(m, limit)
	if err != nil {
		result = quorum.Result{Verdict: quorum.Unknown}
	}
	v := Verdict{Result: result, Names: names, Unknown: unknown, Reported: added, tolerance: map[string]int{}}
	for k, q := range m {
		if q != nil && local[k] {
			v.tolerance[names[k]] = q.MinBlocking() - 1
		}
	}
	intersectionGauge.WithLabelValues(ns, networkID).Set(map[quorum.Verdict]float64{quorum.Intersecting: 1, quorum.Split: 0, quorum.Unknown: -1}[result.Verdict])
	g.exportTolerance(key, ns, nodes, m)
	g.mu.Lock()
	if g.last == nil {
		g.last = map[string]remembered{}
	}
	g.last[key] = remembered{fingerprint: fingerprint, verdict: v}
	g.mu.Unlock()
	if result.Verdict == quorum.Intersecting {
		criticalGauge.WithLabelValues(ns, networkID).Set(-1)
		g.wantCritical(key, criticalSearch{ns: ns, networkID: networkID, fingerprint: fingerprint, m: m, names: names,
			organisations: organisationsOf(nodes, nw.Others), limit: limit})
	} else {
		criticalGauge.DeleteLabelValues(ns, networkID)
		g.exportOrganisations(key, criticalSearch{ns: ns, networkID: networkID}, nil)
	}
	return v
}

// addNeighbours puts the sets of the network's validators in other namespaces of the scope into m,
// each as its own namespace's configuration renders it: the same members, seen from there.
func (g *Gate) addNeighbours(m quorum.Map, names map[string]string, ns string, neighbours []*stellarv1alpha1.StellarNode, doc peers.Document) {
	for _, n := range neighbours {
		k, seen := n.Spec.ValidatorConfig.PublicKey, doc.SeenFrom(ns, n.Namespace)
		if _, taken := m[k]; !taken && k != "" {
			names[k] = n.Namespace + "/" + n.Name
			m[k] = g.setOf(n, stellarcore.PeersDigest(seen), seen)
		}
	}
}

// neighboursOf are the StellarNodes of the network's members in other namespaces of the scope.
func (g *Gate) neighboursOf(others []peers.Peer) []*stellarv1alpha1.StellarNode {
	if g.Neighbours == nil {
		return nil
	}
	var out []*stellarv1alpha1.StellarNode
	// Each namespace's validators by the name its neighbours know them by, read once per check.
	byNamespace := map[string]map[string]*stellarv1alpha1.StellarNode{}
	for _, p := range others {
		if p.Remote() || p.Namespace == "" {
			continue
		}
		byName, read := byNamespace[p.Namespace]
		if !read {
			byName = map[string]*stellarv1alpha1.StellarNode{}
			for _, n := range g.Neighbours(p.Namespace) {
				if n.Spec.ValidatorConfig != nil {
					byName[peers.NeighbourName(n.Name, n.Namespace)] = n
				}
			}
			byNamespace[p.Namespace] = byName
		}
		if n := byName[p.Name]; n != nil {
			out = append(out, n)
		}
	}
	return out
}

// OnChange registers f to be told the namespace of a network whose critical groups were found, or
// whose reported map changed: its validators' status and verdict are to be read again.
func (g *Gate) OnChange(f func(namespace string)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.onChange = append(g.onChange, f)
}

// CriticalOf is what is known of the critical groups of the network's current map: ok is false
// while they are being looked for, or when its quorums do not intersect.
func (g *Gate) CriticalOf(ns string, nw *peers.Network) (c Critical, ok bool) {
	if g == nil || nw == nil {
		return Critical{}, false
	}
	key := ns + "/" + nw.ID
	g.mu.Lock()
	defer g.mu.Unlock()
	last, checked := g.last[key]
	c, found := g.critical[key]
	return c, checked && found && c.fingerprint == last.fingerprint
}

// criticalSearch is a network's map whose critical groups and organisations' tolerance are wanted.
type criticalSearch struct {
	ns, networkID, fingerprint string
	m                          quorum.Map
	names                      map[string]string
	// organisations are the keys of each home domain of the validators here, with its validators
	// elsewhere.
	organisations map[string][]string
	limit         time.Duration
}

// organisationsOf groups the keys of the network's validators by home domain, for each home domain
// a validator here has: its members in other namespaces and clusters belong to it too.
func organisationsOf(nodes []*stellarv1alpha1.StellarNode, others []peers.Peer) map[string][]string {
	out := map[string][]string{}
	for _, n := range nodes {
		if v := n.Spec.ValidatorConfig; v.HomeDomain != "" && v.PublicKey != "" {
			out[v.HomeDomain] = append(out[v.HomeDomain], v.PublicKey)
		}
	}
	for _, p := range others {
		if keys, here := out[p.HomeDomain]; here && p.PublicKey != "" {
			out[p.HomeDomain] = append(keys, p.PublicKey)
		}
	}
	return out
}

// wantCritical asks for the critical groups of a network's new map. One search runs per network at a
// time, off the reconcile path (one takes about as long as a hundred intersection checks on a
// public-network-sized map): a map superseded meanwhile stops its search at the next candidate and
// only the newest one is searched next.
func (g *Gate) wantCritical(key string, job criticalSearch) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.wanted == nil {
		g.wanted, g.searching = map[string]criticalSearch{}, map[string]bool{}
	}
	g.wanted[key] = job
	if !g.searching[key] {
		g.searching[key] = true
		go g.searchCritical(key)
	}
}

func (g *Gate) searchCritical(key string) {
	for {
		g.mu.Lock()
		job, ok := g.wanted[key]
		delete(g.wanted, key)
		if !ok {
			g.searching[key] = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		stale := func() bool {
			g.mu.Lock()
			defer g.mu.Unlock()
			return g.last[key].fingerprint != job.fingerprint
		}
		deadline := time.Now().Add(job.limit)
		tolerance := map[string]int{}
		for _, domain := range slices.Sorted(maps.Keys(job.organisations)) {
			if failed, ok := quorum.Blocking(job.m, job.organisations[domain], time.Until(deadline)); ok {
				tolerance[domain] = len(failed) - 1
			}
		}
		g.exportOrganisations(key, job, tolerance)
		groups, complete, err := quorum.CriticalGroups(job.m, time.Until(deadline), stale)
		if err != nil || stale() {
			continue // the map changed meanwhile: its own search says
		}
		named := make([][]string, len(groups))
		for i, group := range groups {
			for _, k := range group {
				named[i] = append(named[i], cmp.Or(job.names[k], k))
			}
		}
		g.mu.Lock()
		if g.critical == nil {
			g.critical = map[string]Critical{}
		}
		g.critical[key] = Critical{fingerprint: job.fingerprint, Groups: named, Complete: complete, Tolerance: tolerance}
		hooks := slices.Clone(g.onChange)
		g.mu.Unlock()
		if complete {
			criticalGauge.WithLabelValues(job.ns, job.networkID).Set(float64(len(groups)))
		}
		for _, f := range hooks {
			f(job.ns)
		}
	}
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

// maxCriticalInStatus bounds the critical groups a status lists (the API's MaxItems).
const maxCriticalInStatus = 10

// Status is what a validator's status says of its network's verdict and what the map survives.
func (g *Gate) Status(ns string, nw *peers.Network, v Verdict, node *stellarv1alpha1.StellarNode) *stellarv1alpha1.QuorumStatus {
	st := &stellarv1alpha1.QuorumStatus{
		Intersection:      map[quorum.Verdict]string{quorum.Intersecting: stellarv1alpha1.QuorumIntersecting, quorum.Split: stellarv1alpha1.QuorumSplit, quorum.Unknown: stellarv1alpha1.QuorumUnproven}[v.Verdict],
		UnknownValidators: int32(len(v.Unknown)), ReportedValidators: int32(v.Reported),
	}
	if t, ok := v.tolerance[node.Namespace+"/"+node.Name]; ok {
		st.FailureTolerance = new(int32(t))
	}
	if c, ok := g.CriticalOf(ns, nw); ok {
		if t, known := c.Tolerance[node.Spec.ValidatorConfig.HomeDomain]; known {
			st.OrganisationFailureTolerance = new(int32(t))
		}
		st.CriticalGroupsChecked = c.Complete && len(c.Groups) <= maxCriticalInStatus
		for _, group := range c.Groups[:min(len(c.Groups), maxCriticalInStatus)] {
			st.CriticalGroups = append(st.CriticalGroups, strings.Join(group, ","))
		}
	}
	return st
}

// Describe joins a verdict's message for several networks.
func Describe(vs []Verdict) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Message()
	}
	return strings.Join(out, "; ")
}

// exportOrganisations exports each organisation's tolerance on the network, and removes those of
// organisations it no longer has or whose search ran out of time.
func (g *Gate) exportOrganisations(key string, job criticalSearch, tolerance map[string]int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.exportedOrganisations == nil {
		g.exportedOrganisations = map[string][]string{}
	}
	for _, old := range g.exportedOrganisations[key] {
		if _, still := tolerance[old]; !still {
			organisationGauge.DeleteLabelValues(job.ns, job.networkID, old)
		}
	}
	for domain, t := range tolerance {
		organisationGauge.WithLabelValues(job.ns, job.networkID, domain).Set(float64(t))
	}
	g.exportedOrganisations[key] = slices.Collect(maps.Keys(tolerance))
}

// exportTolerance exports each validator's failure tolerance, and removes those of validators the
// network no longer has.
func (g *Gate) exportTolerance(network, ns string, nodes []*stellarv1alpha1.StellarNode, m quorum.Map) {
	var names []string
	for _, n := range nodes {
		if q := m[n.Spec.ValidatorConfig.PublicKey]; q != nil {
			toleranceGauge.WithLabelValues(ns, n.Name).Set(float64(q.MinBlocking() - 1)) // as Verdict.tolerance
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
