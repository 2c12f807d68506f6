//go:build stellarcore

package stellarcore_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/quorum"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// checkerLimit bounds each map's check on both sides; a verdict not reached within it is compared
// with nothing.
const checkerLimit = 20 * time.Second

// quorumChecker is the stellar-core binary of STELLAR_CORE when it has check-quorum-intersection,
// and whether that is the SAT-based checker; the test skips otherwise.
func quorumChecker(t *testing.T) (bin string, sat bool) {
	t.Helper()
	bin = os.Getenv("STELLAR_CORE")
	if bin == "" {
		t.Skip("STELLAR_CORE is not set: give the path of a stellar-core binary of v20.1 or later to compare quorum verdicts (make test-stellar-core STELLAR_CORE=...)")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	has, sat, version := checkerOf(t, abs)
	if !has {
		t.Skipf("stellar-core %s has no check-quorum-intersection (it came in v20.1): nothing to compare with", version)
	}
	t.Logf("stellar-core %s: check-quorum-intersection, SAT-based by default: %v", version, sat)
	return abs, sat
}

// checkerOf says whether the binary has check-quorum-intersection (v20.1 and later) and whether it
// runs the SAT-based checker by default (v23 and later: exit 0, 101, 102 and --result-json).
func checkerOf(t *testing.T, bin string) (has, sat bool, version string) {
	t.Helper()
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	version, _, _ = strings.Cut(strings.TrimSpace(string(out)), "\n")
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(strings.TrimSpace(version), "v"), "%d.%d", &major, &minor); err != nil {
		t.Fatalf("%s reports version %q: %v", bin, version, err)
	}
	return major > 20 || (major == 20 && minor >= 1), major >= 23, version
}

// coreVerdict is stellar-core's verdict on the map, and its critical groups when asked (SAT checker
// only); decided is false when it gave none within the limit (102, or a process that stopped
// otherwise, as the SAT checker does at its memory limit on dense maps).
type coreVerdict struct {
	verdict  quorum.Verdict
	decided  bool
	critical [][]string
	// criticalComplete: the critical groups were all tried (no error in the result file).
	criticalComplete bool
	exit             int
}

func askCore(t *testing.T, bin string, sat bool, m quorum.Map, critical bool) coreVerdict {
	t.Helper()
	data, err := m.JSON()
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "quorum.json")
	if err := os.WriteFile(in, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return askCoreFile(t, bin, sat, in, critical)
}

// askCoreFile is stellar-core's verdict on the quorum map file in.
func askCoreFile(t *testing.T, bin string, sat bool, in string, critical bool) coreVerdict {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "result.json")
	args := []string{"check-quorum-intersection", in}
	if sat {
		args = append(args, "--result-json", out, "--time-limit-ms", fmt.Sprint(checkerLimit.Milliseconds()))
		if critical {
			args = append(args, "--analyze-critical-groups")
		}
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var exitErr *exec.ExitError
	if err := runWithin(cmd, checkerLimit+10*time.Second); err != nil && !errors.As(err, &exitErr) {
		return coreVerdict{exit: -1}
	}
	v := coreVerdict{exit: cmd.ProcessState.ExitCode()}
	switch {
	case v.exit == 0:
		v.verdict, v.decided = quorum.Intersecting, true
	case (sat && v.exit == quorum.ExitSplit) || (!sat && v.exit == 1):
		v.verdict, v.decided = quorum.Split, true
	}
	if sat && critical && v.exit == 0 {
		var res struct {
			Groups [][]string `json:"intersection_critical_groups"`
			Error  string     `json:"error"`
		}
		raw, err := os.ReadFile(out)
		if err == nil {
			err = json.Unmarshal(raw, &res)
		}
		if err != nil {
			t.Fatalf("stellar-core's result file: %v", err)
		}
		for _, g := range res.Groups {
			v.critical = append(v.critical, slices.Sorted(slices.Values(g)))
		}
		slices.SortFunc(v.critical, func(a, b []string) int { return strings.Compare(strings.Join(a, ","), strings.Join(b, ",")) })
		v.criticalComplete = res.Error == ""
	}
	return v
}

// runWithin runs cmd, killing it after limit.
func runWithin(cmd *exec.Cmd, limit time.Duration) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	timer := time.AfterFunc(limit, func() { _ = cmd.Process.Kill() })
	defer timer.Stop()
	return cmd.Wait()
}

// key is a public key of its own for a node of the maps here.
func key(i int) string { return fixture.KeyOf("quorum-maps", fmt.Sprintf("n%d", i)) }

// generated is the quorum set stellar-core generates over organisations of three at a simple
// majority each, the organisations at 67 % (Config.cpp, generateQuorumSet).
func generated(orgs [][]string) quorum.QSet {
	q := quorum.QSet{Threshold: 1 + (len(orgs)*67-1)/100}
	for _, o := range orgs {
		q.InnerSets = append(q.InnerSets, quorum.QSet{Threshold: len(o)/2 + 1, Validators: o})
	}
	return q
}

func organisations(n int) [][]string {
	out := make([][]string, n)
	for i := range out {
		for j := range 3 {
			out[i] = append(out[i], key(3*i+j))
		}
	}
	return out
}

func give(m quorum.Map, q quorum.QSet, orgs ...[]string) {
	for _, o := range orgs {
		for _, k := range o {
			qq := q
			m[k] = &qq
		}
	}
}

// scenarioMaps are the project's scenarios (docs/QUORUM.md): an organisation of three with one to
// three external organisations, splits made on purpose, a HIGH/MEDIUM mix, a critical bridge.
func scenarioMaps() map[string]quorum.Map {
	out := map[string]quorum.Map{}
	for external := 1; external <= 3; external++ {
		orgs := organisations(1 + external)
		m := quorum.Map{}
		give(m, generated(orgs), orgs[0])
		for _, o := range orgs[1:] {
			for _, k := range o {
				m[k] = nil // the external validators' own sets are not known here
			}
		}
		out[fmt.Sprintf("an organisation of three with %d external organisations", external)] = m
		all := quorum.Map{}
		give(all, generated(orgs), orgs...)
		out[fmt.Sprintf("%d organisations of three, all trusting all", 1+external)] = all
	}
	orgs := organisations(2)
	split := quorum.Map{}
	give(split, generated(orgs[:1]), orgs[0])
	give(split, generated(orgs[1:]), orgs[1])
	out["two organisations that list only themselves (split on purpose)"] = split
	orgs = organisations(4)
	alone := quorum.Map{}
	give(alone, generated(orgs[:3]), orgs[0], orgs[1])
	give(alone, generated(orgs[2:3]), orgs[2])
	give(alone, generated(orgs[3:]), orgs[3])
	out["an external organisation made HIGH that forms a quorum alone (split on purpose)"] = alone
	orgs = organisations(5)
	medium := generated(orgs[3:])
	mix := generated(orgs[:3])
	mix.InnerSets = append(mix.InnerSets, medium)
	mix.Threshold = 1 + (4*67-1)/100
	mixed := quorum.Map{}
	give(mixed, mix, orgs...)
	out["three HIGH organisations and a MEDIUM level of two"] = mixed
	orgs = organisations(4)
	bridge := quorum.Map{}
	give(bridge, generated(orgs[:3]), orgs[:3]...)
	give(bridge, generated([][]string{orgs[0], orgs[3]}), orgs[3])
	out["an organisation that a fourth depends on alone (critical)"] = bridge
	return out
}

// randomMaps are n seeded maps of 3 to 60 nodes (quorum.Random).
func randomMaps(seed uint64, n int) []quorum.Map {
	r := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]quorum.Map, n)
	for i := range out {
		ks := make([]string, 3+r.IntN(58))
		for j := range ks {
			ks[j] = key(j)
		}
		out[i] = quorum.Random(r, ks)
	}
	return out
}

// TestRealStellarCoreQuorumIntersection feeds the same maps to the operator's check and to
// stellar-core's check-quorum-intersection: the project's scenarios (with their critical groups,
// SAT checker only) and 500 seeded random maps. Where both decide, they agree.
func TestRealStellarCoreQuorumIntersection(t *testing.T) {
	bin, sat := quorumChecker(t)
	scenarios := scenarioMaps()
	for _, name := range slices.Sorted(maps.Keys(scenarios)) {
		if !compareVerdicts(t, bin, sat, name, scenarios[name], true) {
			t.Errorf("%s: a scenario map must be decided by both", name)
		}
	}
	const seed, n = 20261207, 500
	decided, splits := 0, 0
	for i, m := range randomMaps(seed, n) {
		if compareVerdicts(t, bin, sat, fmt.Sprintf("random map %d of seed %d", i, seed), m, false) {
			decided++
			if r, _ := quorum.Check(m, checkerLimit); r.Verdict == quorum.Split {
				splits++
			}
		}
	}
	t.Logf("random maps: %d of %d decided by both and compared, %d of them split", decided, n, splits)
	if decided < n/2 || splits == 0 || splits == decided {
		t.Errorf("%d of %d random maps decided by both, %d split: the comparison proves little", decided, n, splits)
	}
}

// compareVerdicts gives the map to both checks; where both decide, they must agree, and on the SAT
// checker their critical groups too when asked. It reports whether both decided.
func compareVerdicts(t *testing.T, bin string, sat bool, name string, m quorum.Map, critical bool) (decided bool) {
	t.Helper()
	ours, err := quorum.Check(m, checkerLimit)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	theirs := askCore(t, bin, sat, m, critical)
	if !theirs.decided || ours.Verdict == quorum.Unknown {
		t.Logf("%s (%d nodes): not compared: ours %v, stellar-core exit %d", name, len(m), ours.Verdict, theirs.exit)
		return false
	}
	if ours.Verdict != theirs.verdict {
		data, _ := m.JSON()
		t.Errorf("%s (%d nodes): ours %v, stellar-core %v; the map: %s", name, len(m), ours.Verdict, theirs.verdict, data)
		return true
	}
	if critical && sat && ours.Verdict == quorum.Intersecting && theirs.criticalComplete {
		groups, complete, err := quorum.CriticalGroups(m, checkerLimit, nil)
		if err != nil || !complete {
			t.Fatalf("%s: critical groups not complete: %v", name, err)
		}
		if !slices.EqualFunc(sortedGroups(groups), theirs.critical, slices.Equal) {
			t.Errorf("%s: critical groups %v, stellar-core %v", name, groups, theirs.critical)
		}
	}
	return true
}

func sortedGroups(groups [][]string) [][]string {
	out := make([][]string, len(groups))
	for i, g := range groups {
		out[i] = slices.Sorted(slices.Values(g))
	}
	slices.SortFunc(out, func(a, b []string) int { return strings.Compare(strings.Join(a, ","), strings.Join(b, ",")) })
	return out
}

// runningNetworkMapAgrees reads the transitive quorum map a running validator reports
// (/quorum?transitive=true&fullkeys=true): its validators' sets are known, the operator's check
// finds them intersecting, and so does stellar-core's own checker on the same file, where it has one.
func runningNetworkMapAgrees(t *testing.T, bin string, raw []byte, validators int) {
	t.Helper()
	m, err := quorum.ParseJSON(raw)
	if err != nil {
		t.Fatalf("the reported map: %v: %s", err, raw)
	}
	known := 0
	for _, q := range m {
		if q != nil {
			known++
		}
	}
	if known != validators {
		t.Fatalf("the reported map knows %d sets, want %d: %s", known, validators, raw)
	}
	ours, err := quorum.Check(m, checkerLimit)
	if err != nil || ours.Verdict != quorum.Intersecting {
		t.Fatalf("the operator's check of the running network: %v, %v", ours.Verdict, err)
	}
	has, sat, version := checkerOf(t, bin)
	if !has {
		t.Logf("stellar-core %s has no check-quorum-intersection: the running network's map is checked by the operator only", version)
		return
	}
	in := filepath.Join(t.TempDir(), "quorum.json")
	if err := os.WriteFile(in, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	theirs := askCoreFile(t, bin, sat, in, false)
	if !theirs.decided || theirs.verdict != quorum.Intersecting {
		t.Errorf("stellar-core's check of the map its network reports: exit %d, the operator's: intersecting", theirs.exit)
	}
	t.Logf("the running network's map (%d validators): intersecting by both checks", known)
}

// TestRealStellarCoreTimeOnPublicNetworkShape gives both checks a map shaped like the public network's
// transitive quorum (17 HIGH organisations of three, a MEDIUM level of 8) and logs the time each took,
// for docs/PERFORMANCE.md; the verdicts must agree. Nothing is asserted on the times.
func TestRealStellarCoreTimeOnPublicNetworkShape(t *testing.T) {
	bin, sat := quorumChecker(t)
	orgs := organisations(25)
	top := generated(orgs[:17])
	top.InnerSets = append(top.InnerSets, generated(orgs[17:]))
	top.Threshold = 1 + (18*67-1)/100
	m := quorum.Map{}
	give(m, top, orgs...)
	start := time.Now()
	ours, err := quorum.Check(m, checkerLimit)
	oursTook := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	theirs := askCore(t, bin, sat, m, false)
	theirsTook := time.Since(start)
	t.Logf("public network shape (75 validators): the operator's check %v in %v; stellar-core's (its process included) exit %d in %v",
		ours.Verdict, oursTook, theirs.exit, theirsTook)
	if !theirs.decided || theirs.verdict != ours.Verdict {
		t.Errorf("stellar-core answered exit %d, the operator %v", theirs.exit, ours.Verdict)
	}
}
