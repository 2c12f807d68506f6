package renderconfig

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const base = "NETWORK_PASSPHRASE = \"Test SDF Network ; September 2015\"\nPEER_PORT = 11625\n"

func TestRunWritesAPrivateFile(t *testing.T) {
	dir := t.TempDir()
	basePath := filepath.Join(dir, "base.cfg")
	if err := os.WriteFile(basePath, []byte(base), 0o644); err != nil {
		t.Fatal(err)
	}
	peersPath := filepath.Join(dir, "peers.json")
	if err := os.WriteFile(peersPath, []byte(`{"peers":[{"name":"b","networkId":"n1","podName":"b-0","podIP":"10.0.0.2","port":11625,"dnsName":"b-0.b-headless.ns.svc.cluster.local"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "stellar-core.cfg")
	env := map[string]string{SeedEnv: "SSECRETSEED", PodIPEnv: "10.0.0.1"}
	var stdout bytes.Buffer
	err := Run([]string{"--base=" + basePath, "--peers=" + peersPath, "--out=" + out, "--node-name=a", "--network-id=n1"},
		func(k string) string { return env[k] }, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600: the file holds the seed", info.Mode().Perm())
	}
	data, _ := os.ReadFile(out)
	for _, want := range []string{`NODE_SEED = "SSECRETSEED"`, `KNOWN_PEERS = ["10.0.0.2:11625"]`, `PREFERRED_PEERS = ["b-0.b-headless.ns.svc.cluster.local:11625"]`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("rendered file lacks %s:\n%s", want, data)
		}
	}
	if strings.Contains(stdout.String(), "SSECRETSEED") {
		t.Error("the seed was printed")
	}
}

func TestRunWithoutPeersYet(t *testing.T) {
	dir := t.TempDir()
	basePath := filepath.Join(dir, "base.cfg")
	_ = os.WriteFile(basePath, []byte(base), 0o644)
	out := filepath.Join(dir, "stellar-core.cfg")
	err := Run([]string{"--base=" + basePath, "--peers=" + filepath.Join(dir, "missing.json"), "--out=" + out, "--node-name=a", "--network-id=n1"},
		func(k string) string { return map[string]string{SeedEnv: "S"}[k] }, &bytes.Buffer{})
	if err != nil {
		t.Fatalf("a missing stellar-peers ConfigMap must not stop the validator: %v", err)
	}
}

func TestRunRefusesMissingSeed(t *testing.T) {
	dir := t.TempDir()
	basePath := filepath.Join(dir, "base.cfg")
	_ = os.WriteFile(basePath, []byte(base), 0o644)
	err := Run([]string{"--base=" + basePath, "--out=" + filepath.Join(dir, "o.cfg"), "--node-name=a", "--network-id=n1"},
		func(string) string { return "" }, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "seed") {
		t.Fatalf("err = %v, want a seed error", err)
	}
}

// What the StatefulSet builder writes with List is what Run reads with ParseArgs.
func TestArgsRoundTrip(t *testing.T) {
	for _, a := range []Args{
		{Base: "/b/stellar-core.cfg", Peers: "/p/peers.json", Out: "/r/stellar-core.cfg", NodeName: "v1", NetworkID: "abc"},
		{Base: "/b/stellar-core.cfg", Out: "/r/stellar-core.cfg", NodeName: "v1", NetworkID: "abc"},
	} {
		list := a.List()
		if list[0] != Command {
			t.Fatalf("the subcommand comes first: %v", list)
		}
		got, err := ParseArgs(list[1:])
		if err != nil || got != a {
			t.Errorf("ParseArgs(%v) = %+v, %v; want %+v", list, got, err, a)
		}
	}
}
