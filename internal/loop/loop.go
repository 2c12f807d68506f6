// Package loop is the operator's one periodic loop, run by peer discovery, the core-status poller and
// the reader of other clusters: a run at once, then one every interval and one when woken, where the
// wake-ups of a burst wait a moment and make one run.
package loop

import (
	"context"
	"time"
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

// Loop runs work at once, then every Interval and, after Debounce, whenever Wake has a value.
type Loop struct {
	Interval time.Duration
	// Wake asks for a run; its buffer holds requests not served yet. Nil: runs on the interval only.
	Wake <-chan struct{}
	// Debounce is how long a woken run waits for the rest of a burst.
	Debounce time.Duration
	// Folded, when set, is told of each request that arrived while a woken run waited and is served by it.
	Folded func()
}

// Run runs work until ctx ends; runs never overlap.
func (l Loop) Run(ctx context.Context, work func(context.Context, Why)) {
	ticker := time.NewTicker(l.Interval)
	defer ticker.Stop()
	work(ctx, Started)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			work(ctx, Ticked)
		case <-l.Wake:
			select {
			case <-ctx.Done():
				return
			case <-time.After(l.Debounce):
			}
			l.fold()
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
