package controller

import (
	"context"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// waitingRecheck is how often a change waiting for its turn asks again. The blockers' pods and
// StatefulSets belong to other StellarNodes, so their events do not reach this one.
const waitingRecheck = 2 * time.Second

// claimRecheck is how often a validator refused for a key or an archive an older one holds asks again:
// it starts once that one is gone.
const claimRecheck = 10 * time.Second

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
// pod. It returns the granted turn, or the decision the change waits on with the live StatefulSet.
func (r *StellarNodeReconciler) turnFor(ctx context.Context, node *stellarv1alpha1.StellarNode, nodes []*stellarv1alpha1.StellarNode,
	neighbours scope.Neighbours, desired *appsv1.StatefulSet, base string) (turn, *rollout.Decision, *appsv1.StatefulSet, error) {
	live, err := r.liveStatefulSet(ctx, desired)
	if apierrors.IsNotFound(err) {
		// A new validator replaces nobody.
		return turn{}, nil, nil, nil
	}
	if err != nil {
		return turn{}, nil, nil, err
	}
	if kept := resources.WithLiveOperatorImage(desired, live); len(rollout.Changes(kept, live)) == 0 {
		// Nothing but the operator's image changed (an operator upgrade): the pod stays as it is.
		desired.Spec.Template = kept.Spec.Template
		return turn{}, nil, live, nil
	}
	changes := rollout.Changes(desired, live)
	if slices.Contains(changes, rollout.BaseConfigChange) {
		applied := &corev1.ConfigMap{}
		if err := r.Get(ctx, client.ObjectKey{Namespace: node.Namespace, Name: resources.ConfigMapName(node)}, applied); err == nil {
			changes = rollout.WithBaseKeys(changes, stellarcore.ChangedKeys(applied.Data[resources.ConfigKey], base))
		}
	}
	members := neighbours.Members(node.NetworkID(), rollout.Networks(nodes, r.Roster.Lookup(node.Namespace))[node.NetworkID()])
	decision, granted := r.Planner.Request(node.Namespace, node.NetworkID(), members, node.Name)
	decision.Changes = changes
	if granted == nil {
		return turn{}, &decision, live, nil
	}
	r.Recorder.Eventf(node, nil, corev1.EventTypeNormal, "RolloutStarted", "Rollout",
		"replacing the validator's pod for %s: %s", strings.Join(changes, ", "), decision.Detail)
	return turn{granted}, nil, live, nil
}
