package agent_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/agent"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

var voteTime = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

func writeVotes(t *testing.T, path string, doc votes.Document) {
	t.Helper()
	if err := os.WriteFile(path, []byte(doc.Encode()), 0o600); err != nil {
		t.Fatal(err)
	}
}

func feesVote() votes.Vote {
	return votes.Vote{Validator: "validator-1", Upgrade: "fees", Generation: 1, Time: voteTime,
		Params: votes.Params{votes.ParamBaseFee: "200", votes.ParamBaseReserve: "20000000"}}
}

func round(t *testing.T, v *agent.Voting, now time.Time) string {
	t.Helper()
	did, err := v.Round(context.Background(), now)
	if err != nil {
		t.Fatalf("round at %s: %v", now, err)
	}
	return did
}

// The agent arms the vote, leaves it armed, arms it again after stellar-core restarts without it,
// and clears it once the ledger shows its values.
func TestVotingArmsAndRearms(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	file := filepath.Join(t.TempDir(), votes.KeyVotesJSON)
	v := &agent.Voting{Admin: agent.NewAdmin(core.URL), VotesFile: file, Self: "validator-1"}

	// No document: no vote was ever declared here, and a vote armed by hand is left alone.
	core.Set(func(f *testutil.FakeCore) {
		f.ArmedTime, f.Armed = voteTime.Unix(), map[string]string{"basefee": "300"}
	})
	if did := round(t, v, voteTime.Add(-time.Hour)); did != "" || v.Report() != nil {
		t.Fatalf("without a document: %q %+v", did, v.Report())
	}

	writeVotes(t, file, votes.Document{Votes: []votes.Vote{feesVote()}})
	before := voteTime.Add(-time.Hour)
	if did := round(t, v, before); did != "set basefee=200&basereserve=20000000&mode=set&upgradetime=2026-12-02T12%3A00%3A00Z" {
		t.Fatalf("first round: %q", did)
	}
	if r := v.Report(); r == nil || r.Vote != "fees/1" || !r.Armed || r.Applied || r.ConfirmedAt == nil || r.Error != "" {
		t.Fatalf("report: %+v", r)
	}
	if did := round(t, v, before.Add(15*time.Second)); did != "" {
		t.Fatalf("armed already, yet: %q", did)
	}

	core.Restart()
	if did := round(t, v, before.Add(30*time.Second)); !strings.HasPrefix(did, "set ") {
		t.Fatalf("after a restart: %q", did)
	}
	if got := len(core.UpgradeSetsSoFar()); got != 2 {
		t.Errorf("%d sets, want 2", got)
	}

	core.TakeUpgrades()
	after := voteTime.Add(5 * time.Second)
	if did := round(t, v, after); did != "" {
		t.Fatalf("taken: %q", did)
	}
	if r := v.Report(); r == nil || !r.Applied || r.Armed {
		t.Errorf("report once taken: %+v", r)
	}

	// The document no longer names the validator: what stellar-core holds is cleared.
	core.Set(func(f *testutil.FakeCore) {
		f.ArmedTime, f.Armed = voteTime.Unix(), map[string]string{"basefee": "300"}
	})
	writeVotes(t, file, votes.Document{})
	if did := round(t, v, after); did != "clear" || v.Report() != nil {
		t.Fatalf("vote withdrawn: %q %+v", did, v.Report())
	}
}

// An expired vote is not armed again; a changed vote replaces the one armed.
func TestVotingExpiryAndChange(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	file := filepath.Join(t.TempDir(), votes.KeyVotesJSON)
	v := &agent.Voting{Admin: agent.NewAdmin(core.URL), VotesFile: file, Self: "validator-1"}
	writeVotes(t, file, votes.Document{Votes: []votes.Vote{feesVote()}})
	round(t, v, voteTime)
	changed := feesVote()
	changed.Generation, changed.Params = 2, votes.Params{votes.ParamBaseFee: "500"}
	writeVotes(t, file, votes.Document{Votes: []votes.Vote{changed}})
	if did := round(t, v, voteTime); !strings.Contains(did, "basefee=500") || strings.Contains(did, "basereserve") {
		t.Fatalf("changed: %q", did)
	}
	if r := v.Report(); r.Vote != "fees/2" {
		t.Errorf("report: %+v", r)
	}
	core.Restart()
	if did := round(t, v, voteTime.Add(votes.DefaultExpiration)); did != "" {
		t.Fatalf("expired, yet: %q", did)
	}
	if got := core.UpgradeSetsSoFar(); len(got) != 2 {
		t.Errorf("sets: %v", got)
	}
}

// A vote stellar-core refuses, or a document entry outside the grammar, is reported, never armed.
func TestVotingErrors(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	file := filepath.Join(t.TempDir(), votes.KeyVotesJSON)
	v := &agent.Voting{Admin: agent.NewAdmin(core.URL), VotesFile: file, Self: "validator-1"}

	tooHigh := feesVote()
	tooHigh.Params = votes.Params{votes.ParamProtocolVersion: "20"}
	writeVotes(t, file, votes.Document{Votes: []votes.Vote{tooHigh}})
	if _, err := v.Round(context.Background(), voteTime); err == nil || !strings.Contains(err.Error(), "supported is up to 19") {
		t.Errorf("protocol above the binary's: %v", err)
	}
	if r := v.Report(); r == nil || r.Armed || !strings.Contains(r.Error, "supported is up to 19") {
		t.Errorf("report: %+v", r)
	}

	hostile := `{"votes":[{"validator":"validator-1","upgrade":"fees","upgradeTime":"2026-12-02T12:00:00Z",` +
		`"params":{"basefee":"200&mode=clear"}}]}`
	if err := os.WriteFile(file, []byte(hostile), 0o600); err != nil {
		t.Fatal(err)
	}
	before := len(core.UpgradeSetsSoFar())
	if _, err := v.Round(context.Background(), voteTime); err == nil || !strings.Contains(err.Error(), "refused") {
		t.Errorf("hostile entry: %v", err)
	}
	if len(core.UpgradeSetsSoFar()) != before {
		t.Errorf("a hostile entry reached stellar-core: %v", core.UpgradeSetsSoFar())
	}
}

// The status document carries the vote and the ledger header's values.
func TestStatusCarriesTheVote(t *testing.T) {
	core := testutil.StartFakeCore()
	defer core.Close()
	file := filepath.Join(t.TempDir(), votes.KeyVotesJSON)
	vote := feesVote()
	vote.Time = time.Now().Add(time.Hour).Truncate(time.Second) // RunVoting reads the clock: a vote an hour ahead
	writeVotes(t, file, votes.Document{Votes: []votes.Vote{vote}})
	args, err := agent.ParseArgs([]string{"--port=1", "--votes=" + file, "--self=validator-1"})
	if err != nil {
		t.Fatal(err)
	}
	ag := agent.New(args, agent.NewAdmin(core.URL), io.Discard)
	ctx, cancel := context.WithCancel(context.Background())
	go ag.RunVoting(ctx)
	defer cancel()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && (status(t, ag).Vote == nil || !status(t, ag).Vote.Armed) {
		time.Sleep(20 * time.Millisecond)
	}
	s := status(t, ag)
	if s.Vote == nil || s.Vote.Vote != "fees/1" || !s.Vote.Armed || s.Ledger.BaseFee != 100 || s.Ledger.BaseReserve != 100000000 {
		t.Errorf("status: %+v %+v", s.Vote, s.Ledger)
	}
	if _, err := agent.ParseArgs([]string{"--port=1", "--votes=" + file}); err == nil {
		t.Error("--votes without --self accepted")
	}
}
