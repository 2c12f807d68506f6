// Package readiness decides whether a validator is in consensus, from stellar-core's own /info: the
// `manager ready` subcommand that the stellar-core container's readiness probe runs.
//
// "Synced!" alone is not enough: stellar-core says it right after it boots and falls back to "Joining
// SCP" only after 35 s without closing a ledger. In consensus means Synced! and a ledger closed
// recently (ledgers close about every 5 s).
package readiness

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Command is the subcommand of the operator's binary that runs the check.
const Command = "ready"

// DefaultMaxLedgerAge is how old the last closed ledger may be for a validator to count as in consensus.
const DefaultMaxLedgerAge = 30 * time.Second

// synced is the state stellar-core reports when it follows the network (ApplicationImpl::getStateHuman).
const synced = "Synced!"

// info is the part of GET /info the check reads (ApplicationImpl::getJsonInfo). While it boots,
// stellar-core answers {"error": "Core is booting, try again later"} (CommandHandler::safeRouter).
type info struct {
	Error string `json:"error"`
	Info  *struct {
		State  string `json:"state"`
		Ledger struct {
			Num int64 `json:"num"`
			Age int64 `json:"age"`
		} `json:"ledger"`
	} `json:"info"`
}

// Decide reads an /info body: nil when the node is in consensus, else why not.
func Decide(body []byte, maxAge time.Duration) error {
	var doc info
	if err := json.Unmarshal(body, &doc); err != nil {
		return fmt.Errorf("stellar-core's /info is not JSON: %w", err)
	}
	switch {
	case doc.Error != "":
		return fmt.Errorf("stellar-core is not ready: %s", doc.Error)
	case doc.Info == nil:
		return errors.New("stellar-core's /info has no info")
	case doc.Info.State != synced:
		return fmt.Errorf("stellar-core is %q, not %q", doc.Info.State, synced)
	case time.Duration(doc.Info.Ledger.Age)*time.Second > maxAge:
		return fmt.Errorf("stellar-core says %s but its last ledger (%d) closed %d s ago: it is not in consensus",
			synced, doc.Info.Ledger.Num, doc.Info.Ledger.Age)
	}
	return nil
}

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
