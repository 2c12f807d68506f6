package quorumgate

import (
	"testing"

	"github.com/stellar-k8s/stellar-operator/internal/quorum"
)

// The reported sets fill in the validators the local sets reach, and those they reach in turn; a
// validator nobody here reaches stays out, and a local validator's proposed set is never replaced.
func TestWithReportedTakesWhatTheLocalSetsReach(t *testing.T) {
	set := func(keys ...string) *quorum.QSet { return &quorum.QSet{Threshold: len(keys), Validators: keys} }
	m := quorum.Map{"local": set("local", "x")}
	reported := quorum.Map{"local": set("other"), "x": set("x", "y"), "y": set("y"), "z": set("z"), "w": nil}
	if added := withReported(m, reported); added != 2 {
		t.Errorf("added %d sets, want x and y", added)
	}
	if len(m) != 3 || m["x"] == nil || m["y"] == nil || m["local"].Validators[0] != "local" {
		t.Errorf("map %v: want local (its own set), x and y", m)
	}
	if _, in := m["z"]; in {
		t.Error("z, which nobody here reaches, was added")
	}
}

// A split always holds; not proven holds unless allowed; proven never does.
func TestVerdictHolds(t *testing.T) {
	for _, c := range []struct {
		v                   quorum.Verdict
		allowed, notAllowed bool
	}{{quorum.Split, true, true}, {quorum.Unknown, false, true}, {quorum.Intersecting, false, false}} {
		v := Verdict{Result: quorum.Result{Verdict: c.v}}
		if v.Holds(true) != c.allowed || v.Holds(false) != c.notAllowed {
			t.Errorf("%v: holds %v allowed, %v not allowed", c.v, v.Holds(true), v.Holds(false))
		}
	}
}
