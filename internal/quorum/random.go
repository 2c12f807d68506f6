package quorum

import "math/rand/v2"

// Random is a seeded random map over keys, for comparing checks with each other (brute force here,
// stellar-core's own checker in the real-binary tests): each node trusts a random threshold of a random
// subset of keys, some through inner sets nested up to three levels; about one in ten has no known set.
func Random(r *rand.Rand, keys []string) Map {
	m := Map{}
	for _, k := range keys {
		if r.IntN(10) == 0 {
			m[k] = nil
			continue
		}
		q := randomSet(r, keys, 1)
		m[k] = &q
	}
	return m
}

func randomSet(r *rand.Rand, keys []string, depth int) QSet {
	var q QSet
	share := 2 + r.IntN(6) // each key named with probability 1/share
	for _, k := range keys {
		if r.IntN(share) == 0 {
			q.Validators = append(q.Validators, k)
		}
	}
	if depth < 3 && r.IntN(3) == 0 {
		for range 1 + r.IntN(3) {
			q.InnerSets = append(q.InnerSets, randomSet(r, keys, depth+1))
		}
	}
	if len(q.Validators)+len(q.InnerSets) == 0 {
		q.Validators = []string{keys[r.IntN(len(keys))]}
	}
	q.Threshold = 1 + r.IntN(len(q.Validators)+len(q.InnerSets))
	return q
}
