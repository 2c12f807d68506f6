package stellarcore

import (
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

var update = flag.Bool("update", false, "rewrite the golden files (make golden)")

// newestVersion is a release of the newest line: fixtures run what users run today.
var newestVersion = Newest().Line[1:] + ".0"

// profileOf is the profile of a node's version.
func profileOf(t *testing.T, node *stellarv1alpha1.StellarNode) Profile {
	t.Helper()
	p, err := ProfileFor(node.Spec.Version)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// quorumSet4 is a raw quorum set of four keys that stellar-core finds safe.
var quorumSet4 = fmt.Sprintf("[QUORUM_SET]\nTHRESHOLD_PERCENT = 67\nVALIDATORS = [%q, %q, %q, %q]\n", pub(2), pub(3), pub(4), pub(5))

func testValidator(name string, network stellarv1alpha1.Network) *stellarv1alpha1.StellarNode {
	return &stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Namespace: "stellar", Name: name},
		Spec: stellarv1alpha1.StellarNodeSpec{
			NodeType: stellarv1alpha1.NodeTypeValidator, Network: network, Version: newestVersion,
			ValidatorConfig: &stellarv1alpha1.ValidatorConfig{SeedSecretRef: name + "-seed"},
		},
	}
}

// sdfTestnet are SDF's Testnet validators, as a Testnet organisation lists them.
func sdfTestnet() *stellarv1alpha1.QuorumSpec {
	q := &stellarv1alpha1.QuorumSpec{
		HomeDomains: []stellarv1alpha1.QuorumHomeDomain{{HomeDomain: "testnet.stellar.org", Quality: stellarv1alpha1.QualityHigh}},
	}
	for i, key := range []string{"GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y",
		"GCUCJTIYXSOXKBSNFGNFWW5MUQ54HKRPGJUTQFJ5RQXZXNOLNXYDHRAP", "GC2V2EFSXN6SQTWVYA5EPJPBWWIMSD2XQNKUOHGEKB535AQE2I6IXV2Z"} {
		n := i + 1
		q.Validators = append(q.Validators, stellarv1alpha1.ExternalValidator{
			Name: fmt.Sprintf("sdf_testnet_%d", n), HomeDomain: "testnet.stellar.org", PublicKey: key,
			Address:           fmt.Sprintf("core-testnet%d.stellar.org:11625", n),
			HistoryArchiveURL: fmt.Sprintf("https://history.stellar.org/prd/core-testnet/core_testnet_00%d", n),
		})
	}
	return q
}

// organisationMember is validator number self of an organisation of size validators on the network, each
// with its key (testKey(i)), structured quorum, and what stellar-peers says of the others.
func organisationMember(size int, self int, network stellarv1alpha1.Network, quorum *stellarv1alpha1.QuorumSpec) (*stellarv1alpha1.StellarNode, string, peers.Document) {
	var node *stellarv1alpha1.StellarNode
	var doc peers.Document
	for i := 1; i <= size; i++ {
		n := testValidator(fmt.Sprintf("validator-%d", i), network)
		if network == stellarv1alpha1.NetworkCustom {
			n.Spec.CustomNetworkPassphrase = "Example Private Network ; 2026"
			n.Spec.ValidatorConfig.HistoryArchiveURLs = []string{"https://archive.example.org/private"}
		}
		n.Spec.ValidatorConfig.HomeDomain = "example.org"
		n.Spec.ValidatorConfig.PublicKey = pub(byte(i))
		n.Spec.ValidatorConfig.Quorum = quorum.DeepCopy()
		n.Spec.ValidatorConfig.AllowUnsafeQuorum = true
		p := peers.Peer{Name: n.Name, Network: string(network), NetworkID: n.NetworkID(), PodName: n.Name + "-0",
			PodIP: fmt.Sprintf("10.244.0.%d", i), Port: 11625, DNSName: n.Name + "-0." + n.Name + "-headless.stellar.svc.cluster.local",
			PublicKey: pub(byte(i)), HomeDomain: "example.org", Quality: "MEDIUM"}
		doc.Peers = append(doc.Peers, p)
		if i == self {
			node = n
		}
	}
	seed, _ := testKey(byte(self))
	return node, seed, doc
}

func TestGolden(t *testing.T) {
	raw := testValidator("validator-1", stellarv1alpha1.NetworkTestnet)
	raw.Spec.ValidatorConfig.HomeDomain = "example.org"
	raw.Spec.ValidatorConfig.QuorumSet = quorumSet4
	raw.Spec.ValidatorConfig.KnownPeers = []string{"core-testnet1.stellar.org:11625"}
	raw.Spec.ValidatorConfig.CatchupComplete = true
	rawSeed, _ := testKey(9)

	dev, devSeed, _ := organisationMember(1, 1, stellarv1alpha1.NetworkCustom, &stellarv1alpha1.QuorumSpec{})
	org3, org3Seed, org3Peers := organisationMember(3, 1, stellarv1alpha1.NetworkTestnet, sdfTestnet())
	org4, org4Seed, org4Peers := organisationMember(4, 2, stellarv1alpha1.NetworkTestnet, sdfTestnet())
	alone, aloneSeed, _ := organisationMember(1, 1, stellarv1alpha1.NetworkTestnet, sdfTestnet())
	publishing, publishingSeed, publishingPeers := organisationMember(3, 1, stellarv1alpha1.NetworkTestnet, sdfTestnet())
	publishing.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Publish: new(true)}

	cases := map[string]struct {
		node *stellarv1alpha1.StellarNode
		seed string
		doc  peers.Document
	}{
		"raw-quorumset":          {node: raw, seed: rawSeed, doc: discovered(raw)},
		"custom-dev-1":           {node: dev, seed: devSeed},
		"testnet-organisation-3": {node: org3, seed: org3Seed, doc: org3Peers},
		"testnet-organisation-4": {node: org4, seed: org4Seed, doc: org4Peers},
		"testnet-with-sdf":       {node: alone, seed: aloneSeed},
		"testnet-publishing":     {node: publishing, seed: publishingSeed, doc: publishingPeers},
	}
	for i := 1; i <= 3; i++ {
		node, seed, doc := fullOrganisationMember(i)
		cases[fmt.Sprintf("custom-full-organisation-%d", i)] = struct {
			node *stellarv1alpha1.StellarNode
			seed string
			doc  peers.Document
		}{node, seed, doc}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			profile := profileOf(t, c.node)
			base, err := BaseConfig(c.node, profile)
			if err != nil {
				t.Fatal(err)
			}
			in := RenderInput{Profile: profile, Seed: c.seed, NodeName: c.node.Name, PodIP: "10.244.0.99",
				NetworkID: c.node.NetworkID(), Discovered: c.doc, QuorumFromPeers: c.node.QuorumFromCluster()}
			rendered, err := Render(base, in)
			if err != nil {
				t.Fatal(err)
			}
			for suffix, out := range map[string]string{"base": base, "rendered": rendered} {
				// A base of an organisation whose quorum comes from the cluster names none of its peers yet:
				// stellar-core's rules apply to what the pod renders from it.
				rules := suffix == "rendered" || !c.node.QuorumFromCluster() || c.node.QuorumQuality() != stellarv1alpha1.QualityHigh
				checkWellFormed(t, profile, out, c.node.Spec.ValidatorConfig.PublicKey, rules)
				compareGolden(t, filepath.Join("testdata", name+"."+suffix+".golden"), out)
			}
			if self := c.node.Spec.ValidatorConfig.PublicKey; self != "" && strings.Contains(rendered, `PUBLIC_KEY = "`+self+`"`) {
				t.Error("a validator never lists itself")
			}
		})
	}
}

// fullOrganisationMember is validator number self of a Tier-1-style organisation of three Full
// validators on a Custom network: HIGH quality, no archive but their own local ones, nothing unsafe,
// and what stellar-peers says of the others (their archive servers included).
func fullOrganisationMember(self int) (*stellarv1alpha1.StellarNode, string, peers.Document) {
	node, seed, doc := organisationMember(3, self, stellarv1alpha1.NetworkCustom, &stellarv1alpha1.QuorumSpec{Quality: stellarv1alpha1.QualityHigh})
	vc := node.Spec.ValidatorConfig
	vc.HistoryArchiveURLs, vc.AllowUnsafeQuorum, vc.ProtocolVersion = nil, false, new(int32(22))
	for i := range doc.Peers {
		doc.Peers[i].Quality = string(stellarv1alpha1.QualityHigh)
		doc.Peers[i].History = "http://" + doc.Peers[i].DNSName + ":11627"
	}
	return node, seed, doc
}

// checkWellFormed parses a rendered file back: every top-level key before the first table, with its
// type, and stellar-core's rules all kept (self is the node's key, for a file without its seed).
func checkWellFormed(t *testing.T, profile Profile, text, self string, rules bool) {
	t.Helper()
	if err := Check(text, CheckOptions{Profile: profile, SelfKey: self}); rules && err != nil {
		t.Errorf("%v\n%s", err, text)
	}
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
			if _, topLevel := cfg[key]; topLevel && !slices.Contains([]string{"THRESHOLD_PERCENT", "VALIDATORS", "get", "put", "mkdir", "HOME_DOMAIN", "QUALITY", "NAME", "PUBLIC_KEY", "ADDRESS", "HISTORY"}, key) {
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
	self.Spec.ValidatorConfig.QuorumSet = quorumSet4
	profile := profileOf(t, self)
	base, err := BaseConfig(self, profile)
	if err != nil {
		t.Fatal(err)
	}
	seed, _ := testKey(9)
	out, err := Render(base, RenderInput{Profile: profile, Seed: seed, NodeName: "validator-1", NetworkID: self.NetworkID(), Discovered: discovered(self)})
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
	checkWellFormed(t, profile, out, "", true)
	if cfg.NodeSeed != seed {
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
	again, _ := Render(base, RenderInput{Profile: profile, Seed: seed, NodeName: "validator-1", NetworkID: self.NetworkID(), Discovered: discovered(self)})
	if again != out {
		t.Error("rendering is not deterministic")
	}
}

func TestRenderRefusesEmptySeed(t *testing.T) {
	base, _ := BaseConfig(testValidator("v", stellarv1alpha1.NetworkTestnet), Newest())
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
			_, err := BaseConfig(n, Newest())
			if _, ok := errors.AsType[*QuorumSetError](err); !ok {
				t.Fatalf("err = %v, want a QuorumSetError", err)
			}
		})
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

// TestRenderMembersOfOtherClusters: a member read from another cluster is in [[VALIDATORS]] and
// PREFERRED_PEERS at its advertised address, never in KNOWN_PEERS (it has no pod IP here); and a
// pod IP shared with the node (validators on one host, as in the real-binary tests) keeps a member
// out of the addresses only, never out of the quorum.
func TestRenderMembersOfOtherClusters(t *testing.T) {
	var remote peers.Peer
	cfg := renderMemberWith(t, func(_ *stellarv1alpha1.StellarNode, doc *peers.Document) {
		for i := range doc.Peers {
			doc.Peers[i].PodIP = "10.0.0.1"
		}
		// The third member lives in another cluster now.
		r := &doc.Peers[2]
		r.Name, r.Cluster, r.PodIP, r.DNSName = r.Name+".tier1.cluster-b", "cluster-b", "", "v3.example.org"
		remote = *r
	})
	var names, addresses []string
	for _, v := range cfg.Validators {
		names, addresses = append(names, v.Name), append(addresses, v.Address)
	}
	if len(names) != 2 || names[1] != remote.Name || addresses[1] != "v3.example.org:11625" {
		t.Errorf("[[VALIDATORS]] = %v at %v, want the other local member and %s at v3.example.org:11625", names, addresses, remote.Name)
	}
	if !slices.Contains(cfg.PreferredPeers, "v3.example.org:11625") {
		t.Errorf("PREFERRED_PEERS = %v, want the remote member's advertised address", cfg.PreferredPeers)
	}
	for _, k := range cfg.KnownPeers {
		if strings.HasPrefix(k, "10.0.0.1:") || strings.HasPrefix(k, "v3.") {
			t.Errorf("KNOWN_PEERS = %v: the node's own pod IP or a remote member", cfg.KnownPeers)
		}
	}
}

// TestRenderMembersOfOtherNamespaces: a member of another namespace of the scope that bears the
// node's own name there ("<name>.<namespace>") is another validator: in [[VALIDATORS]], and dialled
// at its pod IP and stable name like a member of the node's namespace.
func TestRenderMembersOfOtherNamespaces(t *testing.T) {
	var third, self string
	cfg := renderMemberWith(t, func(node *stellarv1alpha1.StellarNode, doc *peers.Document) {
		// The third member is the node's namesake in namespace "b".
		p := &doc.Peers[2]
		*p = peers.Neighbour(*p, "b")
		p.Name, p.PodIP = node.Name+".b", "10.0.0.3"
		p.DNSName = strings.Replace(p.DNSName, "."+node.Namespace+".", ".b.", 1)
		third, self = p.Name, node.Name
	})
	var names []string
	for _, v := range cfg.Validators {
		names = append(names, v.Name)
	}
	if !slices.Contains(names, third) || slices.Contains(names, self) || len(names) != 2 {
		t.Errorf("[[VALIDATORS]] = %v: want the other member of the namespace and %s, never the node", names, third)
	}
	if !slices.Contains(cfg.KnownPeers, "10.0.0.3:11625") {
		t.Errorf("KNOWN_PEERS = %v, want the neighbour's pod IP", cfg.KnownPeers)
	}
}

// renderedPeers is what the rendered file of member 1 of an organisation of three says of its peers,
// after change edits the stellar-peers document; the file is checked by the release line's rules.
type renderedPeers struct {
	KnownPeers     []string `toml:"KNOWN_PEERS"`
	PreferredPeers []string `toml:"PREFERRED_PEERS"`
	Validators     []struct {
		Name    string `toml:"NAME"`
		Address string `toml:"ADDRESS"`
	} `toml:"VALIDATORS"`
}

func renderMemberWith(t *testing.T, change func(node *stellarv1alpha1.StellarNode, doc *peers.Document)) renderedPeers {
	t.Helper()
	node, seed, doc := fullOrganisationMember(1)
	profile := profileOf(t, node)
	base, err := BaseConfig(node, profile)
	if err != nil {
		t.Fatal(err)
	}
	change(node, &doc)
	out, err := Render(base, RenderInput{Profile: profile, Seed: seed, NodeName: node.Name, PodIP: "10.0.0.1",
		NetworkID: node.NetworkID(), Discovered: doc, QuorumFromPeers: true})
	if err != nil {
		t.Fatal(err)
	}
	checkWellFormed(t, profile, out, "", true)
	var cfg renderedPeers
	if _, err := toml.Decode(out, &cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}
