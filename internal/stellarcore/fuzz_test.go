package stellarcore

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// writtenOnPurpose are the top-level keys the operator writes; the file may hold no other.
var writtenOnPurpose = map[string]bool{
	"LOG_FILE_PATH": true, "NETWORK_PASSPHRASE": true, "PEER_PORT": true, "HTTP_PORT": true, "PUBLIC_HTTP_PORT": true,
	"NODE_IS_VALIDATOR": true, "DATABASE": true, "BUCKET_DIR_PATH": true, "CATCHUP_COMPLETE": true, "KNOWN_PEERS": true,
	"PREFERRED_PEERS": true, "NODE_HOME_DOMAIN": true, "HOME_DOMAINS": true, "VALIDATORS": true, "UNSAFE_QUORUM": true,
	"HISTORY": true, "QUORUM_SET": true, "NODE_SEED": true, "COMMANDS": true, keyDeprecatedSQLLedgerState: true, keyNTPServer: true,
}

// FuzzRenderPath follows a validator's values from its spec (what the API server admits) and a
// stellar-peers entry (which anyone who may update ConfigMaps can write) through BaseConfig and
// Render to the final file, and holds the invariants: the file parses; it has no key or table that
// was not written on purpose; every archive command gives stellar-core exactly the argv meant; no
// peer entry that breaks the grammar reaches it; and what Check accepts keeps all of these.
func FuzzRenderPath(f *testing.F) {
	f.Add("https://history.example.org/core", "validator-2", "validator-2-0.validator-2-headless.stellar.svc.cluster.local",
		"http://validator-2-0.validator-2-headless.stellar.svc.cluster.local:11627", "example.org", "10.244.0.2")
	f.Add("http://127.0.0.1:1/x\v--data-binary\v@/etc/stellar/rendered/stellar-core.cfg\v-H\vx:", "b", "b", "http://b", "example.org", "10.0.0.2")
	f.Add("https://h/x", "b", "b-0.b", "http://127.0.0.1:1/x\v--data-binary\v@/etc/stellar/rendered/stellar-core.cfg", "example.org", "10.0.0.2")
	f.Add("https://h/x", "b\"\n[HISTORY.evil]\nget = \"sh", "b", "http://b/{2}", "example.org", "10.0.0.2")
	f.Add("https://h/(x)", "b", "b\nNODE_SEED = \"x\"", "http://b", "exa mple.org", "10.0.0.2 -x")
	f.Add("https://h/x", "b", "b", "http://b/x$(id)", "example.org\u00a0", "::1")
	f.Fuzz(func(t *testing.T, archiveURL, peerName, peerDNS, peerHistory, peerHome, peerIP string) {
		if stellarv1alpha1.ValidURL("url", archiveURL) != nil {
			return // the API server refuses it
		}
		profile := Newest()
		node := testValidator("validator-1", stellarv1alpha1.NetworkTestnet)
		vc := node.Spec.ValidatorConfig
		vc.HomeDomain, vc.PublicKey, vc.Quorum, vc.AllowUnsafeQuorum = "example.org", pub(1), &stellarv1alpha1.QuorumSpec{}, true
		vc.HistoryArchiveURLs = []string{archiveURL}
		base, err := BaseConfig(node, profile)
		if err != nil {
			t.Fatal(err)
		}
		peer := peers.Peer{Name: peerName, NetworkID: node.NetworkID(), DNSName: peerDNS, PodIP: peerIP, Port: 11625,
			PublicKey: pub(2), HomeDomain: peerHome, Quality: "MEDIUM", History: peerHistory}
		seed, _ := testKey(1)
		rendered, err := Render(base, RenderInput{Profile: profile, Seed: seed, NodeName: node.Name, NetworkID: node.NetworkID(),
			Discovered: peers.Document{Peers: []peers.Peer{peer}}, QuorumFromPeers: true})
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if _, err := toml.Decode(rendered, &cfg); err != nil {
			t.Fatalf("the file does not parse: %v\n%s", err, rendered)
		}
		for k := range cfg {
			if !writtenOnPurpose[k] {
				t.Fatalf("key %q was not written on purpose:\n%s", k, rendered)
			}
		}
		history, _ := cfg[keyHistory].(map[string]any)
		for name, table := range history {
			if name != "archive0" {
				t.Fatalf("archive %q was not written on purpose", name)
			}
			for _, cmd := range table.(map[string]any) {
				if err := ArchiveCommand(cmd.(string)); err != nil {
					t.Fatalf("archive command: %v", err)
				}
			}
		}
		entries := tableArray(cfg["VALIDATORS"])
		if peer.Validate() != nil && len(entries) > 0 {
			t.Fatalf("a peer entry that breaks the grammar was written: %+v\n%s", peer, rendered)
		}
		for _, e := range entries {
			if h, ok := e[keyHistory].(string); ok {
				if err := ArchiveCommand(h); err != nil {
					t.Fatalf("peer HISTORY: %v", err)
				}
			}
		}
		if err := Check(rendered, CheckOptions{Profile: profile}); err == nil && strings.Contains(rendered, "\v") {
			t.Fatalf("Check accepted a vertical tab:\n%s", rendered)
		}
	})
}
