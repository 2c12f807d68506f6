//go:build e2e

package e2e

import (
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

// podTracker watches the validator pods of a namespace. It counts restarts (a new pod, at a new
// revision of its StatefulSet's template, for a validator it already knew: a pod the StatefulSet
// controller recreates at the revision it had is no change the operator made), the most validators
// down at once, and holds each new pod NotReady for a while: kwok marks pods Ready within about
// 100 ms, which would make pacing trivially true.
type podTracker struct {
	c    client.Client
	ns   string
	hold time.Duration

	mu          sync.Mutex
	uids        map[string]types.UID // current pod of each validator
	revisions   map[string]string    // its controller-revision-hash
	restarts    testutil.Tally
	established map[string]bool // validators whose restarts and downtime count
	heldUntil   map[types.UID]time.Time
	released    map[types.UID]bool
	maxDown     int
	downLog     []string
	// downSince is when each established validator was last seen going down; downs are its
	// downtimes so far, from then to Ready again.
	downSince map[string]time.Time
	downs     []testutil.Down
}

func startTracker(ns string, hold time.Duration) *podTracker {
	return startTrackerIn(k8sClient, ns, hold)
}

// startTrackerIn tracks the validator pods of ns in the cluster c talks to.
func startTrackerIn(c client.Client, ns string, hold time.Duration) *podTracker {
	t := &podTracker{c: c, ns: ns, hold: hold, uids: map[string]types.UID{}, revisions: map[string]string{},
		established: map[string]bool{}, heldUntil: map[types.UID]time.Time{}, released: map[types.UID]bool{},
		downSince: map[string]time.Time{}}
	DeferCleanup(testutil.Every(25*time.Millisecond, t.poll))
	return t
}

func (t *podTracker) poll() {
	var pods corev1.PodList
	if err := t.c.List(ctx, &pods, client.InNamespace(t.ns), client.MatchingLabels{"app.kubernetes.io/component": "validator"}); err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	up := map[string]bool{}
	for i := range pods.Items {
		pod := &pods.Items[i]
		name := pod.Labels["app.kubernetes.io/instance"]
		if pod.DeletionTimestamp != nil {
			continue
		}
		revision := pod.Labels[appsv1.ControllerRevisionHashLabelKey]
		if prev, ok := t.uids[name]; ok && prev != pod.UID && t.established[name] {
			if revision != t.revisions[name] {
				t.restarts.Add(name)
			}
			t.heldUntil[pod.UID] = time.Now().Add(t.hold)
		}
		t.uids[name], t.revisions[name] = pod.UID, revision
		ready := testutil.IsReady(pod)
		if until, held := t.heldUntil[pod.UID]; held && !t.released[pod.UID] {
			switch {
			case time.Now().Before(until) && ready:
				setPodReady(t.c, pod, false)
				ready = false
			case !time.Now().Before(until):
				if setPodReady(t.c, pod, true) {
					t.released[pod.UID] = true
					ready = true
				}
			default:
				ready = false
			}
		}
		if ready {
			up[name] = true
		}
	}
	var down []string
	now := time.Now()
	for name := range t.established {
		since, wasDown := t.downSince[name]
		switch {
		case !up[name]:
			down = append(down, name)
			if !wasDown {
				t.downSince[name] = now
			}
		case wasDown:
			t.downs = append(t.downs, testutil.Down{Name: name, From: since, To: now})
			delete(t.downSince, name)
		}
	}
	if len(down) > t.maxDown {
		t.maxDown = len(down)
		t.downLog = append(t.downLog, time.Now().Format(time.StampMilli)+" down: "+strings.Join(down, ","))
	}
}

// setPodReady writes the pod's Ready condition through the status subresource.
func setPodReady(c client.Client, pod *corev1.Pod, ready bool) bool {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	patched := pod.DeepCopy()
	found := false
	for i, c := range patched.Status.Conditions {
		if c.Type == corev1.PodReady || c.Type == corev1.ContainersReady {
			patched.Status.Conditions[i].Status = status
			patched.Status.Conditions[i].LastTransitionTime = metav1.Now()
			found = found || c.Type == corev1.PodReady
		}
	}
	if !found {
		return false
	}
	return c.Status().Update(ctx, patched) == nil
}

// establish starts counting restarts and downtime of these validators, from zero.
func (t *podTracker) establish(names ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.restarts.Reset()
	t.maxDown = 0
	t.downLog = nil
	t.downs, t.downSince = nil, map[string]time.Time{}
	for _, n := range names {
		t.established[n] = true
	}
}

// add counts these validators too, from now, keeping what was counted so far.
func (t *podTracker) add(names ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range names {
		t.established[n] = true
	}
}

// forget stops counting a validator about to be deleted on purpose: its going is no downtime.
func (t *podTracker) forget(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.established, name)
	delete(t.downSince, name)
}

func (t *podTracker) restartCounts() map[string]int { return t.restarts.Snapshot() }

// downtimes are the established validators' downtimes since establish, those still down last.
func (t *podTracker) downtimes() []testutil.Down {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := append([]testutil.Down(nil), t.downs...)
	for name, since := range t.downSince {
		out = append(out, testutil.Down{Name: name, From: since})
	}
	return out
}

func (t *podTracker) mostDown() (int, []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.maxDown, append([]string(nil), t.downLog...)
}

// setHold changes how long pods restarted from now on are held NotReady.
func (t *podTracker) setHold(d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.hold = d
}

// release ends every hold now: held pods become Ready at the next poll.
func (t *podTracker) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	for uid, until := range t.heldUntil {
		if until.After(now) {
			t.heldUntil[uid] = now
		}
	}
}

// killOperatorMidway SIGKILLs the operator once the tracker has seen a first pod replaced, and starts
// it again two seconds later, as a crash in the middle of a wave would.
func killOperatorMidway(t *podTracker, limit time.Duration) {
	EventuallyWithOffset(1, func() int {
		total := 0
		for _, n := range t.restartCounts() {
			total += n
		}
		return total
	}, limit, 50*time.Millisecond).Should(BeNumerically(">=", 1))
	operator.kill()
	time.Sleep(2 * time.Second)
	operator.start()
}
