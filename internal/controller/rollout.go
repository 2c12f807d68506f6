package controller

import (
	"context"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
)

// waitingRecheck is how often a change waiting for its turn asks again. The blockers' pods and
// StatefulSets belong to other StellarNodes, so their events do not reach this one.
const waitingRecheck = 2 * time.Second

// DefaultRolloutBlockedAfter is how long a change may wait for its turn before the validator is Degraded.
const DefaultRolloutBlockedAfter = 30 * time.Minute

// turn is a granted rollout turn, or nil when none was needed.
type turn struct{ *rollout.Turn }

func (t turn) done(generation int64) {
	if t.Turn != nil {
		t.Done(generation)
	}
}

func (t turn) cancel() {
	if t.Turn != nil {
		t.Cancel()
	}
}

// turnFor asks the planner for the validator's turn when applying desired would replace its running
// pod. It returns the granted turn, or the decision the change waits on.
func (r *StellarNodeReconciler) turnFor(ctx context.Context, node *stellarv1alpha1.StellarNode,
	nodes []*stellarv1alpha1.StellarNode, neighbours scope.Neighbours, desired *appsv1.StatefulSet) (turn, *rollout.Decision, error) {
	live := &appsv1.StatefulSet{}
	err := r.Get(ctx, client.ObjectKeyFromObject(desired), live)
	if apierrors.IsNotFound(err) {
		// A new validator replaces nobody.
		return turn{}, nil, nil
	}
	if err != nil {
		return turn{}, nil, err
	}
	changes := rollout.Changes(desired, live)
	if len(changes) == 0 {
		return turn{}, nil, nil
	}
	lookup, err := r.rolloutLookup(ctx, node.Namespace)
	if err != nil {
		return turn{}, nil, err
	}
	members := neighbours.Members(node.NetworkID(), rollout.Networks(nodes, lookup)[node.NetworkID()])
	decision, granted := r.Planner.Request(node.Namespace, node.NetworkID(), members, node.Name)
	decision.Changes = changes
	if granted == nil {
		return turn{}, &decision, nil
	}
	r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "RolloutStarted", "Rollout",
		"replacing the validator's pod for %s: %s", strings.Join(changes, ", "), decision.Detail)
	return turn{granted}, nil, nil
}

// rolloutLookup finds each validator's StatefulSet and pod of a namespace in the cache.
func (r *StellarNodeReconciler) rolloutLookup(ctx context.Context, namespace string) (rollout.Lookup, error) {
	var sets appsv1.StatefulSetList
	if err := r.List(ctx, &sets, client.InNamespace(namespace), client.UnsafeDisableDeepCopy); err != nil {
		return rollout.Lookup{}, err
	}
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(namespace), client.UnsafeDisableDeepCopy,
		client.MatchingLabels{resources.LabelComponent: resources.Component(stellarv1alpha1.NodeTypeValidator)}); err != nil {
		return rollout.Lookup{}, err
	}
	byName := make(map[string]*appsv1.StatefulSet, len(sets.Items))
	for i := range sets.Items {
		if ref := metav1.GetControllerOf(&sets.Items[i]); ref != nil && ref.Kind == "StellarNode" && ref.Name == sets.Items[i].Name {
			byName[sets.Items[i].Name] = &sets.Items[i]
		}
	}
	podOf := make(map[string]*corev1.Pod, len(pods.Items))
	for i := range pods.Items {
		p := &pods.Items[i]
		if name := p.Labels[resources.LabelInstance]; p.Name == name+"-0" {
			podOf[name] = p
		}
	}
	return rollout.Lookup{
		StatefulSet: func(name string) *appsv1.StatefulSet { return byName[name] },
		Pod:         func(name string) *corev1.Pod { return podOf[name] },
	}, nil
}
