package stellarcore

import (
	"reflect"
	"testing"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

func TestFingerprintChangesWithEveryInputOfTheCheck(t *testing.T) {
	profile, err := ProfileFor("27.1.0")
	if err != nil {
		t.Fatal(err)
	}
	older, err := ProfileFor("22.1.0")
	if err != nil {
		t.Fatal(err)
	}
	peer := peers.Peer{Name: "b", Network: "testnet", NetworkID: "n", PodName: "b-0", PodIP: "10.0.0.2", Port: 11625,
		DNSName: "b.ns.svc.cluster.local", PublicKey: "GB", HomeDomain: "example.org", Quality: "HIGH",
		History: "http://b/", Cluster: "c", Namespace: "ns2"}
	in := RenderInput{Profile: profile, NodeName: "a", NetworkID: "n", Discovered: peers.Document{Peers: []peers.Peer{peer}}}
	opts := CheckOptions{Profile: profile, SelfKey: "GA"}
	base := "NETWORK_PASSPHRASE=\"x\"\n"
	same := Fingerprint(base, in, opts, "25")
	if same != Fingerprint(base, in, opts, "25") {
		t.Fatal("the same inputs must give the same fingerprint")
	}
	if FingerprintWith(PeersDigest(in.Discovered), base, in, opts, "25") != same {
		t.Fatal("a fingerprint with its peers' digest computed beforehand differs")
	}
	changed := map[string]string{}
	mutate := func(what string, base string, in RenderInput, opts CheckOptions, extra string) {
		changed[what] = Fingerprint(base, in, opts, extra)
	}
	mutate("base", base+"HTTP_PORT=11626\n", in, opts, "25")
	mutate("extra", base, in, opts, "26")
	mutate("self key", base, in, CheckOptions{Profile: profile, SelfKey: "GC"}, "25")
	mutate("check's line", base, in, CheckOptions{Profile: older, SelfKey: "GA"}, "25")
	for what, edit := range map[string]func(*RenderInput){
		"render's line":     func(i *RenderInput) { i.Profile = older },
		"node name":         func(i *RenderInput) { i.NodeName = "z" },
		"pod IP":            func(i *RenderInput) { i.PodIP = "10.0.0.1" },
		"network":           func(i *RenderInput) { i.NetworkID = "m" },
		"quorum from peers": func(i *RenderInput) { i.QuorumFromPeers = true },
		"a peer more":       func(i *RenderInput) { i.Discovered.Peers = append(i.Discovered.Peers, peer) },
	} {
		c := in
		c.Discovered.Peers = append([]peers.Peer(nil), in.Discovered.Peers...)
		edit(&c)
		mutate(what, base, c, opts, "25")
	}
	// Every field of a peer, the ones added later included.
	v := reflect.ValueOf(peer)
	for i := range v.NumField() {
		p := peer
		f := reflect.ValueOf(&p).Elem().Field(i)
		switch f.Kind() {
		case reflect.String:
			f.SetString(f.String() + "x")
		case reflect.Int32:
			f.SetInt(f.Int() + 1)
		default:
			t.Fatalf("peer field %s of kind %s: teach this test to change it", v.Type().Field(i).Name, f.Kind())
		}
		c := in
		c.Discovered.Peers = []peers.Peer{p}
		mutate("peer's "+v.Type().Field(i).Name, base, c, opts, "25")
	}
	for what, got := range changed {
		if got == same {
			t.Errorf("a change of the %s leaves the fingerprint as it was: a check would be skipped", what)
		}
	}
	withSeed := in
	withSeed.Seed = "SSECRET"
	if Fingerprint(base, withSeed, opts, "25") != same {
		t.Error("the seed is no input of a check and must not be part of its fingerprint")
	}
}
