package quorum

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// org is an organisation's inner set: a simple majority of its validators, as stellar-core generates.
func org(keys ...string) QSet { return QSet{Threshold: len(keys)/2 + 1, Validators: keys} }

// every gives each node of keys the same quorum set.
func every(m Map, q QSet, keys ...string) {
	for _, k := range keys {
		qq := q
		m[k] = &qq
	}
}

func keys(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// The scenarios of the operator with their verdicts, checked against brute force too.
func TestScenarios(t *testing.T) {
	a, b, c, d := keys("a", 3), keys("b", 3), keys("c", 3), keys("d", 3)
	cases := []struct {
		name string
		m    Map
		want Verdict
	}{
		{"an organisation of three", func() Map { m := Map{}; every(m, org(a...), a...); return m }(), Intersecting},
		{"two organisations that list only themselves", func() Map {
			m := Map{}
			every(m, org(a...), a...)
			every(m, org(b...), b...)
			return m
		}(), Split},
		{"four validators at 2 of 4", func() Map {
			m := Map{}
			every(m, QSet{Threshold: 2, Validators: []string{"n0", "n1", "n2", "n3"}}, "n0", "n1", "n2", "n3")
			return m
		}(), Split},
		{"three organisations of three, 2 of 3 each", func() Map {
			m := Map{}
			every(m, QSet{Threshold: 2, InnerSets: []QSet{org(a...), org(b...), org(c...)}}, append(append(slices.Clone(a), b...), c...)...)
			return m
		}(), Intersecting},
		{"an organisation of three with three external ones", func() Map {
			m := Map{}
			q := QSet{Threshold: 3, InnerSets: []QSet{org(a...), org(b...), org(c...), org(d...)}}
			every(m, q, append(append(append(slices.Clone(a), b...), c...), d...)...)
			return m
		}(), Intersecting},
		{"an external organisation made to form a quorum alone", func() Map {
			m := Map{}
			every(m, QSet{Threshold: 2, InnerSets: []QSet{org(a...), org(b...), org(c...)}}, append(slices.Clone(a), b...)...)
			every(m, org(c...), c...)
			every(m, org(d...), d...) // and a fourth that trusts only itself
			return m
		}(), Split},
		{"a HIGH organisation nesting a MEDIUM one", func() Map {
			m := Map{}
			medium := QSet{Threshold: 1, InnerSets: []QSet{org(d...)}}
			q := QSet{Threshold: 3, InnerSets: []QSet{org(a...), org(b...), org(c...), medium}}
			every(m, q, append(append(append(slices.Clone(a), b...), c...), d...)...)
			return m
		}(), Intersecting},
		{"validators whose sets are unknown are in no quorum", func() Map {
			m := Map{"u0": nil}
			every(m, QSet{Threshold: 2, Validators: []string{"a0", "a1", "u0", "u1"}}, "a0", "a1")
			return m
		}(), Intersecting},
		{"nobody's set known", Map{"u0": nil, "u1": nil}, Intersecting},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Check(tc.m, 0)
			if err != nil {
				t.Fatal(err)
			}
			if r.Verdict != tc.want {
				t.Fatalf("verdict %v, want %v (%v)", r.Verdict, tc.want, r.Quorums)
			}
			checkWitness(t, tc.m, r)
			if brute := bruteForce(tc.m); brute != r.Verdict {
				t.Errorf("brute force says %v", brute)
			}
		})
	}
}

// checkWitness holds a split to its proof: two quorums, no node in common.
func checkWitness(t *testing.T, m Map, r Result) {
	t.Helper()
	if r.Verdict != Split {
		return
	}
	if !m.IsQuorum(r.Quorums[0]) || !m.IsQuorum(r.Quorums[1]) {
		t.Fatalf("witness %v is not two quorums", r.Quorums)
	}
	for _, n := range r.Quorums[0] {
		if slices.Contains(r.Quorums[1], n) {
			t.Fatalf("witness %v shares %s", r.Quorums, n)
		}
	}
}

// bruteForce decides small maps by enumerating every pair of node sets.
func bruteForce(m Map) Verdict {
	var nodes []string
	for k, q := range m {
		if q != nil {
			nodes = append(nodes, k)
		}
	}
	slices.Sort(nodes)
	var quorums []uint32
	for set := uint32(1); set < 1<<len(nodes); set++ {
		var members []string
		for i, n := range nodes {
			if set&(1<<i) != 0 {
				members = append(members, n)
			}
		}
		if m.IsQuorum(members) {
			quorums = append(quorums, set)
		}
	}
	for _, q1 := range quorums {
		for _, q2 := range quorums {
			if q1&q2 == 0 {
				return Split
			}
		}
	}
	return Intersecting
}

// randomMap is a seeded map of n nodes (Random).
func randomMap(r *rand.Rand, n int) Map { return Random(r, keys("n", n)) }

// On random small maps the check agrees with brute force, and every split it names is a proof.
func TestAgreesWithBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	splits := 0
	for i := range 400 {
		m := randomMap(r, 2+r.IntN(10))
		res, err := Check(m, 0)
		if err != nil {
			t.Fatal(err)
		}
		checkWitness(t, m, res)
		if want := bruteForce(m); res.Verdict != want {
			t.Fatalf("map %d: %v, brute force %v", i, res.Verdict, want)
		}
		if res.Verdict == Split {
			splits++
		}
	}
	if splits < 40 || splits > 360 {
		t.Errorf("%d of 400 random maps split: the generator tests one answer only", splits)
	}
}

// A map with two disjoint quorums planted in it is always found split, whatever else it holds.
func TestPlantedSplitIsFound(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 200 {
		n := 6 + r.IntN(55)
		m := randomMap(r, n)
		// Two disjoint groups, each a quorum of its own: every member trusts a majority of its group.
		perm := r.Perm(n)
		size := 1 + r.IntN(n/2)
		groups := [2][]string{}
		for j, p := range perm[:2*size] {
			groups[j%2] = append(groups[j%2], fmt.Sprintf("n%d", p))
		}
		for _, g := range groups {
			every(m, org(g...), g...)
		}
		res, err := Check(m, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != Split {
			t.Fatalf("map %d (%d nodes, groups %v): %v", i, n, groups, res.Verdict)
		}
		checkWitness(t, m, res)
	}
}

func TestValidateBoundsTheMap(t *testing.T) {
	deep := QSet{Threshold: 1, Validators: []string{"a"}}
	for range MaxDepth {
		deep = QSet{Threshold: 1, InnerSets: []QSet{deep}}
	}
	for name, m := range map[string]Map{
		"too deep":          {"a": &deep},
		"threshold 0":       {"a": {Threshold: 0, Validators: []string{"a"}}},
		"threshold too big": {"a": {Threshold: 2, Validators: []string{"a"}}},
	} {
		if _, err := Check(m, 0); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// How many validators may fail before a set has no slice left.
func TestMinBlocking(t *testing.T) {
	a, b, c := keys("a", 3), keys("b", 3), keys("c", 3)
	for name, tc := range map[string]struct {
		q    QSet
		want int
	}{
		"an organisation of three":        {org(a...), 2},
		"four validators at 3 of 4":       {QSet{Threshold: 3, Validators: keys("n", 4)}, 2},
		"three organisations at 2 of 3":   {QSet{Threshold: 2, InnerSets: []QSet{org(a...), org(b...), org(c...)}}, 4},
		"a key and an organisation, both": {QSet{Threshold: 2, Validators: []string{"x"}, InnerSets: []QSet{org(a...)}}, 1},
	} {
		if got := tc.q.MinBlocking(); got != tc.want {
			t.Errorf("%s: %d, want %d", name, got, tc.want)
		}
	}
}
