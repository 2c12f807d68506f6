//go:build stellarcore

package stellarcore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/readiness"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// node is one validator of the test network: its StellarNode, its seed and its process.
type node struct {
	spec *stellarv1alpha1.StellarNode
	seed string
	dir  string
	cmd  *exec.Cmd
}

// TestThreeValidatorsReachConsensus starts three real stellar-core validators on configurations the
// operator's own code renders (BaseConfig, then the render-config init step on stellar-peers), with
// only addresses and paths adapted to loopback, and watches the readiness check follow consensus.
// Their agents vote the network's protocol, then a StellarNetworkUpgrade of fee and reserve.
func TestThreeValidatorsReachConsensus(t *testing.T) {
	bin := longRunningCore(t, "starts three validators for about two minutes")
	nodes := organisation(t, bin)
	doc := stellarPeers(nodes)
	for _, n := range nodes {
		renderAndInit(t, bin, n, doc)
	}
	for _, n := range nodes {
		start(t, bin, n)
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			stop(n)
		}
	})
	// A new network starts at protocol 0: every validator's agent votes for the protocol of the line.
	vs := startVoting(t, nodes)
	vs.plan(t, nil)
	ledgers := map[string]int64{}
	for _, n := range nodes {
		waitFor(t, 120*time.Second, n.spec.Name+" in consensus with 2 authenticated peers", func() error {
			info, err := admin(n, "info")
			if err != nil {
				return err
			}
			if err := readiness.Decide(info, readiness.DefaultMaxLedgerAge); err != nil {
				return err
			}
			var doc struct {
				Info struct {
					Ledger struct{ Num int64 } `json:"ledger"`
					Peers  struct {
						Authenticated int `json:"authenticated_count"`
					} `json:"peers"`
				} `json:"info"`
			}
			if err := json.Unmarshal(info, &doc); err != nil {
				return err
			}
			if doc.Info.Peers.Authenticated != 2 {
				return fmt.Errorf("%d authenticated peers", doc.Info.Peers.Authenticated)
			}
			first, seen := ledgers[n.spec.Name]
			if !seen {
				ledgers[n.spec.Name] = doc.Info.Ledger.Num
			}
			if !seen || doc.Info.Ledger.Num < first+2 {
				return fmt.Errorf("ledger %d: waiting for two more ledgers to close", doc.Info.Ledger.Num)
			}
			if _, v := ledgerOf(info); int32(v) != coreProfile.MaxProtocol() {
				return fmt.Errorf("ledger protocol %d, voted %d", v, coreProfile.MaxProtocol())
			}
			t.Logf("%s: Synced!, ledger %d, 2 authenticated peers", n.spec.Name, doc.Info.Ledger.Num)
			return nil
		})
	}

	// The map the running network reports is the one the operator checks, and stellar-core agrees.
	raw, err := admin(nodes[0], "quorum?transitive=true&fullkeys=true")
	if err != nil {
		t.Fatal(err)
	}
	runningNetworkMapAgrees(t, bin, raw, len(nodes))

	// Its two peers stopped, the first validator stops closing ledgers: the check says so once
	// stellar-core admits it (state, or the age of its last ledger), and never while ledgers are stuck.
	stop(nodes[1])
	stop(nodes[2])
	waitFor(t, 150*time.Second, nodes[0].spec.Name+" not ready without its peers", func() error {
		info, err := admin(nodes[0], "info")
		if err != nil {
			return nil // not answering is not ready either
		}
		if err := readiness.Decide(info, readiness.DefaultMaxLedgerAge); err != nil {
			t.Logf("not ready: %v", err)
			return nil
		}
		return fmt.Errorf("still ready")
	})

	// The peers back, it is in consensus again.
	start(t, bin, nodes[1])
	start(t, bin, nodes[2])
	waitFor(t, 150*time.Second, nodes[0].spec.Name+" ready again", func() error {
		info, err := admin(nodes[0], "info")
		if err != nil {
			return err
		}
		return readiness.Decide(info, readiness.DefaultMaxLedgerAge)
	})

	votesAreArmedAndApplied(t, bin, nodes, vs)
}

// longRunningCore is the stellar-core binary of STELLAR_CORE, absolute, or skips the test: without a
// binary, or with -short, since it runs validators for minutes.
func longRunningCore(t *testing.T, runs string) string {
	t.Helper()
	bin := os.Getenv("STELLAR_CORE")
	if bin == "" {
		t.Skip("STELLAR_CORE is not set: give the path of a stellar-core binary (make test-stellar-core STELLAR_CORE=...)")
	}
	if testing.Short() {
		t.Skip(runs)
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(abs, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", abs, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	coreRelease = strings.TrimPrefix(strings.TrimSpace(first), "v")
	if coreProfile, err = stellarcore.ProfileFor(coreRelease); err != nil {
		t.Fatalf("%s reports version %q: %v", abs, first, err)
	}
	t.Logf("stellar-core version: %s (release line %s)", first, coreProfile.Line)
	return abs
}

// coreRelease and coreProfile are the binary's own release (its `version` answer) and release line:
// the validators run it, configured for that line, at its protocol.
var (
	coreRelease string
	coreProfile stellarcore.Profile
)

// organisation is three validators of one home domain on a private network, with their own seeds
// from stellar-core gen-seed, and ports of their own on this host.
func organisation(t *testing.T, bin string) []*node {
	var nodes []*node
	for i := range 3 {
		out, err := exec.Command(bin, "gen-seed").Output()
		if err != nil {
			t.Fatal(err)
		}
		var seed, public string
		for line := range strings.SplitSeq(string(out), "\n") {
			if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, "Secret seed") {
				seed = f[len(f)-1]
			} else if len(f) > 0 && strings.HasPrefix(line, "Public") {
				public = f[len(f)-1]
			}
		}
		port := int32(31625 + 10*i)
		spec := &stellarv1alpha1.StellarNode{
			ObjectMeta: metav1.ObjectMeta{Namespace: "stellar", Name: fmt.Sprintf("validator-%d", i+1)},
			Spec: stellarv1alpha1.StellarNodeSpec{
				NodeType: stellarv1alpha1.NodeTypeValidator, Network: stellarv1alpha1.NetworkCustom,
				CustomNetworkPassphrase: "stellar-operator consensus test ; 2026", Version: coreRelease,
				ValidatorConfig: &stellarv1alpha1.ValidatorConfig{
					SeedSecretRef: "seed", PeerPort: port, HTTPPort: port + 1, PublicKey: public, HomeDomain: "example.org",
					Quorum:          &stellarv1alpha1.QuorumSpec{Quality: stellarv1alpha1.QualityMedium},
					ProtocolVersion: new(coreProfile.MaxProtocol()),
					// Nothing serves it: a new network never catches up. Loopback only.
					HistoryArchiveURLs: []string{"http://127.0.0.1:9/archive"},
					// These validators publish no archive, which stellar-core calls unsafe unless told.
					AllowUnsafeQuorum: true,
					History:           &stellarv1alpha1.HistorySpec{Publish: new(false)},
				},
			},
		}
		nodes = append(nodes, &node{spec: spec, seed: seed, dir: t.TempDir()})
	}
	return nodes
}

// stellarPeers is what peer discovery publishes of the nodes, their addresses on loopback.
func stellarPeers(nodes []*node) peers.Document {
	var doc peers.Document
	for _, n := range nodes {
		p := resources.PeerOf(n.spec, "cluster.local")
		p.DNSName, p.PodIP = "127.0.0.1", "127.0.0.1"
		doc.Peers = append(doc.Peers, p)
	}
	return doc
}

// renderAndInit runs the pod's init step (render-config) on the node's base configuration and
// stellar-peers, moves the data paths into the node's directory, and creates its database.
func renderAndInit(t *testing.T, bin string, n *node, doc peers.Document) {
	renderForLoopback(t, n, doc, false)
	if out, err := exec.Command(bin, "new-db", "--conf", filepath.Join(n.dir, "stellar-core.cfg")).CombinedOutput(); err != nil {
		t.Fatalf("%s: new-db: %v\n%s", n.spec.Name, err, out)
	}
}

func start(t *testing.T, bin string, n *node) {
	t.Helper()
	log, err := os.OpenFile(filepath.Join(n.dir, "run.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bin, "run", "--conf", filepath.Join(n.dir, "stellar-core.cfg"))
	n.cmd.Dir, n.cmd.Stdout, n.cmd.Stderr = n.dir, log, log
	if err := n.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// stop ends the node's process, gently first.
func stop(n *node) {
	if n.cmd == nil || n.cmd.Process == nil {
		return
	}
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = n.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		_ = n.cmd.Process.Kill()
		<-done
	}
	n.cmd = nil
}

// admin asks the node's admin port, on 127.0.0.1.
func admin(n *node, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	url := fmt.Sprintf("http://127.0.0.1:%d/%s", n.spec.HTTPPort(), path)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	return buf.Bytes(), err
}

// waitFor polls cond every second until it holds; the limit only stops a test that would never end.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(limit)
	var err error
	for time.Now().Before(deadline) {
		if err = cond(); err == nil {
			return
		}
		time.Sleep(time.Second)
	}
	t.Fatalf("%s: not within %s: %v", what, limit, err)
}
