package rollout

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"k8s.io/apimachinery/pkg/types"
)

func TestPlannerHoldsAGrantedTurnUntilTheCacheShowsIt(t *testing.T) {
	p := NewPlanner()
	members := []Member{with(up("a"), pending), with(up("b"), pending), up("c")}

	d, turn := p.Request("ns", "net", members, "a")
	if turn == nil || !d.Granted {
		t.Fatalf("a, first in order of a settled network, gets the turn: %+v", d)
	}
	// Until the write is recorded, the turn is reserved: nobody else gets one.
	if d, turn := p.Request("ns", "net", members, "b"); turn != nil {
		t.Fatalf("b got a turn while a's is reserved: %+v", d)
	}
	turn.Done(2)
	// The cache still shows a's old generation, settled: b still waits.
	if d, _ := p.Request("ns", "net", members, "b"); d.Granted || !slices.Equal(d.WaitingFor, []string{"a"}) {
		t.Fatalf("b must wait for a's turn in flight: %+v", d)
	}
	// The cache shows the write: a is being replaced, from the objects now.
	members[0].Generation, members[0].InConsensus, members[0].Settled, members[0].Pending = 2, false, false, false
	if d, _ := p.Request("ns", "net", members, "b"); d.Granted || d.Reason != WaitingForMembers {
		t.Fatalf("b must wait for a to come back: %+v", d)
	}
	// a is back: b's turn.
	members[0] = up("a")
	members[0].Generation = 2
	if d, turn := p.Request("ns", "net", members, "b"); turn == nil {
		t.Fatalf("b gets its turn once a is back: %+v", d)
	}
}

func TestPlannerCancelGivesTheTurnBack(t *testing.T) {
	p := NewPlanner()
	members := []Member{up("a"), up("b")}
	_, turn := p.Request("ns", "net", members, "a")
	turn.Cancel()
	if _, turn := p.Request("ns", "net", members, "b"); turn == nil {
		t.Fatal("a cancelled turn holds nothing")
	}
}

func TestPlannerNetworksAreIndependent(t *testing.T) {
	p := NewPlanner()
	one := []Member{up("a"), up("b")}
	if _, turn := p.Request("ns", "one", one, "a"); turn == nil {
		t.Fatal("a of network one")
	}
	other := []Member{up("x"), up("y")}
	if _, turn := p.Request("ns", "other", other, "x"); turn == nil {
		t.Fatal("a turn in one network never holds another's")
	}
	if _, turn := p.Request("ns2", "one", []Member{up("a"), up("b")}, "b"); turn == nil {
		t.Fatal("nor the same network in another namespace")
	}
}

// Concurrent clients (the reconciler and discovery) never get two turns of one network at once.
func TestPlannerConcurrentRequests(t *testing.T) {
	p := NewPlanner()
	members := []Member{up("a"), up("b"), up("c"), up("d")}
	var wg sync.WaitGroup
	var mu sync.Mutex
	granted := 0
	for _, m := range members {
		for range 10 {
			wg.Go(func() {
				if _, turn := p.Request("ns", "net", members, m.Name); turn != nil {
					mu.Lock()
					granted++
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	if granted != 1 {
		t.Fatalf("%d turns granted at once, want 1", granted)
	}
}

func TestPlannerServesQueues(t *testing.T) {
	p := NewPlanner()
	members := []Member{with(up("a"), down), with(up("b"), pending), with(up("c"), pending)}
	p.Request("ns", "net", members, "b")
	rec := httptest.NewRecorder()
	p.ServeHTTP(rec, httptest.NewRequest("GET", "/rollouts", nil))
	var got struct {
		Networks []NetworkQueue `json:"networks"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Networks) != 1 {
		t.Fatalf("networks = %+v", got.Networks)
	}
	q := got.Networks[0]
	if !slices.Equal(q.Replacing, []string{"a"}) || !slices.Equal(q.Queue, []string{"b", "c"}) || q.Decisions["b"].Granted {
		t.Fatalf("queue = %+v", q)
	}
}

// A validator deleted and created again under its name has a new StatefulSet, at generation 1: the
// turn its old StatefulSet was granted holds nothing of it, and its network's rollouts go on.
func TestPlannerForgetsATurnOfAStatefulSetThatIsGone(t *testing.T) {
	p := NewPlanner()
	members := []Member{with(up("a"), pending), up("b")}
	members[0].UID, members[0].Generation = "old", 4
	_, turn := p.Request("ns", "net", members, "a")
	turn.Done(5)
	members[0] = with(up("a"), pending)
	members[0].UID, members[0].Generation = "new", 1
	members[1] = with(up("b"), pending)
	if d, turn := p.Request("ns", "net", members, "a"); turn == nil {
		t.Fatalf("the new a is held by the old one's turn: %+v", d)
	}
}

// A suspended validator's turn holds nothing: its network's members keep getting theirs.
func TestPlannerTurnOfANonMemberHoldsNothing(t *testing.T) {
	p := NewPlanner()
	members := []Member{with(up("a"), pending), up("b")}
	d, turn := p.Request("ns", "net", members, "suspended")
	if turn == nil || d.Reason != GrantedNotMember {
		t.Fatalf("%+v", d)
	}
	turn.Done(3)
	if d, turn := p.Request("ns", "net", members, "a"); turn == nil {
		t.Fatalf("a waits on a suspended validator: %+v", d)
	}
}

func TestPlannerRetainForgetsNetworksGone(t *testing.T) {
	p := NewPlanner()
	p.Observe("ns", "gone", []Member{up("a")})
	p.Observe("ns", "kept", []Member{up("b")})
	p.Observe("other", "gone", []Member{up("c")})
	p.Retain("ns", []string{"kept"})
	var left []string
	for _, q := range p.Snapshot() {
		left = append(left, q.Namespace+"/"+q.Network)
	}
	if !slices.Equal(left, []string{"ns/kept", "other/gone"}) {
		t.Errorf("left %v", left)
	}
}

// A turn granted in one namespace of a scope is in flight in the other: its member there carries the
// reference of the validator the turn went to.
func TestPlannerTurnsAreSharedAcrossTheNamespacesOfAScope(t *testing.T) {
	p := NewPlanner()
	inA := []Member{with(up("v1"), pending), up("v2")}
	v1 := up("v1.a")
	v1.Ref = "a/v1"
	inB := []Member{v1, with(up("w1"), pending)}

	_, turn := p.Request("a", "net", inA, "v1")
	if turn == nil {
		t.Fatal("v1, first of a settled network, gets the turn in a")
	}
	if d, turn := p.Request("b", "net", inB, "w1"); turn != nil || !slices.Equal(d.WaitingFor, []string{"v1.a"}) {
		t.Fatalf("w1 in b got a turn while a/v1's is reserved: %+v", d)
	}
	turn.Done(2)
	if d, turn := p.Request("b", "net", inB, "w1"); turn != nil {
		t.Fatalf("w1 in b got a turn while a/v1's write is not in the cache: %+v", d)
	}
	// Without the reference, b would take a/v1's member for one of its own: the mutation this test catches.
	inB[0].Ref = ""
	if _, turn := p.Request("b", "net", inB, "w1"); turn == nil {
		t.Fatal("a member with no reference is looked up in the asking namespace, where nothing is in flight")
	}
}

func TestNextInLineIsTheFirstValidatorStillWaitingInEachNetwork(t *testing.T) {
	p := NewPlanner()
	members := []Member{with(up("a"), pending), with(up("b"), pending), with(up("c"), pending),
		with(with(up("d.other"), pending), func(m *Member) { m.Ref = "other/d" })}
	_, turn := p.Request("ns", "net", members, "a")
	turn.Done(2)
	if d, _ := p.Request("ns", "net", members, "b"); d.Granted {
		t.Fatalf("b waits for a: %+v", d)
	}
	// a was granted its turn: b, not a, is the one a's return may let through.
	if got := p.NextInLine(); !slices.Equal(got, []types.NamespacedName{{Namespace: "ns", Name: "b"}}) {
		t.Fatalf("next in line: %v", got)
	}
	other := []Member{with(up("x"), pending), up("y")}
	p.Observe("ns", "other", other)
	got := p.NextInLine()
	slices.SortFunc(got, func(a, b types.NamespacedName) int { return strings.Compare(a.Name, b.Name) })
	if !slices.Equal(got, []types.NamespacedName{{Namespace: "ns", Name: "b"}, {Namespace: "ns", Name: "x"}}) {
		t.Fatalf("one per network, x never asked yet: %v", got)
	}
	// Only members of another namespace still wait: that namespace's own queue names them.
	members = []Member{up("a"), up("b"), up("c"), with(with(up("d.other"), pending), func(m *Member) { m.Ref = "other/d" })}
	p.Observe("ns", "net", members)
	p.Retain("ns", []string{"net"})
	if got := p.NextInLine(); len(got) != 0 {
		t.Fatalf("nothing of ns waits: %v", got)
	}
}
