package renderconfig

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// coreVersion is the stellar-core release the tests' pods run.
const coreVersion = "27.1.0"

// A seed and its public key (from examples/custom-network-validators.yaml), and four other keys.
const (
	seed      = "SD2FP32ZJ3ETJNGDLE5QBDPOLWSCQZTAUEYX3JVBSFSULRC65BYPE3EI"
	publicKey = "GCYKZEUA6S5TU7CSMUEJNH7NGUQKKLHVCFK6W32GCUR6VB324MSCIKNS"
	base      = `LOG_FILE_PATH = ""
DATABASE = "sqlite3:///data/stellar.db"
BUCKET_DIR_PATH = "/data/buckets"
NETWORK_PASSPHRASE = "Test SDF Network ; September 2015"
NODE_IS_VALIDATOR = true
PEER_PORT = 11625

[HISTORY.sdf]
get = "curl -sf https://history.stellar.org/prd/core-testnet/core_testnet_001/{0} -o {1}"

[QUORUM_SET]
THRESHOLD_PERCENT = 67
VALIDATORS = ["GADAVITU4FFLOISL73U3OHZR6GAFK7TBGVJENNWK2HNU4FN4RMKJV54K", "GC7KMKCZFQDGMU4DNCVRYSNJK2NRSSV7FGWLHEUNEFICOTD2YYZ7BTCD",
  "GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y", "GCUCJTIYXSOXKBSNFGNFWW5MUQ54HKRPGJUTQFJ5RQXZXNOLNXYDHRAP"]
`
)

func writeBase(t *testing.T, text string) (dir, path string) {
	t.Helper()
	dir = t.TempDir()
	path = filepath.Join(dir, "base.cfg")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, path
}

func envWith(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestRunWritesAPrivateFile(t *testing.T) {
	dir, basePath := writeBase(t, base)
	peersPath := filepath.Join(dir, "peers.json")
	if err := os.WriteFile(peersPath, []byte(`{"peers":[{"name":"b","networkId":"n1","podName":"b-0","podIP":"10.0.0.2","port":11625,"dnsName":"b-0.b-headless.ns.svc.cluster.local"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "stellar-core.cfg")
	var stdout bytes.Buffer
	err := Run(Args{Base: basePath, Peers: peersPath, Out: out, NodeName: "a", NetworkID: "n1", StellarCoreVersion: coreVersion, PublicKey: publicKey}.List()[1:],
		envWith(map[string]string{SeedEnv: seed, PodIPEnv: "10.0.0.1"}), &stdout)
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
	for _, want := range []string{`NODE_SEED = "` + seed + `"`, `KNOWN_PEERS = ["10.0.0.2:11625"]`, `PREFERRED_PEERS = ["b-0.b-headless.ns.svc.cluster.local:11625"]`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("rendered file lacks %s:\n%s", want, data)
		}
	}
	if err := stellarcore.Check(string(data), stellarcore.CheckOptions{Profile: stellarcore.Newest()}); err != nil {
		t.Error(err)
	}
	if strings.Contains(stdout.String(), seed) {
		t.Error("the seed was printed")
	}
}

func TestRunWithoutPeersYet(t *testing.T) {
	dir, basePath := writeBase(t, base)
	err := Run(Args{Base: basePath, Peers: filepath.Join(dir, "missing.json"), Out: filepath.Join(dir, "o.cfg"), NodeName: "a", NetworkID: "n1", StellarCoreVersion: coreVersion}.List()[1:],
		envWith(map[string]string{SeedEnv: seed}), &bytes.Buffer{})
	if err != nil {
		t.Fatalf("a missing stellar-peers ConfigMap must not stop the validator: %v", err)
	}
}

func TestRunRefuses(t *testing.T) {
	otherSeed := "SBHRW47VMNCXY3IMNVNCT67SRULWIYKKAC3JHWQK2JYR77F2WZKZMLFD"
	cases := map[string]struct {
		base, seed, publicKey, want string
	}{
		"no seed":                            {base, "", "", "seed is empty"},
		"a seed that is not one":             {base, "SNOTASEED", "", "not a valid seed"},
		"a seed of another validator":        {base, otherSeed, publicKey, "is not the StellarNode's publicKey GCYKZ..."},
		"a config stellar-core refuses":      {strings.Replace(base, `LOG_FILE_PATH = ""`, "", 1), seed, "", "LOG_FILE_PATH"},
		"a quorum stellar-core finds unsafe": {strings.Replace(base, `, "GCUCJTIYXSOXKBSNFGNFWW5MUQ54HKRPGJUTQFJ5RQXZXNOLNXYDHRAP"]`, "]", 1), seed, "", "SCP unsafe"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir, basePath := writeBase(t, c.base)
			out := filepath.Join(dir, "o.cfg")
			err := Run(Args{Base: basePath, Out: out, NodeName: "a", NetworkID: "n1", StellarCoreVersion: coreVersion, PublicKey: c.publicKey}.List()[1:],
				envWith(map[string]string{SeedEnv: c.seed}), &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
			for _, secret := range []string{seed, otherSeed} {
				if strings.Contains(err.Error(), secret) {
					t.Error("the message holds the seed")
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("a refused configuration was written")
			}
		})
	}
}

func TestRunInstallsItself(t *testing.T) {
	dir, basePath := writeBase(t, base)
	bin := filepath.Join(dir, "manager")
	err := Run(Args{Base: basePath, Out: filepath.Join(dir, "o.cfg"), NodeName: "a", NetworkID: "n1", StellarCoreVersion: coreVersion, Install: bin}.List()[1:],
		envWith(map[string]string{SeedEnv: seed}), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if info, err := os.Stat(bin); err != nil || info.Mode().Perm()&0o111 == 0 {
		t.Errorf("binary not installed executable: %v %v", info, err)
	}
}

// What the StatefulSet builder writes with List is what Run reads with ParseArgs.
func TestArgsRoundTrip(t *testing.T) {
	for _, a := range []Args{
		{Base: "/b/stellar-core.cfg", Peers: "/p/peers.json", Out: "/r/stellar-core.cfg", NodeName: "v1", NetworkID: "abc",
			StellarCoreVersion: coreVersion, PublicKey: publicKey, QuorumFromPeers: true, Install: "/opt/manager"},
		{Base: "/b/stellar-core.cfg", Out: "/r/stellar-core.cfg", NodeName: "v1", NetworkID: "abc", StellarCoreVersion: "22.1.0"},
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

// The final file is checked with the rules of the release line the pod runs: a base written for one line
// is refused on a line that needs more, and nothing is written.
func TestRunChecksTheReleaseLine(t *testing.T) {
	dir, basePath := writeBase(t, base)
	out := filepath.Join(dir, "o.cfg")
	for version, want := range map[string]string{
		"22.1.0": "DEPRECATED_SQL_LEDGER_STATE not set",
		"18.0.0": "older than the oldest release line",
		"latest": "not a release",
	} {
		err := Run(Args{Base: basePath, Out: out, NodeName: "a", NetworkID: "n1", StellarCoreVersion: version}.List()[1:],
			envWith(map[string]string{SeedEnv: seed}), &bytes.Buffer{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", version, err, want)
		}
		if _, statErr := os.Stat(out); statErr == nil {
			t.Fatalf("%s: a refused file was written", version)
		}
	}
}

// stellar-peers can be edited by anyone who may update ConfigMaps: an entry that hides arguments in its
// archive URL is dropped, said on the step's output, and never written; the others are kept.
func TestRunDropsAndReportsHostilePeers(t *testing.T) {
	dir, basePath := writeBase(t, base)
	peersPath := filepath.Join(dir, "peers.json")
	doc := `{"peers":[
{"name":"b","networkId":"n1","podName":"b-0","podIP":"10.0.0.2","port":11625,"dnsName":"b-0.b-headless.ns.svc.cluster.local"},
{"name":"evil","networkId":"n1","podName":"evil-0","podIP":"10.0.0.3","port":11625,"dnsName":"evil-0.evil-headless.ns.svc.cluster.local",
 "publicKey":"GCYKZEUA6S5TU7CSMUEJNH7NGUQKKLHVCFK6W32GCUR6VB324MSCIKNS","homeDomain":"example.org","quality":"HIGH",
 "history":"http://127.0.0.1:1/x\u000b--data-binary\u000b@/etc/stellar/rendered/stellar-core.cfg"},
{"name":"sneaky","networkId":"n1","podName":"sneaky-0","podIP":"10.0.0.4 -x","port":11625,"dnsName":"sneaky"}]}`
	if err := os.WriteFile(peersPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "stellar-core.cfg")
	var stdout bytes.Buffer
	err := Run(Args{Base: basePath, Peers: peersPath, Out: out, NodeName: "a", NetworkID: "n1", StellarCoreVersion: coreVersion}.List()[1:],
		envWith(map[string]string{SeedEnv: seed}), &stdout)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	for _, bad := range []string{"evil", "data-binary", "sneaky", "10.0.0.4"} {
		if strings.Contains(string(data), bad) {
			t.Errorf("%q reached the file:\n%s", bad, data)
		}
	}
	if !strings.Contains(string(data), "10.0.0.2:11625") {
		t.Errorf("the valid peer was dropped too:\n%s", data)
	}
	for _, said := range []string{`peer "evil" dropped`, `peer "sneaky" dropped`} {
		if !strings.Contains(stdout.String(), said) {
			t.Errorf("output does not say %s:\n%s", said, stdout.String())
		}
	}
}

// A base configuration tampered with to carry a hostile archive command is refused, and nothing written.
func TestRunRefusesATamperedBase(t *testing.T) {
	// TOML carries the vertical tabs as \u000b escapes; stellar-core reads them back as whitespace.
	tampered := strings.Replace(base, "core_testnet_001/{0} -o {1}", `core_testnet_001/x\u000b--data-binary\u000b@/etc/stellar/rendered/stellar-core.cfg/{0} -o {1}`, 1)
	dir, basePath := writeBase(t, tampered)
	out := filepath.Join(dir, "o.cfg")
	err := Run(Args{Base: basePath, Out: out, NodeName: "a", NetworkID: "n1", StellarCoreVersion: coreVersion}.List()[1:],
		envWith(map[string]string{SeedEnv: seed}), &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "splits into other arguments") {
		t.Fatalf("err = %v", err)
	}
	if _, statErr := os.Stat(out); statErr == nil {
		t.Fatal("a refused file was written")
	}
	if strings.Contains(err.Error(), seed) {
		t.Fatal("the refusal repeats the seed")
	}
}
