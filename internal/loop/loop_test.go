package loop

import (
	"context"
	"slices"
	"testing"
	"time"
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
