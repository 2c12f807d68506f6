// Package agent is the sidecar of every validator pod, run from the operator's own image: it reads
// stellar-core's admin API on 127.0.0.1 (PUBLIC_HTTP_PORT stays false) and serves a small read-only
// status document, Prometheus metrics under stellar-core-prometheus-exporter's names, and, for a
// Full validator, its history archive; it also connects stellar-core to the network's members it is
// not connected to (live peering). It never serves the seed, the configuration or an admin command.
package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/health"
	"github.com/stellar-k8s/stellar-operator/internal/quorum"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// Admin is a client of stellar-core's admin HTTP API. Every route answers 200, errors included
// (CommandHandler::safeRouter), so an answer is an error when its body says so.
type Admin struct {
	base   string
	client *http.Client
}

// NewAdmin talks to stellar-core's admin port on 127.0.0.1, or to base when it is a URL (tests).
func NewAdmin(base string) *Admin {
	if !strings.Contains(base, "://") {
		base = "http://127.0.0.1:" + base
	}
	return &Admin{base: strings.TrimSuffix(base, "/"), client: &http.Client{Timeout: 3 * time.Second}}
}

// maxBody bounds what is read of one answer: /metrics is the largest, about 100 KB.
const maxBody = 8 << 20

// get fetches one route and returns its body, or the error stellar-core answered.
func (a *Admin) get(ctx context.Context, route string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/"+route, nil)
	if err != nil {
		return nil, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("stellar-core does not answer: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("read stellar-core's /%s: %w", route, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("stellar-core's /%s: HTTP %d", route, resp.StatusCode)
	}
	var failure struct {
		Error     string `json:"error"`
		Exception string `json:"exception"`
	}
	if json.Unmarshal(body, &failure) == nil && (failure.Error != "" || failure.Exception != "") {
		return nil, fmt.Errorf("stellar-core: %s", failure.Error+failure.Exception)
	}
	return body, nil
}

// getJSON fetches one route and decodes its JSON answer into v.
func (a *Admin) getJSON(ctx context.Context, route string, v any) error {
	body, err := a.get(ctx, route)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		// CommandHandler::safeRouter answers "exception: ..." as plain text.
		return fmt.Errorf("stellar-core's /%s is not JSON: %.120s", route, body)
	}
	return nil
}

// Info is stellar-core's /info (internal/health parses it, for the probe too).
type Info = health.Info

// Info asks /info.
func (a *Admin) Info(ctx context.Context) (Info, error) {
	body, err := a.get(ctx, "info")
	if err != nil {
		return Info{}, err
	}
	return health.ParseInfo(body)
}

// TransitiveQuorum asks /quorum?transitive=true&fullkeys=true: the quorum sets of every validator
// stellar-core's quorum reaches, as it last heard them (HerderImpl::getJsonTransitiveQuorumInfo),
// read and bounded as check-quorum-intersection reads such a file (quorum.ParseJSON).
func (a *Admin) TransitiveQuorum(ctx context.Context) (quorum.Map, error) {
	body, err := a.get(ctx, "quorum?transitive=true&fullkeys=true")
	if err != nil {
		return nil, err
	}
	return quorum.ParseJSON(body)
}

// Peer is an authenticated peer of /peers?fullkeys=true (CommandHandler::peers, Peer::getJsonInfo).
type Peer struct {
	Address string `json:"address"`
	ID      string `json:"id"`
}

// Host is the peer's address without its port.
func (p Peer) Host() string {
	host, _, found := strings.Cut(p.Address, ":")
	if !found {
		return p.Address
	}
	return host
}

// AuthenticatedPeers asks /peers with full keys and returns the inbound and outbound authenticated peers.
func (a *Admin) AuthenticatedPeers(ctx context.Context) ([]Peer, error) {
	var doc struct {
		Authenticated struct {
			Inbound  []Peer `json:"inbound"`
			Outbound []Peer `json:"outbound"`
		} `json:"authenticated_peers"`
	}
	if err := a.getJSON(ctx, "peers?fullkeys=true", &doc); err != nil {
		return nil, err
	}
	return append(doc.Authenticated.Inbound, doc.Authenticated.Outbound...), nil
}

// Metric is one libmedida metric of /metrics (CommandHandler::metrics).
type Metric struct {
	Type         string   `json:"type"`
	Count        float64  `json:"count"`
	Sum          *float64 `json:"sum"`
	Mean         float64  `json:"mean"`
	P75          float64  `json:"75%"`
	P99          float64  `json:"99%"`
	P100         *float64 `json:"100%"`
	DurationUnit string   `json:"duration_unit"`
	// BoundaryUnit and Buckets are a "buckets" metric's (ledger.age.closed): each bucket's own count
	// and sum, not cumulative. Read as numbers of any size: the last boundary is the overflow's.
	BoundaryUnit string   `json:"boundary_unit"`
	Buckets      []Bucket `json:"buckets"`
}

// Bucket is one bucket of a libmedida "buckets" metric.
type Bucket struct {
	Boundary json.Number `json:"boundary"`
	Count    json.Number `json:"count"`
	Sum      json.Number `json:"sum"`
}

// Cursors asks /getcursor (v19-v22; later releases have no such route and answer their help page):
// each cursor a consumer such as Horizon set, by its id. None without the route.
func (a *Admin) Cursors(ctx context.Context) (map[string]float64, error) {
	body, err := a.get(ctx, "getcursor")
	if err != nil {
		return nil, err
	}
	var doc struct {
		Cursors []*struct {
			ID     string  `json:"id"`
			Cursor float64 `json:"cursor"`
		} `json:"cursors"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return nil, nil // the help page of a release without the route
	}
	out := map[string]float64{}
	for _, c := range doc.Cursors {
		// With no cursor, stellar-core lists one null (CommandHandler::getcursor).
		if c != nil && c.ID != "" {
			out[strings.TrimSpace(c.ID)] = c.Cursor
		}
	}
	return out, nil
}

// Metrics asks /metrics.
func (a *Admin) Metrics(ctx context.Context) (map[string]Metric, error) {
	var doc struct {
		Metrics map[string]Metric `json:"metrics"`
	}
	if err := a.getJSON(ctx, "metrics", &doc); err != nil {
		return nil, err
	}
	return doc.Metrics, nil
}

// Connect asks stellar-core to open a connection to host:port now (CommandHandler::connect). Its
// answer is "Connect to: HOST:PORT" whatever happens next; the next /peers tells.
func (a *Admin) Connect(ctx context.Context, host string, port int32) error {
	_, err := a.get(ctx, "connect?peer="+url.QueryEscape(host)+"&port="+strconv.Itoa(int(port)))
	return err
}

// ArmedUpgrades asks what upgrade stellar-core holds (upgrades?mode=get).
func (a *Admin) ArmedUpgrades(ctx context.Context) (votes.Armed, error) {
	body, err := a.get(ctx, "upgrades?mode=get")
	if err != nil {
		return votes.Armed{}, err
	}
	return votes.ParseArmed(body)
}

// SetUpgrades arms an upgrade (a votes.Vote's SetQuery). stellar-core answers nothing on success,
// and a sentence (a bad time) or an exception (a protocol above its own) otherwise.
func (a *Admin) SetUpgrades(ctx context.Context, query string) error {
	body, err := a.get(ctx, query)
	if err == nil && len(strings.TrimSpace(string(body))) > 0 {
		err = fmt.Errorf("stellar-core: %.200s", body)
	}
	return err
}

// ClearUpgrades drops whatever upgrade stellar-core holds (upgrades?mode=clear).
func (a *Admin) ClearUpgrades(ctx context.Context) error {
	return a.SetUpgrades(ctx, "upgrades?mode=clear")
}
