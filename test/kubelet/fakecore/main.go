// Command fakecore stands in for stellar-core in the real-kubelet test bed when no stellar-core binary
// is given: the validator container's start script runs it as `stellar-core`. It answers `version` as
// the release it was built for, takes new-db and new-hist, and `run --conf FILE` serves the admin API
// fake of internal/testutil on the configuration's HTTP_PORT, on 127.0.0.1 as stellar-core does
// (PUBLIC_HTTP_PORT=false), with the configuration's passphrase. It never joins consensus; its ledger
// advances by one every CLOSE seconds so that what the operator reads from it moves.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

// version is set at build time (-ldflags -X main.version=26.0.1): the release the image says it is.
var version = "0.0.0"

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "fakecore:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: stellar-core version | new-db | new-hist NAME | run --conf FILE")
	}
	profile, err := stellarcore.ProfileFor(version)
	if err != nil {
		return err
	}
	switch args[0] {
	case "version":
		// The two lines CommandLine.cpp's writeVersionInfo starts with.
		fmt.Printf("v%s (fake stellar-core of the stellar-operator test bed)\nledger protocol version: %d\n", version, profile.MaxProtocol())
		return nil
	case "new-db", "new-hist":
		return nil
	case "run":
	default:
		return fmt.Errorf("%s: not a command the fake takes", args[0])
	}
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	conf := fs.String("conf", "", "the configuration file")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	var cfg struct {
		HTTPPort   int64  `toml:"HTTP_PORT"`
		Passphrase string `toml:"NETWORK_PASSPHRASE"`
	}
	if _, err := toml.DecodeFile(*conf, &cfg); err != nil {
		return fmt.Errorf("%s: %w", *conf, err)
	}
	if cfg.HTTPPort == 0 {
		cfg.HTTPPort = 11626
	}
	fake := testutil.SyncedFakeCore()
	fake.Set(func(f *testutil.FakeCore) {
		f.Network, f.Build = cfg.Passphrase, "v"+version+"-fake"
		f.Version, f.MaxProtocol = int64(profile.MaxProtocol()), int64(profile.MaxProtocol())
	})
	closeEvery := 5 * time.Second
	if s := os.Getenv("CLOSE"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return fmt.Errorf("CLOSE=%q: a number of seconds", s)
		}
		closeEvery = time.Duration(n) * time.Second
	}
	go func() {
		for range time.Tick(closeEvery) {
			fake.Set(func(f *testutil.FakeCore) { f.Ledger++ })
		}
	}()
	listener, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.FormatInt(cfg.HTTPPort, 10)))
	if err != nil {
		return err
	}
	fmt.Printf("fake stellar-core v%s serving its admin API on %s for %q\n", version, listener.Addr(), cfg.Passphrase)
	return (&http.Server{Handler: fake.Handler(), ReadHeaderTimeout: 5 * time.Second}).Serve(listener)
}
