package testutil

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// FakeCore is a stellar-core admin API for tests. Its answers have the shapes stellar-core v19.14.0
// gives (read off the real binary on loopback): /info (CommandHandler::info, ApplicationImpl::getJsonInfo),
// /peers (CommandHandler::peers, Peer::getJsonInfo), /quorum (CommandHandler::quorum,
// HerderImpl::getJsonQuorumInfo), /metrics (CommandHandler::metrics, libmedida's JSON) and /connect
// (CommandHandler::connect) and /upgrades (CommandHandler::upgrades). Like stellar-core, every route answers HTTP 200, errors included:
// {"error": "Core is booting, try again later"} while booting, {"exception": ...} when a handler throws
// (CommandHandler::safeRouter).
type FakeCore struct {
	*httptest.Server

	mu sync.Mutex
	// Booting answers every route with the booting error; Exception, when set, with that exception.
	Booting   bool
	Exception string
	State     string
	Network   string
	// Build is /info's build, the binary's version.
	Build   string
	Ledger  int64
	Age     int64
	Version int64
	Agree   int64
	Missing int64
	FailAt  int64
	// BaseFee, BaseReserve and MaxTxSetSize are the ledger header's.
	BaseFee, BaseReserve, MaxTxSetSize int64
	// MaxProtocol is the highest protocol upgrades?mode=set takes (Upgrades::setParameters).
	MaxProtocol int64
	// ArmedTime and Armed are the upgrade held (upgrades?mode=get), by set's parameter names.
	ArmedTime int64
	Armed     map[string]string
	// UpgradeSets are the upgrades?mode=set and mode=clear queries asked, in order.
	UpgradeSets []string
	// Connected are the authenticated peers /peers lists, inbound.
	Connected []FakePeer
	// Connects are the host:port /connect was asked for, in order.
	Connects []string
	// Requests counts the requests of each route ("info", "metrics", ...).
	Requests map[string]int
	// Transitive is the body of /quorum?transitive=true, {"nodes": [...]}; without it, a map of none.
	Transitive string
}

// FakePeer is an authenticated peer: its address and its full public key.
type FakePeer struct{ Address, ID string }

// StartFakeCore serves a synced validator of a 3-validator network on loopback. Close it when done.
func StartFakeCore() *FakeCore {
	f := SyncedFakeCore()
	f.Server = httptest.NewServer(f.Handler())
	return f
}

// SyncedFakeCore is the fake of StartFakeCore without a server, for a process that serves it itself.
func SyncedFakeCore() *FakeCore {
	return &FakeCore{State: "Synced!", Network: "Test Network ; 2026", Ledger: 1000, Age: 2, Version: 19, Agree: 3, FailAt: 2,
		Build: "v19.14.0-dirty", BaseFee: 100, BaseReserve: 100000000, MaxTxSetSize: 100, MaxProtocol: 19}
}

// Handler answers the admin API's routes.
func (f *FakeCore) Handler() http.Handler { return http.HandlerFunc(f.serve) }

// Set changes the fake under its lock.
func (f *FakeCore) Set(change func(*FakeCore)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	change(f)
}

// ConnectsSoFar are the connects asked so far.
func (f *FakeCore) ConnectsSoFar() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.Connects...)
}

// Restart is stellar-core started again on an empty database: it holds no upgrade.
func (f *FakeCore) Restart() {
	f.Set(func(f *FakeCore) { f.ArmedTime, f.Armed = 0, nil })
}

// TakeUpgrades is the network taking the armed upgrade at a ledger closed at closeTime: the header's
// values change and the applied parameters are dropped, the time kept (Upgrades::removeUpgrades).
func (f *FakeCore) TakeUpgrades() {
	f.Set(func(f *FakeCore) {
		for name, value := range f.Armed {
			n, _ := strconv.ParseInt(value, 10, 64)
			switch name {
			case votes.ParamProtocolVersion:
				f.Version = n
			case votes.ParamBaseFee:
				f.BaseFee = n
			case votes.ParamBaseReserve:
				f.BaseReserve = n
			case votes.ParamMaxTxSetSize:
				f.MaxTxSetSize = n
			}
		}
		f.Armed = nil
		f.Ledger++
	})
}

// UpgradeSetsSoFar are the set and clear queries asked so far.
func (f *FakeCore) UpgradeSetsSoFar() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.UpgradeSets...)
}

// RequestsOf is how many requests a route has had.
func (f *FakeCore) RequestsOf(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Requests[route]
}

func (f *FakeCore) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.Requests == nil {
		f.Requests = map[string]int{}
	}
	f.Requests[strings.TrimPrefix(r.URL.Path, "/")]++
	w.WriteHeader(http.StatusOK)
	switch {
	case f.Booting:
		_, _ = fmt.Fprint(w, `{"error": "Core is booting, try again later"}`)
		return
	case f.Exception != "":
		_, _ = fmt.Fprintf(w, `{"exception": %q}`, f.Exception)
		return
	}
	switch strings.TrimPrefix(r.URL.Path, "/") {
	case "info":
		f.writeJSON(w, map[string]any{"info": f.info()})
	case "peers":
		inbound := []map[string]any{}
		for _, p := range f.Connected {
			inbound = append(inbound, map[string]any{"address": p.Address, "elapsed": 30, "id": p.ID, "latency": 1,
				"olver": 29, "ver": "v19.14.0-dirty"})
		}
		f.writeJSON(w, map[string]any{
			"authenticated_peers": map[string]any{"inbound": nilIfEmpty(inbound), "outbound": nil},
			"pending_peers":       map[string]any{"inbound": nil, "outbound": nil},
		})
	case "quorum":
		switch {
		case r.URL.Query().Get("transitive") != "true":
			_, _ = fmt.Fprintf(w, quorumBody, f.FailAt, f.Ledger)
		case f.Transitive != "":
			_, _ = fmt.Fprint(w, f.Transitive)
		default:
			_, _ = fmt.Fprint(w, `{"nodes": []}`)
		}
	case "metrics":
		_, _ = fmt.Fprint(w, metricsBody)
	case "connect":
		peer, port := r.URL.Query().Get("peer"), r.URL.Query().Get("port")
		if peer == "" || port == "" {
			_, _ = fmt.Fprint(w, "Must specify a peer and port: connect&peer=PEER&port=PORT")
			return
		}
		f.Connects = append(f.Connects, peer+":"+port)
		_, _ = fmt.Fprintf(w, "Connect to: %s:%s", peer, port)
	case "upgrades":
		f.upgrades(w, r.URL.Query())
	case "getcursor":
		// The cursors Horizon set (CommandHandler::getcursor, v19-v22).
		_, _ = fmt.Fprint(w, `{"cursors": [{"id": "HORIZON", "cursor": 999}]}`)
	default:
		_, _ = fmt.Fprint(w, "<b>Welcome to stellar-core!</b><p>Supported HTTP commands are listed in the docs.</p>")
	}
}

// quorumBody is /quorum of a validator of three, its fail_at and ledger to fill in.
const quorumBody = `{
   "node" : "self",
   "qset" : {
      "agree" : [ "node2", "node3", "self" ],
      "delayed" : null,
      "disagree" : null,
      "fail_at" : %d,
      "fail_with" : [ "node2", "node3" ],
      "hash" : "66f094",
      "ledger" : %d,
      "missing" : null,
      "phase" : "EXTERNALIZE"
   }
}`

// metricsBody is part of /metrics: one metric of each libmedida type stellar-core reports.
const metricsBody = `{
   "metrics" : {
      "bucket.memory.shared" : { "type" : "counter", "count" : 2 },
      "history.publish.failure" : { "type" : "meter", "count" : 0, "event_type" : "event", "rate_unit" : "s",
         "mean_rate" : 0, "1_min_rate" : 0, "5_min_rate" : 0, "15_min_rate" : 0 },
      "history.publish.success" : { "type" : "meter", "count" : 4, "event_type" : "event", "rate_unit" : "s",
         "mean_rate" : 0.01, "1_min_rate" : 0, "5_min_rate" : 0, "15_min_rate" : 0 },
      "ledger.ledger.close" : { "type" : "timer", "count" : 9, "event_type" : "calls", "rate_unit" : "s",
         "mean_rate" : 0.252178, "1_min_rate" : 0.500149, "5_min_rate" : 0.5774, "15_min_rate" : 0.592305,
         "duration_unit" : "ms", "min" : 1.18, "max" : 14.17, "mean" : 4.75, "stddev" : 3.82, "sum" : 42.79,
         "median" : 3.62, "75%" : 5.18, "95%" : 5.35, "98%" : 5.35, "99%" : 5.35, "99.9%" : 5.35, "100%" : 5.35 },
      "ledger.age.closed" : { "type" : "buckets", "boundary_unit" : "ms", "buckets" : [
         { "boundary" : 5000, "count" : 3, "sum" : 12000 }, { "boundary" : 7000, "count" : 1, "sum" : 6000 },
         { "boundary" : 10000, "count" : 0, "sum" : 0 }, { "boundary" : 20000, "count" : 0, "sum" : 0 },
         { "boundary" : 1e+9999, "count" : 1, "sum" : 30000 } ] },
      "ledger.operation.count" : { "type" : "histogram", "count" : 7, "min" : 0, "max" : 3, "mean" : 1, "stddev" : 0,
         "sum" : 7, "median" : 1, "75%" : 1, "95%" : 3, "98%" : 3, "99%" : 3, "99.9%" : 3, "100%" : 3 }
   }
}`

// paramFlags is the ledger flags parameter, which the operator never votes.
const paramFlags = "flags"

// upgrades answers as CommandHandler::upgrades of v19 does: get shows each parameter as a cereal
// optional, set replaces what is held (dropping parameters it does not take), clear empties it.
func (f *FakeCore) upgrades(w http.ResponseWriter, q url.Values) {
	switch q.Get("mode") {
	case "get":
		out := map[string]any{"time": f.ArmedTime}
		for field, name := range map[string]string{"version": votes.ParamProtocolVersion, "fee": votes.ParamBaseFee,
			"reserve": votes.ParamBaseReserve, "maxtxsize": votes.ParamMaxTxSetSize, paramFlags: paramFlags} {
			if v, ok := f.Armed[name]; ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				out[field] = map[string]any{"nullopt": false, "data": n}
			} else {
				out[field] = map[string]any{"nullopt": true}
			}
		}
		f.writeJSON(w, out)
	case "set":
		f.UpgradeSets = append(f.UpgradeSets, q.Encode())
		at, err := time.Parse("2006-01-02T15:04:05Z", q.Get("upgradetime"))
		if err != nil {
			_, _ = fmt.Fprintf(w, "could not parse upgradetime: '%s'", q.Get("upgradetime"))
			return
		}
		if p, _ := strconv.ParseInt(q.Get(votes.ParamProtocolVersion), 10, 64); p > f.MaxProtocol {
			_, _ = fmt.Fprintf(w, `{"exception": "Protocol version error: supported is up to %d, passed is %d"}`, f.MaxProtocol, p)
			return
		}
		f.ArmedTime, f.Armed = at.Unix(), map[string]string{}
		for _, name := range []string{votes.ParamProtocolVersion, votes.ParamBaseFee, votes.ParamBaseReserve, votes.ParamMaxTxSetSize, paramFlags} {
			if v := q.Get(name); v != "" {
				f.Armed[name] = v
			}
		}
	case "clear":
		f.UpgradeSets = append(f.UpgradeSets, q.Encode())
		f.ArmedTime, f.Armed = 0, nil
	default:
		_, _ = fmt.Fprintf(w, "Unknown mode: %s", q.Get("mode"))
	}
}

func (f *FakeCore) info() map[string]any {
	qset := map[string]any{"agree": f.Agree, "delayed": 0, "disagree": 0, "fail_at": f.FailAt, "hash": "66f094",
		"ledger": f.Ledger, "missing": f.Missing, "phase": "EXTERNALIZE", "validated": true}
	return map[string]any{
		"build": f.Build, "network": f.Network, "protocol_version": f.MaxProtocol, "startedOn": "2026-12-01T18:00:00Z",
		"state": f.State,
		"ledger": map[string]any{"age": f.Age, "baseFee": f.BaseFee, "baseReserve": f.BaseReserve, "closeTime": 1796151766,
			"hash": "35192a84", "maxTxSetSize": f.MaxTxSetSize, "num": f.Ledger, "version": f.Version},
		"peers": map[string]any{"authenticated_count": len(f.Connected), "pending_count": 0},
		"quorum": map[string]any{"node": "self", "qset": qset,
			"transitive": map[string]any{"critical": nil, "intersection": true, "last_check_ledger": 6, "node_count": 3}},
	}
}

func (f *FakeCore) writeJSON(w http.ResponseWriter, v any) {
	data, _ := json.MarshalIndent(v, "", "   ")
	_, _ = w.Write(data)
}

func nilIfEmpty(list []map[string]any) any {
	if len(list) == 0 {
		return nil
	}
	return list
}
