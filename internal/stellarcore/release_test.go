package stellarcore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

func line(t *testing.T, name string) Profile {
	t.Helper()
	for _, p := range Profiles() {
		if p.Line == name {
			return p
		}
	}
	t.Fatalf("no release line %s", name)
	return Profile{}
}

func TestResolveVersion(t *testing.T) {
	for _, c := range []struct {
		version, line string
		exact         bool
	}{
		{"27.1.0", "v27.1", true},
		{"v22.1.0", "v22.1", true},
		{"27.1.0-2790.abc123.noble", "v27.1", true},
		{"22.4.1", "v22.4", true},
		{"19.14.0", "v19.14", true},
		{"22.9.0", "v22.4", false},
		{"28.0.0", "v27.1", false},
	} {
		r, err := ResolveVersion(c.version)
		if err != nil || r.Profile.Line != c.line || r.Exact != c.exact {
			t.Errorf("%s: got %s exact=%v err=%v, want %s exact=%v", c.version, r.Profile.Line, r.Exact, err, c.line, c.exact)
		}
		if !c.exact && !strings.Contains(r.Note, r.Profile.Line) {
			t.Errorf("%s: the note must say which line's rules are used: %q", c.version, r.Note)
		}
	}
	for _, v := range []string{"18.5.0", "latest", "27.1", "27.1.0 --x", "", "27.1.0\v"} {
		if _, err := ResolveVersion(v); err == nil {
			t.Errorf("%q: want an error", v)
		} else if _, ok := errors.AsType[*UnsupportedVersionError](err); !ok {
			t.Errorf("%q: err %T", v, err)
		}
	}
}

// TestReleaseTables pins what the tables read from stellar-core's source say of the keys and rules the
// operator's behaviour depends on, line by line.
func TestReleaseTables(t *testing.T) {
	if Oldest().Line != "v19.0" || Newest().Line != "v27.1" {
		t.Errorf("lines %s..%s", Oldest().Line, Newest().Line)
	}
	requires := map[string]bool{"v21.0": true, "v21.1": true, "v21.2": true, "v21.3": true, "v22.0": true, "v22.1": true}
	for _, p := range Profiles() {
		if p.RequiresSQLLedgerStateFlag() != requires[p.Line] {
			t.Errorf("%s: RequiresSQLLedgerStateFlag = %v", p.Line, p.RequiresSQLLedgerStateFlag())
		}
		if p.RefusesLowOnlyQuorum() != (compareVersion(p.major, p.minor, 22, 1) >= 0) {
			t.Errorf("%s: RefusesLowOnlyQuorum = %v", p.Line, p.RefusesLowOnlyQuorum())
		}
		if len(p.Tags) == 0 || !strings.HasPrefix(p.Tags[0], p.Line+".") {
			t.Errorf("%s: tags %v", p.Line, p.Tags)
		}
		// Every key the operator writes on every line, but the ones that come and go.
		for _, k := range []string{"LOG_FILE_PATH", "NETWORK_PASSPHRASE", "PEER_PORT", "HTTP_PORT", "PUBLIC_HTTP_PORT",
			"NODE_IS_VALIDATOR", "DATABASE", "BUCKET_DIR_PATH", "CATCHUP_COMPLETE", "KNOWN_PEERS", "PREFERRED_PEERS",
			"NODE_HOME_DOMAIN", "HOME_DOMAINS", "VALIDATORS", "QUORUM_SET", "HISTORY", "UNSAFE_QUORUM", "NODE_SEED", "COMMANDS"} {
			if !p.Knows(k) {
				t.Errorf("%s does not know %s", p.Line, k)
			}
		}
	}
	for _, c := range []struct {
		key   string
		known map[string]bool
	}{
		{"LIMIT_TX_QUEUE_SOURCE_ACCOUNT", map[string]bool{"v19.14": true, "v20.0": false}},
		{"ENABLE_FLOW_CONTROL_BYTES", map[string]bool{"v21.1": true, "v22.1": false}},
		{"KNOWN_CURSORS", map[string]bool{"v22.1": true, "v22.2": false}},
		{"EXPERIMENTAL_PRECAUTION_DELAY_META", map[string]bool{"v22.1": true, "v22.2": false}},
		{"EXPERIMENTAL_BUCKETLIST_DB", map[string]bool{"v22.4": true, "v23.0": false}},
		{"DEPRECATED_SQL_LEDGER_STATE", map[string]bool{"v20.4": false, "v21.0": true, "v22.4": true, "v23.0": false}},
		{"HTTP_QUERY_PORT", map[string]bool{"v21.3": false, "v22.0": true}},
		{"NTP_DRIFT_CHECK_SERVER", map[string]bool{"v27.0": false, "v27.1": true}},
	} {
		for l, want := range c.known {
			if got := line(t, l).Knows(c.key); got != want {
				t.Errorf("%s knows %s = %v, want %v", l, c.key, got, want)
			}
		}
	}
	// What upgrades?mode=set takes (CommandHandler::upgrades): Soroban settings from v20.0, the
	// nomination timeout limit and the expiry from v25.1.
	for _, c := range []struct {
		param string
		takes map[string]bool
	}{
		{"basefee", map[string]bool{"v19.0": true, "v27.1": true}},
		{"configupgradesetkey", map[string]bool{"v19.14": false, "v20.0": true, "v27.1": true}},
		{"maxsorobantxsetsize", map[string]bool{"v19.14": false, "v20.0": true}},
		{"nominationtimeoutlimit", map[string]bool{"v25.0": false, "v25.1": true}},
		{"expirationminutes", map[string]bool{"v25.0": false, "v25.1": true, "v27.1": true}},
	} {
		for l, want := range c.takes {
			if got := line(t, l).TakesUpgradeParam(c.param); got != want {
				t.Errorf("%s takes %s = %v, want %v", l, c.param, got, want)
			}
		}
	}
	if at := line(t, "v19.14").UpgradeParamsCitation(); !strings.HasPrefix(at, "v19.14.0 src/main/CommandHandler.cpp:") {
		t.Errorf("v19.14's upgrade parameters read at %q", at)
	}
}

// lineCase is a configuration and what the checker must say of it on one release line.
type lineCase struct {
	name, line string
	cfg        map[string]any
	rule       string
}

// forLine is a configuration the line accepts: organisation() with what the line requires.
func forLine(p Profile, cfg map[string]any) map[string]any {
	if p.RequiresSQLLedgerStateFlag() {
		cfg[keyDeprecatedSQLLedgerState] = false
	}
	return cfg
}

// lowOnly is an organisation of three at LOW quality and nothing above.
func lowOnly() map[string]any {
	return with(organisation(), func(c map[string]any) {
		c["HOME_DOMAINS"] = []map[string]any{{"HOME_DOMAIN": "example.org", "QUALITY": "LOW"}}
	})
}

func lineCases(t *testing.T) []lineCase {
	set := func(key string, v any) func(map[string]any) { return func(c map[string]any) { c[key] = v } }
	unset := func(key string) func(map[string]any) { return func(c map[string]any) { delete(c, key) } }
	upgrade := func(n int) func(map[string]any) {
		return set("COMMANDS", []any{fmt.Sprintf("upgrades?mode=set&upgradetime=2026-12-01T12:00:00Z&protocolversion=%d", n)})
	}
	cases := []struct {
		name, line string
		change     func(map[string]any)
		rule       string
	}{
		{"organisation of three", "v19.14", nil, ""},
		{"organisation of three", "v21.0", nil, ""},
		{"organisation of three", "v22.1", nil, ""},
		{"organisation of three", "v23.0", nil, ""},
		{"organisation of three", "v27.1", nil, ""},
		{"DEPRECATED_SQL_LEDGER_STATE missing", "v21.0", unset(keyDeprecatedSQLLedgerState), RuleMissingKey},
		{"DEPRECATED_SQL_LEDGER_STATE missing", "v22.1", unset(keyDeprecatedSQLLedgerState), RuleMissingKey},
		{"DEPRECATED_SQL_LEDGER_STATE with EXPERIMENTAL_BUCKETLIST_DB", "v22.1", set("EXPERIMENTAL_BUCKETLIST_DB", true), RuleMissingKey},
		{"DEPRECATED_SQL_LEDGER_STATE accepted", "v22.2", set(keyDeprecatedSQLLedgerState, false), ""},
		{"DEPRECATED_SQL_LEDGER_STATE unknown", "v23.0", set(keyDeprecatedSQLLedgerState, false), RuleUnknownKey},
		{"DEPRECATED_SQL_LEDGER_STATE unknown", "v20.4", set(keyDeprecatedSQLLedgerState, false), RuleUnknownKey},
		{"LIMIT_TX_QUEUE_SOURCE_ACCOUNT", "v19.14", set("LIMIT_TX_QUEUE_SOURCE_ACCOUNT", true), ""},
		{"LIMIT_TX_QUEUE_SOURCE_ACCOUNT", "v20.0", set("LIMIT_TX_QUEUE_SOURCE_ACCOUNT", true), RuleUnknownKey},
		{"ENABLE_FLOW_CONTROL_BYTES", "v22.1", set("ENABLE_FLOW_CONTROL_BYTES", true), RuleUnknownKey},
		{"KNOWN_CURSORS", "v22.1", set("KNOWN_CURSORS", []any{"HORIZON"}), ""},
		{"KNOWN_CURSORS", "v22.2", set("KNOWN_CURSORS", []any{"HORIZON"}), RuleUnknownKey},
		{"EXPERIMENTAL_BUCKETLIST_DB", "v23.0", set("EXPERIMENTAL_BUCKETLIST_DB", true), RuleUnknownKey},
		{"HTTP_QUERY_PORT", "v21.3", set("HTTP_QUERY_PORT", int64(11630)), RuleUnknownKey},
		{"NTP_DRIFT_CHECK_SERVER", "v27.0", set(keyNTPServer, ""), RuleUnknownKey},
		{"NTP_DRIFT_CHECK_SERVER", "v27.1", set(keyNTPServer, "time.example.org"), ""},
		{"a quorum of LOW validators only", "v22.0", nil, ""},
		{"a quorum of LOW validators only", "v22.1", nil, RuleLowQualityQuorum},
		{"a quorum of LOW validators only", "v27.1", nil, RuleLowQualityQuorum},
		{"an upgrade to the line's own protocol", "v22.1", upgrade(22), ""},
		{"an upgrade past the line's protocol", "v22.1", upgrade(23), RuleUpgrade},
		{"an upgrade past the line's protocol", "v19.14", upgrade(20), RuleUpgrade},
	}
	out := make([]lineCase, 0, len(cases))
	for _, c := range cases {
		p := line(t, c.line)
		base := organisation
		if strings.Contains(c.name, "LOW validators only") {
			base = lowOnly
		}
		cfg := forLine(p, base())
		if c.change != nil {
			c.change(cfg)
		}
		out = append(out, lineCase{name: c.name, line: c.line, cfg: cfg, rule: c.rule})
	}
	return out
}

func TestCheckPerReleaseLine(t *testing.T) {
	for _, c := range lineCases(t) {
		t.Run(c.line+"/"+c.name, func(t *testing.T) {
			text, err := encode(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = Check(text, CheckOptions{Profile: line(t, c.line)})
			if c.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v\n%s", err, text)
				}
				return
			}
			cerr, ok := errors.AsType[*ConfigError](err)
			if !ok || cerr.Rule() != c.rule {
				t.Fatalf("err = %v, want %s", err, c.rule)
			}
			if c.rule != RuleUnknownKey && !strings.Contains(cerr.Error(), c.line) {
				t.Errorf("the message must name the release line: %v", cerr)
			}
		})
	}
}

// goldenLines are the release lines with a golden organisation of three: every line where what the
// operator writes changes, and the newest of each major.
var goldenLines = []string{"v19.14", "v20.4", "v21.0", "v21.3", "v22.0", "v22.1", "v22.2", "v22.4", "v23.0", "v24.1",
	"v25.0", "v25.1", "v25.2", "v26.1", "v27.0", "v27.1"}

// TestGoldenPerReleaseLine renders the first validator of a HIGH organisation of three Full validators
// on a Custom network, at the protocol of each line, as each line needs it.
func TestGoldenPerReleaseLine(t *testing.T) {
	for _, l := range goldenLines {
		t.Run(l, func(t *testing.T) {
			p := line(t, l)
			node, seed, doc := fullOrganisationMember(1)
			node.Spec.Version = strings.TrimPrefix(p.Tags[len(p.Tags)-1], "v")
			node.Spec.Version, _, _ = strings.Cut(node.Spec.Version, " ")
			node.Spec.ValidatorConfig.ProtocolVersion = new(p.MaxProtocol())
			if got := profileOf(t, node); got.Line != l {
				t.Fatalf("version %s resolves to %s", node.Spec.Version, got.Line)
			}
			base, err := BaseConfig(node, p)
			if err != nil {
				t.Fatal(err)
			}
			rendered, err := Render(base, RenderInput{Profile: p, Seed: seed, NodeName: node.Name, PodIP: "10.244.0.99",
				NetworkID: node.NetworkID(), Discovered: doc, QuorumFromPeers: true})
			if err != nil {
				t.Fatal(err)
			}
			checkWellFormed(t, p, rendered, "", true)
			var cfg map[string]any
			if _, err := toml.Decode(rendered, &cfg); err != nil {
				t.Fatal(err)
			}
			if _, ok := cfg[keyDeprecatedSQLLedgerState]; ok != p.RequiresSQLLedgerStateFlag() {
				t.Errorf("DEPRECATED_SQL_LEDGER_STATE written = %v on %s", ok, l)
			}
			if _, ok := cfg["COMMANDS"]; ok {
				t.Errorf("COMMANDS written on %s: the protocol is voted through the agent", l)
			}
			if err := CheckProtocol(p, p.MaxProtocol()); err != nil {
				t.Error(err)
			}
			if err := CheckProtocol(p, p.MaxProtocol()+1); err == nil || !strings.Contains(err.Error(), "can never apply") {
				t.Errorf("protocol %d on %s: %v", p.MaxProtocol()+1, l, err)
			}
			for suffix, out := range map[string]string{"base": base, "rendered": rendered} {
				compareGolden(t, filepath.Join("testdata", "releases", l+".organisation-1."+suffix+".golden"), out)
			}
		})
	}
}

func TestNTPServer(t *testing.T) {
	node := testValidator("v", stellarv1alpha1.NetworkTestnet)
	node.Spec.ValidatorConfig.QuorumSet = quorumSet4
	for _, c := range []struct {
		server *string
		line   string
		want   string
		ok     bool
	}{
		{nil, "v27.1", "", true},
		{new(""), "v27.1", `NTP_DRIFT_CHECK_SERVER = ""`, true},
		{new("time.example.org"), "v27.1", `NTP_DRIFT_CHECK_SERVER = "time.example.org"`, true},
		{new("time.example.org"), "v26.1", `NTP_DRIFT_CHECK_SERVER = "time.example.org"`, false},
	} {
		node.Spec.ValidatorConfig.NTPServer = c.server
		p := line(t, c.line)
		base, err := BaseConfig(node, p)
		if err != nil {
			t.Fatal(err)
		}
		if c.want == "" && strings.Contains(base, keyNTPServer) || !strings.Contains(base, c.want) {
			t.Errorf("%s %v: base\n%s", c.line, c.server, base)
		}
		err = Check(base, CheckOptions{Profile: p})
		if (err == nil) != c.ok {
			t.Errorf("%s %v: check = %v", c.line, c.server, err)
		}
	}
}

func compareGolden(t *testing.T, golden, out string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run make golden)", err)
	}
	if string(want) != out {
		t.Errorf("%s differs from the golden file (run make golden and review the diff):\n%s", golden, out)
	}
}
