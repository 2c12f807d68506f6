package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// Peering connects stellar-core to the members of its network that stellar-peers lists and it is not
// connected to: a validator that joins is reached without restarting anyone, and a peer whose pod
// came back with a new IP is dialled at once instead of after stellar-core's 600 s DNS re-resolution.
// It dials at most MaxPerRound peers a round and a peer at most once per Backoff.
type Peering struct {
	Admin *Admin
	// PeersFile is the mounted stellar-peers peers.json, refreshed by the kubelet.
	PeersFile string
	// Self and NetworkID say who the validator is: it never dials itself or another network's peer.
	Self, NetworkID string
	MaxPerRound     int
	Backoff         time.Duration

	lastDial map[string]time.Time
}

// Round compares the members with stellar-core's authenticated peers once and dials the missing ones.
// It returns the names it dialled.
func (p *Peering) Round(ctx context.Context, now time.Time) ([]string, error) {
	data, err := os.ReadFile(p.PeersFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // nobody discovered yet
	}
	if err != nil {
		return nil, err
	}
	doc, err := peers.ParseDocument(data)
	if err != nil {
		return nil, err
	}
	// Nothing a peer entry says reaches connect unless it passes the input grammar.
	doc, _ = doc.Checked()
	connected, err := p.Admin.AuthenticatedPeers(ctx)
	if err != nil {
		return nil, err
	}
	keys, hosts := map[string]bool{}, map[string]bool{}
	for _, c := range connected {
		keys[c.ID] = true
		hosts[c.Host()] = true
	}
	if p.lastDial == nil {
		p.lastDial = map[string]time.Time{}
	}
	list := append([]peers.Peer(nil), doc.Peers...)
	peers.Sort(list)
	var dialled []string
	for _, m := range list {
		host := p.dialHost(m)
		if host == "" {
			continue
		}
		// By key once known: an inbound connection comes from an ephemeral port, an IP may be reused.
		if (m.PublicKey != "" && keys[m.PublicKey]) || (m.PublicKey == "" && hosts[host]) {
			continue
		}
		if last, ok := p.lastDial[m.Name]; ok && now.Sub(last) < p.Backoff {
			continue
		}
		if len(dialled) >= p.MaxPerRound {
			break
		}
		p.lastDial[m.Name] = now
		if err := p.Admin.Connect(ctx, host, m.Port); err != nil {
			return dialled, fmt.Errorf("connect %s: %w", m.Name, err)
		}
		dialled = append(dialled, m.Name)
	}
	return dialled, nil
}

// dialHost is where to dial a member of the validator's network: a member of this cluster at its pod
// IP once Ready, one of another cluster at the address it advertises; "" for itself, another
// network's, or one not Ready yet.
func (p *Peering) dialHost(m peers.Peer) string {
	switch {
	case m.NetworkID != p.NetworkID:
		return ""
	case m.Remote():
		return m.DNSName
	case m.Own() && m.Name == p.Self:
		return ""
	}
	return m.PodIP
}
