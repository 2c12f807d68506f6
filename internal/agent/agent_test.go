package agent_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/agent"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

func status(t *testing.T, ag *agent.Agent) agent.Status {
	t.Helper()
	rec := httptest.NewRecorder()
	ag.Status.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, agent.StatusPath, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/status = %d", rec.Code)
	}
	var s agent.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStatusDocument(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	queue := t.TempDir()
	for _, f := range []string{"0000003f.json", "0000007f.json"} {
		if err := os.WriteFile(filepath.Join(queue, f), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ag := agent.New(agent.Args{Port: 1, PublishQueue: queue}, agent.NewAdmin(core.URL), io.Discard)

	s := status(t, ag)
	if !s.InSync() || s.Ledger.Num != 1000 || s.Ledger.Age != 2 || s.ProtocolVersion != 19 || s.Quorum.Agree != 3 ||
		s.Quorum.FailAt != 2 || s.Quorum.Intersection == nil || !*s.Quorum.Intersection || s.Build != "v19.14.0-dirty" {
		t.Errorf("synced: %+v", s)
	}
	if s.PublishBacklog == nil || *s.PublishBacklog != 2 {
		t.Errorf("publish backlog = %v, want the 2 checkpoints queued", s.PublishBacklog)
	}
	for _, c := range []struct {
		name   string
		change func(*testutil.FakeCore)
		state  string
		error  string
	}{
		{"catching up", func(f *testutil.FakeCore) { f.State, f.Age = "Catching up", 400 }, "Catching up", ""},
		{"booting", func(f *testutil.FakeCore) { f.Booting = true }, "", "Core is booting"},
		{"an exception", func(f *testutil.FakeCore) { f.Booting, f.Exception = false, "generic" }, "", "generic"},
	} {
		core.Set(c.change)
		s := status(t, ag)
		if s.InSync() || s.State != c.state || !strings.Contains(s.Error, c.error) {
			t.Errorf("%s: %+v", c.name, s)
		}
	}
	core.Close()
	if s := status(t, ag); s.InSync() || !strings.Contains(s.Error, "does not answer") {
		t.Errorf("down: %+v", s)
	}
}

func TestStatusNeverServesConfigurationOrCommands(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	ag := agent.New(agent.Args{Port: 1}, agent.NewAdmin(core.URL), io.Discard)
	rec := httptest.NewRecorder()
	ag.Status.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, agent.StatusPath, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /status = %d", rec.Code)
	}
	body := httptest.NewRecorder()
	ag.Status.ServeHTTP(body, httptest.NewRequest(http.MethodGet, agent.StatusPath+"?connect=1", nil))
	for _, secret := range []string{"NODE_SEED", "SEED", "connect"} {
		if strings.Contains(body.Body.String(), secret) {
			t.Errorf("/status mentions %s: %s", secret, body.Body.String())
		}
	}
	if len(core.ConnectsSoFar()) != 0 {
		t.Error("/status made stellar-core connect")
	}
}

func scrape(t *testing.T, ag *agent.Agent) string {
	t.Helper()
	rec := httptest.NewRecorder()
	ag.Metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics = %d: %s", rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

// The names and values stellar-core-prometheus-exporter would give, so SDF's rules work unchanged.
func TestMetricsUnderTheExportersNames(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	ag := agent.New(agent.Args{Port: 1}, agent.NewAdmin(core.URL), io.Discard)
	out := scrape(t, ag)
	// The text format sorts labels by name.
	labels := `build="v19.14.0-dirty",network="Test Network ; 2026",ver_major="19",ver_minor="14",ver_patch="0"`
	build, network, version := `build="v19.14.0-dirty"`, `network="Test Network ; 2026"`, `ver_major="19",ver_minor="14",ver_patch="0"`
	for _, want := range []string{
		`stellar_core_ledger_ledger_close_seconds_count{` + labels + `} 9`,
		`stellar_core_ledger_ledger_close_seconds_sum{` + labels + `} 0.04279`,
		`stellar_core_ledger_ledger_close_seconds{` + build + "," + network + `,quantile="0.75",` + version + `} 0.00518`,
		`stellar_core_ledger_ledger_close_seconds{` + build + "," + network + `,quantile="1.0",` + version + `} 0.00535`,
		`stellar_core_ledger_operation_count_count{` + labels + `} 7`,
		`stellar_core_ledger_operation_count{` + build + "," + network + `,quantile="1.0",` + version + `} 3`,
		// The buckets of ledger.age.closed as a histogram, cumulative, in seconds, the overflow as +Inf.
		`stellar_core_ledger_age_closed_bucket{` + labels + `,le="5"} 3`,
		`stellar_core_ledger_age_closed_bucket{` + labels + `,le="7"} 4`,
		`stellar_core_ledger_age_closed_bucket{` + labels + `,le="20"} 4`,
		`stellar_core_ledger_age_closed_bucket{` + labels + `,le="+Inf"} 5`,
		`stellar_core_ledger_age_closed_sum{` + labels + `} 48`,
		`stellar_core_ledger_age_closed_count{` + labels + `} 5`,
		`stellar_core_active_cursors{` + build + `,cursor_name="HORIZON",` + network + "," + version + `} 999`,
		`stellar_core_history_publish_failure{` + labels + `} 0`,
		`stellar_core_history_publish_success{` + labels + `} 4`,
		`stellar_core_bucket_memory_shared{` + labels + `} 2`,
		`stellar_core_ledger_age{` + labels + `} 2`,
		`stellar_core_ledger_num{` + labels + `} 1000`,
		`stellar_core_quorum_fail_at{` + labels + `} 2`,
		`stellar_core_quorum_agree{` + labels + `} 3`,
		`stellar_core_quorum_phase_externalize{` + labels + `} 1`,
		`stellar_core_quorum_transitive_intersection{` + labels + `} 1`,
		`stellar_core_quorum_transitive_critical{` + build + `,critical_validators="null",` + network + "," + version + `} 0`,
		`stellar_core_up 1`,
		`stellar_core_peers_authenticated_count{` + labels + `} 0`,
		`stellar_core_protocol_version{` + labels + `} 19`,
		`stellar_core_synced{` + labels + `} 1`,
		`stellar_core_catching_up{` + labels + `} 0`,
		`stellar_core_started_on{` + labels + `} 1.796148e+09`,
		`# TYPE stellar_core_history_publish_failure counter`,
		`# TYPE stellar_core_bucket_memory_shared gauge`,
	} {
		if !strings.Contains(out, want+"\n") {
			t.Errorf("missing %s", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
	// A stellar-core that does not answer fails the scrape, as the exporter's 504 does: up turns 0
	// instead of the stellar_core_ series vanishing from a scrape that looks fine.
	core.Set(func(f *testutil.FakeCore) { f.Booting = true })
	for range 2 {
		rec := httptest.NewRecorder()
		ag.Metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		out = rec.Body.String()
		if rec.Code != http.StatusGatewayTimeout {
			t.Errorf("/metrics = %d while stellar-core does not answer, want 504", rec.Code)
		}
	}
	// The error counter is gathered beside the failing scrape: the next scrape shows it.
	if strings.Contains(out, "stellar_core_ledger_num") || !strings.Contains(out, "stellar_core_up 0\n") ||
		!regexp.MustCompile(`stellar_operator_agent_scrape_errors_total [12]\n`).MatchString(out) {
		t.Errorf("a booting stellar-core gives no stellar_core_ metric, stellar_core_up 0 and a scrape error:\n%s", out)
	}
	core.Set(func(f *testutil.FakeCore) { f.Booting = false })
	if out := scrape(t, ag); !strings.Contains(out, "stellar_core_up 1\n") {
		t.Errorf("stellar-core answering again:\n%s", out)
	}
}

// fakeKey is a made-up public key of the right shape, named for the test.
func fakeKey(name string) string {
	key := "G" + strings.ToUpper(strings.ReplaceAll(name, "1", "ONE"))
	return key + strings.Repeat("A", 56-len(key))
}

// peersFile writes what stellar-peers would publish: self, two network members, one of another network.
func peersFile(t *testing.T) string {
	t.Helper()
	doc := peers.Document{Peers: []peers.Peer{
		{Name: "self", NetworkID: "net", DNSName: "self-0.self-headless", PodIP: "127.0.0.10", Port: 11625, PublicKey: fakeKey("SELF")},
		{Name: "known", NetworkID: "net", DNSName: "known-0.known-headless", PodIP: "127.0.0.11", Port: 11625, PublicKey: fakeKey("KNOWN")},
		{Name: "new-1", NetworkID: "net", DNSName: "new-1-0.new-1-headless", PodIP: "127.0.0.12", Port: 11625, PublicKey: fakeKey("NEW1")},
		{Name: "new-2", NetworkID: "net", DNSName: "new-2-0.new-2-headless", PodIP: "127.0.0.13", Port: 11635},
		{Name: "not-ready", NetworkID: "net", DNSName: "not-ready-0.not-ready-headless", Port: 11625, PublicKey: fakeKey("NOTREADY")},
		{Name: "other", NetworkID: "other-net", DNSName: "other-0.other-headless", PodIP: "127.0.0.14", Port: 11625, PublicKey: fakeKey("OTHER")},
	}}
	data, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "peers.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLivePeeringConnectsMissingMembersOnly(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	// "known" is connected inbound from an ephemeral port: recognised by its key.
	core.Set(func(f *testutil.FakeCore) {
		f.Connected = []testutil.FakePeer{{Address: "127.0.0.11:53211", ID: fakeKey("KNOWN")}}
	})
	p := &agent.Peering{Admin: agent.NewAdmin(core.URL), PeersFile: peersFile(t), Self: "self", NetworkID: "net",
		MaxPerRound: 1, Backoff: time.Minute}
	now := time.Now()

	dialled, err := p.Round(t.Context(), now)
	if err != nil || len(dialled) != 1 || dialled[0] != "new-1" {
		t.Fatalf("round 1 dialled %v (%v): one a round, in name order", dialled, err)
	}
	dialled, err = p.Round(t.Context(), now.Add(time.Second))
	if err != nil || len(dialled) != 1 || dialled[0] != "new-2" {
		t.Fatalf("round 2 dialled %v (%v)", dialled, err)
	}
	if dialled, _ := p.Round(t.Context(), now.Add(2*time.Second)); len(dialled) != 0 {
		t.Fatalf("round 3 dialled %v: nobody is dialled twice within the backoff", dialled)
	}
	if got := core.ConnectsSoFar(); strings.Join(got, " ") != "127.0.0.12:11625 127.0.0.13:11635" {
		t.Fatalf("connects = %v: never itself, a connected peer, one not Ready or another network's", got)
	}
	// Connected now (new-2 has no key: by address), and past the backoff: nothing more.
	core.Set(func(f *testutil.FakeCore) {
		f.Connected = append(f.Connected, testutil.FakePeer{Address: "127.0.0.12:11625", ID: fakeKey("NEW1")},
			testutil.FakePeer{Address: "127.0.0.13:40000", ID: fakeKey("WHOEVER")})
	})
	if dialled, _ := p.Round(t.Context(), now.Add(2*time.Minute)); len(dialled) != 0 {
		t.Fatalf("dialled %v, all connected", dialled)
	}
	// new-1 dropped: dialled again once the backoff is over.
	core.Set(func(f *testutil.FakeCore) { f.Connected = f.Connected[:1] })
	if dialled, _ := p.Round(t.Context(), now.Add(4*time.Minute)); len(dialled) != 1 || dialled[0] != "new-1" {
		t.Fatalf("dialled %v after new-1 dropped", dialled)
	}
}

func TestLivePeeringSurvivesAdminErrors(t *testing.T) {
	core := testutil.StartFakeCore()
	core.Set(func(f *testutil.FakeCore) { f.Booting = true })
	p := &agent.Peering{Admin: agent.NewAdmin(core.URL), PeersFile: peersFile(t), Self: "self", NetworkID: "net",
		MaxPerRound: 4, Backoff: time.Minute}
	if _, err := p.Round(t.Context(), time.Now()); err == nil || !strings.Contains(err.Error(), "booting") {
		t.Fatalf("booting: %v", err)
	}
	core.Close()
	if _, err := p.Round(t.Context(), time.Now()); err == nil {
		t.Fatal("a stellar-core that does not answer is an error, not a crash")
	}
	missing := &agent.Peering{Admin: agent.NewAdmin(core.URL), PeersFile: filepath.Join(t.TempDir(), "none.json"), Self: "self", NetworkID: "net", MaxPerRound: 4}
	if dialled, err := missing.Round(t.Context(), time.Now()); err != nil || len(dialled) != 0 {
		t.Fatalf("no peers file yet: %v %v", dialled, err)
	}
}

func TestArgsRoundTrip(t *testing.T) {
	a := agent.Args{AdminPort: 11626, Port: 11628, PeersFile: "/etc/stellar/peers/peers.json", Self: "v1", NetworkID: "n",
		ArchiveDir: "/data/history", ArchivePort: 11627, PublishQueue: "/data/buckets/publishqueue", ConnectInterval: 15 * time.Second,
		MetricsCache: agent.DefaultMetricsCache}
	got, err := agent.ParseArgs(a.List()[1:])
	if err != nil || got != a {
		t.Fatalf("ParseArgs(List) = %+v, %v; want %+v", got, err, a)
	}
	if _, err := agent.ParseArgs([]string{"--port=1", "--peers=/x"}); err == nil {
		t.Error("--peers without --self is refused")
	}
}

// However many scrapes come at once, stellar-core's admin API is read once per cache period.
func TestMetricsReadStellarCoreOncePerPeriod(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	ag := agent.New(agent.Args{Port: 1, MetricsCache: time.Hour}, agent.NewAdmin(core.URL), io.Discard)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			ag.Metrics.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/metrics", nil))
		})
	}
	wg.Wait()
	out := scrape(t, ag)
	if !strings.Contains(out, "stellar_core_synced") {
		t.Fatalf("no stellar-core metric:\n%s", out)
	}
	if n := core.RequestsOf("info"); n != 1 {
		t.Errorf("21 scrapes read /info %d times, want 1", n)
	}
}

// /quorum is the transitive map stellar-core reports, keys and sets only, read as
// check-quorum-intersection reads it; 502 when stellar-core has none to give or gives one it would
// not read.
func TestQuorumDocument(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	a, b := fixture.KeyOf("agent", "a"), fixture.KeyOf("agent", "b")
	core.Set(func(f *testutil.FakeCore) {
		f.Transitive = `{"intersection": true, "node_count": 2, "nodes": [
			{"node": "` + a + `", "distance": 0, "heard": 1000, "qset": {"t": 2, "v": ["` + a + `", {"t": 1, "v": ["` + b + `"]}]}, "status": "tracking", "value": "[ txH: 1 ]", "value_id": 1},
			{"node": "` + b + `", "distance": 1, "status": "missing"}]}`
	})
	ag := agent.New(agent.Args{Port: 1}, agent.NewAdmin(core.URL), io.Discard)
	get := func() *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		ag.Quorum.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, agent.QuorumPath, nil))
		return rec
	}
	rec := get()
	want := `{"nodes":[{"node":"` + a + `","qset":{"t":2,"v":["` + a + `",{"t":1,"v":["` + b + `"]}]}},{"node":"` + b + `","qset":{}}]}`
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != want {
		t.Errorf("/quorum = %d %s\nwant %s", rec.Code, rec.Body, want)
	}
	for name, change := range map[string]func(*testutil.FakeCore){
		"booting":   func(f *testutil.FakeCore) { f.Booting = true },
		"not a key": func(f *testutil.FakeCore) { f.Transitive = `{"nodes": [{"node": "GNOTAKEY", "qset": {}}]}` },
		"not a map": func(f *testutil.FakeCore) { f.Transitive = `{"nodes": 3}` },
		"a bad set": func(f *testutil.FakeCore) {
			f.Transitive = `{"nodes": [{"node": "` + a + `", "qset": {"t": 3, "v": ["` + a + `"]}}]}`
		},
	} {
		core.Set(func(f *testutil.FakeCore) { f.Booting = false })
		core.Set(change)
		if rec := get(); rec.Code != http.StatusBadGateway {
			t.Errorf("%s: /quorum = %d %s, want 502", name, rec.Code, rec.Body)
		}
	}
}

// /getcursor with no cursor lists one null; a release without the route answers its help page: no
// cursor either way, and no error.
func TestCursorsWithoutAny(t *testing.T) {
	for name, body := range map[string]string{
		"no cursor":    `{"cursors": [null]}`,
		"no route":     "<b>Welcome to stellar-core!</b><p>Supported HTTP commands are listed in the docs.</p>",
		"empty answer": `{}`,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, body) }))
		cursors, err := agent.NewAdmin(srv.URL).Cursors(t.Context())
		srv.Close()
		if err != nil || len(cursors) != 0 {
			t.Errorf("%s: %v, %v", name, cursors, err)
		}
	}
}
