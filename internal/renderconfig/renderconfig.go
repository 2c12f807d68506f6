// Package renderconfig is the `render-config` step of a validator pod: it reads the base configuration,
// the discovered peers and the seed, and writes the final stellar-core.cfg, readable by its owner only.
package renderconfig

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// SeedEnv is the environment variable the pod fills from the seed Secret.
const SeedEnv = "STELLAR_CORE_SEED"

// Run parses the subcommand's arguments and writes the configuration. getenv supplies the seed and
// the pod's IP. Nothing it reads is printed: only the path written and the number of peers.
func Run(args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("render-config", flag.ContinueOnError)
	base := fs.String("base", "", "path of the base stellar-core.cfg (from the <name>-config ConfigMap)")
	peersPath := fs.String("peers", "", "path of peers.json (from the stellar-peers ConfigMap); empty or missing means no discovered peers")
	out := fs.String("out", "", "path of the stellar-core.cfg to write")
	nodeName := fs.String("node-name", "", "the validator's StellarNode name")
	networkID := fs.String("network-id", "", "the validator's network ID")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *base == "" || *out == "" || *nodeName == "" || *networkID == "" {
		return errors.New("render-config needs --base, --out, --node-name and --network-id")
	}
	baseText, err := os.ReadFile(*base)
	if err != nil {
		return fmt.Errorf("read base config: %w", err)
	}
	var discovered peers.Document
	if *peersPath != "" {
		data, err := os.ReadFile(*peersPath)
		switch {
		case errors.Is(err, os.ErrNotExist):
			// No validator has been discovered yet: start with the static peers only.
		case err != nil:
			return fmt.Errorf("read peers: %w", err)
		default:
			if discovered, err = peers.ParseDocument(data); err != nil {
				return err
			}
		}
	}
	rendered, err := stellarcore.Render(string(baseText), stellarcore.RenderInput{
		Seed:       getenv(SeedEnv),
		NodeName:   *nodeName,
		PodIP:      getenv("POD_IP"),
		NetworkID:  *networkID,
		Discovered: discovered,
	})
	if err != nil {
		return err
	}
	if err := writePrivate(*out, []byte(rendered)); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stdout, "wrote %s\n", *out)
	return nil
}

// writePrivate writes a file with mode 0600 through a temporary file, so no reader sees half of it.
func writePrivate(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".stellar-core-*.cfg")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
