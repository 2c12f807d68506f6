package peerdiscovery

import (
	"context"
	"fmt"
	"maps"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stellar-k8s/stellar-operator/internal/owned"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
)

// clusterTurns is what discovery keeps of one namespace's turns across clusters.
type clusterTurns struct {
	// states are per network ID; published is what stellar-turns holds, as last written or read.
	states    map[string]rollout.ClusterTurn
	published map[string]string
}

// stepClusterTurn moves the namespace's turn of one network across clusters on and tells the
// planner whether it is held here. members are the network's local members, pending ones marked.
func (d *PeerDiscovery) stepClusterTurn(ctx context.Context, ns, network string, members []rollout.Member) error {
	others := d.cfg.Remote.Participants(network)
	if len(others) == 0 {
		d.planner.SetClusterTurn(ns, network, true, "")
		return nil
	}
	turns, err := d.clusterTurnsOf(ctx, ns)
	if err != nil {
		d.planner.SetClusterTurn(ns, network, false, err.Error())
		return err
	}
	wants := false
	for _, m := range members {
		wants = wants || m.Pending
	}
	self := rollout.Participant{Namespace: ns, Register: rollout.Register{Cluster: d.cfg.ClusterName}}
	next, held, why := rollout.StepClusterTurn(turns.states[network], self, wants, d.planner.Busy(ns, members), others)
	reg := next.Register(d.cfg.ClusterName).Encode()
	changed := turns.published[network] != reg
	data := maps.Clone(turns.published)
	if data == nil {
		data = map[string]string{}
	}
	data[network] = reg
	// Written when the register changed, and again whenever stellar-turns no longer holds it (removed,
	// edited): the other clusters read this cluster's claims there.
	if err := d.writeTurns(ctx, ns, turns, data); err != nil {
		// Nothing moves on unwritten: the others must see a claim before it counts.
		d.planner.SetClusterTurn(ns, network, false, err.Error())
		return err
	}
	if changed {
		next.WroteAt = time.Now()
	}
	if next.Phase != turns.states[network].Phase {
		d.log.Info("turn across clusters", "namespace", ns, "network", network, "phase", next.Phase, "number", next.Number, "why", why)
	}
	turns.states[network] = next
	d.planner.SetClusterTurn(ns, network, held, why)
	if next.Phase == rollout.TurnChoosing || next.Phase == rollout.TurnWaiting {
		d.claiming.Store(true)
	}
	return nil
}

// AfterRemoteRead runs a pass after a read of the other clusters while a claim on a turn across
// clusters waits for one.
func (d *PeerDiscovery) AfterRemoteRead() {
	if d.claiming.Swap(false) {
		d.Trigger()
	}
}

// clusterTurnsOf is the namespace's turns, resumed from its stellar-turns on first use: a place in
// line taken before the operator restarted is kept.
func (d *PeerDiscovery) clusterTurnsOf(ctx context.Context, ns string) (*clusterTurns, error) {
	if t, ok := d.turns[ns]; ok {
		return t, nil
	}
	t := &clusterTurns{states: map[string]rollout.ClusterTurn{}, published: map[string]string{}}
	cm := &corev1.ConfigMap{}
	err := d.apiReader.Get(ctx, client.ObjectKey{Namespace: ns, Name: rollout.TurnsConfigMapName}, cm)
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", rollout.TurnsConfigMapName, err)
	case !owned.Ours(cm):
		// Someone else's: its data is no register of ours, and it is never written (writeTurns says so).
	default:
		regs, err := rollout.ParseRegisters(cm.Data)
		if err != nil {
			return nil, err
		}
		now := time.Now()
		for network, reg := range regs {
			t.states[network] = rollout.ResumeClusterTurn(reg, now)
		}
		t.published = maps.Clone(cm.Data)
	}
	d.turns[ns] = t
	return t, nil
}

// writeTurns brings the namespace's stellar-turns to data, creating it the first time, through the
// one writer of owned ConfigMaps: one the operator did not create is never written. What is there is
// read from the cache at each step, so one removed, edited or replaced since is seen without a request.
func (d *PeerDiscovery) writeTurns(ctx context.Context, ns string, t *clusterTurns, data map[string]string) error {
	desired := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: rollout.TurnsConfigMapName, Namespace: ns, Labels: resources.NamespaceConfigMapLabels(rollout.TurnsConfigMapName, "rollout")}, Data: data}
	live := &corev1.ConfigMap{}
	switch err := d.client.Get(ctx, client.ObjectKeyFromObject(desired), live); {
	case apierrors.IsNotFound(err):
		live = nil
	case err != nil:
		return fmt.Errorf("read %s: %w", rollout.TurnsConfigMapName, err)
	}
	if _, _, err := (owned.Writer{Client: d.client, Reader: d.apiReader, FieldOwner: FieldOwner}).ConfigMap(ctx, desired, live); err != nil {
		return fmt.Errorf("write %s: %w", rollout.TurnsConfigMapName, err)
	}
	t.published = data
	return nil
}
