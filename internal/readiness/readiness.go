// Package readiness is the `manager ready` subcommand that the stellar-core container's readiness probe
// runs: Ready means in consensus, as internal/health defines it, from stellar-core's own /info.
package readiness

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/stellar-k8s/stellar-operator/internal/health"
)

// Command is the subcommand of the operator's binary that runs the check.
const Command = "ready"

// DefaultMaxLedgerAge is how old the last closed ledger may be for a validator to count as in consensus.
const DefaultMaxLedgerAge = health.MaxLedgerAge

// Decide reads an /info body: nil when the node is in consensus, else why not.
func Decide(body []byte, maxAge time.Duration) error { return health.Decide(body, maxAge) }

// Args are the subcommand's arguments.
type Args struct {
	// Port is stellar-core's HTTP_PORT, on 127.0.0.1.
	Port int
	// MaxLedgerAge bounds the age of the last closed ledger.
	MaxLedgerAge time.Duration
}

// List is the probe's argument list after the binary, the subcommand first.
func (a Args) List() []string {
	return []string{Command, fmt.Sprintf("--port=%d", a.Port), "--max-ledger-age=" + a.MaxLedgerAge.String()}
}

// Run asks stellar-core's /info and says why the node is not in consensus, if it is not.
func Run(args []string, stdout io.Writer) error {
	var a Args
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	fs.IntVar(&a.Port, "port", 11626, "stellar-core's HTTP_PORT, asked on 127.0.0.1")
	fs.DurationVar(&a.MaxLedgerAge, "max-ledger-age", DefaultMaxLedgerAge, "the oldest a last closed ledger may be")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/info", a.Port), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("stellar-core does not answer: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read /info: %w", err)
	}
	if err := Decide(body, a.MaxLedgerAge); err != nil {
		return err
	}
	_, _ = fmt.Fprintln(stdout, "in consensus")
	return nil
}
