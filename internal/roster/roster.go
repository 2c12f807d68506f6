// Package roster is the operator's one view of each watched namespace's validators: their
// StellarNodes, the StatefulSets they control, their pods and the stellar-peers ConfigMaps. It is kept
// from the manager's informer events, so the reconciler and peer discovery read it instead of listing
// the cache, and both find a validator's StatefulSet and pod the same way.
package roster

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
)

// Roster is a manager.Runnable. Its objects are the cache's own: read only, copied before any change.
type Roster struct {
	cache  cache.Cache
	synced chan struct{}

	mu        sync.Mutex
	listeners []func()
	// generations count the changes taken in, per namespace; nodeGenerations those of StellarNodes
	// alone, so what is computed from the validators only holds across their pods' changes.
	generations, nodeGenerations map[string]uint64

	nodes        *mirror[*stellarv1alpha1.StellarNode]
	statefulSets *mirror[*appsv1.StatefulSet]
	pods         *mirror[*corev1.Pod]
	configMaps   *mirror[*corev1.ConfigMap]
}

// New builds a roster over the manager's cache. Add it with mgr.Add.
func New(c cache.Cache) *Roster {
	return &Roster{
		cache:           c,
		synced:          make(chan struct{}),
		generations:     map[string]uint64{},
		nodeGenerations: map[string]uint64{},
		nodes: newMirror(func(n *stellarv1alpha1.StellarNode) bool {
			return n.Spec.NodeType == stellarv1alpha1.NodeTypeValidator
		}),
		statefulSets: newMirror[*appsv1.StatefulSet](nil),
		pods: newMirror(func(p *corev1.Pod) bool {
			return p.Labels[resources.LabelComponent] == resources.Component(stellarv1alpha1.NodeTypeValidator)
		}),
		// Found by name, not label, so one whose labels were edited away by hand is repaired too.
		configMaps: newMirror(func(cm *corev1.ConfigMap) bool { return cm.Name == peers.ConfigMapName }),
	}
}

// OnChange calls fn after every change the roster takes in. Call it before the manager starts.
func (r *Roster) OnChange(fn func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.listeners = append(r.listeners, fn)
}

func (r *Roster) nodeChanged(ns string) {
	r.mu.Lock()
	r.nodeGenerations[ns]++
	r.mu.Unlock()
	r.changed(ns)
}

func (r *Roster) changed(ns string) {
	r.mu.Lock()
	r.generations[ns]++
	listeners := r.listeners
	r.mu.Unlock()
	for _, fn := range listeners {
		fn()
	}
}

// NeedLeaderElection is false: a standby replica keeps its roster warm, so it reads a whole one the
// moment it leads.
func (r *Roster) NeedLeaderElection() bool { return false }

// Start feeds the roster from the manager's informers until ctx ends.
func (r *Roster) Start(ctx context.Context) error {
	handlers := []struct {
		obj     client.Object
		handler toolscache.ResourceEventHandler
	}{
		{&stellarv1alpha1.StellarNode{}, r.nodes.handler(r.nodeChanged)},
		{&appsv1.StatefulSet{}, r.statefulSets.handler(r.changed)},
		{&corev1.Pod{}, r.pods.handler(r.changed)},
		{&corev1.ConfigMap{}, r.configMaps.handler(r.changed)},
	}
	synced := make([]toolscache.InformerSynced, 0, len(handlers))
	for _, h := range handlers {
		inf, err := r.cache.GetInformer(ctx, h.obj)
		if err != nil {
			return fmt.Errorf("roster: informer for %T: %w", h.obj, err)
		}
		reg, err := inf.AddEventHandler(h.handler)
		if err != nil {
			return fmt.Errorf("roster: watch %T: %w", h.obj, err)
		}
		synced = append(synced, reg.HasSynced)
	}
	if !r.cache.WaitForCacheSync(ctx) || !toolscache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("roster: stopped before it synced")
	}
	close(r.synced)
	<-ctx.Done()
	return nil
}

// WaitSynced returns once the roster holds everything its informers held when it started.
func (r *Roster) WaitSynced(ctx context.Context) error {
	select {
	case <-r.synced:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("roster not synced: %w", ctx.Err())
	}
}

// Generation counts the changes the roster has taken in for a namespace: equal generations mean the
// same objects, so what was computed from them still holds.
func (r *Roster) Generation(ns string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.generations[ns]
}

// NodesGeneration counts the changes of the namespace's StellarNodes alone, read as Generation is.
func (r *Roster) NodesGeneration(ns string) uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nodeGenerations[ns]
}

// Validators are the namespace's validator StellarNodes, by name.
func (r *Roster) Validators(ns string) []*stellarv1alpha1.StellarNode {
	nodes := r.nodes.in(ns)
	slices.SortFunc(nodes, func(a, b *stellarv1alpha1.StellarNode) int { return strings.Compare(a.Name, b.Name) })
	return nodes
}

// Namespaces are the namespaces with validators or a stellar-peers ConfigMap (one whose validators
// are all gone still has its ConfigMap emptied), sorted.
func (r *Roster) Namespaces() []string {
	all := append(r.nodes.namespaces(), r.configMaps.namespaces()...)
	slices.Sort(all)
	return slices.Compact(all)
}

// PeersConfigMap is the namespace's stellar-peers ConfigMap, nil when there is none.
func (r *Roster) PeersConfigMap(ns string) *corev1.ConfigMap {
	cm, _ := r.configMaps.get(ns, peers.ConfigMapName)
	return cm
}

// Lookup finds a validator's StatefulSet (only one its StellarNode controls) and its pod in a namespace.
func (r *Roster) Lookup(ns string) rollout.Lookup {
	return rollout.Lookup{
		StatefulSet: func(name string) *appsv1.StatefulSet {
			if sts, ok := r.statefulSets.get(ns, name); ok && controlledBy(sts, name) {
				return sts
			}
			return nil
		},
		Pod: func(name string) *corev1.Pod {
			if pod, ok := r.pods.get(ns, resources.PodNameOf(name)); ok && pod.Labels[resources.LabelInstance] == name {
				return pod
			}
			return nil
		},
	}
}

func controlledBy(sts *appsv1.StatefulSet, name string) bool {
	ref := metav1.GetControllerOf(sts)
	return ref != nil && ref.Kind == "StellarNode" && ref.Name == name
}
