package votes

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

var upgradeTime = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// validator is a validator of the Custom network "votes test" at version, in organisation "org".
func validator(name, version string, core *stellarv1alpha1.CoreStatus) stellarv1alpha1.StellarNode {
	return stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "stellar", Labels: map[string]string{"org": "example"}},
		Spec: stellarv1alpha1.StellarNodeSpec{NodeType: stellarv1alpha1.NodeTypeValidator, Network: stellarv1alpha1.NetworkCustom,
			CustomNetworkPassphrase: "votes test", Version: version, ValidatorConfig: &stellarv1alpha1.ValidatorConfig{}},
		Status: stellarv1alpha1.StellarNodeStatus{Core: core},
	}
}

func upgrade(name string, created int, mutate func(*stellarv1alpha1.StellarNetworkUpgradeSpec)) stellarv1alpha1.StellarNetworkUpgrade {
	u := stellarv1alpha1.StellarNetworkUpgrade{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "stellar", Generation: 1,
			CreationTimestamp: metav1.NewTime(upgradeTime.Add(time.Duration(created) * time.Minute))},
		Spec: stellarv1alpha1.StellarNetworkUpgradeSpec{Network: stellarv1alpha1.NetworkCustom,
			CustomNetworkPassphrase: "votes test", UpgradeTime: metav1.NewTime(upgradeTime)},
	}
	mutate(&u.Spec)
	return u
}

func ledger(protocol, fee, reserve int64) *stellarv1alpha1.CoreStatus {
	return &stellarv1alpha1.CoreStatus{State: "Synced!", Ledger: 100, ProtocolVersion: protocol, BaseFee: fee,
		BaseReserve: reserve, MaxTxSetSize: 100}
}

func fees(s *stellarv1alpha1.StellarNetworkUpgradeSpec) {
	s.BaseFee, s.BaseReserve = new(int64(200)), new(int64(20000000))
}

func protocol(p int64) func(*stellarv1alpha1.StellarNetworkUpgradeSpec) {
	return func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) { s.ProtocolVersion = new(p) }
}

func TestRefusals(t *testing.T) {
	org := func(version string, core *stellarv1alpha1.CoreStatus) []stellarv1alpha1.StellarNode {
		return []stellarv1alpha1.StellarNode{validator("v1", version, core), validator("v2", version, core), validator("v3", version, core)}
	}
	key := strings.Repeat("A", 86) + "=="
	for _, c := range []struct {
		name     string
		upgrade  stellarv1alpha1.StellarNetworkUpgrade
		nodes    []stellarv1alpha1.StellarNode
		reason   string
		mentions string
	}{
		{"another network", upgrade("u", 0, func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) { fees(s); s.CustomNetworkPassphrase = "other" }),
			org("19.14.0", nil), stellarv1alpha1.ReasonNoVoters, "no validator"},
		{"selector matches none", upgrade("u", 0, func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) {
			fees(s)
			s.ValidatorSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"org": "other"}}
		}), org("19.14.0", nil), stellarv1alpha1.ReasonNoVoters, "no validator"},
		{"Soroban settings on v19", upgrade("u", 0, func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) { s.ConfigUpgradeSetKey = key }),
			org("19.14.0", nil), stellarv1alpha1.ReasonUnknownParameter, "v1 (v19.14), v2 (v19.14), v3 (v19.14) does not take configupgradesetkey (v19.14.0 src/main/CommandHandler.cpp:"},
		{"expiry on v25.0", upgrade("u", 0, func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) { fees(s); s.ExpirationMinutes = new(int32(60)) }),
			org("25.0.1", nil), stellarv1alpha1.ReasonUnknownParameter, "expirationminutes"},
		{"nomination limit on v24", upgrade("u", 0, func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) { s.NominationTimeoutLimit = new(int64(3)) }),
			org("24.1.0", nil), stellarv1alpha1.ReasonUnknownParameter, "nominationtimeoutlimit"},
		{"protocol above a voter's line", upgrade("u", 0, protocol(23)),
			[]stellarv1alpha1.StellarNode{validator("v1", "23.0.1", ledger(22, 100, 5000000)), validator("v2", "22.1.0", ledger(22, 100, 5000000))},
			stellarv1alpha1.ReasonProtocolTooHigh, "upgrade these first: v2 (v22.1, up to protocol 22)"},
		{"a jump of two", upgrade("u", 0, protocol(27)), org("27.1.0", ledger(25, 100, 5000000)),
			stellarv1alpha1.ReasonProtocolJump, "at protocol 25: a vote moves it one protocol at a time, to 26"},
		{"down", upgrade("u", 0, protocol(24)), org("27.1.0", ledger(25, 100, 5000000)),
			stellarv1alpha1.ReasonProtocolJump, "never goes down"},
		{"protocol with no ledger known", upgrade("u", 0, protocol(19)), org("19.14.0", nil),
			stellarv1alpha1.ReasonWaitingForLedger, "nothing is armed"},
		{"an old version", upgrade("u", 0, fees), org("18.0.0", nil), stellarv1alpha1.ReasonUnsupportedVersion, "older than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			plan := Make([]stellarv1alpha1.StellarNetworkUpgrade{c.upgrade}, c.nodes, upgradeTime)
			v := plan.Verdicts["u"]
			if v.Phase != stellarv1alpha1.VoteRefused || v.Reason != c.reason || !strings.Contains(v.Message, c.mentions) {
				t.Errorf("verdict %s/%s %q, want Refused/%s mentioning %q", v.Phase, v.Reason, v.Message, c.reason, c.mentions)
			}
			if len(plan.Document.Votes) != 0 {
				t.Errorf("refused, yet armed: %+v", plan.Document.Votes)
			}
		})
	}
}

func TestOlderVoteHoldsItsVoters(t *testing.T) {
	nodes := []stellarv1alpha1.StellarNode{validator("v1", "27.1.0", nil), validator("v2", "27.1.0", nil)}
	newer := upgrade("b-newer", 5, fees)
	older := upgrade("z-older", 1, func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) { s.MaxTxSetSize = new(int64(500)) })
	plan := Make([]stellarv1alpha1.StellarNetworkUpgrade{newer, older}, nodes, upgradeTime)
	if v := plan.Verdicts["b-newer"]; v.Reason != stellarv1alpha1.ReasonVoteConflict || !strings.Contains(v.Message, "z-older") {
		t.Errorf("newer: %+v", v)
	}
	if v := plan.Verdicts["z-older"]; v.Phase != stellarv1alpha1.VotePending {
		t.Errorf("older: %+v", v)
	}
	if got := plan.Document.Encode(); strings.Count(got, `"upgrade": "z-older"`) != 2 || strings.Contains(got, "b-newer") {
		t.Errorf("document:\n%s", got)
	}
}

func TestVoteLifecycle(t *testing.T) {
	u := upgrade("fees", 0, fees)
	nodes := []stellarv1alpha1.StellarNode{validator("v1", "19.14.0", ledger(19, 100, 5000000)), validator("v2", "27.1.0", ledger(19, 100, 5000000))}

	plan := Make([]stellarv1alpha1.StellarNetworkUpgrade{u}, nodes, upgradeTime.Add(-time.Hour))
	if v := plan.Verdicts["fees"]; v.Phase != stellarv1alpha1.VotePending || v.Message != "armed on 0 of 2 voters" ||
		!v.ExpiresAt.Equal(&metav1.Time{Time: upgradeTime.Add(12 * time.Hour)}) {
		t.Errorf("before: %+v", v)
	}
	v1, v2 := plan.Document.For("v1"), plan.Document.For("v2")
	if v1 == nil || v2 == nil {
		t.Fatalf("document: %s", plan.Document.Encode())
	}
	// v19 has a fixed 12-hour expiry; v27 is told the same, its default being 15 minutes.
	if v1.ExpirationMinutes != nil || v2.ExpirationMinutes == nil || *v2.ExpirationMinutes != 720 {
		t.Errorf("expiry asked: v1 %v, v2 %v", v1.ExpirationMinutes, v2.ExpirationMinutes)
	}
	if q := v1.SetQuery(v1.Params); q != "upgrades?basefee=200&basereserve=20000000&mode=set&upgradetime=2026-12-02T12%3A00%3A00Z" {
		t.Errorf("query %s", q)
	}
	if q := v2.SetQuery(v2.Params); !strings.Contains(q, "expirationminutes=720") {
		t.Errorf("query %s", q)
	}

	// Both agents report the vote armed: Armed, with when.
	at := metav1.NewTime(upgradeTime.Add(-30 * time.Minute))
	for i := range nodes {
		nodes[i].Status.Core.Vote = &stellarv1alpha1.CoreVote{Vote: "fees/1", Armed: true, ConfirmedAt: &at}
	}
	plan = Make([]stellarv1alpha1.StellarNetworkUpgrade{u}, nodes, upgradeTime.Add(-time.Minute))
	if v := plan.Verdicts["fees"]; v.Phase != stellarv1alpha1.VoteArmed || !v.Voters[0].Armed || v.Voters[1].ConfirmedAt == nil {
		t.Errorf("armed: %+v", v)
	}
	// A report of an older generation does not count.
	u.Generation = 2
	if v := Make([]stellarv1alpha1.StellarNetworkUpgrade{u}, nodes, upgradeTime).Verdicts["fees"]; v.Phase != stellarv1alpha1.VotePending {
		t.Errorf("a report of generation 1 counted for 2: %+v", v)
	}

	votesApply(t, u, nodes)
}

// votesApply: one ledger shows the values, the other not yet, not applied; both, Applied, and the vote
// leaves the document; recorded Applied, it stays so.
func votesApply(t *testing.T, u stellarv1alpha1.StellarNetworkUpgrade, nodes []stellarv1alpha1.StellarNode) {
	nodes[0].Status.Core = ledger(19, 200, 20000000)
	if v := Make([]stellarv1alpha1.StellarNetworkUpgrade{u}, nodes, upgradeTime.Add(time.Minute)).Verdicts["fees"]; v.Phase == stellarv1alpha1.VoteApplied {
		t.Errorf("applied on one ledger of two")
	}
	nodes[1].Status.Core = ledger(19, 200, 20000000)
	plan := Make([]stellarv1alpha1.StellarNetworkUpgrade{u}, nodes, upgradeTime.Add(time.Minute))
	if v := plan.Verdicts["fees"]; v.Phase != stellarv1alpha1.VoteApplied || v.Network.BaseFee != 200 || len(plan.Document.Votes) != 0 {
		t.Errorf("applied: %+v, %s", v, plan.Document.Encode())
	}
	// Recorded Applied for this generation, it stays so whatever the ledger says later.
	u.Status = stellarv1alpha1.StellarNetworkUpgradeStatus{Phase: stellarv1alpha1.VoteApplied, ObservedGeneration: 2}
	nodes[1].Status.Core = ledger(19, 100, 5000000)
	if v := Make([]stellarv1alpha1.StellarNetworkUpgrade{u}, nodes, upgradeTime.Add(time.Minute)).Verdicts["fees"]; !v.Final {
		t.Errorf("final phase not kept: %+v", v)
	}
}

func TestExpired(t *testing.T) {
	u := upgrade("late", 0, fees)
	nodes := []stellarv1alpha1.StellarNode{validator("v1", "19.14.0", ledger(19, 100, 5000000))}
	plan := Make([]stellarv1alpha1.StellarNetworkUpgrade{u}, nodes, upgradeTime.Add(12*time.Hour))
	v := plan.Verdicts["late"]
	if v.Phase != stellarv1alpha1.VoteExpired || !strings.Contains(v.Message, "base fee 100, base reserve 5000000") || len(plan.Document.Votes) != 0 {
		t.Errorf("expired: %+v", v)
	}
	// A shorter expiry the line takes is the one used.
	u = upgrade("late", 0, func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) { fees(s); s.ExpirationMinutes = new(int32(30)) })
	nodes = []stellarv1alpha1.StellarNode{validator("v1", "27.1.0", ledger(27, 100, 5000000))}
	if v := Make([]stellarv1alpha1.StellarNetworkUpgrade{u}, nodes, upgradeTime.Add(31*time.Minute)).Verdicts["late"]; v.Phase != stellarv1alpha1.VoteExpired {
		t.Errorf("30 minutes: %+v", v)
	}
}

func TestInitialProtocolVote(t *testing.T) {
	now := time.Date(2026, 12, 2, 9, 41, 5, 0, time.UTC)
	node := func(core *stellarv1alpha1.CoreStatus, target int32) stellarv1alpha1.StellarNode {
		n := validator("v1", "27.1.0", core)
		n.Spec.ValidatorConfig.ProtocolVersion = new(target)
		return n
	}
	plan := Make(nil, []stellarv1alpha1.StellarNode{node(nil, 27)}, now)
	v := plan.Document.For("v1")
	if v == nil || v.Upgrade != InitialProtocol || v.Params[ParamProtocolVersion] != "27" ||
		!v.Time.Equal(time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)) || *v.ExpirationMinutes != 720 {
		t.Fatalf("initial vote: %+v", v)
	}
	for _, c := range []struct {
		name   string
		node   stellarv1alpha1.StellarNode
		voted  bool
		reason string
	}{
		{"network at protocol 0", node(ledger(0, 100, 100000000), 27), true, ""},
		{"network there", node(ledger(27, 100, 5000000), 27), false, "taken"},
		{"one step up", node(ledger(26, 100, 5000000), 27), true, ""},
		{"two steps up", node(ledger(25, 100, 5000000), 27), false, "one protocol at a time"},
		{"above the line", node(nil, 28), false, "refused on the StellarNode"},
	} {
		if got := Make(nil, []stellarv1alpha1.StellarNode{c.node}, now).Document.For("v1") != nil; got != c.voted {
			t.Errorf("%s: voted %v (%s)", c.name, got, c.reason)
		}
	}
	// An explicit vote of the same validator replaces it.
	u := upgrade("fees", 0, fees)
	plan = Make([]stellarv1alpha1.StellarNetworkUpgrade{u}, []stellarv1alpha1.StellarNode{node(ledger(26, 100, 5000000), 27)}, now)
	if v := plan.Document.For("v1"); v == nil || v.Upgrade != "fees" || len(plan.Document.Votes) != 1 {
		t.Errorf("document: %s", plan.Document.Encode())
	}
}

func TestVoteGrammar(t *testing.T) {
	good := Vote{Validator: "v1", Upgrade: "fees", Time: upgradeTime, Params: Params{ParamBaseFee: "200"}}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Vote){
		"validator":        func(v *Vote) { v.Validator = "V 1" },
		"upgrade":          func(v *Vote) { v.Upgrade = "fees&mode=clear" },
		"no time":          func(v *Vote) { v.Time = time.Time{} },
		"no value":         func(v *Vote) { v.Params = Params{} },
		"unknown":          func(v *Vote) { v.Params = Params{"flags": "1"} },
		"injected":         func(v *Vote) { v.Params = Params{ParamBaseFee: "200&protocolversion=99"} },
		"zero":             func(v *Vote) { v.Params = Params{ParamBaseFee: "0"} },
		"over 32 bits":     func(v *Vote) { v.Params = Params{ParamBaseFee: "4294967296"} },
		"leading zero":     func(v *Vote) { v.Params = Params{ParamBaseFee: "0200"} },
		"key not base64":   func(v *Vote) { v.Params = Params{ParamConfigUpgradeSetKey: strings.Repeat("A", 85) + "&=="} },
		"key with a space": func(v *Vote) { v.Params = Params{ParamConfigUpgradeSetKey: strings.Repeat("A", 85) + " =="} },
	} {
		v := good
		v.Params = Params{ParamBaseFee: "200"}
		mutate(&v)
		if err := v.Validate(); err == nil {
			t.Errorf("%s: accepted %+v", name, v)
		}
	}
}

// What stellar-core v19.14.0 answered to upgrades?mode=get (read off the real binary on loopback):
// nothing armed, then basefee, basereserve and protocolversion armed.
const (
	getNothing = `{ "fee" : { "nullopt" : true }, "flags" : { "nullopt" : true }, "maxtxsize" : { "nullopt" : true },
   "reserve" : { "nullopt" : true }, "time" : 0, "version" : { "nullopt" : true } }`
	getArmed = `{ "fee" : { "data" : 200, "nullopt" : false }, "flags" : { "nullopt" : true }, "maxtxsize" : { "nullopt" : true },
   "reserve" : { "data" : 20000000, "nullopt" : false }, "time" : 1796201269, "version" : { "data" : 19, "nullopt" : false } }`
)

func TestParseArmed(t *testing.T) {
	a, err := ParseArmed([]byte(getNothing))
	if err != nil || !a.Empty() || !a.Time.IsZero() {
		t.Errorf("nothing: %+v %v", a, err)
	}
	a, err = ParseArmed([]byte(getArmed))
	if err != nil {
		t.Fatal(err)
	}
	vote := Vote{Time: time.Unix(1796201269, 0), Params: Params{ParamBaseFee: "200", ParamBaseReserve: "20000000", ParamProtocolVersion: "19"}}
	if !a.Holds(vote, vote.Params) {
		t.Errorf("armed %+v does not hold %+v", a, vote)
	}
	if a.Holds(vote, Params{ParamBaseFee: "200"}) {
		t.Error("holds a subset")
	}
	if _, err := ParseArmed([]byte("could not parse upgradetime: 'x'")); err == nil {
		t.Error("plain text parsed")
	}
}
