//go:build stellarcore

package stellarcore

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stellarCore is the real binary the tests run, from STELLAR_CORE; the tests skip without it.
func stellarCore(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("STELLAR_CORE")
	if bin == "" {
		t.Skip("STELLAR_CORE is not set: give the path of a stellar-core binary to prove configurations against it " +
			"(make test-stellar-core STELLAR_CORE=../shared/stellar-core/stellar-core)")
	}
	abs, err := filepath.Abs(bin)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Skipf("STELLAR_CORE=%s: %v", bin, err)
	}
	out, err := exec.Command(abs, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", abs, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	binaryRelease = strings.TrimPrefix(strings.TrimSpace(first), "v")
	resolved, err := ResolveVersion(binaryRelease)
	if err != nil {
		t.Fatalf("%s reports version %q: %v", abs, first, err)
	}
	binaryProfile = resolved.Profile
	t.Logf("stellar-core version: %s (release line %s, read from %s)", first, binaryProfile.Line, strings.Join(binaryProfile.Tags, ", "))
	return abs
}

// binaryRelease and binaryProfile are the release of the binary under test, from its own `version`
// answer, and its release line: every configuration the tests render for it follows that line.
var (
	binaryRelease string
	binaryProfile Profile
)

// notJudgedByV19 are the checker's refusals a stellar-core v19.14.0 started here cannot show, and why.
var notJudgedByV19 = map[string]string{
	"a get command with a pipe": "stellar-core runs archive commands only to catch up or publish, never at start; " +
		"without a shell the pipe reaches curl as an argument and every download fails",
	"a get command without the local path": "stellar-core runs archive commands only to catch up or publish, never at start; " +
		"without {1} the file is never written where stellar-core reads it",
	"a get command whose URL hides arguments":                   runsLater,
	"a peer's HISTORY whose URL hides arguments":                runsLater,
	"a get command with a placeholder stellar-core cannot fill": runsLater,
	"a put command with an option":                              runsLater,
	// v19.14.0 starts with these (it runs until the hang guard): the operator refuses them first.
	"a known peer that hides an option":                unresolvable,
	"a validator entry whose ADDRESS is not host:port": unresolvable,
}

// notJudgedAtStart are the release lines' refusals that stellar-core shows later than at start.
var notJudgedAtStart = map[string]string{
	"an upgrade past the line's protocol": "an upgrade is armed at start whatever its protocol; it is never applied, " +
		"which the consensus test would show, not a start",
}

// runsLater: the command is run when stellar-core catches up or publishes, never at start.
const runsLater = "stellar-core runs archive commands only to catch up or publish, never at start"

// unresolvable: a peer address stellar-core accepts at start and fails to resolve when it dials it.
const unresolvable = "stellar-core starts with a peer address that breaks the grammar and fails when it dials it"

// passNotRunnable are accepted configurations v19 cannot start here, and why.
var passNotRunnable = map[string]string{
	"a PostgreSQL database": "new-db would connect to a PostgreSQL server named in the file; tests reach loopback only",
}

// TestRealStellarCoreAgreesWithTheChecker starts the real stellar-core on every configuration of the
// checker's table: what the checker accepts, stellar-core accepts (new-db loads the whole file); what
// it refuses, stellar-core refuses at new-db or at run.
func TestRealStellarCoreAgreesWithTheChecker(t *testing.T) {
	bin := stellarCore(t)
	for _, c := range casesFor(t, binaryProfile) {
		t.Run(c.name, func(t *testing.T) {
			if why := notJudgedHere(c.name); why != "" {
				t.Skip(why)
			}
			if err := Check(mustEncode(t, c.cfg), CheckOptions{Profile: binaryProfile}); (err == nil) != (c.rule == "") {
				t.Fatalf("the checker says %v under %s, the table %q", err, binaryProfile.Line, c.rule)
			}
			dir := t.TempDir()
			text, err := encode(c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Only paths move: the data volume becomes this test's directory.
			text = strings.ReplaceAll(text, DataDir+"/", dir+"/")
			cfgPath := filepath.Join(dir, "stellar-core.cfg")
			if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			cwd, asNobody := dir, false
			if c.rule == RulePaths {
				// The pod's working directory, /etc/stellar, is not writable by its user: play that, with
				// the data volume (this test's directory) writable by that user.
				cwd, asNobody = readOnlyDir(t), true
				for _, d := range []string{dir, filepath.Dir(dir)} {
					if err := os.Chmod(d, 0o777); err != nil {
						t.Fatal(err)
					}
				}
			}
			// The verdict is stellar-core's exit, never a timing: new-db ends by itself; `run` is tried only on
			// a configuration the checker refuses, where a stellar-core still running at the hang guard has
			// accepted it, which fails the test anyway.
			out, err := runCore(t, bin, cwd, asNobody, hangGuard, "new-db", "--conf", cfgPath)
			refused := err != nil && !errors.Is(err, context.DeadlineExceeded)
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("new-db did not end within %s:\n%s", hangGuard, tail(out))
			}
			if !refused && c.rule != "" {
				// Some rules are enforced when the node starts to run, not when it loads its file.
				out, err = runCore(t, bin, cwd, asNobody, hangGuard, "run", "--conf", cfgPath)
				refused = err != nil && !errors.Is(err, context.DeadlineExceeded)
			}
			switch {
			case c.rule == "" && refused:
				t.Fatalf("stellar-core refused what the checker accepts:\n%s\n%s", tail(out), text)
			case c.rule != "" && !refused:
				t.Fatalf("stellar-core accepted what the checker refuses (%s):\n%s\n%s", c.rule, tail(out), text)
			case c.rule != "":
				t.Logf("stellar-core refuses it too: %s", lastError(out))
			}
		})
	}
}

func mustEncode(t *testing.T, cfg map[string]any) string {
	t.Helper()
	text, err := encode(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return text
}

// casesFor are the checker's cases written for the line, and the release lines' own cases about it.
func casesFor(t *testing.T, p Profile) []checkCase {
	cases := checkCases()
	for i := range cases {
		cases[i].cfg = forLine(p, cases[i].cfg)
	}
	for _, c := range lineCases(t) {
		if c.line == p.Line {
			cases = append(cases, checkCase{name: c.name, cfg: c.cfg, rule: c.rule})
		}
	}
	return cases
}

// notJudgedHere says why a case cannot be judged by starting stellar-core here, or "".
func notJudgedHere(name string) string {
	if why, ok := notJudgedByV19[name]; ok {
		return "stellar-core cannot judge it at start: " + why
	}
	if why, ok := notJudgedAtStart[name]; ok {
		return why
	}
	return passNotRunnable[name]
}

// hangGuard only stops a stellar-core that would never end; no verdict depends on it.
const hangGuard = 3 * time.Minute

// runCore runs stellar-core and returns its output; an error when it exits non-zero or is still
// running at the deadline (context.DeadlineExceeded).
func runCore(t *testing.T, bin, dir string, asNobody bool, limit time.Duration, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	name := bin
	if asNobody {
		args = append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", bin}, args...)
		name = "setpriv"
	}
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return string(out), context.DeadlineExceeded
	}
	return string(out), err
}

// readOnlyDir is a directory the nobody user cannot write, or the test skips.
func readOnlyDir(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("playing the pod's non-root user needs root here (setpriv)")
	}
	if _, err := exec.LookPath("setpriv"); err != nil {
		t.Skip("setpriv is not installed")
	}
	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o555); err != nil {
		t.Fatal(err)
	}
	return dir
}

func tail(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return strings.Join(lines[max(0, len(lines)-12):], "\n")
}

// lastError is stellar-core's own words for why it stopped.
func lastError(out string) string {
	var last string
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, "ERROR") || strings.Contains(line, "FATAL") || strings.Contains(line, "xception") {
			last = strings.TrimSpace(line)
			if strings.Contains(line, "Got an exception") || strings.Contains(line, "xception") {
				return last
			}
		}
	}
	return last
}
