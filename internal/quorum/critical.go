package quorum

import (
	"maps"
	"slices"
	"strings"
	"time"
)

// CriticalGroups are the groups of validators whose misconfiguration alone could split a network
// whose quorums intersect, found as stellar-core finds them
// (QuorumIntersectionCheckerImpl.cpp, getIntersectionCriticalGroups, v27.1.0): the candidates are every
// validator named in a set, alone, and every inner set without inner sets of its own (an
// organisation, in the sets stellar-core generates); a candidate is made "fickle", its members given
// one set that goes along with anyone (all of the group, and any one validator whose set names one of
// them), and the group is critical when the map so changed can split. complete is false when the
// time ran out, or a check could not decide, before every candidate was tried: the groups found are
// then only some of them, as when stop (nil: never) answers true between two candidates. It is asked of a map whose quorums intersect: in one that can split
// already, every group is found critical.
func CriticalGroups(m Map, limit time.Duration, stop func() bool) (groups [][]string, complete bool, err error) {
	if err := m.Validate(); err != nil {
		return nil, false, err
	}
	if limit <= 0 {
		limit = time.Hour
	}
	deadline := time.Now().Add(limit)
	trial := maps.Clone(m)
	for _, group := range candidates(m) {
		left := time.Until(deadline)
		if left <= 0 || (stop != nil && stop()) {
			return groups, false, nil
		}
		fickle := fickleSet(m, group)
		for _, k := range group {
			trial[k] = fickle
		}
		verdict := check(trial, left).Verdict
		for _, k := range group {
			if q, known := m[k]; known {
				trial[k] = q
			} else {
				delete(trial, k)
			}
		}
		switch verdict {
		case Split:
			groups = append(groups, group)
		case Unknown:
			return groups, false, nil
		}
	}
	return groups, true, nil
}

// candidates are the groups CriticalGroups tries, each sorted, in a stable order.
func candidates(m Map) [][]string {
	seen := map[string]bool{}
	var out [][]string
	add := func(group []string) {
		group = slices.Compact(slices.Sorted(slices.Values(group)))
		if id := strings.Join(group, ","); len(group) > 0 && !seen[id] {
			seen[id] = true
			out = append(out, group)
		}
	}
	var walk func(q *QSet, root bool)
	walk = func(q *QSet, root bool) {
		for _, v := range q.Validators {
			add([]string{v})
		}
		if !root && len(q.InnerSets) == 0 {
			add(q.Validators)
		}
		for i := range q.InnerSets {
			walk(&q.InnerSets[i], false)
		}
	}
	for _, k := range sortedKeys(m) {
		if q := m[k]; q != nil {
			walk(q, true)
		}
	}
	slices.SortFunc(out, func(a, b []string) int {
		if c := len(a) - len(b); c != 0 {
			return c
		}
		return slices.Compare(a, b)
	})
	return out
}

// fickleSet is the set a fickle group's members share: all of the group, and any one validator
// outside it whose set names one of them. With nobody naming the group, it can be in no quorum.
func fickleSet(m Map, group []string) *QSet {
	var dependents []string
	for _, k := range sortedKeys(m) {
		q := m[k]
		if q == nil || slices.Contains(group, k) {
			continue
		}
		if names := q.Keys(); slices.ContainsFunc(group, func(g string) bool { _, found := slices.BinarySearch(names, g); return found }) {
			dependents = append(dependents, k)
		}
	}
	return &QSet{Threshold: 2, InnerSets: []QSet{
		{Threshold: len(group), Validators: slices.Clone(group)},
		{Threshold: 1, Validators: dependents},
	}}
}
