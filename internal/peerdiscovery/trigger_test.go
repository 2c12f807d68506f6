package peerdiscovery

import "testing"

// Triggers that arrive while a pass is pending are merged into it, whatever the timing.
func TestTriggersWhilePendingAreMerged(t *testing.T) {
	d := &PeerDiscovery{trigger: make(chan struct{}, 1)}
	for range 8 {
		d.Trigger()
	}
	if s := d.Stats(); s.Triggers != 8 || s.Merged != 7 || len(d.trigger) != 1 {
		t.Errorf("stats = %+v, pending = %d: 8 triggers must leave one pending pass and 7 merged", s, len(d.trigger))
	}
}
