package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/health"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// Status is the document the agent serves at /status and the operator copies into status.core. It
// holds what stellar-core says of itself, nothing of its configuration.
type Status struct {
	// ObservedAt is when the agent asked stellar-core.
	ObservedAt time.Time `json:"observedAt"`
	// Error is set when stellar-core did not answer or is booting; the other fields are then empty.
	Error string `json:"error,omitempty"`
	// State is stellar-core's state: Booting, Joining SCP, Connected, Catching up, Synced!, Stopping.
	State           string       `json:"state,omitempty"`
	Build           string       `json:"build,omitempty"`
	Ledger          LedgerStatus `json:"ledger"`
	ProtocolVersion int64        `json:"protocolVersion,omitempty"`
	Peers           PeerCounts   `json:"peers"`
	Quorum          QuorumStatus `json:"quorum"`
	// PublishBacklog is how many checkpoints a Full validator has not published yet (files in
	// <BUCKET_DIR>/publishqueue); nil for a validator that publishes no archive.
	PublishBacklog *int64 `json:"publishBacklog,omitempty"`
	// Vote is where the validator's network upgrade vote stands; nil without one.
	Vote *votes.Report `json:"vote,omitempty"`
}

// LedgerStatus is the last closed ledger.
type LedgerStatus struct {
	Num int64 `json:"num"`
	// Age is how many seconds ago it closed.
	Age     int64 `json:"age"`
	Version int64 `json:"version"`
	// BaseFee, BaseReserve and MaxTxSetSize are the ledger header's, which network upgrades change.
	BaseFee      int64 `json:"baseFee"`
	BaseReserve  int64 `json:"baseReserve"`
	MaxTxSetSize int64 `json:"maxTxSetSize"`
}

// PeerCounts are stellar-core's peer connections.
type PeerCounts struct {
	Authenticated int64 `json:"authenticated"`
	Pending       int64 `json:"pending"`
}

// QuorumStatus is the node's view of its quorum set at the latest ledger.
type QuorumStatus struct {
	Agree   int64 `json:"agree"`
	Missing int64 `json:"missing"`
	// FailAt is how many more validators failing would stop the node's quorum: 0 means it has failed.
	FailAt       int64 `json:"failAt"`
	Intersection *bool `json:"intersection,omitempty"`
}

// InSync reports whether stellar-core is in consensus (internal/health): synced, its last ledger recent.
func (s Status) InSync() bool {
	return s.Error == "" && health.InConsensus(s.State, s.Ledger.Num, s.Ledger.Age, health.MaxLedgerAge) == nil
}

// StatusFromInfo is the status document of an /info answer.
func StatusFromInfo(info Info, at time.Time) Status {
	s := Status{
		ObservedAt: at.UTC(), State: info.State, Build: info.Build, ProtocolVersion: info.Ledger.Version,
		Ledger: LedgerStatus{Num: info.Ledger.Num, Age: info.Ledger.Age, Version: info.Ledger.Version,
			BaseFee: info.Ledger.BaseFee, BaseReserve: info.Ledger.BaseReserve, MaxTxSetSize: info.Ledger.MaxTxSetSize},
		Peers: PeerCounts{Authenticated: info.Peers.Authenticated, Pending: info.Peers.Pending},
	}
	q := info.Quorum.QSet
	s.Quorum = QuorumStatus{Agree: deref(q.Agree), Missing: deref(q.Missing), FailAt: deref(q.FailAt)}
	if t := info.Quorum.Transitive; t != nil {
		s.Quorum.Intersection = new(t.Intersection)
	}
	return s
}

func deref(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// publishBacklog counts the checkpoints waiting in a publish queue directory; a missing directory
// is an empty queue.
func publishBacklog(dir string) *int64 {
	entries, err := os.ReadDir(dir)
	n := int64(0)
	if err == nil {
		for _, e := range entries {
			if !e.IsDir() {
				n++
			}
		}
	}
	return &n
}

// statusHandler serves /status: what stellar-core says now, asked at each request.
type statusHandler struct {
	admin        *Admin
	publishQueue string
	voting       *Voting
	now          func() time.Time
}

// readOnly answers any request but GET and HEAD 405, and reports whether it did.
func readOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return false
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "read-only", http.StatusMethodNotAllowed)
	return true
}

func (h statusHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if readOnly(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	var s Status
	if info, err := h.admin.Info(ctx); err != nil {
		s = Status{ObservedAt: h.now().UTC(), Error: err.Error()}
	} else {
		s = StatusFromInfo(info, h.now())
	}
	if h.publishQueue != "" {
		s.PublishBacklog = publishBacklog(h.publishQueue)
	}
	if h.voting != nil {
		s.Vote = h.voting.Report()
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_ = json.NewEncoder(w).Encode(s)
}

// quorumHandler serves /quorum: the transitive quorum map stellar-core reports now, asked at each
// request; 502 when it has none to give.
type quorumHandler struct {
	admin *Admin
}

func (h quorumHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if readOnly(w, r) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	m, err := h.admin.TransitiveQuorum(ctx)
	var body []byte
	if err == nil {
		body, err = m.JSON()
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(body)
}
