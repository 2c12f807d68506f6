package peerdiscovery

import (
	"cmp"
	"slices"
	"strings"
	"testing"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
)

func state(name, network, applied, target string, settled bool) ValidatorState {
	return ValidatorState{Name: name, Namespace: "ns", NetworkID: network, AppliedHash: applied, TargetHash: target,
		HasStatefulSet: true, Settled: settled, RestartsForPeers: true, SpecAccepted: true}
}

func TestPlanRestarts(t *testing.T) {
	cases := []struct {
		name     string
		states   []ValidatorState
		inFlight map[string]bool
		restarts []string
		pending  []string
	}{
		{
			name:   "nothing to do when every validator runs its membership",
			states: []ValidatorState{state("a", "n1", "h", "h", true), state("b", "n1", "h", "h", true)},
		},
		{
			name:     "one validator at a time per network, by name",
			states:   []ValidatorState{state("c", "n1", "old", "new", true), state("a", "n1", "old", "new", true), state("b", "n1", "old", "new", true)},
			restarts: []string{"a"},
			pending:  []string{"a", "b", "c"},
		},
		{
			name: "waits while a member's spec is unchecked or refused by the checker",
			states: []ValidatorState{state("a", "n1", "old", "new", true), func() ValidatorState {
				s := state("b", "n1", "h", "h", true)
				s.SpecAccepted = false
				return s
			}()},
			pending: []string{"a"},
		},
		{
			name:    "waits while any member of the network is not settled",
			states:  []ValidatorState{state("a", "n1", "old", "new", true), state("b", "n1", "h", "h", false)},
			pending: []string{"a"},
		},
		{
			name:     "networks are paced independently",
			states:   []ValidatorState{state("a", "n1", "old", "new", true), state("b", "n2", "old", "new", true), state("c", "n2", "h", "h", false)},
			restarts: []string{"a"},
			pending:  []string{"a", "b"},
		},
		{
			name:     "a restart the cache does not show yet blocks the next one",
			states:   []ValidatorState{state("a", "n1", "new", "new", true), state("b", "n1", "old", "new", true)},
			inFlight: map[string]bool{"a": true},
			pending:  []string{"b"},
		},
		{
			name: "restartPolicy None is never restarted",
			states: []ValidatorState{func() ValidatorState {
				s := state("a", "n1", "old", "new", true)
				s.RestartsForPeers = false
				return s
			}()},
		},
		{
			name: "a validator without a StatefulSet yet waits for the reconciler",
			states: []ValidatorState{func() ValidatorState {
				s := state("a", "n1", "", "new", false)
				s.HasStatefulSet = false
				return s
			}(), state("b", "n1", "old", "new", true)},
			pending: []string{"b"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan := PlanRestarts(viewOf(c.states), c.inFlight)
			var got []string
			for _, r := range plan.Restarts {
				got = append(got, r.Name)
			}
			if !equal(got, c.restarts) {
				t.Errorf("restarts = %v, want %v", got, c.restarts)
			}
			if !equal(plan.Pending, c.pending) {
				t.Errorf("pending = %v, want %v", plan.Pending, c.pending)
			}
		})
	}
}

func TestDiffPeers(t *testing.T) {
	a := peers.Peer{Name: "a", PodIP: "10.0.0.1", Port: 11625}
	b := peers.Peer{Name: "b", PodIP: "10.0.0.2", Port: 11625}
	b2 := b
	b2.PodIP = "10.0.0.9"
	c := peers.Peer{Name: "c", PodIP: "10.0.0.3", Port: 11625}
	d := DiffPeers([]peers.Peer{a, b}, []peers.Peer{b2, c})
	if !equal(d.Added, []string{"c"}) || !equal(d.Removed, []string{"a"}) || !equal(d.Readdressed, []string{"b"}) {
		t.Errorf("diff = %+v", d)
	}
	if !DiffPeers([]peers.Peer{a, b}, []peers.Peer{b, a}).Empty() {
		t.Error("the same peers in another order are no change")
	}
}

func TestMemberDiff(t *testing.T) {
	joined, left := MemberDiff([]peers.Member{{Name: "a", Port: 1}, {Name: "b", Port: 1}}, []peers.Member{{Name: "b", Port: 2}, {Name: "c", Port: 1}})
	if !equal(joined, []string{"b:2", "c:1"}) || !equal(left, []string{"a:1", "b:1"}) {
		t.Errorf("joined %v left %v", joined, left)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// viewOf groups states by network, as BuildView does: networks by ID, members by name.
func viewOf(states []ValidatorState) View {
	sorted := slices.Clone(states)
	slices.SortFunc(sorted, func(a, b ValidatorState) int {
		return cmp.Or(strings.Compare(a.NetworkID, b.NetworkID), strings.Compare(a.Name, b.Name))
	})
	var v View
	for _, s := range sorted {
		if n := len(v.Networks); n == 0 || v.Networks[n-1].ID != s.NetworkID {
			v.Networks = append(v.Networks, NetworkView{ID: s.NetworkID})
		}
		nw := &v.Networks[len(v.Networks)-1]
		nw.States = append(nw.States, s)
		nw.Members = append(nw.Members, s.Self)
	}
	return v
}
