package peerdiscovery

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// PublishIfChanged lets the tests publish with a cache view of their choosing, such as one that has
// not yet seen a ConfigMap the API server already holds.
func (d *PeerDiscovery) PublishIfChanged(ctx context.Context, ns string, list []peers.Peer, cached *corev1.ConfigMap) (bool, error) {
	return d.publishIfChanged(ctx, ns, list, cached, time.Now())
}
