// Package loop is the operator's one periodic loop, run by peer discovery, the core-status poller and
// the reader of other clusters: a run at once, then one every interval and one when woken. A wake-up
// runs at once when no run started within the last Debounce; otherwise it waits out the rest of that
// Debounce, and the wake-ups of the wait make one run with it.
package loop

import (
	"context"
	"time"

	"k8s.io/utils/clock"
)

// Why says what started a run.
type Why int

const (
	// Started is the first run.
	Started Why = iota
	// Ticked: the interval passed.
	Ticked
	// Woken: something asked for a run.
	Woken
)

// Loop runs work at once, then every Interval and whenever Wake has a value, runs starting at least
// Debounce apart when woken.
type Loop struct {
	Interval time.Duration
	// Wake asks for a run; its buffer holds requests not served yet. Nil: runs on the interval only.
	Wake <-chan struct{}
	// Debounce is the least time between the start of a run and the start of a woken one after it: a
	// single change is served at once, a burst by one run a Debounce after the previous one.
	Debounce time.Duration
	// Folded, when set, is told of each request that arrived while a woken run waited and is served by it.
	Folded func()
	// Clock is the real clock when nil; tests give a fake one.
	Clock clock.WithTicker
}

// Run runs work until ctx ends; runs never overlap.
func (l Loop) Run(ctx context.Context, work func(context.Context, Why)) {
	clk := l.Clock
	if clk == nil {
		clk = clock.RealClock{}
	}
	ticker := clk.NewTicker(l.Interval)
	defer ticker.Stop()
	lastStart := clk.Now()
	work(ctx, Started)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C():
			lastStart = clk.Now()
			work(ctx, Ticked)
		case <-l.Wake:
			if wait := l.Debounce - clk.Since(lastStart); wait > 0 {
				select {
				case <-ctx.Done():
					return
				case <-clk.After(wait):
				}
			}
			l.fold()
			lastStart = clk.Now()
			work(ctx, Woken)
		}
	}
}

// fold takes the requests that arrived during the wait: the run about to start serves them.
func (l Loop) fold() {
	for {
		select {
		case <-l.Wake:
			if l.Folded != nil {
				l.Folded()
			}
		default:
			return
		}
	}
}
