package quorum

import (
	"slices"
	"time"

	"github.com/go-air/gini"
	"github.com/go-air/gini/logic"
	"github.com/go-air/gini/z"
)

// Check decides whether the quorums of m intersect, within limit (0: no limit). It encodes "two
// disjoint quorums A and B exist" as a formula: one variable per node for each of A and B; a node in
// A has its quorum set satisfied by A (a threshold over its validators and inner sets, as a
// cardinality constraint), likewise for B; no node in both; neither empty. A node without a known
// quorum set is in neither.
func Check(m Map, limit time.Duration) (Result, error) {
	if err := m.Validate(); err != nil {
		return Result{}, err
	}
	return check(m, limit), nil
}

// check is Check of a map already validated, or made by this package.
func check(m Map, limit time.Duration) Result {
	nodes := make([]string, 0, len(m))
	for k, q := range m {
		if q != nil {
			nodes = append(nodes, k)
		}
	}
	slices.Sort(nodes)
	if len(nodes) < 2 {
		// One node shares itself with any other quorum; none means no quorum at all.
		return Result{Verdict: Intersecting}
	}
	c := logic.NewC()
	e := encoder{c: c, m: m, in: [2]map[string]z.Lit{{}, {}}}
	for _, n := range nodes {
		e.in[0][n], e.in[1][n] = c.Lit(), c.Lit()
	}
	var roots []z.Lit
	for side := range 2 {
		members := make([]z.Lit, 0, len(nodes))
		for _, n := range nodes {
			member := e.in[side][n]
			members = append(members, member)
			roots = append(roots, c.Implies(member, e.satisfied(side, m[n])))
		}
		roots = append(roots, c.Ors(members...))
	}
	for _, n := range nodes {
		roots = append(roots, c.Ands(e.in[0][n], e.in[1][n]).Not())
	}
	g := gini.New()
	c.ToCnfFrom(g, roots...)
	for _, r := range roots {
		g.Add(r)
		g.Add(0)
	}
	var answer int
	if limit > 0 {
		answer = g.GoSolve().Try(limit)
	} else {
		answer = g.Solve()
	}
	switch answer {
	case -1:
		return Result{Verdict: Intersecting}
	case 1:
		var r Result
		r.Verdict = Split
		for side := range 2 {
			for _, n := range nodes {
				if g.Value(e.in[side][n]) {
					r.Quorums[side] = append(r.Quorums[side], n)
				}
			}
		}
		return r
	default:
		return Result{Verdict: Unknown}
	}
}

type encoder struct {
	c  *logic.C
	m  Map
	in [2]map[string]z.Lit
}

// satisfied is a literal true when side's members hold a slice of q.
func (e encoder) satisfied(side int, q *QSet) z.Lit {
	entries := make([]z.Lit, 0, len(q.Validators)+len(q.InnerSets))
	for _, v := range q.Validators {
		if lit, known := e.in[side][v]; known {
			entries = append(entries, lit)
		}
		// A validator without a known quorum set is in no quorum: it never counts.
	}
	for i := range q.InnerSets {
		entries = append(entries, e.satisfied(side, &q.InnerSets[i]))
	}
	if len(entries) < q.Threshold {
		return e.c.F
	}
	return e.c.CardSort(entries).Geq(q.Threshold)
}
