package peerdiscovery

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

// configMapLabels mark the stellar-peers ConfigMap as the operator's.
var configMapLabels = map[string]string{
	resources.LabelName:      peers.ConfigMapName,
	resources.LabelComponent: "peer-discovery",
	resources.LabelManagedBy: resources.ManagedBy,
}

// namespaceObjects are the cached objects of one namespace that a pass reads.
type namespaceObjects struct {
	nodes        []*stellarv1alpha1.StellarNode
	statefulSets map[string]*appsv1.StatefulSet
	pods         map[string][]*corev1.Pod
	configMap    *corev1.ConfigMap
}

// Pass runs discovery once over every watched namespace. It reads only from the cache and writes only
// what changed. One namespace or validator failing does not stop the others.
func (d *PeerDiscovery) Pass(ctx context.Context) error {
	byNamespace, err := d.readCache(ctx)
	if err != nil {
		return err
	}
	now := time.Now()
	reports := map[string]NamespaceReport{}
	ready := map[[2]string]int{}
	var errs []error
	for ns, objs := range byNamespace {
		report, err := d.passNamespace(ctx, ns, objs, now)
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
	peersGauge.Reset()
	for k, n := range ready {
		peersGauge.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
	d.report.update(now, reports)
	return errors.Join(errs...)
}

// readCache groups the cached validators, StatefulSets, pods and stellar-peers ConfigMaps by namespace.
// The objects are shared with the cache: they are read, and copied before any change.
func (d *PeerDiscovery) readCache(ctx context.Context) (map[string]*namespaceObjects, error) {
	var nodes stellarv1alpha1.StellarNodeList
	if err := d.client.List(ctx, &nodes, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	ours := client.MatchingLabels{resources.LabelName: resources.AppName}
	var sets appsv1.StatefulSetList
	if err := d.client.List(ctx, &sets, ours, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	var pods corev1.PodList
	if err := d.client.List(ctx, &pods, ours, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}
	var cms corev1.ConfigMapList
	if err := d.client.List(ctx, &cms, client.MatchingLabels{resources.LabelName: peers.ConfigMapName}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, err
	}

	out := map[string]*namespaceObjects{}
	get := func(ns string) *namespaceObjects {
		if out[ns] == nil {
			out[ns] = &namespaceObjects{statefulSets: map[string]*appsv1.StatefulSet{}, pods: map[string][]*corev1.Pod{}}
		}
		return out[ns]
	}
	for i := range nodes.Items {
		if nodes.Items[i].Spec.NodeType == stellarv1alpha1.NodeTypeValidator {
			get(nodes.Items[i].Namespace).nodes = append(get(nodes.Items[i].Namespace).nodes, &nodes.Items[i])
		}
	}
	for i := range cms.Items {
		if cms.Items[i].Name == peers.ConfigMapName {
			get(cms.Items[i].Namespace).configMap = &cms.Items[i]
		}
	}
	for ns, objs := range out {
		if objs.configMap != nil {
			continue
		}
		// Found by name too, in case its labels were edited away by hand.
		cm := &corev1.ConfigMap{}
		err := d.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: peers.ConfigMapName}, cm)
		if err == nil {
			objs.configMap = cm
		} else if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	for i := range sets.Items {
		if objs := out[sets.Items[i].Namespace]; objs != nil {
			objs.statefulSets[sets.Items[i].Labels[resources.LabelInstance]] = &sets.Items[i]
		}
	}
	for i := range pods.Items {
		if objs := out[pods.Items[i].Namespace]; objs != nil {
			name := pods.Items[i].Labels[resources.LabelInstance]
			objs.pods[name] = append(objs.pods[name], &pods.Items[i])
		}
	}
	return out, nil
}

func (d *PeerDiscovery) passNamespace(ctx context.Context, ns string, objs *namespaceObjects, now time.Time) (NamespaceReport, error) {
	// A StatefulSet not yet owned by a StellarNode of this name is not a validator's.
	for name, sts := range objs.statefulSets {
		if !ownedByNode(sts, name) {
			delete(objs.statefulSets, name)
		}
	}
	states := BuildView(objs.nodes, objs.statefulSets, objs.pods, d.cfg.ClusterDomain)
	list := make([]peers.Peer, 0, len(states))
	for _, s := range states {
		list = append(list, s.Peer)
	}
	report := NamespaceReport{Peers: list, PendingRestarts: []string{}}

	var errs []error
	changed, err := d.publish(ctx, ns, list, objs.configMap, now)
	if err != nil {
		errs = append(errs, err)
	}
	if changed {
		report.LastChange = &now
	}

	d.noteMembership(ns, states)
	d.forgetSettledRestarts(ns, objs.statefulSets)
	plan := PlanRestarts(states, d.inFlightIn(ns))
	report.PendingRestarts = append(report.PendingRestarts, plan.Pending...)
	if len(plan.BlockedBy) > 0 {
		report.BlockedBy = plan.BlockedBy
	}
	nodes := map[string]*stellarv1alpha1.StellarNode{}
	for _, n := range objs.nodes {
		nodes[n.Name] = n
	}
	for _, r := range plan.Restarts {
		if err := d.restart(ctx, r, objs.statefulSets[r.Name], nodes[r.Name], now); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range states {
		if err := d.recordApplied(ctx, s, nodes[s.Name]); err != nil {
			errs = append(errs, err)
		}
	}
	return report, errors.Join(errs...)
}

func ownedByNode(sts *appsv1.StatefulSet, name string) bool {
	ref := metav1.GetControllerOf(sts)
	return ref != nil && ref.Kind == "StellarNode" && ref.Name == name
}

// publish writes the namespace's stellar-peers ConfigMap when its content differs from what is there,
// which also repairs a ConfigMap deleted or edited by hand. It compares with the cache; only when a
// write finds the cache behind does it read the ConfigMap from the API server and try once more.
func (d *PeerDiscovery) publish(ctx context.Context, ns string, list []peers.Peer, existing *corev1.ConfigMap, now time.Time) (bool, error) {
	data, err := peers.ConfigMapData(list)
	if err != nil {
		return false, err
	}
	written, err := d.writeConfigMap(ctx, ns, data, len(list), existing, now)
	if apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) {
		fresh := &corev1.ConfigMap{}
		if err := d.apiReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: peers.ConfigMapName}, fresh); err != nil {
			return false, fmt.Errorf("read %s after a conflict: %w", peers.ConfigMapName, err)
		}
		written, err = d.writeConfigMap(ctx, ns, data, len(list), fresh, now)
	}
	if err != nil || written == nil {
		return false, err
	}
	configMapUpdatesTotal.WithLabelValues(ns).Inc()
	var before []peers.Peer
	if existing != nil {
		if doc, err := peers.ParseDocument([]byte(existing.Data[peers.KeyPeersJSON])); err == nil {
			before = doc.Peers
		}
	}
	diff := DiffPeers(before, list)
	d.log.Info("published peers", "namespace", ns, "validators", len(list), "ready", written.Annotations[peers.AnnotationPeerCount],
		"joined", diff.Added, "left", diff.Removed, "readdressed", diff.Readdressed)
	return true, nil
}

// writeConfigMap creates or updates the ConfigMap unless it already holds data. It returns the
// written object, or nil when nothing needed writing.
func (d *PeerDiscovery) writeConfigMap(ctx context.Context, ns string, data map[string]string, validators int,
	existing *corev1.ConfigMap, now time.Time) (*corev1.ConfigMap, error) {
	annotations := map[string]string{
		peers.AnnotationDiscoveredAt:   now.UTC().Format(time.RFC3339Nano),
		peers.AnnotationPeerCount:      fmt.Sprint(strings.Count(data[peers.KeyKnownPeers], "\n")),
		peers.AnnotationValidatorCount: fmt.Sprint(validators),
	}
	if existing == nil {
		cm := &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: peers.ConfigMapName, Namespace: ns, Labels: maps.Clone(configMapLabels), Annotations: annotations},
			Data:       data,
		}
		if err := d.client.Create(ctx, cm, client.FieldOwner(FieldOwner)); err != nil {
			return nil, fmt.Errorf("create %s: %w", peers.ConfigMapName, err)
		}
		return cm, nil
	}
	if maps.Equal(existing.Data, data) && len(existing.BinaryData) == 0 && hasLabels(existing.Labels, configMapLabels) {
		return nil, nil
	}
	cm := existing.DeepCopy()
	cm.Data = data
	cm.BinaryData = nil
	if cm.Labels == nil {
		cm.Labels = map[string]string{}
	}
	maps.Copy(cm.Labels, configMapLabels)
	if cm.Annotations == nil {
		cm.Annotations = map[string]string{}
	}
	maps.Copy(cm.Annotations, annotations)
	if err := d.client.Update(ctx, cm, client.FieldOwner(FieldOwner)); err != nil {
		return nil, fmt.Errorf("update %s: %w", peers.ConfigMapName, err)
	}
	return cm, nil
}

func hasLabels(have, want map[string]string) bool {
	for k, v := range want {
		if have[k] != v {
			return false
		}
	}
	return true
}
