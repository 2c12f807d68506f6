package stellarcore

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/BurntSushi/toml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

// TestRestartHashIsWhatTheQuorumReads pins the restart decision to the renderer: for every field of a
// peer, changing it changes a validator's restart hash exactly when it changes what stellar-core reads
// only at start ([[VALIDATORS]], HOME_DOMAINS, [QUORUM_SET]). A field added to peers.Peer fails here
// until it has an alternative below, and one the renderer writes into the quorum without the hash
// covering it fails the comparison.
func TestRestartHashIsWhatTheQuorumReads(t *testing.T) {
	node, seed, doc := fullOrganisationMember(1)
	profile := profileOf(t, node)
	base, err := BaseConfig(node, profile)
	if err != nil {
		t.Fatal(err)
	}
	// The third member is read from another cluster: the hash sees it as a peer, as the renderer does.
	r := &doc.Peers[2]
	r.Name, r.Cluster, r.PodIP, r.DNSName = r.Name+".tier1.cluster-b", "cluster-b", "", "v3.example.org"
	local, remote := doc.Peers[:2], doc.Peers[2]

	startsWith := func(p peers.Peer) (quorum, hash string) {
		t.Helper()
		d := peers.Document{Peers: append(append([]peers.Peer{}, local...), p)}
		out, err := Render(base, RenderInput{Profile: profile, Seed: seed, NodeName: node.Name, PodIP: "10.0.0.1",
			NetworkID: node.NetworkID(), Discovered: d, QuorumFromPeers: true})
		if err != nil {
			t.Fatal(err)
		}
		var cfg map[string]any
		if _, err := toml.Decode(out, &cfg); err != nil {
			t.Fatal(err)
		}
		// The index takes the members elsewhere once checked, as discovery and the reconciler give them.
		checked, _ := d.Checked()
		var others []peers.Peer
		for _, q := range checked.Peers {
			if q.Remote() {
				others = append(others, q)
			}
		}
		h, _ := peers.NewIndex([]*stellarv1alpha1.StellarNode{node}, others).Membership(node)
		return fmt.Sprint(cfg["VALIDATORS"], cfg["HOME_DOMAINS"], cfg["QUORUM_SET"]), h
	}

	// A valid other value for every field.
	alternatives := map[string]any{
		"Name": remote.Name + "x", "Network": "Testnet", "NetworkID": "another-network", "PodName": "v9-0",
		"PodIP": "10.0.0.9", "Port": remote.Port + 1, "DNSName": "v4.example.org", "PublicKey": pub(9),
		"HomeDomain": "other.example.org", "Quality": string(stellarv1alpha1.QualityMedium),
		"History": "http://v4.example.org:11627", "Cluster": "cluster-c", "Namespace": "",
	}
	quorum, hash := startsWith(remote)
	fields := reflect.TypeFor[peers.Peer]()
	for i := range fields.NumField() {
		f := fields.Field(i)
		alt, ok := alternatives[f.Name]
		if !ok {
			t.Errorf("peers.Peer.%s is new: give it an alternative here, so the restart decision is tested for it", f.Name)
			continue
		}
		changed := remote
		v := reflect.ValueOf(&changed).Elem().Field(i)
		if reflect.DeepEqual(v.Interface(), alt) {
			continue // the remote member's own value: nothing to change
		}
		v.Set(reflect.ValueOf(alt))
		q, h := startsWith(changed)
		switch {
		case q != quorum && h == hash:
			t.Errorf("a peer's %s changed the quorum read at start, not the restart hash: its validators would never load it", f.Name)
		case q == quorum && h != hash && f.Name != "Quality":
			// Quality is its home domain's: the renderer takes the first member's, so the hash covers
			// every member's, a restart for nothing at worst.
			t.Errorf("a peer's %s changed the restart hash, not the quorum: a restart for nothing", f.Name)
		}
	}
}
