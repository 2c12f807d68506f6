package rollout

import (
	"math/rand/v2"
	"testing"
	"time"
)

// world plays several clusters' operators, each stepping its cluster turn, publishing its register
// and reading the others' at moments a seeded scheduler picks.
type world struct {
	now       int64
	states    []ClusterTurn
	published []Register
	// seen[i][j] is what i last read of j, and when that read started.
	seen [][]Participant
}

func (w *world) tick() time.Time { w.now++; return time.Unix(0, w.now) }

func (w *world) read(i, j int) {
	w.seen[i][j] = Participant{Source: "c", Namespace: "ns", Register: w.published[j], ReadAt: w.tick()}
}

func (w *world) step(i int, wants, busy bool) bool {
	self := Participant{Namespace: "ns", Register: Register{Cluster: clusterName(i)}}
	var others []Participant
	for j := range w.states {
		if j != i {
			others = append(others, w.seen[i][j])
		}
	}
	next, held, _ := StepClusterTurn(w.states[i], self, wants, busy, others)
	if reg := next.Register(clusterName(i)); reg != w.published[i] {
		w.published[i] = reg
		next.WroteAt = w.tick()
	}
	w.states[i] = next
	return held
}

func clusterName(i int) string { return string(rune('a' + i)) }

func TestClusterTurnIsExclusive(t *testing.T) {
	const clusters = 3
	for seed := uint64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		w := &world{states: make([]ClusterTurn, clusters), published: make([]Register, clusters), seen: make([][]Participant, clusters)}
		for i := range w.seen {
			w.seen[i] = make([]Participant, clusters)
		}
		turns := make([]int, clusters)   // turns each cluster has had
		holding := make([]int, clusters) // steps left in the current turn
		for range 3000 {
			i := r.IntN(clusters)
			if r.IntN(2) == 0 {
				w.read(i, (i+1+r.IntN(clusters-1))%clusters)
				continue
			}
			wants := turns[i] < 3 && holding[i] == 0
			held := w.step(i, wants, holding[i] > 0)
			if held && holding[i] == 0 && wants {
				holding[i] = 1 + r.IntN(4)
				turns[i]++
			} else if holding[i] > 0 {
				holding[i]--
			}
			inTurn := 0
			for j := range holding {
				if holding[j] > 0 {
					inTurn++
				}
			}
			if inTurn > 1 {
				t.Fatalf("seed %d: %d clusters in their turn at once: %+v", seed, inTurn, w.states)
			}
		}
		for i, n := range turns {
			if n != 3 {
				t.Errorf("seed %d: cluster %d had %d of its 3 turns: %+v %+v", seed, i, n, w.states, w.published)
			}
		}
	}
}

func TestClusterTurnWaitsForAFreshRead(t *testing.T) {
	self := Participant{Namespace: "ns", Register: Register{Cluster: "a"}}
	wrote := time.Unix(100, 0)
	old := Participant{Source: "cluster-b", Namespace: "ns", Register: Register{Cluster: "b"}, ReadAt: time.Unix(99, 0)}
	st := ClusterTurn{Phase: TurnChoosing, WroteAt: wrote}
	if next, held, why := StepClusterTurn(st, self, true, false, []Participant{old}); held || next.Phase != TurnChoosing || why == "" {
		t.Errorf("a read older than the claim: %+v %v %q, want still choosing", next, held, why)
	}
	fresh := old
	fresh.ReadAt = time.Unix(101, 0)
	fresh.Register.Number = 4
	next, _, _ := StepClusterTurn(st, self, true, false, []Participant{fresh})
	if next.Phase != TurnWaiting || next.Number != 5 {
		t.Errorf("after a fresh read of number 4: %+v, want waiting with 5", next)
	}
	if _, held, _ := StepClusterTurn(ClusterTurn{Phase: TurnIdle}, self, true, false, nil); !held {
		t.Error("no other cluster: the turn is this cluster's own")
	}
	same := fresh
	same.Register = Register{Cluster: "a"}
	if _, held, why := StepClusterTurn(ClusterTurn{Phase: TurnWaiting, Number: 1, WroteAt: wrote}, self, true, false, []Participant{same}); held || why == "" {
		t.Errorf("two clusters named a: held %v (%q), want refused", held, why)
	}
}
