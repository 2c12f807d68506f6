package quorum

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-air/gini"
	"github.com/go-air/gini/logic"
	"github.com/go-air/gini/z"
)

// Blocking is the fewest validators of m, anywhere in the map and the group's own included, whose
// failure leaves no validator of group in a quorum: failures cascade, a validator whose every slice
// holds a failed or stuck one being stuck in turn (as a validator with an unknown set is from the
// start). failed is one such set, sorted. ok is false when the search ran out of limit (0: none)
// first, or the group names no validator with a known set.
//
// It asks the SAT solver for a set of at most k failures, k = 0, 1, ... up to the group's size (which
// always suffices). Stuck is a least fixed point, so it is unrolled: a round makes stuck every
// validator whose quorum set the previous round's stuck validators block, and since validators with
// one set are stuck in the same round, as many rounds as distinct sets reach the fixed point.
func Blocking(m Map, group []string, limit time.Duration) (failed []string, ok bool) {
	if m.Validate() != nil {
		return nil, false
	}
	if !slices.ContainsFunc(group, func(k string) bool { return m[k] != nil }) {
		return nil, false
	}
	nodes := reachable(m, group)
	classes := map[string]int{}
	for _, n := range nodes {
		if _, seen := classes[setID(m[n])]; !seen {
			classes[setID(m[n])] = len(classes)
		}
	}
	c := logic.NewC()
	fails := make(map[string]z.Lit, len(nodes))
	stuck := make(map[string]z.Lit, len(nodes))
	failLits := make([]z.Lit, 0, len(nodes))
	for _, n := range nodes {
		fails[n] = c.Lit()
		stuck[n] = fails[n]
		failLits = append(failLits, fails[n])
	}
	for range classes {
		next := make(map[string]z.Lit, len(nodes))
		blocked := map[int]z.Lit{}
		for _, n := range nodes {
			class := classes[setID(m[n])]
			if _, done := blocked[class]; !done {
				blocked[class] = liveSlice(c, m[n], stuck).Not()
			}
			next[n] = c.Or(stuck[n], blocked[class])
		}
		stuck = next
	}
	var all []z.Lit
	for _, k := range group {
		if lit, known := stuck[k]; known {
			all = append(all, lit)
		}
	}
	goal := c.Ands(all...)
	count := c.CardSort(failLits)
	roots := []z.Lit{goal}
	for k := 0; k <= len(all); k++ {
		roots = append(roots, count.Leq(k))
	}
	g := gini.New()
	c.ToCnfFrom(g, roots...)
	g.Add(goal)
	g.Add(0)
	if limit <= 0 {
		limit = time.Hour
	}
	deadline := time.Now().Add(limit)
	for k := 0; k <= len(all); k++ {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, false
		}
		g.Assume(count.Leq(k))
		switch g.GoSolve().Try(left) {
		case 1:
			for _, n := range nodes {
				if g.Value(fails[n]) {
					failed = append(failed, n)
				}
			}
			return failed, true
		case 0:
			return nil, false
		}
	}
	return nil, false // not reached: failing the whole group blocks it
}

// liveSlice is a literal true when the validators not stuck hold a slice of q; a validator with an
// unknown set is never live.
func liveSlice(c *logic.C, q *QSet, stuck map[string]z.Lit) z.Lit {
	entries := make([]z.Lit, 0, len(q.Validators)+len(q.InnerSets))
	for _, v := range q.Validators {
		if lit, known := stuck[v]; known {
			entries = append(entries, lit.Not())
		}
	}
	for i := range q.InnerSets {
		entries = append(entries, liveSlice(c, &q.InnerSets[i], stuck))
	}
	if len(entries) < q.Threshold {
		return c.F
	}
	return c.CardSort(entries).Geq(q.Threshold)
}

// reachable are the validators with a known set that group's sets lead to, the group's own included,
// sorted: no other validator's failure can touch the group.
func reachable(m Map, group []string) []string {
	seen := map[string]bool{}
	next := slices.Clone(group)
	for len(next) > 0 {
		k := next[len(next)-1]
		next = next[:len(next)-1]
		if seen[k] || m[k] == nil {
			continue
		}
		seen[k] = true
		next = append(next, m[k].Keys()...)
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// setID names a quorum set by its contents, so validators with one set share it.
func setID(q *QSet) string {
	var b strings.Builder
	var walk func(*QSet)
	walk = func(q *QSet) {
		b.WriteString("(" + strconv.Itoa(q.Threshold) + ":")
		for _, v := range slices.Sorted(slices.Values(q.Validators)) {
			b.WriteString(v + ",")
		}
		for i := range q.InnerSets {
			walk(&q.InnerSets[i])
		}
		b.WriteString(")")
	}
	walk(q)
	return b.String()
}
