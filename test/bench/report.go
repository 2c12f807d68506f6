//go:build bench

package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// ReadsAndWrites sums the requests of a window, split into reads (get, list) and writes.
func ReadsAndWrites(reqs map[string]int) (reads, writes int) {
	for k, n := range reqs {
		switch strings.SplitN(k, " ", 2)[0] {
		case "get", "list":
			reads += n
		case "create", "update", "patch", "delete":
			writes += n
		}
	}
	return reads, writes
}

func formatRequests(reqs map[string]int) string {
	keys := make([]string, 0, len(reqs))
	for k := range reqs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: %d", k, reqs[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

func mib(b uint64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
}

func markdown(results []Result) string {
	var b strings.Builder
	b.WriteString("| N | implementation | detection p50 | p99 | max | steady window: reads / writes | change phase: reads / writes | ConfigMap writes per change | StatefulSet patches per change | CPU per pass | allocated per pass |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if r.Changes == 0 {
			continue // its discovery was not measured in this run
		}
		sr, sw := ReadsAndWrites(r.SteadyRequests)
		cr, cw := ReadsAndWrites(r.ChangeRequests)
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %d / %d in %s | %d / %d over %d changes | %.2f | %.2f | %.2f ms | %.1f KiB |\n",
			r.Validators, r.Implementation, ms(r.LatencyP50), ms(r.LatencyP99), ms(r.LatencyMax), sr, sw, r.SteadyWindow,
			cr, cw, r.Changes, r.CMWritesPer, r.STSPatchesPer, float64(r.PassCPU)/float64(time.Millisecond),
			float64(r.PassAllocBytes)/1024)
	}
	b.WriteString("\nCold start of the operator process over N validators already running:\n\n")
	b.WriteString("| N | first start (no status yet) | its API requests | restart over them | its API requests | pods replaced | manager RSS after the restart (peak; Go heap in use) |\n|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		if c := r.ColdStart; c != nil {
			fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %d | %s (%s; %s) |\n", r.Validators, ms(c.First), formatRequests(c.FirstRequests),
				ms(c.Restart), formatRequests(c.RestartRequests), c.Replaced, mib(r.ManagerRSS), mib(r.ManagerPeakRSS), mib(r.ManagerHeapInUse))
		}
	}
	b.WriteString("\nRollout hand-offs: from the write that brings a replaced validator back in consensus to the next validator's new template:\n\n")
	b.WriteString("| N | hand-offs | p50 | p99 | max | StatefulSets with a new template |\n|---|---|---|---|---|---|\n")
	for _, r := range results {
		if h := r.Handoff; h != nil {
			fmt.Fprintf(&b, "| %d | %d | %s | %s | %s | %d |\n", r.Validators, h.Turns, ms(h.P50), ms(h.P99), ms(h.Max), h.StatefulSetsNew)
		}
	}
	b.WriteString("\nRequests by verb and resource:\n\n")
	for _, r := range results {
		fmt.Fprintf(&b, "- N=%d %s, steady: %s; changes: %s\n", r.Validators, r.Implementation,
			formatRequests(r.SteadyRequests), formatRequests(r.ChangeRequests))
	}
	return b.String()
}

// Result is one implementation measured at one size.
type Result struct {
	Implementation string         `json:"implementation"`
	Validators     int            `json:"validators"`
	LatencyP50     time.Duration  `json:"latencyP50"`
	LatencyP99     time.Duration  `json:"latencyP99"`
	LatencyMax     time.Duration  `json:"latencyMax"`
	Changes        int            `json:"changes"`
	SteadyWindow   time.Duration  `json:"steadyWindow"`
	SteadyRequests map[string]int `json:"steadyRequests"`
	ChangeRequests map[string]int `json:"changeRequests"`
	CMWritesPer    float64        `json:"configMapWritesPerChange"`
	STSPatchesPer  float64        `json:"statefulSetPatchesPerChange"`
	PassCPU        time.Duration  `json:"passCPU"`
	PassAllocBytes uint64         `json:"passAllocatedBytes"`
	ManagerRSS     uint64         `json:"managerRSSBytes,omitempty"`
	ManagerPeakRSS uint64         `json:"managerPeakRSSBytes,omitempty"`
	// ManagerHeapInUse is the Go heap in use when ManagerRSS was read.
	ManagerHeapInUse uint64             `json:"managerHeapInUseBytes,omitempty"`
	ColdStart        *ColdStart         `json:"coldStart,omitempty"`
	Handoff          *Handoff           `json:"handoff,omitempty"`
	Notes            map[string]string  `json:"notes,omitempty"`
	Extra            map[string]float64 `json:"extra,omitempty"`
}

// ColdStart is the operator process started over N validators that already run.
type ColdStart struct {
	// First is its first start, over validators with no status yet: until every StellarNode is
	// reconciled, has status.peers and stellar-peers lists them all.
	First         time.Duration  `json:"first"`
	FirstRequests map[string]int `json:"firstRequests"`
	// Restart is a second process over the same validators: until each is reconciled once, none is
	// queued and discovery has passed.
	Restart         time.Duration  `json:"restart"`
	RestartRequests map[string]int `json:"restartRequests"`
	// Replaced counts the StatefulSets either wrote a new pod template to.
	Replaced int `json:"statefulSetsReplaced"`
}
