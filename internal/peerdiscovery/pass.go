package peerdiscovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/owned"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/remote"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
)

// namespaceObjects are the cached objects of one namespace that a pass reads. They are shared with
// the cache: read, and copied before any change.
type namespaceObjects struct {
	// generation is the roster's for the namespace, read before the objects.
	generation uint64
	nodes      []*stellarv1alpha1.StellarNode
	configMap  *corev1.ConfigMap
}

// Pass runs discovery once over every watched namespace. It reads only from the roster and writes only
// what changed. One namespace or validator failing does not stop the others.
func (d *PeerDiscovery) Pass(ctx context.Context) error {
	byNamespace := d.byNamespace()
	clusters := d.cfg.Remote.Snapshot()
	others := remoteView{clusters: clusters, peers: remote.PeersOf(clusters)}
	now := time.Now()
	reports := map[string]NamespaceReport{}
	ready := map[[2]string]int{}
	var errs []error
	for ns, objs := range byNamespace {
		report, err := d.passNamespace(ctx, ns, objs, d.scopeGeneration(ns, byNamespace), d.neighbours(ns, byNamespace), others,
			d.roster.Lookup(ns), now)
		if err != nil {
			errs = append(errs, fmt.Errorf("namespace %s: %w", ns, err))
		}
		reports[ns] = report
		for _, p := range report.Peers {
			if p.Ready() {
				ready[[2]string{ns, p.Network}]++
			}
		}
	}
	d.mu.Lock()
	for ns := range d.views {
		if byNamespace[ns] == nil {
			delete(d.views, ns)
		}
	}
	d.mu.Unlock()
	peersGauge.Reset()
	for k, n := range ready {
		peersGauge.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
	d.report.update(now, reports, clusters)
	return errors.Join(errs...)
}

// byNamespace are the roster's validators and stellar-peers ConfigMaps by namespace. A namespace with a
// stellar-peers ConfigMap and no validator left is kept, so its ConfigMap is emptied.
func (d *PeerDiscovery) byNamespace() map[string]*namespaceObjects {
	out := map[string]*namespaceObjects{}
	// Every generation before any object: a change taken in while the objects are read leaves its
	// namespace's generation ahead of the one recorded, so the next pass builds again.
	for _, ns := range d.roster.Namespaces() {
		out[ns] = &namespaceObjects{generation: d.roster.Generation(ns)}
	}
	for ns, objs := range out {
		objs.nodes, objs.configMap = d.roster.Validators(ns), d.roster.PeersConfigMap(ns)
	}
	return out
}

// neighbours are the validators of the other namespaces of ns's scope, from the roster.
func (d *PeerDiscovery) neighbours(ns string, byNamespace map[string]*namespaceObjects) scope.Neighbours {
	var others []scope.Namespace
	for _, o := range d.cfg.Scopes.Others(ns) {
		if objs := byNamespace[o]; objs != nil {
			others = append(others, scope.Namespace{Name: o, Nodes: objs.nodes, Lookup: d.roster.Lookup(o)})
		}
	}
	return scope.Of(others, d.cfg.ClusterDomain)
}

// builtView is a namespace's index and view, and what they were built from.
type builtView struct {
	generation uint64
	remote     []peers.Peer
	index      peers.Index
	view       View
}

// scopeGeneration is the roster's generation of a namespace and the other namespaces of its scope, as
// read before their objects. Each only grows, so their sum changes whenever one does.
func (d *PeerDiscovery) scopeGeneration(ns string, byNamespace map[string]*namespaceObjects) uint64 {
	generation := byNamespace[ns].generation
	for _, o := range d.cfg.Scopes.Others(ns) {
		if objs := byNamespace[o]; objs != nil {
			generation += objs.generation
		}
	}
	return generation
}

// indexAndView indexes a namespace's validators and builds their view, or reuses the last ones when
// nothing they are built from changed since: the roster's objects of the namespace and of its scope
// (their generation) and the members read from other clusters. Both are read only once built.
func (d *PeerDiscovery) indexAndView(ns string, generation uint64, nodes []*stellarv1alpha1.StellarNode, neighbours scope.Neighbours,
	remoteMembers []peers.Peer, lookup Lookup) (peers.Index, View) {
	d.mu.Lock()
	last, ok := d.views[ns]
	d.mu.Unlock()
	if ok && last.generation == generation && slices.Equal(last.remote, remoteMembers) {
		return last.index, last.view
	}
	index := peers.NewIndex(nodes, append(slices.Clip(neighbours.Peers), remoteMembers...))
	view := BuildView(index, lookup, d.cfg.ClusterDomain)
	d.stats.viewsBuilt.Add(1)
	d.mu.Lock()
	d.views[ns] = builtView{generation: generation, remote: remoteMembers, index: index, view: view}
	d.mu.Unlock()
	return index, view
}

// remoteView is what a pass knows of the other clusters: one snapshot, read once per pass.
type remoteView struct {
	clusters []remote.Cluster
	peers    []peers.Peer
}

func (d *PeerDiscovery) passNamespace(ctx context.Context, ns string, objs *namespaceObjects, generation uint64, neighbours scope.Neighbours,
	others remoteView, lookup Lookup, now time.Time) (NamespaceReport, error) {
	index, view := d.indexAndView(ns, generation, objs.nodes, neighbours, others.peers, lookup)
	list := view.Peers()
	report := NamespaceReport{Peers: list, PendingRestarts: []string{}, OthersDropped: index.OthersDropped}

	var errs []error
	changed, err := d.publishIfChanged(ctx, ns, list, objs.configMap, now)
	if conflict, ok := errors.AsType[*owned.ConflictError](err); ok {
		// Someone else's stellar-peers: the validators say NameConflict (the reconciler), and none is
		// restarted to read it.
		report.Conflict = conflict.Error()
		return report, nil
	}
	if err != nil {
		errs = append(errs, err)
	}
	if changed {
		report.LastChange = &now
	}

	joined := d.noteMembership(ns, index)
	d.announceJoins(view, index, joined)
	errs = append(errs, d.restartDue(ctx, ns, objs.nodes, neighbours, view, index, lookup, now, &report)...)
	for i, nw := range view.Networks {
		for j, s := range nw.States {
			if err := d.recordStatus(ctx, s, index.Networks[i].Nodes[j], remote.StatusFor(others.clusters, nw.ID)); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return report, errors.Join(errs...)
}

// published is what discovery last wrote, or found already there, in a namespace's stellar-peers.
type published struct {
	peers           []peers.Peer
	resourceVersion string
}

// publishIfChanged publishes the peers unless they are what was last published and the ConfigMap is
// still the one written then: an unchanged pass renders nothing and writes nothing.
func (d *PeerDiscovery) publishIfChanged(ctx context.Context, ns string, list []peers.Peer, existing *corev1.ConfigMap, now time.Time) (bool, error) {
	d.mu.Lock()
	last, seen := d.published[ns]
	d.mu.Unlock()
	if seen && existing != nil && existing.ResourceVersion == last.resourceVersion && slices.Equal(last.peers, list) {
		return false, nil
	}
	var known []peers.Peer
	if seen && existing != nil && existing.ResourceVersion == last.resourceVersion {
		known = last.peers
	}
	current, wrote, err := d.publish(ctx, ns, list, existing, known, now)
	if err != nil {
		return false, err
	}
	d.mu.Lock()
	d.published[ns] = published{peers: list, resourceVersion: current.ResourceVersion}
	d.mu.Unlock()
	return wrote, nil
}

// publish writes the namespace's stellar-peers ConfigMap when its content differs from what is there,
// which also repairs a ConfigMap deleted or edited by hand, through the one writer of owned
// ConfigMaps: a stellar-peers the operator did not create is never written. known are the peers
// existing holds when discovery knows them (it wrote them), nil otherwise. It returns the ConfigMap
// as the API server now has it and whether this call wrote it.
func (d *PeerDiscovery) publish(ctx context.Context, ns string, list []peers.Peer, existing *corev1.ConfigMap, known []peers.Peer,
	now time.Time) (*corev1.ConfigMap, bool, error) {
	data, err := peers.ConfigMapData(list)
	if err != nil {
		return nil, false, err
	}
	desired := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: peers.ConfigMapName, Namespace: ns, Labels: resources.NamespaceConfigMapLabels(peers.ConfigMapName, "peer-discovery"),
			Annotations: map[string]string{
				peers.AnnotationDiscoveredAt:   now.UTC().Format(time.RFC3339Nano),
				peers.AnnotationPeerCount:      fmt.Sprint(strings.Count(data[peers.KeyKnownPeers], "\n")),
				peers.AnnotationValidatorCount: fmt.Sprint(len(list)),
			}},
		Data: data,
	}
	current, wrote, err := owned.Writer{Client: d.client, Reader: d.apiReader, FieldOwner: FieldOwner}.ConfigMap(ctx, desired, existing)
	if err != nil || !wrote {
		return current, false, err
	}
	configMapUpdatesTotal.WithLabelValues(ns).Inc()
	// What changed, for the log: from the peers discovery wrote last when they are what was there,
	// read from the ConfigMap only otherwise (a parse of every peer at each change).
	before := known
	if known == nil && existing != nil {
		if doc, err := peers.ParseDocument([]byte(existing.Data[peers.KeyPeersJSON])); err == nil {
			before = doc.Peers
		}
	}
	diff := DiffPeers(before, list)
	d.log.Info("published peers", "namespace", ns, "validators", len(list), "ready", desired.Annotations[peers.AnnotationPeerCount],
		"joined", diff.Added, "left", diff.Removed, "readdressed", diff.Readdressed)
	return current, true, nil
}
