package loop

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"
)

func TestWakeUpsWaitingTogetherMakeOneRun(t *testing.T) {
	wake := make(chan struct{}, 3)
	for range 3 {
		wake <- struct{}{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var whys []Why
	folded := 0
	l := Loop{Interval: time.Hour, Wake: wake, Debounce: time.Millisecond, Folded: func() { folded++ }}
	l.Run(ctx, func(_ context.Context, why Why) {
		whys = append(whys, why)
		if why == Woken {
			cancel()
		}
	})
	if !slices.Equal(whys, []Why{Started, Woken}) || folded != 2 || len(wake) != 0 {
		t.Errorf("runs %v, folded %d, %d left waiting: want [Started Woken], 2 folded, none left", whys, folded, len(wake))
	}
}

func TestWithoutWakeItRunsOnTheInterval(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var whys []Why
	Loop{Interval: time.Millisecond}.Run(ctx, func(_ context.Context, why Why) {
		whys = append(whys, why)
		if len(whys) == 3 {
			cancel()
		}
	})
	if !slices.Equal(whys, []Why{Started, Ticked, Ticked}) {
		t.Errorf("runs %v, want [Started Ticked Ticked]", whys)
	}
}

func TestAnEndedContextEndsTheWait(t *testing.T) {
	wake := make(chan struct{}, 1)
	ctx, cancel := context.WithCancel(context.Background())
	runs := 0
	Loop{Interval: time.Hour, Wake: wake, Debounce: time.Hour}.Run(ctx, func(context.Context, Why) {
		runs++
		wake <- struct{}{}
		// The request and the ended context are both ready; either way no second run may start.
		cancel()
	})
	if runs != 1 {
		t.Errorf("%d runs after the context ended during a wait, want 1", runs)
	}
}

// runUntil runs the loop in the background and returns the runs it made once work cancels, or once
// a minute passed (a loop waiting on a fake clock that never moves).
func runUntil(l Loop, work func(ctx context.Context, cancel context.CancelFunc, why Why)) []Why {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var whys []Why
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, func(ctx context.Context, why Why) {
			whys = append(whys, why)
			work(ctx, cancel, why)
		})
	}()
	<-done
	return whys
}

func TestAWakeUpAfterAQuietMomentRunsAtOnce(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	wake := make(chan struct{}, 1)
	whys := runUntil(Loop{Interval: time.Hour, Wake: wake, Debounce: 10 * time.Millisecond, Clock: clk},
		func(_ context.Context, cancel context.CancelFunc, why Why) {
			if why == Started {
				clk.Step(10 * time.Millisecond) // a Debounce since this run started
				wake <- struct{}{}
				return
			}
			cancel()
		})
	// Waiting, it would wait on the fake clock, which no one moves: no woken run.
	if !slices.Equal(whys, []Why{Started, Woken}) {
		t.Errorf("runs %v, want [Started Woken] without the clock moving", whys)
	}
}

func TestAWakeUpSoonAfterARunWaitsOutTheDebounceWithTheRestOfItsBurst(t *testing.T) {
	clk := clocktesting.NewFakeClock(time.Now())
	wake := make(chan struct{}, 1)
	folded := 0
	var waitersBeforeTheEnd int
	l := Loop{Interval: time.Hour, Wake: wake, Debounce: 10 * time.Millisecond, Clock: clk, Folded: func() { folded++ }}
	var started sync.WaitGroup
	started.Add(1)
	go func() {
		// The loop's ticker is one waiter; its wait for the rest of the Debounce is the second.
		started.Wait()
		for clk.Waiters() < 2 {
			time.Sleep(time.Millisecond)
		}
		clk.Step(5 * time.Millisecond) // 9 of 10 ms since the run started: still waiting
		wake <- struct{}{}             // part of the burst, folded into the run to come
		waitersBeforeTheEnd = clk.Waiters()
		clk.Step(time.Millisecond)
	}()
	whys := runUntil(l, func(_ context.Context, cancel context.CancelFunc, why Why) {
		if why == Started {
			clk.Step(4 * time.Millisecond)
			wake <- struct{}{}
			started.Done()
			return
		}
		cancel()
	})
	if !slices.Equal(whys, []Why{Started, Woken}) || folded != 1 || waitersBeforeTheEnd != 2 {
		t.Errorf("runs %v, folded %d, waiters before the Debounce ended %d: want [Started Woken], 1, 2", whys, folded, waitersBeforeTheEnd)
	}
}
