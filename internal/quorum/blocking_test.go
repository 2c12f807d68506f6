package quorum

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// blockedBy reports whether failing failed leaves no validator of group in a quorum: the validators
// left are pruned of those without a slice among them until none is, the largest quorum there is.
func blockedBy(m Map, group, failed []string) bool {
	live := map[string]bool{}
	for k, q := range m {
		if q != nil && !slices.Contains(failed, k) {
			live[k] = true
		}
	}
	for changed := true; changed; {
		changed = false
		for k := range live {
			if !m[k].satisfiedBy(live) {
				delete(live, k)
				changed = true
			}
		}
	}
	return !slices.ContainsFunc(group, func(k string) bool { return live[k] })
}

func TestBlockingScenarios(t *testing.T) {
	a, b, c := keys("a", 3), keys("b", 5), keys("c", 3)
	cases := []struct {
		name  string
		m     Map
		group []string
		want  int
	}{
		{"an organisation of three alone: two of its own", func() Map { m := Map{}; every(m, org(a...), a...); return m }(), a, 2},
		{"three organisations at 2 of 3: two organisations' majorities", func() Map {
			m := Map{}
			every(m, QSet{Threshold: 2, InnerSets: []QSet{org(a...), org(c...), org(keys("d", 3)...)}}, append(append(slices.Clone(a), c...), keys("d", 3)...)...)
			return m
		}(), a, 3}, // all three of a: cheaper than the four that block two organisations
		{"a cascade: a trusts only b, b only c; two of c take a out, its own set needs three", func() Map {
			m := Map{}
			every(m, QSet{Threshold: 1, InnerSets: []QSet{org(b...)}}, a...)
			every(m, org(c...), b...)
			every(m, org(c...), c...)
			return m
		}(), a, 2},
	}
	for _, tc := range cases {
		failed, ok := Blocking(tc.m, tc.group, 0)
		if !ok || len(failed) != tc.want {
			t.Errorf("%s: %v (ok %v), want %d failures", tc.name, failed, ok, tc.want)
			continue
		}
		if !blockedBy(tc.m, tc.group, failed) {
			t.Errorf("%s: %v does not block the group", tc.name, failed)
		}
	}
}

// In a public-network shape an organisation of three is taken out by its own three validators
// sooner than by the twelve that block six HIGH organisations.
func TestBlockingPublicNetworkShape(t *testing.T) {
	failed, ok := Blocking(publicNetworkShape(17, 8, false), keys("org0-", 3), 0)
	if !ok || !slices.Equal(failed, keys("org0-", 3)) {
		t.Errorf("%v (ok %v)", failed, ok)
	}
}

// On random small maps the fewest failures agree with brute force over every set of validators, and
// every set Blocking names blocks the group.
func TestBlockingAgreesWithBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cascades := 0
	for i := range 300 {
		m := randomMap(r, 2+r.IntN(9))
		nodes := sortedKeys(m)
		group := nodes[:1+r.IntN(min(3, len(nodes)))]
		if !slices.ContainsFunc(group, func(k string) bool { return m[k] != nil }) {
			continue
		}
		failed, ok := Blocking(m, group, 0)
		if !ok || !blockedBy(m, group, failed) {
			t.Fatalf("map %d: %v (ok %v) does not block %v", i, failed, ok, group)
		}
		want := len(nodes) + 1
		for set := range 1 << len(nodes) {
			var f []string
			for j, n := range nodes {
				if set&(1<<j) != 0 {
					f = append(f, n)
				}
			}
			if len(f) < want && blockedBy(m, group, f) {
				want = len(f)
			}
		}
		if len(failed) != want {
			t.Fatalf("map %d, group %v: %d failures %v, brute force %d", i, group, len(failed), failed, want)
		}
		if slices.ContainsFunc(failed, func(k string) bool { return !slices.Contains(group, k) }) {
			cascades++
		}
	}
	if cascades == 0 {
		t.Error("no random map was blocked from outside its group: the test proves little")
	}
}

func TestBlockingHonoursTheLimit(t *testing.T) {
	if _, ok := Blocking(publicNetworkShape(17, 8, false), keys("org0-", 3), time.Nanosecond); ok {
		t.Error("answered within a nanosecond")
	}
	if _, ok := Blocking(Map{"a": nil}, []string{"a"}, 0); ok {
		t.Error("a group with no known set has no answer")
	}
}
