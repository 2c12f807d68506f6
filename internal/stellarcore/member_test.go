package stellarcore_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/BurntSushi/toml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
	"github.com/stellar-k8s/stellar-operator/internal/strkey"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// TestLocalMemberEntryIsWhatPeersRead is the restart test of a validator of this namespace: for every
// field of the Peer it publishes (resources.PeerOf), a change of its StellarNode that changes that
// field changes its peers' membership hash (peers.MemberOf, which restarts them) exactly when it
// changes what their stellar-core reads only at start. A field added to peers.Peer fails here until
// it has a change below or a reason it has none; a field the member entry forgets fails the
// comparison.
func TestLocalMemberEntryIsWhatPeersRead(t *testing.T) {
	const ns, domain = "tier1", "cluster.local"
	seed := strkey.Encode(strkey.VersionSeed, append(make([]byte, 31), 7))
	readerKey, err := stellarcore.PublicKeyOfSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	member := func(name, key string) *stellarv1alpha1.StellarNode {
		n := fixture.Validator(ns, name, fixture.InOrganisation("example.org", key,
			&stellarv1alpha1.QuorumSpec{Quality: stellarv1alpha1.QualityHigh}), fixture.OnNetwork(stellarv1alpha1.NetworkCustom))
		n.Spec.CustomNetworkPassphrase = "Example Private Network ; 2026"
		n.Spec.ValidatorConfig.HistoryArchiveURLs = []string{"https://archive.example.org/private"}
		n.Spec.ValidatorConfig.AllowUnsafeQuorum = true
		return n
	}
	reader, second := member("v1", readerKey), member("v2", fixture.OrgKeys[1])
	profile, err := stellarcore.ProfileFor(reader.Spec.Version)
	if err != nil {
		t.Fatal(err)
	}
	base, err := stellarcore.BaseConfig(reader, profile)
	if err != nil {
		t.Fatal(err)
	}
	// startsWith is what the reader's stellar-core reads at start with the third member as given,
	// and the reader's membership hash.
	startsWith := func(third *stellarv1alpha1.StellarNode) (quorum, hash string) {
		t.Helper()
		nodes := []*stellarv1alpha1.StellarNode{reader, second, third}
		var doc peers.Document
		for i, n := range nodes {
			p := resources.PeerOf(n, domain)
			p.PodIP = fmt.Sprintf("198.18.0.%d", i+1)
			doc.Peers = append(doc.Peers, p)
		}
		out, err := stellarcore.Render(base, stellarcore.RenderInput{Profile: profile, Seed: seed, NodeName: reader.Name,
			PodIP: "198.18.0.1", NetworkID: reader.NetworkID(), Discovered: doc, QuorumFromPeers: true})
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if _, err := toml.Decode(out, &cfg); err != nil {
			t.Fatal(err)
		}
		h, _ := peers.NewIndex(nodes, nil).Membership(reader)
		return fmt.Sprint(cfg["VALIDATORS"], cfg["HOME_DOMAINS"], cfg["QUORUM_SET"]), h
	}

	// Changes of the third member's StellarNode, by the Peer field each one changes.
	changes := map[string][]func(*stellarv1alpha1.StellarNode){
		"Name": {func(n *stellarv1alpha1.StellarNode) { n.Name = "v3b" }},
		"Network": {func(n *stellarv1alpha1.StellarNode) {
			n.Spec.Network, n.Spec.CustomNetworkPassphrase, n.Spec.ValidatorConfig.HistoryArchiveURLs = stellarv1alpha1.NetworkTestnet, "", nil
		}},
		"NetworkID": {func(n *stellarv1alpha1.StellarNode) {
			n.Spec.CustomNetworkPassphrase = "Another Private Network ; 2026"
		}},
		"Port":      {func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.PeerPort = 11725 }},
		"PublicKey": {func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.PublicKey = fixture.OrgKeys[3] }},
		"HomeDomain": {func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.HomeDomain = "other.example.org"
		}},
		"Quality": {func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.Quorum.Quality = stellarv1alpha1.QualityMedium
		}},
		// A validator of a Custom network publishes its own archive unless told not to.
		"History": {
			func(n *stellarv1alpha1.StellarNode) {
				n.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Publish: new(false)}
			},
			func(n *stellarv1alpha1.StellarNode) {
				fixture.PublishingHistory("")(n)
				n.Spec.ValidatorConfig.History.Port = 11700
			},
			func(n *stellarv1alpha1.StellarNode) {
				fixture.PublishingHistory("")(n)
				n.Spec.ValidatorConfig.History.ObjectStorage = &stellarv1alpha1.ObjectStorageArchive{URL: "https://bucket.example.org/v3"}
			},
		},
	}
	// Fields no change of the StellarNode sets by itself.
	without := map[string]string{
		"PodName":   "follows from Name",
		"DNSName":   "follows from Name and namespace",
		"PodIP":     "the pod's, never the spec's; a recreated pod restarts no peer",
		"Cluster":   "empty for a validator of this cluster",
		"Namespace": "empty for a validator of this namespace",
	}
	third := member("v3", fixture.OrgKeys[2])
	quorum, hash := startsWith(third)
	fields := reflect.TypeFor[peers.Peer]()
	for i := range fields.NumField() {
		f := fields.Field(i)
		if _, ok := without[f.Name]; ok {
			continue
		}
		if len(changes[f.Name]) == 0 {
			t.Errorf("peers.Peer.%s is new: give it a change of the StellarNode here, so the restart decision is tested for it", f.Name)
			continue
		}
		for j, change := range changes[f.Name] {
			changed := third.DeepCopy()
			change(changed)
			before, after := reflect.ValueOf(resources.PeerOf(third, domain)).Field(i), reflect.ValueOf(resources.PeerOf(changed, domain)).Field(i)
			if reflect.DeepEqual(before.Interface(), after.Interface()) {
				t.Errorf("change %d of %s leaves the published %s as it was: the test tests nothing", j, f.Name, f.Name)
				continue
			}
			q, h := startsWith(changed)
			switch {
			case q != quorum && h == hash:
				t.Errorf("change %d of %s changed the quorum its peers read at start, not their membership: they would never load it", j, f.Name)
			case q == quorum && h != hash && f.Name != "Quality":
				// Quality is its home domain's: the renderer takes the first member's, so the hash covers
				// every member's, a restart for nothing at worst.
				t.Errorf("change %d of %s changed its peers' membership, not their quorum: a restart for nothing", j, f.Name)
			}
		}
	}
}
