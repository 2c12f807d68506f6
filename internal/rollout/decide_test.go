package rollout

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// up is a member in consensus, settled and accepted: the state of a healthy validator.
func up(name string) Member {
	return Member{Name: name, InConsensus: true, Settled: true, Accepted: true, Generation: 1}
}

func with(m Member, change func(*Member)) Member {
	change(&m)
	return m
}

func pending(m *Member)   { m.Pending = true }
func down(m *Member)      { m.InConsensus, m.Settled = false, false }
func unsettled(m *Member) { m.Settled = false }
func refused(m *Member)   { m.Accepted = false }
func immediate(m *Member) { m.Immediate = true }

func TestDecide(t *testing.T) {
	cases := []struct {
		name     string
		members  []Member
		inFlight map[string]bool
		ask      string
		granted  bool
		reason   string
		waiting  []string
	}{
		{name: "a settled network grants the first pending member",
			members: []Member{with(up("a"), pending), with(up("b"), pending), up("c")}, ask: "a",
			granted: true, reason: GrantedSettled},
		{name: "the second in order waits for the first",
			members: []Member{with(up("a"), pending), with(up("b"), pending), up("c")}, ask: "b",
			reason: WaitingForOrder, waiting: []string{"a"}},
		{name: "a change to one validator alone waits for nobody",
			members: []Member{up("a"), up("b"), up("c")}, ask: "c", granted: true, reason: GrantedSettled},
		{name: "a member being replaced holds every other turn",
			members: []Member{with(up("a"), down), with(up("b"), pending), up("c")}, ask: "b",
			reason: WaitingForMembers, waiting: []string{"a"}},
		{name: "Ready but not yet for minReadySeconds still holds the turn",
			members: []Member{with(up("a"), unsettled), up("b"), up("c")}, ask: "b",
			reason: WaitingForMembers, waiting: []string{"a"}},
		{name: "a turn the cache does not show yet holds the others",
			members: []Member{up("a"), up("b"), up("c")}, inFlight: map[string]bool{"a": true}, ask: "b",
			reason: WaitingForMembers, waiting: []string{"a"}},
		{name: "a member with a refused spec holds the others",
			members: []Member{up("a"), with(up("b"), refused), up("c")}, ask: "c",
			reason: WaitingForMembers, waiting: []string{"b"}},
		{name: "a member out of consensus may be replaced: nobody else goes down",
			members: []Member{up("a"), with(up("b"), down), up("c")}, ask: "b", granted: true, reason: GrantedAlreadyDown},
		{name: "a member out of consensus with a turn in flight waits for it",
			members: []Member{up("a"), with(up("b"), down), up("c")}, inFlight: map[string]bool{"b": true}, ask: "b",
			reason: WaitingForMembers, waiting: []string{"b"}},
		{name: "a network with no member in consensus rolls at once",
			members: []Member{with(up("a"), down), with(up("b"), down), with(up("c"), down)}, ask: "c",
			granted: true, reason: GrantedNetworkDown},
		{name: "a brand-new network (no pods) rolls at once",
			members: []Member{{Name: "a", Accepted: true}, {Name: "b", Accepted: true}}, inFlight: map[string]bool{"a": true}, ask: "b",
			granted: true, reason: GrantedNetworkDown},
		{name: "rolloutPolicy Immediate goes through whatever the others do",
			members: []Member{with(up("a"), down), with(up("b"), immediate), up("c")}, inFlight: map[string]bool{"a": true}, ask: "b",
			granted: true, reason: GrantedImmediate},
		{name: "Immediate on one member does not let another through",
			members: []Member{with(up("a"), func(m *Member) { immediate(m); down(m) }), up("b"), up("c")}, ask: "b",
			reason: WaitingForMembers, waiting: []string{"a"}},
		{name: "a validator outside the members (suspended) waits for nobody",
			members: []Member{up("a"), up("b")}, ask: "z", granted: true, reason: GrantedNotMember},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Decide(c.members, c.inFlight, c.ask)
			if d.Granted != c.granted || d.Reason != c.reason || !slices.Equal(d.WaitingFor, c.waiting) {
				t.Errorf("Decide = %+v, want granted=%v reason=%s waiting=%v", d, c.granted, c.reason, c.waiting)
			}
			if d.Detail == "" {
				t.Error("a decision says why in words")
			}
		})
	}
}

// TestDecideNeverTwoDown walks every state of a four-member network: whatever the state, granting
// every member that asks (one after another, as the planner does) never leaves two members out of
// consensus when at most one was before, unless no member was in consensus or one is Immediate.
func TestDecideNeverTwoDown(t *testing.T) {
	names := []string{"a", "b", "c", "d"}
	for state := range 1 << (2 * len(names)) {
		members := make([]Member, len(names))
		for i, n := range names {
			members[i] = Member{Name: n, Accepted: true, Generation: 1}
			members[i].InConsensus = state&(1<<(2*i)) != 0
			members[i].Settled = members[i].InConsensus
			members[i].Pending = state&(1<<(2*i+1)) != 0
		}
		downBefore, anyUp := 0, false
		for _, m := range members {
			if !m.InConsensus {
				downBefore++
			}
			anyUp = anyUp || m.InConsensus
		}
		inFlight := map[string]bool{}
		replaced := map[string]bool{}
		for _, m := range members {
			if !m.Pending {
				continue
			}
			if d := Decide(members, inFlight, m.Name); d.Granted {
				inFlight[m.Name] = true
				replaced[m.Name] = true
			}
		}
		downAfter := 0
		for _, m := range members {
			if !m.InConsensus || replaced[m.Name] {
				downAfter++
			}
		}
		if anyUp && downAfter > max(downBefore, 1) {
			t.Fatalf("state %08b: %d down before, %d after granting %v", state, downBefore, downAfter, replaced)
		}
	}
}

func TestDecideWaitsForOtherClusters(t *testing.T) {
	settled := func(name string) Member {
		return Member{Name: name, InConsensus: true, Settled: true, Accepted: true}
	}
	a1, a2 := settled("a1"), settled("a2")
	a1.Pending = true
	remote := settled("b1.tier1.cluster-b")
	remote.Remote = true

	if d := Decide([]Member{a1, a2, remote}, nil, "a1"); !d.Granted {
		t.Errorf("every member settled in both clusters: %+v, want granted", d)
	}
	rolling := remote
	rolling.Settled = false
	if d := Decide([]Member{a1, a2, rolling}, nil, "a1"); d.Granted || d.Reason != WaitingForMembers {
		t.Errorf("a member of another cluster being rolled: %+v, want waiting", d)
	}
	stale := Member{Name: remote.Name, Remote: true, Stale: true, Accepted: true}
	d := Decide([]Member{a1, a2, stale}, nil, "a1")
	if d.Granted || !strings.Contains(d.Detail, "does not answer") {
		t.Errorf("a member whose cluster does not answer: %+v, want waiting for it", d)
	}
	// Every local member down and the other cluster unknown: it may be in consensus there, so no
	// NetworkDown shortcut; a member already down may still be replaced.
	down := func(m Member) Member { m.InConsensus, m.Settled = false, false; return m }
	if d := Decide([]Member{down(a1), down(a2), stale}, map[string]bool{"a1": true}, "a1"); d.Granted {
		t.Errorf("network down here, unknown elsewhere: %+v, want waiting", d)
	}
}

// A validator waiting for a thousand others names ten in words and all of them in WaitingFor.
func TestDecideNamesTenBlockersInWords(t *testing.T) {
	members := []Member{up("a")}
	for i := range 999 {
		m := up(fmt.Sprintf("v%03d", i))
		m.Accepted = false
		members = append(members, m)
	}
	d := Decide(members, nil, "a")
	if d.Granted || len(d.WaitingFor) != 999 || !strings.HasSuffix(d.Detail, " and 989 more") || len(d.Detail) > 1000 {
		t.Errorf("%d waiting, detail of %d bytes: %q", len(d.WaitingFor), len(d.Detail), d.Detail[max(0, len(d.Detail)-60):])
	}
}
