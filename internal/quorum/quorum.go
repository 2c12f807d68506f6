// Package quorum checks quorum intersection: whether any two quorums of a network share a node.
// Without it the network can fork. The check is exact: it asks a SAT solver (go-air/gini) for two
// disjoint quorums, the question stellar-core's own checker asks since v23 (src/rust/src/bridge.rs, the
// stellar/stellar-quorum-analyzer crate): a satisfying assignment is a split, with its two quorums as
// the witness; an unsatisfiable formula proves intersection; a solver out of time proves nothing.
package quorum

import (
	"fmt"
	"slices"
	"strings"
)

// QSet is a quorum set: Threshold of its Validators and InnerSets.
type QSet struct {
	Threshold  int
	Validators []string
	InnerSets  []QSet
}

// Map is a network's quorum sets by node (a G... public key). A node whose quorum set is not known
// is absent, or present with a nil QSet: as stellar-core's checker does
// (QuorumIntersectionCheckerImpl.cpp, convertSCPQuorumSet), it is taken for dead, in no quorum, and
// those who depend on it must reach their thresholds without it.
type Map map[string]*QSet

// MaxNodes and MaxDepth bound a map as stellar-core bounds a quorum set (1000 nodes, 4 levels).
const (
	MaxNodes = 1000
	MaxDepth = 4
)

// Validate refuses a map the check would not bound: too many nodes, a set nested too deep, a
// threshold below 1 or above what it counts.
func (m Map) Validate() error {
	if len(m) > MaxNodes {
		return fmt.Errorf("%d nodes: at most %d", len(m), MaxNodes)
	}
	for _, node := range sortedKeys(m) {
		if q := m[node]; q != nil {
			if err := q.validate(1); err != nil {
				return fmt.Errorf("%s: %w", node, err)
			}
		}
	}
	return nil
}

func (q *QSet) validate(depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("quorum set nested deeper than %d levels", MaxDepth)
	}
	if n := len(q.Validators) + len(q.InnerSets); q.Threshold < 1 || q.Threshold > n {
		return fmt.Errorf("threshold %d of %d entries", q.Threshold, n)
	}
	for i := range q.InnerSets {
		if err := q.InnerSets[i].validate(depth + 1); err != nil {
			return err
		}
	}
	return nil
}

// MinBlocking is the fewest validators whose failure leaves no slice of q: each entry costs one
// validator, an inner set its own MinBlocking, and the cheapest entries beyond the threshold's
// slack are taken. MinBlocking - 1 failures q survives.
func (q *QSet) MinBlocking() int {
	costs := make([]int, 0, len(q.Validators)+len(q.InnerSets))
	for range q.Validators {
		costs = append(costs, 1)
	}
	for i := range q.InnerSets {
		costs = append(costs, q.InnerSets[i].MinBlocking())
	}
	slices.Sort(costs)
	total := 0
	for i := 0; i < len(costs)-q.Threshold+1 && i < len(costs); i++ {
		total += costs[i]
	}
	return total
}

// Keys are the validators q names, at every level, each once, sorted.
func (q *QSet) Keys() []string {
	var out []string
	var walk func(*QSet)
	walk = func(q *QSet) {
		out = append(out, q.Validators...)
		for i := range q.InnerSets {
			walk(&q.InnerSets[i])
		}
	}
	walk(q)
	slices.Sort(out)
	return slices.Compact(out)
}

// satisfiedBy reports whether members hold a slice of q.
func (q *QSet) satisfiedBy(members map[string]bool) bool {
	n := 0
	for _, v := range q.Validators {
		if members[v] {
			n++
		}
	}
	for i := range q.InnerSets {
		if q.InnerSets[i].satisfiedBy(members) {
			n++
		}
	}
	return n >= q.Threshold
}

// IsQuorum reports whether nodes form a quorum of m: not empty, and holding a slice of each member's
// quorum set (a member without a known set is in no quorum).
func (m Map) IsQuorum(nodes []string) bool {
	if len(nodes) == 0 {
		return false
	}
	members := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		members[n] = true
	}
	for _, n := range nodes {
		if q := m[n]; q == nil || !q.satisfiedBy(members) {
			return false
		}
	}
	return true
}

// Verdict is the answer of a check.
type Verdict int

const (
	// Intersecting: every two quorums share a node (proven).
	Intersecting Verdict = iota
	// Split: two disjoint quorums exist (Result.Quorums names them).
	Split
	// Unknown: the check ran out of time before proving either; it proves nothing.
	Unknown
)

func (v Verdict) String() string {
	return [...]string{"intersecting", "split", "unknown"}[v]
}

// Result is a check's verdict, with two disjoint quorums on a split, each sorted.
type Result struct {
	Verdict Verdict
	Quorums [2][]string
}

// Describe says the result in words, naming nodes through name (the key itself when nil).
func (r Result) Describe(name func(key string) string) string {
	switch r.Verdict {
	case Intersecting:
		return "every two quorums of the network intersect"
	case Unknown:
		return "quorum intersection is not proven: the check ran out of time"
	}
	say := func(q []string) string {
		out := make([]string, len(q))
		for i, k := range q {
			out[i] = k
			if name != nil {
				out[i] = name(k)
			}
		}
		return "{" + strings.Join(out, ", ") + "}"
	}
	return fmt.Sprintf("the network can split: %s and %s are two quorums with no node in common", say(r.Quorums[0]), say(r.Quorums[1]))
}

func sortedKeys(m Map) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
