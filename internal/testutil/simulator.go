package testutil

import (
	"context"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Simulator plays the StatefulSet controller and the kubelet for one namespace, which envtest lacks:
// it creates each validator's pod, recreates it with a new IP when the pod template changes, holds a
// new pod NotReady for a while, then marks it Ready and writes the StatefulSet's status.
type Simulator struct {
	ctx  context.Context
	c    client.Client
	ns   string
	hold time.Duration

	restarts Tally // pods recreated for a template change

	mu       sync.Mutex
	seenGen  map[string]int64     // template generation the current pod runs
	notReady map[string]time.Time // pods not Ready yet, since when
	readyAt  map[string]time.Time // when each pod last became Ready
	keepDown map[string]bool      // pods held NotReady by the test
	maxDown  int                  // most pods NotReady at once, after reset
	// restarting holds when each pod being replaced for a template change went down; downs are
	// those replacements, from going down to Ready again.
	restarting map[string]time.Time
	downs      []Down
}

// StartSimulator runs a simulator for ns through c every 10 ms until stop is called. A new pod stays
// NotReady for hold.
func StartSimulator(ctx context.Context, c client.Client, ns string, hold time.Duration) (s *Simulator, stop func()) {
	s = &Simulator{
		ctx: ctx, c: c, ns: ns, hold: hold,
		seenGen: map[string]int64{}, notReady: map[string]time.Time{}, readyAt: map[string]time.Time{}, keepDown: map[string]bool{},
		restarting: map[string]time.Time{},
	}
	return s, Every(10*time.Millisecond, s.step)
}

func (s *Simulator) step() {
	var sets appsv1.StatefulSetList
	if err := s.c.List(s.ctx, &sets, client.InNamespace(s.ns)); err != nil {
		return
	}
	for i := range sets.Items {
		if err := s.sync(&sets.Items[i]); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			_ = err // a later step retries: the next one reads the StatefulSet again
		}
	}
}

func (s *Simulator) sync(sts *appsv1.StatefulSet) error {
	name := sts.Name
	pod := &corev1.Pod{}
	err := s.c.Get(s.ctx, client.ObjectKey{Namespace: s.ns, Name: name + "-0"}, pod)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if *sts.Spec.Replicas == 0 {
		if exists {
			delete(s.notReady, name)
			if err := s.c.Delete(s.ctx, pod, client.GracePeriodSeconds(0)); err != nil {
				return err
			}
		}
		delete(s.seenGen, name)
		return s.writeStatus(sts, 0)
	}
	switch {
	case !exists:
		s.seenGen[name] = sts.Generation
		return s.createPod(sts)
	case sts.Generation > s.seenGen[name]:
		s.restarts.Add(name)
		s.restarting[name] = time.Now()
		s.seenGen[name] = sts.Generation
		if err := s.c.Delete(s.ctx, pod, client.GracePeriodSeconds(0)); err != nil {
			return err
		}
		return s.createPod(sts)
	}
	since, down := s.notReady[name]
	if down && !s.keepDown[name] && time.Since(since) >= s.hold {
		SetReady(pod, true)
		if err := s.c.Status().Update(s.ctx, pod); err != nil {
			return err
		}
		delete(s.notReady, name)
		s.readyAt[name] = time.Now()
		if from, ok := s.restarting[name]; ok {
			s.downs = append(s.downs, Down{Name: name, From: from, To: s.readyAt[name]})
			delete(s.restarting, name)
		}
	}
	ready := int32(1)
	if _, down := s.notReady[name]; down {
		ready = 0
	}
	if sts.Status.ReadyReplicas != ready || sts.Status.ObservedGeneration != sts.Generation {
		return s.writeStatus(sts, ready)
	}
	return nil
}

func (s *Simulator) createPod(sts *appsv1.StatefulSet) error {
	pod := PodFor(sts)
	if err := s.c.Create(s.ctx, pod); err != nil {
		return err
	}
	Assign(pod, NextPodIP(), false)
	if err := s.c.Status().Update(s.ctx, pod); err != nil {
		return err
	}
	s.notReady[sts.Name] = time.Now()
	s.maxDown = max(s.maxDown, len(s.notReady))
	return s.writeStatus(sts, 0)
}

func (s *Simulator) writeStatus(sts *appsv1.StatefulSet, ready int32) error {
	replicas := *sts.Spec.Replicas
	rev := fmt.Sprintf("%s-%d", sts.Name, sts.Generation)
	sts.Status = appsv1.StatefulSetStatus{
		ObservedGeneration: sts.Generation, Replicas: replicas, ReadyReplicas: ready, AvailableReplicas: ready,
		CurrentReplicas: replicas, UpdatedReplicas: replicas, CurrentRevision: rev, UpdateRevision: rev,
	}
	return s.c.Status().Update(s.ctx, sts)
}

// HoldDown keeps a validator's pod NotReady until release.
func (s *Simulator) HoldDown(name string, down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keepDown[name] = down
}

// ResetCounts forgets restarts and the most pods down at once so far.
func (s *Simulator) ResetCounts() {
	s.restarts.Reset()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxDown = len(s.notReady)
}

// RestartCounts are the pods recreated for a template change, per validator.
func (s *Simulator) RestartCounts() map[string]int { return s.restarts.Snapshot() }

// MostDownAtOnce is the most pods NotReady at once since ResetCounts.
func (s *Simulator) MostDownAtOnce() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.maxDown
}

// LastReady is when a pod last became Ready.
func (s *Simulator) LastReady() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last time.Time
	for _, t := range s.readyAt {
		if t.After(last) {
			last = t
		}
	}
	return last
}

// Down is one pod replaced for a template change: down from From until Ready again at To (zero while
// it is still down).
type Down struct {
	Name     string
	From, To time.Time
}

// Downs are the replacements so far, those still down last.
func (s *Simulator) Downs() []Down {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]Down(nil), s.downs...)
	for name, from := range s.restarting {
		out = append(out, Down{Name: name, From: from})
	}
	return out
}

// Overlapping names two replacements, of all given, that were down at the same time, or "".
func Overlapping(downs []Down) string {
	for i, a := range downs {
		for _, b := range downs[i+1:] {
			aEnds, bEnds := a.To.IsZero() || b.From.Before(a.To), b.To.IsZero() || a.From.Before(b.To)
			if aEnds && bEnds {
				return a.Name + " and " + b.Name
			}
		}
	}
	return ""
}
