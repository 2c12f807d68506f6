package quorum

import (
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// An organisation that three others trust and that a fourth depends on alone: made fickle, it could
// form a quorum with the fourth while the other two form another. It is the one critical group.
func TestCriticalGroupsFindsTheBridge(t *testing.T) {
	a, b, c, d := keys("a", 3), keys("b", 3), keys("c", 3), keys("d", 3)
	m := Map{}
	every(m, QSet{Threshold: 2, InnerSets: []QSet{org(a...), org(b...), org(c...)}}, append(append(slices.Clone(a), b...), c...)...)
	every(m, QSet{Threshold: 2, InnerSets: []QSet{org(a...), org(d...)}}, d...)
	if r, _ := Check(m, 0); r.Verdict != Intersecting {
		t.Fatalf("the map itself: %v", r.Verdict)
	}
	groups, complete, err := CriticalGroups(m, 0, nil)
	if err != nil || !complete {
		t.Fatalf("complete %v, %v", complete, err)
	}
	if want := [][]string{a}; !slices.EqualFunc(groups, want, slices.Equal) {
		t.Errorf("critical groups %v, want %v", groups, want)
	}
}

// Organisations that all trust each other at 67 % have no critical group.
func TestCriticalGroupsNoneInAPublicNetworkShape(t *testing.T) {
	groups, complete, err := CriticalGroups(publicNetworkShape(17, 8, false), 0, nil)
	if err != nil || !complete || len(groups) != 0 {
		t.Errorf("groups %v, complete %v, %v", groups, complete, err)
	}
}

// On random small maps whose quorums intersect, each candidate is critical exactly when brute force
// finds the map with it made fickle split.
func TestCriticalGroupsAgreeWithBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	tried, critical := 0, 0
	for tried < 150 {
		m := randomMap(r, 2+r.IntN(8))
		if bruteForce(m) != Intersecting {
			continue
		}
		tried++
		groups, complete, err := CriticalGroups(m, 0, nil)
		if err != nil || !complete {
			t.Fatalf("complete %v, %v", complete, err)
		}
		var want [][]string
		for _, g := range candidates(m) {
			trial := maps.Clone(m)
			for _, k := range g {
				trial[k] = fickleSet(m, g)
			}
			if bruteForce(trial) == Split {
				want = append(want, g)
			}
		}
		if !slices.EqualFunc(groups, want, slices.Equal) {
			t.Fatalf("map %v: critical %v, brute force %v", m, groups, want)
		}
		critical += len(groups)
	}
	if critical == 0 {
		t.Error("no random map had a critical group: the comparison tests one answer only")
	}
}

// The candidates are stellar-core's: every validator alone, and every inner set without inner sets.
func TestCriticalGroupCandidates(t *testing.T) {
	m := Map{"x": {Threshold: 2, Validators: []string{"x"}, InnerSets: []QSet{
		{Threshold: 1, Validators: []string{"b", "a"}},
		{Threshold: 1, InnerSets: []QSet{{Threshold: 1, Validators: []string{"c"}}}},
	}}}
	want := [][]string{{"a"}, {"b"}, {"c"}, {"x"}, {"a", "b"}}
	if got := candidates(m); !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("candidates %v, want %v", got, want)
	}
}

// Out of time, the search says it is not complete.
func TestCriticalGroupsHonourTheLimit(t *testing.T) {
	_, complete, err := CriticalGroups(publicNetworkShape(5, 3, false), time.Nanosecond, nil)
	if err != nil || complete {
		t.Errorf("complete %v within 1 ns, %v", complete, err)
	}
}

// Told to stop, the search stops at the next candidate and says it is not complete.
func TestCriticalGroupsStopWhenTold(t *testing.T) {
	asked := 0
	_, complete, err := CriticalGroups(publicNetworkShape(17, 8, false), 0, func() bool { asked++; return asked > 2 })
	if err != nil || complete || asked != 3 {
		t.Errorf("complete %v after %d questions, %v", complete, asked, err)
	}
}

// The critical groups of a public-network-sized map (docs/QUORUM.md).
func BenchmarkCriticalGroupsPublicNetworkShape(b *testing.B) {
	m := publicNetworkShape(17, 8, false)
	b.ReportAllocs()
	for b.Loop() {
		if _, complete, err := CriticalGroups(m, 0, nil); err != nil || !complete {
			b.Fatal(complete, err)
		}
	}
}
