package controller

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	v1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

func TestComputeStatus(t *testing.T) {
	running := computeStatus(v1.StellarNodeStatus{Peers: 2}, 1, observed{desired: 1, ready: 1, endpoint: "e"})
	cases := []struct {
		name   string
		prev   v1.StellarNodeStatus
		obs    observed
		phase  string
		want   map[string]metav1.ConditionStatus
		reason map[string]string
	}{
		{"ready", v1.StellarNodeStatus{}, observed{desired: 1, ready: 1},
			v1.PhaseRunning, map[string]metav1.ConditionStatus{v1.ConditionReady: "True", v1.ConditionDegraded: "False", v1.ConditionProgressing: "False"},
			map[string]string{v1.ConditionReady: v1.ReasonReady, v1.ConditionDegraded: v1.ReasonAsExpected, v1.ConditionProgressing: v1.ReasonStable}},
		{"not ready, rolling", v1.StellarNodeStatus{}, observed{desired: 1, ready: 0, rolling: true},
			v1.PhasePending, map[string]metav1.ConditionStatus{v1.ConditionReady: "False", v1.ConditionProgressing: "True"},
			map[string]string{v1.ConditionReady: v1.ReasonNotReady, v1.ConditionProgressing: v1.ReasonRollingOut}},
		{"suspended", v1.StellarNodeStatus{}, observed{suspended: true},
			v1.PhaseSuspended, map[string]metav1.ConditionStatus{v1.ConditionReady: "False"},
			map[string]string{v1.ConditionReady: v1.ReasonSuspended}},
		{"scaled to zero", v1.StellarNodeStatus{}, observed{desired: 0},
			v1.PhasePending, map[string]metav1.ConditionStatus{v1.ConditionReady: "False"},
			map[string]string{v1.ConditionReady: v1.ReasonScaledToZero}},
		{"pod cannot start", v1.StellarNodeStatus{}, observed{desired: 1, podProblem: "secret missing"},
			v1.PhaseDegraded, map[string]metav1.ConditionStatus{v1.ConditionDegraded: "True", v1.ConditionReady: "False"},
			map[string]string{v1.ConditionDegraded: v1.ReasonPodCannotStart}},
		{"invalid config on a running node keeps it Ready", running, observed{configError: errors.New("bad quorum")},
			v1.PhaseDegraded, map[string]metav1.ConditionStatus{v1.ConditionDegraded: "True", v1.ConditionReady: "True", v1.ConditionProgressing: "False"},
			map[string]string{v1.ConditionDegraded: v1.ReasonInvalidConfig, v1.ConditionReady: v1.ReasonReady}},
		{"invalid config on a new node", v1.StellarNodeStatus{}, observed{configError: errors.New("bad quorum")},
			v1.PhaseDegraded, map[string]metav1.ConditionStatus{v1.ConditionDegraded: "True", v1.ConditionReady: "False"},
			map[string]string{v1.ConditionReady: v1.ReasonInvalidConfig}},
		{"API error", running, observed{failure: errors.New("connection refused")},
			v1.PhaseDegraded, map[string]metav1.ConditionStatus{v1.ConditionDegraded: "True"},
			map[string]string{v1.ConditionDegraded: v1.ReasonReconcileError}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := computeStatus(c.prev, 7, c.obs)
			if got.Phase != c.phase {
				t.Errorf("phase = %s, want %s", got.Phase, c.phase)
			}
			if got.ObservedGeneration != 7 {
				t.Errorf("observedGeneration = %d", got.ObservedGeneration)
			}
			for typ, status := range c.want {
				cond := meta.FindStatusCondition(got.Conditions, typ)
				if cond == nil || cond.Status != status {
					t.Errorf("%s = %+v, want %s", typ, cond, status)
				}
			}
			for typ, reason := range c.reason {
				if cond := meta.FindStatusCondition(got.Conditions, typ); cond == nil || cond.Reason != reason {
					t.Errorf("%s reason = %+v, want %s", typ, cond, reason)
				}
			}
			if got.Peers != c.prev.Peers {
				t.Error("peer discovery's peers count is kept")
			}
		})
	}
	// Pure: the previous status is not changed.
	before := running.DeepCopy()
	_ = computeStatus(running, 8, observed{failure: errors.New("x")})
	if !meta.IsStatusConditionFalse(running.Conditions, v1.ConditionDegraded) || running.Phase != before.Phase {
		t.Error("computeStatus changed its input")
	}
}

// A condition message past the API's 32 KiB would make every status write fail: it is cut.
func TestConditionMessagesStayWithinTheAPILimit(t *testing.T) {
	long := strings.Repeat("validator-é ", 4000) // 48,000 bytes, two-byte runes among them
	st := computeStatus(v1.StellarNodeStatus{}, 1, observed{failure: errors.New(long)})
	for _, c := range st.Conditions {
		if len(c.Message) > 32768 || !utf8.ValidString(c.Message) {
			t.Errorf("%s: %d bytes, valid UTF-8 %v", c.Type, len(c.Message), utf8.ValidString(c.Message))
		}
	}
	if c := meta.FindStatusCondition(st.Conditions, v1.ConditionDegraded); c == nil || !strings.HasSuffix(c.Message, "[cut]") {
		t.Errorf("Degraded = %+v, want the failure, cut", c)
	}
}
