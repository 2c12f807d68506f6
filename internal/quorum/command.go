package quorum

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"
)

// Command is the manager's subcommand that checks a quorum map file.
const Command = "check-quorum-intersection"

// Exit codes of the command: those of stellar-core's check-quorum-intersection since v23
// (src/rust/src/bridge.rs, QuorumCheckerStatus), and 1 for a file it cannot read.
const (
	ExitIntersecting = 0
	ExitBadInput     = 1
	ExitSplit        = 101
	ExitUnknown      = 102
)

// resultJSON is what --result-json writes, in the fields of stellar-core's own result file
// (src/herder/RustQuorumCheckerAdaptor.cpp, writeResults, v27.1.0): status is the exit code,
// quorum_split the two quorums of a split, intersection_critical_groups the critical groups when
// asked for (--analyze-critical-groups) and the quorums intersect.
type resultJSON struct {
	Status         int        `json:"status"`
	QuorumSplit    [][]string `json:"quorum_split"`
	CriticalGroups [][]string `json:"intersection_critical_groups"`
	Error          string     `json:"error"`
}

// Run checks the quorum map of the file named in args, says its verdict on stdout, and returns the
// exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	limitMS := fs.Int("time-limit-ms", 5000, "give up, answering 102 (not proven), after this many milliseconds")
	out := fs.String("result-json", "", "also write the verdict as JSON to this file")
	analyze := fs.Bool("analyze-critical-groups", false, "also find the groups whose misconfiguration alone could split the network (when its quorums intersect)")
	fs.Usage = func() {
		_, _ = fmt.Fprintf(stderr, "usage: %s [--time-limit-ms N] [--result-json OUT] [--analyze-critical-groups] FILE\n"+
			"FILE is the JSON of stellar-core's /quorum?transitive=true&fullkeys=true.\n"+
			"Exit: 0 the quorums intersect, 101 they can split, 102 not proven within the limit.\n", Command)
		fs.PrintDefaults()
	}
	// The file may come before the flags, as stellar-core's own command takes them.
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return ExitBadInput
		}
		if fs.NArg() == 0 {
			break
		}
		files, args = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 || *limitMS < 1 {
		fs.Usage()
		return ExitBadInput
	}
	data, err := os.ReadFile(files[0])
	if err == nil && len(data) > 64<<20 {
		err = fmt.Errorf("%d bytes: at most 64 MiB", len(data))
	}
	var m Map
	if err == nil {
		m, err = ParseJSON(data)
	}
	var r Result
	if err == nil {
		r, err = Check(m, time.Duration(*limitMS)*time.Millisecond)
	}
	if err != nil {
		_, _ = fmt.Fprintf(stderr, "%s: %v\n", Command, err)
		return ExitBadInput
	}
	_, _ = fmt.Fprintln(stdout, r.Describe(nil))
	code := [...]int{ExitIntersecting, ExitSplit, ExitUnknown}[r.Verdict]
	res := resultJSON{Status: code, QuorumSplit: [][]string{{}, {}}, CriticalGroups: [][]string{}}
	if r.Verdict == Split {
		res.QuorumSplit = [][]string{slices.Clone(r.Quorums[0]), slices.Clone(r.Quorums[1])}
	}
	if *analyze && r.Verdict == Intersecting {
		groups, complete, err := CriticalGroups(m, time.Duration(*limitMS)*time.Millisecond, nil)
		if err == nil && !complete {
			err = fmt.Errorf("the critical groups were not all tried within %d ms", *limitMS)
		}
		if err != nil {
			// As stellar-core's: an interrupted analysis keeps the intersection's verdict and says why.
			res.Error = err.Error()
			_, _ = fmt.Fprintf(stderr, "%s: %v\n", Command, err)
		}
		for _, g := range groups {
			res.CriticalGroups = append(res.CriticalGroups, g)
			_, _ = fmt.Fprintf(stdout, "intersection-critical group: %s\n", strings.Join(g, ", "))
		}
	}
	if *out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			_, _ = fmt.Fprintf(stderr, "%s: %v\n", Command, err)
			return ExitBadInput
		}
	}
	return code
}
