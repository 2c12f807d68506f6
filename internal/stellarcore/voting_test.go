//go:build stellarcore

package stellarcore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/agent"
	"github.com/stellar-k8s/stellar-operator/internal/corestatus"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// voting is the operator's vote path on loopback: the plan (votes.Make) written as the stellar-votes
// document, and each node's agent voting from it against its real stellar-core, a round a second.
type voting struct {
	file   string
	nodes  []*node
	agents map[string]*agent.Voting
	mu     sync.Mutex
	// did are the rounds' actions per node ("set ...", "clear"), with the error of any that failed.
	did map[string][]string
}

func startVoting(t *testing.T, nodes []*node) *voting {
	t.Helper()
	v := &voting{file: filepath.Join(t.TempDir(), votes.KeyVotesJSON), nodes: nodes, agents: map[string]*agent.Voting{},
		did: map[string][]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	for _, n := range nodes {
		a := &agent.Voting{Admin: agent.NewAdmin(strconv.Itoa(int(n.spec.HTTPPort()))), VotesFile: v.file, Self: n.spec.Name}
		v.agents[n.spec.Name] = a
		wg.Go(func() {
			for ctx.Err() == nil {
				// Every action counts, answered or not: on a loaded machine the read-back of a set
				// may time out, and the set was still made.
				if did, err := a.Round(ctx, time.Now()); did != "" {
					if err != nil {
						did += " (" + err.Error() + ")"
					}
					v.mu.Lock()
					v.did[n.spec.Name] = append(v.did[n.spec.Name], did)
					v.mu.Unlock()
				}
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		})
	}
	return v
}

// actions are what a node's agent did so far.
func (v *voting) actions(name string) []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]string(nil), v.did[name]...)
}

// plan is the operator's reconcile: status.core of each node from its agent's report (as the poller
// copies it), the votes planned from it, the document written for the agents.
func (v *voting) plan(t *testing.T, upgrades []stellarv1alpha1.StellarNetworkUpgrade) votes.Plan {
	t.Helper()
	var specs []stellarv1alpha1.StellarNode
	for _, n := range v.nodes {
		spec := n.spec.DeepCopy()
		if n.cmd != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			info, err := agent.NewAdmin(strconv.Itoa(int(n.spec.HTTPPort()))).Info(ctx)
			cancel()
			if err == nil {
				s := agent.StatusFromInfo(info, time.Now())
				s.Vote = v.agents[n.spec.Name].Report()
				spec.Status.Core = corestatus.Merge(nil, s, nil, time.Now())
			}
		}
		specs = append(specs, *spec)
	}
	p := votes.Make(upgrades, specs, time.Now())
	if err := os.WriteFile(v.file, []byte(p.Document.Encode()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// votesAreArmedAndApplied votes a StellarNetworkUpgrade of base fee and base reserve on the running
// network: every agent arms it; a vote lost on one validator (cleared, as a stellar-core started on a
// new database holds none) is armed again by its agent; a validator restarted before the upgrade
// time still holds it; the ledger takes it; the operator's plan says Applied and the agents clear it.
func votesAreArmedAndApplied(t *testing.T, bin string, nodes []*node, vs *voting) {
	t.Helper()
	const fee, reserve = 300, 50000000
	u := stellarv1alpha1.StellarNetworkUpgrade{
		ObjectMeta: metav1.ObjectMeta{Namespace: "stellar", Name: "fees", Generation: 1, CreationTimestamp: metav1.Now()},
		Spec: stellarv1alpha1.StellarNetworkUpgradeSpec{Network: stellarv1alpha1.NetworkCustom,
			CustomNetworkPassphrase: nodes[0].spec.Spec.CustomNetworkPassphrase,
			UpgradeTime:             metav1.NewTime(time.Now().Add(45 * time.Second).Truncate(time.Second)),
			BaseFee:                 new(int64(fee)), BaseReserve: new(int64(reserve))},
	}
	upgrades := []stellarv1alpha1.StellarNetworkUpgrade{u}
	if p := vs.plan(t, upgrades); len(p.Document.Votes) != 3 || p.Verdicts["fees"].Phase != stellarv1alpha1.VotePending {
		t.Fatalf("plan: %+v\n%s", p.Verdicts["fees"], p.Document.Encode())
	}
	waitFor(t, 30*time.Second, "the vote armed on every validator", func() error {
		if v := vs.plan(t, upgrades).Verdicts["fees"]; v.Phase != stellarv1alpha1.VoteArmed {
			return fmt.Errorf("%s: %s", v.Phase, v.Message)
		}
		return nil
	})
	holds := func(n *node) (bool, error) { return holdsFees(n, fee, reserve) }
	for _, n := range nodes {
		if ok, err := holds(n); !ok || err != nil {
			t.Fatalf("%s does not hold the vote its agent confirmed: %v", n.spec.Name, err)
		}
	}

	// A vote lost on one validator: its agent arms it again, no one else does anything.
	if _, err := admin(nodes[1], "upgrades?mode=clear"); err != nil {
		t.Fatal(err)
	}
	// Both in one condition: the agent records its set once the read-back answers, which on a loaded
	// machine comes after stellar-core already holds the vote again.
	waitFor(t, 15*time.Second, nodes[1].spec.Name+"'s agent arms the lost vote again", func() error {
		if ok, err := holds(nodes[1]); !ok {
			return fmt.Errorf("not armed (%v)", err)
		}
		if sets := vs.actions(nodes[1].spec.Name); len(sets) < 3 { // the protocol, the vote, the vote again
			return fmt.Errorf("armed, but its agent recorded only %v", sets)
		}
		return nil
	})

	// A validator restarted before the upgrade time holds the vote when it is back.
	stop(nodes[2])
	start(t, bin, nodes[2])
	waitFor(t, 60*time.Second, nodes[2].spec.Name+" back, holding the vote or past it", func() error {
		if ok, err := holds(nodes[2]); ok || (err == nil && time.Now().After(u.Spec.UpgradeTime.Time)) {
			return nil
		}
		return errors.New("not yet")
	})
	t.Logf("%s after its restart: its agent did %v", nodes[2].spec.Name, vs.actions(nodes[2].spec.Name))

	waitFor(t, 150*time.Second, "every ledger header shows the new fee and reserve", func() error {
		return ledgersShow(nodes, fee, reserve)
	})
	appliedAndCleared(t, nodes, vs, upgrades)
}

// appliedAndCleared waits for the plan to say Applied and withdraw the vote, and for every agent to
// clear what its stellar-core held.
func appliedAndCleared(t *testing.T, nodes []*node, vs *voting, upgrades []stellarv1alpha1.StellarNetworkUpgrade) {
	t.Helper()
	waitFor(t, 30*time.Second, "the upgrade Applied and its vote withdrawn", func() error {
		p := vs.plan(t, upgrades)
		if v := p.Verdicts["fees"]; v.Phase != stellarv1alpha1.VoteApplied || len(p.Document.Votes) != 0 {
			return fmt.Errorf("%s: %s; %d votes", v.Phase, v.Message, len(p.Document.Votes))
		}
		return nil
	})
	waitFor(t, 15*time.Second, "nothing armed any more", func() error {
		for _, n := range nodes {
			body, err := admin(n, "upgrades?mode=get")
			if err != nil {
				return err
			}
			if armed, err := votes.ParseArmed(body); err != nil || !armed.Empty() {
				return fmt.Errorf("%s holds %v (%v)", n.spec.Name, armed.Params, err)
			}
		}
		return nil
	})
}

// holdsFees says whether the node's stellar-core holds a vote of that fee and reserve.
func holdsFees(n *node, fee, reserve int) (bool, error) {
	body, err := admin(n, "upgrades?mode=get")
	if err != nil {
		return false, err
	}
	armed, err := votes.ParseArmed(body)
	return armed.Params[votes.ParamBaseFee] == strconv.Itoa(fee) && armed.Params[votes.ParamBaseReserve] == strconv.Itoa(reserve), err
}

// ledgersShow says, as an error, which node's last ledger header does not have that fee and reserve.
func ledgersShow(nodes []*node, fee, reserve int64) error {
	for _, n := range nodes {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		info, err := agent.NewAdmin(strconv.Itoa(int(n.spec.HTTPPort()))).Info(ctx)
		cancel()
		if err != nil {
			return err
		}
		if info.Ledger.BaseFee != fee || info.Ledger.BaseReserve != reserve {
			return fmt.Errorf("%s: ledger %d has fee %d, reserve %d", n.spec.Name, info.Ledger.Num, info.Ledger.BaseFee, info.Ledger.BaseReserve)
		}
	}
	return nil
}
