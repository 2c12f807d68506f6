package agent

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// Voting keeps stellar-core's armed upgrade equal to the validator's vote in the mounted stellar-votes
// document: armed after any restart of stellar-core (a new database, or one restored without it,
// holds nothing), changed when the vote changes, cleared when the document names no vote for it.
// Without the document (no vote was ever declared in the namespace) it leaves stellar-core alone. It
// only ever talks to stellar-core on 127.0.0.1: nothing another pod can call makes a validator vote.
type Voting struct {
	Admin     *Admin
	VotesFile string
	Self      string

	mu     sync.Mutex
	report *votes.Report
	// armedKey and armedParams are what this agent last armed; taken are the parameters the ledger
	// header cannot show that stellar-core dropped after the upgrade time, having applied them.
	armedKey    string
	armedParams votes.Params
	taken       map[string]bool
}

// Report is the last round's report, nil when the validator has no vote.
func (v *Voting) Report() *votes.Report {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.report == nil {
		return nil
	}
	r := *v.report
	return &r
}

// Round brings stellar-core's armed upgrade to the vote and says what it did: "" when nothing was
// needed, "set ..." or "clear".
func (v *Voting) Round(ctx context.Context, now time.Time) (string, error) {
	want, managed, err := v.wanted()
	if err != nil || !managed {
		v.setReport(nil, err, false, now)
		return "", err
	}
	info, err := v.Admin.Info(ctx)
	if err != nil {
		v.setReport(want, err, false, now)
		return "", err
	}
	armed, err := v.Admin.ArmedUpgrades(ctx)
	if err != nil {
		v.setReport(want, err, false, now)
		return "", err
	}
	if want == nil || !now.Before(want.Expiry()) {
		v.remember("", nil)
		v.setReport(nil, nil, false, now)
		return v.clear(ctx, armed)
	}
	ledger := votes.Ledger{Num: info.Ledger.Num, ProtocolVersion: info.Ledger.Version, BaseFee: info.Ledger.BaseFee,
		BaseReserve: info.Ledger.BaseReserve, MaxTxSetSize: info.Ledger.MaxTxSetSize}
	remaining := v.remaining(*want, armed, ledger, now)
	if len(remaining) == 0 {
		// Applied: nothing left to ask.
		v.setReport(want, nil, true, now)
		return v.clear(ctx, armed)
	}
	if armed.Holds(*want, remaining) {
		v.setReport(want, nil, false, now)
		return "", nil
	}
	query := want.SetQuery(remaining)
	if err := v.Admin.SetUpgrades(ctx, query); err != nil {
		v.setReport(want, err, false, now)
		return "", err
	}
	v.remember(want.Key(), remaining)
	// Read it back: stellar-core silently drops a parameter its release does not take.
	if armed, err = v.Admin.ArmedUpgrades(ctx); err == nil && !armed.Holds(*want, remaining) {
		err = fmt.Errorf("stellar-core holds %v after %s", armed.Params, query)
	}
	v.setReport(want, err, false, now)
	return "set " + strings.TrimPrefix(query, "upgrades?"), err
}

func (v *Voting) clear(ctx context.Context, armed votes.Armed) (string, error) {
	if armed.Empty() {
		return "", nil
	}
	return "clear", v.Admin.ClearUpgrades(ctx)
}

// wanted reads the document: the vote for this validator (nil for none), and whether the document exists.
func (v *Voting) wanted() (*votes.Vote, bool, error) {
	data, err := os.ReadFile(v.VotesFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	doc, err := votes.Decode(data)
	if err != nil {
		return nil, false, err
	}
	want := doc.For(v.Self)
	if want == nil {
		return nil, true, nil
	}
	// Checked again where it is read: the document is a ConfigMap others may write.
	if err := want.Validate(); err != nil {
		return nil, false, fmt.Errorf("vote of %s refused: %w", v.Self, err)
	}
	return want, true, nil
}

// remaining are the vote's values still to ask: not shown by the ledger, and not taken.
func (v *Voting) remaining(want votes.Vote, armed votes.Armed, ledger votes.Ledger, now time.Time) votes.Params {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.armedKey != want.Key() {
		v.armedKey, v.armedParams, v.taken = "", nil, map[string]bool{}
	}
	if v.taken == nil {
		v.taken = map[string]bool{}
	}
	// What this agent armed and stellar-core no longer holds, past the upgrade time, was applied: once
	// a ledger takes an upgrade, Upgrades::removeUpgrades drops it and keeps the time. A restarted
	// stellar-core without its database holds no time at all: nothing was taken then.
	if v.armedKey != "" && !now.Before(want.Time) && armed.Time.Equal(want.Time.Truncate(time.Second)) {
		for name := range v.armedParams {
			if _, held := armed.Params[name]; !held {
				v.taken[name] = true
			}
		}
	}
	return want.Remaining(ledger, v.taken)
}

// remember records what this agent armed; an empty key forgets it.
func (v *Voting) remember(key string, params votes.Params) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if key == "" {
		v.taken = nil
	}
	v.armedKey, v.armedParams = key, params
}

func (v *Voting) setReport(want *votes.Vote, err error, applied bool, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if want == nil && err == nil {
		v.report = nil
		return
	}
	r := &votes.Report{}
	if want != nil {
		r.Vote = want.Key()
	}
	if err != nil {
		r.Error = err.Error()
	} else {
		at := now.UTC()
		r.Armed, r.ConfirmedAt, r.Applied = !applied, &at, applied
	}
	v.report = r
}
