package peerdiscovery

import (
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/remote"
)

// NamespaceReport is what /peers shows of one namespace.
type NamespaceReport struct {
	Peers           []peers.Peer        `json:"peers"`
	LastChange      *time.Time          `json:"lastChange,omitempty"`
	PendingRestarts []string            `json:"pendingRestarts"`
	BlockedBy       map[string][]string `json:"blockedBy,omitempty"`
	// OthersDropped are members of other namespaces or clusters left out here, and why (a name or key taken).
	OthersDropped []string `json:"othersDropped,omitempty"`
	// Conflict says why stellar-peers is not written here: a ConfigMap of that name is not the operator's.
	Conflict string `json:"conflict,omitempty"`
}

// PeersReport is the /peers document.
type PeersReport struct {
	LastPass   *time.Time                 `json:"lastPass,omitempty"`
	Namespaces map[string]NamespaceReport `json:"namespaces"`
	// RemoteClusters are the other clusters read, with their members (stale ones: the last known).
	RemoteClusters []remote.Cluster `json:"remoteClusters,omitempty"`
}

// reportStore keeps the latest report for the HTTP handler.
type reportStore struct {
	mu     sync.RWMutex
	report PeersReport
}

func (s *reportStore) update(at time.Time, namespaces map[string]NamespaceReport, clusters []remote.Cluster) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ns, r := range namespaces {
		if prev, ok := s.report.Namespaces[ns]; ok && r.LastChange == nil {
			r.LastChange = prev.LastChange
		}
		namespaces[ns] = r
	}
	s.report = PeersReport{LastPass: &at, Namespaces: namespaces, RemoteClusters: clusters}
}

func (s *reportStore) snapshot() PeersReport {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := PeersReport{LastPass: s.report.LastPass, Namespaces: map[string]NamespaceReport{}, RemoteClusters: s.report.RemoteClusters}
	for ns, r := range s.report.Namespaces {
		r.Peers = slices.Clone(r.Peers)
		out.Namespaces[ns] = r
	}
	return out
}

// ServeHTTP serves the current peers, per namespace, as JSON. It is read-only.
func (s *reportStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(s.snapshot())
}
