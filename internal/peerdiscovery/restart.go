package peerdiscovery

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// restart rolls a validator's StatefulSet so its pod starts again with its new peers: the same
// restartedAt annotation `kubectl rollout restart` sets, next to the membership hash the new pod runs with.
func (d *PeerDiscovery) restart(ctx context.Context, v ValidatorState, sts *appsv1.StatefulSet, node *stellarv1alpha1.StellarNode, now time.Time) error {
	if sts == nil || node == nil {
		return nil
	}
	patched := sts.DeepCopy()
	if patched.Spec.Template.Annotations == nil {
		patched.Spec.Template.Annotations = map[string]string{}
	}
	patched.Spec.Template.Annotations[peers.AnnotationRestartedAt] = now.UTC().Format(time.RFC3339)
	patched.Spec.Template.Annotations[peers.AnnotationMembership] = v.TargetHash
	if err := d.client.Patch(ctx, patched, client.MergeFrom(sts), client.FieldOwner(FieldOwner)); err != nil {
		return fmt.Errorf("restart %s: %w", v.Name, err)
	}
	d.mu.Lock()
	d.inFlight[key(v.Namespace, v.Name)] = patched.Generation
	previous, known := d.applied[key(v.Namespace, v.Name)]
	d.mu.Unlock()
	restartsTotal.WithLabelValues(v.Namespace).Inc()

	reason := fmt.Sprintf("peer membership changed, now %d peers", len(v.Members))
	if known {
		joined, left := MemberDiff(previous, v.Members)
		if len(joined) > 0 {
			reason += "; joined: " + strings.Join(joined, ", ")
		}
		if len(left) > 0 {
			reason += "; left: " + strings.Join(left, ", ")
		}
	}
	d.recorder.Eventf(node, nil, corev1.EventTypeNormal, "RestartingForPeers", "Restart", "restarting to load new peers: %s", reason)
	d.log.Info("restarting validator for new peers", "namespace", v.Namespace, "validator", v.Name, "reason", reason, "membership", v.TargetHash)
	return nil
}

// recordApplied notes the membership a settled validator runs with and shows its size in status.peers.
func (d *PeerDiscovery) recordApplied(ctx context.Context, v ValidatorState, node *stellarv1alpha1.StellarNode) error {
	if node == nil || !v.HasStatefulSet || v.AppliedHash != v.TargetHash {
		return nil
	}
	d.mu.Lock()
	d.applied[key(v.Namespace, v.Name)] = v.Members
	d.mu.Unlock()
	count := int32(len(v.Members))
	if node.Status.Peers == count {
		return nil
	}
	patched := node.DeepCopy()
	patched.Status.Peers = count
	if err := d.client.Status().Patch(ctx, patched, client.MergeFrom(node), client.FieldOwner(FieldOwner)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("status of %s: %w", v.Name, err))
	}
	return nil
}

// forgetSettledRestarts drops in-flight restarts the cache now shows.
func (d *PeerDiscovery) forgetSettledRestarts(ns string, statefulSets map[string]*appsv1.StatefulSet) {
	d.mu.Lock()
	defer d.mu.Unlock()
	prefix := ns + "/"
	for k, gen := range d.inFlight {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		sts := statefulSets[strings.TrimPrefix(k, prefix)]
		if sts == nil || sts.Generation >= gen {
			delete(d.inFlight, k)
		}
	}
}

func (d *PeerDiscovery) inFlightIn(ns string) map[string]bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]bool{}
	prefix := ns + "/"
	for k := range d.inFlight {
		if strings.HasPrefix(k, prefix) {
			out[strings.TrimPrefix(k, prefix)] = true
		}
	}
	return out
}

func key(ns, name string) string { return ns + "/" + name }
