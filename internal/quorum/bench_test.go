package quorum

import (
	"fmt"
	"testing"
)

// threshold is stellar-core's of n entries at 67 % (Config.cpp, generateQuorumSet).
func threshold(n int) int { return 1 + (n*67-1)/100 }

// publicNetworkShape is a map shaped like the public network's transitive quorum: high HIGH
// organisations and medium MEDIUM ones of three validators each, every validator with the set
// stellar-core generates (an inner set per organisation at a simple majority, the MEDIUM level one
// entry of the HIGH level). broken, when set, lets the MEDIUM organisations trust only themselves.
func publicNetworkShape(high, medium int, broken bool) Map {
	m := Map{}
	var highSets, mediumSets []QSet
	var highKeys, mediumKeys []string
	for i := range high + medium {
		ks := keys(fmt.Sprintf("org%d-", i), 3)
		if i < high {
			highSets, highKeys = append(highSets, org(ks...)), append(highKeys, ks...)
		} else {
			mediumSets, mediumKeys = append(mediumSets, org(ks...)), append(mediumKeys, ks...)
		}
	}
	mediumLevel := QSet{Threshold: threshold(len(mediumSets)), InnerSets: mediumSets}
	top := QSet{Threshold: threshold(len(highSets) + 1), InnerSets: append(highSets, mediumLevel)}
	every(m, top, highKeys...)
	if broken {
		every(m, mediumLevel, mediumKeys...)
	} else {
		every(m, top, mediumKeys...)
	}
	return m
}

func TestPublicNetworkShape(t *testing.T) {
	for _, c := range []struct {
		broken bool
		want   Verdict
	}{{false, Intersecting}, {true, Split}} {
		r, err := Check(publicNetworkShape(17, 8, c.broken), 0)
		if err != nil || r.Verdict != c.want {
			t.Errorf("broken %v: %v (%v), want %v", c.broken, r.Verdict, err, c.want)
		}
	}
}

// The verdict for a public-network-sized map (25 organisations of 3, 17 HIGH and 8 MEDIUM).
// go test ./internal/quorum -bench . reports its time and memory (docs/QUORUM.md).
func BenchmarkPublicNetworkShape(b *testing.B) {
	for _, broken := range []bool{false, true} {
		m := publicNetworkShape(17, 8, broken)
		b.Run(fmt.Sprintf("split=%v", broken), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Check(m, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// What an organisation of a public-network-sized map survives (Blocking), for every organisation
// of it, as the operator computes it after each new map (docs/QUORUM.md).
func BenchmarkBlockingPublicNetworkShape(b *testing.B) {
	m := publicNetworkShape(17, 8, false)
	b.ReportAllocs()
	for b.Loop() {
		for i := range 25 {
			if _, ok := Blocking(m, keys(fmt.Sprintf("org%d-", i), 3), 0); !ok {
				b.Fatal("no answer")
			}
		}
	}
}
