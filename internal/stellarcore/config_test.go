package stellarcore

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

var update = flag.Bool("update", false, "rewrite the golden files (make golden)")

const quorumSet = `[QUORUM_SET]
THRESHOLD_PERCENT = 67
VALIDATORS = ["GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y", "GCUCJTIYXSOXKBSNFGNFWW5MUQ54HKRPGJUTQFJ5RQXZXNOLNXYDHRAP", "GC2V2EFSXN6SQTWVYA5EPJPBWWIMSD2XQNKUOHGEKB535AQE2I6IXV2Z"]
`

func testValidator(name string, network stellarv1alpha1.Network) *stellarv1alpha1.StellarNode {
	return &stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Namespace: "stellar", Name: name},
		Spec: stellarv1alpha1.StellarNodeSpec{
			NodeType: stellarv1alpha1.NodeTypeValidator, Network: network, Version: "22.1.0",
			ValidatorConfig: &stellarv1alpha1.ValidatorConfig{SeedSecretRef: name + "-seed"},
		},
	}
}

func discovered(self *stellarv1alpha1.StellarNode) peers.Document {
	other := testValidator("other-net", stellarv1alpha1.NetworkMainnet)
	return peers.Document{Peers: []peers.Peer{
		{Name: "validator-1", Network: "Testnet", NetworkID: self.NetworkID(), PodName: "validator-1-0", PodIP: "10.244.0.5", Port: 11625,
			DNSName: "validator-1-0.validator-1-headless.stellar.svc.cluster.local"},
		{Name: "validator-2", Network: "Testnet", NetworkID: self.NetworkID(), PodName: "validator-2-0", PodIP: "10.244.1.7", Port: 11625,
			DNSName: "validator-2-0.validator-2-headless.stellar.svc.cluster.local"},
		{Name: "validator-3", Network: "Testnet", NetworkID: self.NetworkID(), PodName: "validator-3-0", Port: 11625,
			DNSName: "validator-3-0.validator-3-headless.stellar.svc.cluster.local"},
		{Name: "other-net", Network: "Mainnet", NetworkID: other.NetworkID(), PodName: "other-net-0", PodIP: "10.244.2.9", Port: 11625,
			DNSName: "other-net-0.other-net-headless.stellar.svc.cluster.local"},
	}}
}

func TestGolden(t *testing.T) {
	full := testValidator("validator-1", stellarv1alpha1.NetworkTestnet)
	full.Spec.ValidatorConfig.HomeDomain = "example.org"
	full.Spec.ValidatorConfig.QuorumSet = quorumSet
	full.Spec.ValidatorConfig.KnownPeers = []string{"core-testnet1.stellar.org:11625"}
	full.Spec.ValidatorConfig.CatchupComplete = true

	custom := testValidator("custom", stellarv1alpha1.NetworkCustom)
	custom.Spec.CustomNetworkPassphrase = "Example Private Network ; 2026"
	custom.Spec.ValidatorConfig.PeerPort = 21625
	custom.Spec.ValidatorConfig.HTTPPort = 21626

	cases := map[string]struct {
		node     *stellarv1alpha1.StellarNode
		withSeed bool
	}{
		"base-minimal":   {node: testValidator("validator-1", stellarv1alpha1.NetworkTestnet)},
		"base-full":      {node: full},
		"base-custom":    {node: custom},
		"rendered-full":  {node: full, withSeed: true},
		"rendered-alone": {node: custom, withSeed: true},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			out, err := BaseConfig(c.node)
			if err != nil {
				t.Fatal(err)
			}
			if c.withSeed {
				doc := discovered(c.node)
				if c.node.Spec.Network == stellarv1alpha1.NetworkCustom {
					doc = peers.Document{}
				}
				out, err = Render(out, RenderInput{Seed: "SEXAMPLESEEDFORTESTSONLY", NodeName: c.node.Name, PodIP: "10.244.0.5",
					NetworkID: c.node.NetworkID(), Discovered: doc})
				if err != nil {
					t.Fatal(err)
				}
			}
			checkWellFormed(t, out)
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run make golden)", err)
			}
			if string(want) != out {
				t.Errorf("%s differs from the golden file (run make golden and review the diff):\n%s", name, out)
			}
		})
	}
}

// checkWellFormed parses a rendered file back: every top-level key before the first table, with its type.
func checkWellFormed(t *testing.T, text string) {
	t.Helper()
	var cfg map[string]any
	if _, err := toml.Decode(text, &cfg); err != nil {
		t.Fatalf("not TOML: %v\n%s", err, text)
	}
	seenTable := false
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "["):
			seenTable = true
		case seenTable && strings.Contains(line, "=") && !strings.HasPrefix(line, "#"):
			key := strings.TrimSpace(strings.SplitN(line, "=", 2)[0])
			if _, topLevel := cfg[key]; topLevel && key != "THRESHOLD_PERCENT" && key != "VALIDATORS" && key != "get" && key != "HOME_DOMAIN" && key != "QUALITY" {
				t.Errorf("top-level key %s written after a table", key)
			}
		}
	}
	for key, want := range map[string]string{"PEER_PORT": "int64", "HTTP_PORT": "int64", "PUBLIC_HTTP_PORT": "bool",
		"NODE_IS_VALIDATOR": "bool", "NETWORK_PASSPHRASE": "string", "DATABASE": "string"} {
		if got := typeName(cfg[key]); got != want {
			t.Errorf("%s is %s, want %s", key, got, want)
		}
	}
	if cfg["PUBLIC_HTTP_PORT"] != false {
		t.Error("PUBLIC_HTTP_PORT must be false: the admin port exposes stop")
	}
}

func typeName(v any) string {
	switch v.(type) {
	case int64:
		return "int64"
	case bool:
		return "bool"
	case string:
		return "string"
	default:
		return "missing"
	}
}

func TestRenderPeers(t *testing.T) {
	self := testValidator("validator-1", stellarv1alpha1.NetworkTestnet)
	self.Spec.ValidatorConfig.KnownPeers = []string{"core-testnet1.stellar.org:11625"}
	base, err := BaseConfig(self)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Render(base, RenderInput{Seed: "SSEED", NodeName: "validator-1", NetworkID: self.NetworkID(), Discovered: discovered(self)})
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		NodeSeed       string   `toml:"NODE_SEED"`
		KnownPeers     []string `toml:"KNOWN_PEERS"`
		PreferredPeers []string `toml:"PREFERRED_PEERS"`
	}
	if _, err := toml.Decode(out, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.NodeSeed != "SSEED" {
		t.Errorf("NODE_SEED = %q", cfg.NodeSeed)
	}
	wantKnown := []string{"core-testnet1.stellar.org:11625", "10.244.1.7:11625"}
	if strings.Join(cfg.KnownPeers, ",") != strings.Join(wantKnown, ",") {
		t.Errorf("KNOWN_PEERS = %v, want %v (static first, itself, unready and other networks left out)", cfg.KnownPeers, wantKnown)
	}
	wantPreferred := []string{
		"validator-2-0.validator-2-headless.stellar.svc.cluster.local:11625",
		"validator-3-0.validator-3-headless.stellar.svc.cluster.local:11625",
	}
	if strings.Join(cfg.PreferredPeers, ",") != strings.Join(wantPreferred, ",") {
		t.Errorf("PREFERRED_PEERS = %v, want %v", cfg.PreferredPeers, wantPreferred)
	}
	again, _ := Render(base, RenderInput{Seed: "SSEED", NodeName: "validator-1", NetworkID: self.NetworkID(), Discovered: discovered(self)})
	if again != out {
		t.Error("rendering is not deterministic")
	}
}

func TestRenderRefusesEmptySeed(t *testing.T) {
	base, _ := BaseConfig(testValidator("v", stellarv1alpha1.NetworkTestnet))
	if _, err := Render(base, RenderInput{NodeName: "v"}); err == nil {
		t.Fatal("an empty seed must be an error")
	}
}

func TestBaseConfigRejectsBadQuorumSet(t *testing.T) {
	for name, text := range map[string]string{
		"not TOML":          "[QUORUM_SET\nTHRESHOLD_PERCENT = 67",
		"other section":     "[HISTORY.x]\nget = \"curl\"\n",
		"extra top key":     "NODE_SEED = \"S\"\n[QUORUM_SET]\nTHRESHOLD_PERCENT = 67\n",
		"missing threshold": "[QUORUM_SET]\nVALIDATORS = []\n",
	} {
		t.Run(name, func(t *testing.T) {
			n := testValidator("v", stellarv1alpha1.NetworkTestnet)
			n.Spec.ValidatorConfig.QuorumSet = text
			_, err := BaseConfig(n)
			if _, ok := errors.AsType[*QuorumSetError](err); !ok {
				t.Fatalf("err = %v, want a QuorumSetError", err)
			}
		})
	}
}
