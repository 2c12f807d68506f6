package renderconfig

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// ReleaseCommand is the subcommand the stellar-core container runs before stellar-core starts: it
// reads `stellar-core version` on its input and refuses to go on when the binary is not of the release
// line its configuration was written and checked for (spec.version), as with a custom spec.image of
// another release.
const ReleaseCommand = "check-release"

// ReleaseMismatch starts the message of a refusal; the reconciler recognises it in the pod's status.
const ReleaseMismatch = "release line mismatch"

var (
	// The second line of `stellar-core version` is "ledger protocol version: N".
	protocolLine = regexp.MustCompile(`^ledger protocol version: ([0-9]+)$`)
)

// ReleaseArgs are check-release's arguments.
func ReleaseArgs(version string) []string {
	return []string{ReleaseCommand, "--stellar-core-version=" + version}
}

// RunCheckRelease compares the binary's own version answer with the configured version.
func RunCheckRelease(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet(ReleaseCommand, flag.ContinueOnError)
	configured := fs.String("stellar-core-version", "", "the version the configuration was written for")
	if err := fs.Parse(args); err != nil {
		return err
	}
	want, err := stellarcore.ProfileFor(*configured)
	if err != nil {
		return err
	}
	var first string
	protocol := -1
	sc := bufio.NewScanner(io.LimitReader(stdin, 64<<10))
	for i := 0; sc.Scan() && i < 4; i++ {
		line := strings.TrimSpace(sc.Text())
		if i == 0 {
			first = line
		}
		if m := protocolLine.FindStringSubmatch(line); m != nil {
			protocol, _ = strconv.Atoi(m[1])
		}
	}
	if first == "" {
		return errors.New("stellar-core version printed nothing: is this a stellar-core image?")
	}
	if written, release, ok := stellarcore.ReleaseIn(first); ok {
		got, err := stellarcore.ProfileFor(release)
		if err != nil {
			return fmt.Errorf("%s: the image runs stellar-core %s: %v", ReleaseMismatch, written, err)
		}
		if got.Line != want.Line {
			return fmt.Errorf("%s: the image runs stellar-core %s (release line %s), but spec.version %s is release line %s, "+
				"which its configuration was written for: set spec.version to the image's release", ReleaseMismatch, written, got.Line, *configured, want.Line)
		}
	} else if protocol >= 0 && int32(protocol) != want.MaxProtocol() {
		return fmt.Errorf("%s: the image's stellar-core supports protocol %d, but spec.version %s (release line %s) supports %d: "+
			"set spec.version to the image's release", ReleaseMismatch, protocol, *configured, want.Line, want.MaxProtocol())
	} else if protocol < 0 {
		return fmt.Errorf("%s: cannot read a release from stellar-core version's answer %q", ReleaseMismatch, first)
	}
	_, _ = fmt.Fprintf(stdout, "stellar-core %s: release line %s, as configured\n", first, want.Line)
	return nil
}
