//go:build bench

// Package bench measures peer discovery against a faithful baseline of the seed's design on one API server.
package bench

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// Baseline is the seed's algorithm: every interval it lists all StellarNodes from the API server, then for
// each non-suspended validator gets its StatefulSet (replicas > 0) and lists its pods, takes the first Ready
// pod's IP, compares the sorted list with the last one, and on a change writes the ConfigMap and patches
// restartedAt on every validator's StatefulSet.
type Baseline struct {
	Client    client.Client // talks to the API server directly, as the seed does
	Namespace string
	Interval  time.Duration
	last      []string
}

// Run polls until ctx ends.
func (b *Baseline) Run(ctx context.Context) {
	ticker := time.NewTicker(b.Interval)
	defer ticker.Stop()
	_ = b.Pass(ctx)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			_ = b.Pass(ctx)
		}
	}
}

// Pass is one polling cycle.
func (b *Baseline) Pass(ctx context.Context) error {
	var nodes stellarv1alpha1.StellarNodeList
	if err := b.Client.List(ctx, &nodes, client.InNamespace(b.Namespace)); err != nil {
		return err
	}
	var addrs, validators []string
	for _, n := range nodes.Items {
		if n.Spec.NodeType != stellarv1alpha1.NodeTypeValidator || n.Spec.Suspended {
			continue
		}
		validators = append(validators, n.Name)
		var sts appsv1.StatefulSet
		if err := b.Client.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: n.Name}, &sts); err != nil || sts.Spec.Replicas == nil || *sts.Spec.Replicas == 0 {
			continue // a failing validator does not block the others
		}
		var pods corev1.PodList
		if err := b.Client.List(ctx, &pods, client.InNamespace(b.Namespace), client.MatchingLabels{"app.kubernetes.io/instance": n.Name}); err != nil {
			continue
		}
		for _, p := range pods.Items {
			if ready(&p) && p.Status.PodIP != "" {
				addrs = append(addrs, fmt.Sprintf("%s:%d", p.Status.PodIP, n.PeerPort()))
				break
			}
		}
	}
	slices.Sort(addrs)
	if slices.Equal(addrs, b.last) {
		return nil
	}
	if err := b.writeConfigMap(ctx, addrs, len(validators)); err != nil {
		return err
	}
	b.last = addrs
	now := time.Now().UTC().Format(time.RFC3339)
	for _, name := range validators {
		patch := fmt.Sprintf(`{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":%q}}}}}`, now)
		sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: b.Namespace, Name: name}}
		_ = b.Client.Patch(ctx, sts, client.RawPatch("application/merge-patch+json", []byte(patch)))
	}
	return nil
}

func (b *Baseline) writeConfigMap(ctx context.Context, addrs []string, validators int) error {
	data := map[string]string{"KNOWN_PEERS": strings.Join(addrs, "\n")}
	cm := &corev1.ConfigMap{}
	err := b.Client.Get(ctx, client.ObjectKey{Namespace: b.Namespace, Name: "stellar-peers"}, cm)
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: b.Namespace, Name: "stellar-peers",
			Annotations: map[string]string{"stellar.org/validator-count": fmt.Sprint(validators)}}, Data: data}
		return b.Client.Create(ctx, cm)
	}
	if err != nil {
		return err
	}
	cm.Data = data
	return b.Client.Update(ctx, cm)
}

func ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
