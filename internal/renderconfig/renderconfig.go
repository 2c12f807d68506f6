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

// The environment the pod gives render-config.
const (
	// SeedEnv holds the validator's seed, from its Secret's key of the same name.
	SeedEnv = "STELLAR_CORE_SEED"
	// PodIPEnv holds the pod's own address.
	PodIPEnv = "POD_IP"
)

// Command is the subcommand of the operator's binary that runs this step.
const Command = "render-config"

// Args are render-config's arguments: the StatefulSet builder writes them with List, Run reads them
// with ParseArgs, so both sides agree by construction.
type Args struct {
	// Base is the path of the base stellar-core.cfg (from the <name>-config ConfigMap).
	Base string
	// Peers is the path of peers.json (from the stellar-peers ConfigMap); empty means discovery is off.
	Peers string
	// Out is the path of the stellar-core.cfg to write.
	Out string
	// NodeName is the validator's StellarNode name; NetworkID its network's ID.
	NodeName, NetworkID string
}

// List is the container's argument list, the subcommand first.
func (a Args) List() []string {
	out := []string{Command, "--base=" + a.Base, "--out=" + a.Out, "--node-name=" + a.NodeName, "--network-id=" + a.NetworkID}
	if a.Peers != "" {
		out = append(out, "--peers="+a.Peers)
	}
	return out
}

// ParseArgs reads the arguments that follow the subcommand.
func ParseArgs(args []string) (Args, error) {
	var a Args
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	fs.StringVar(&a.Base, "base", "", "path of the base stellar-core.cfg (from the <name>-config ConfigMap)")
	fs.StringVar(&a.Peers, "peers", "", "path of peers.json (from the stellar-peers ConfigMap); empty or missing means no discovered peers")
	fs.StringVar(&a.Out, "out", "", "path of the stellar-core.cfg to write")
	fs.StringVar(&a.NodeName, "node-name", "", "the validator's StellarNode name")
	fs.StringVar(&a.NetworkID, "network-id", "", "the validator's network ID")
	if err := fs.Parse(args); err != nil {
		return Args{}, err
	}
	if a.Base == "" || a.Out == "" || a.NodeName == "" || a.NetworkID == "" {
		return Args{}, errors.New("render-config needs --base, --out, --node-name and --network-id")
	}
	return a, nil
}

// Run parses the subcommand's arguments and writes the configuration. getenv supplies the seed and
// the pod's IP. Nothing it reads is printed: only the path written.
func Run(args []string, getenv func(string) string, stdout io.Writer) error {
	a, err := ParseArgs(args)
	if err != nil {
		return err
	}
	baseText, err := os.ReadFile(a.Base)
	if err != nil {
		return fmt.Errorf("read base config: %w", err)
	}
	var discovered peers.Document
	if a.Peers != "" {
		data, err := os.ReadFile(a.Peers)
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
		NodeName:   a.NodeName,
		PodIP:      getenv(PodIPEnv),
		NetworkID:  a.NetworkID,
		Discovered: discovered,
	})
	if err != nil {
		return err
	}
	if err := writePrivate(a.Out, []byte(rendered)); err != nil {
		return err
	}
	_, _ = fmt.Fprintf(stdout, "wrote %s\n", a.Out)
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
