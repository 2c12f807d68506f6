package quorum

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
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

// resultJSON is what --result-json writes.
type resultJSON struct {
	Intersection *bool      `json:"intersection"`
	Split        [][]string `json:"split,omitempty"`
	Message      string     `json:"message"`
}

// Run checks the quorum map of the file named in args, says its verdict on stdout, and returns the
// exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	limitMS := fs.Int("time-limit-ms", 5000, "give up, answering 102 (not proven), after this many milliseconds")
	out := fs.String("result-json", "", "also write the verdict as JSON to this file")
	fs.Usage = func() {
		_, _ = fmt.Fprintf(stderr, "usage: %s [--time-limit-ms N] [--result-json OUT] FILE\n"+
			"FILE is the JSON of stellar-core's /quorum?transitive=true&fullkeys=true.\n"+
			"Exit: 0 the quorums intersect, 101 they can split, 102 not proven within the limit.\n", Command)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 || *limitMS < 1 {
		fs.Usage()
		return ExitBadInput
	}
	data, err := os.ReadFile(fs.Arg(0))
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
	if *out != "" {
		res := resultJSON{Message: r.Describe(nil)}
		if r.Verdict != Unknown {
			res.Intersection = new(r.Verdict == Intersecting)
		}
		if r.Verdict == Split {
			res.Split = [][]string{slices.Clone(r.Quorums[0]), slices.Clone(r.Quorums[1])}
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
			_, _ = fmt.Fprintf(stderr, "%s: %v\n", Command, err)
			return ExitBadInput
		}
	}
	return [...]int{ExitIntersecting, ExitSplit, ExitUnknown}[r.Verdict]
}
