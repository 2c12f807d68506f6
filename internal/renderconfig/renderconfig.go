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
	// StellarCoreVersion is the StellarNode's version: its release line's rules shape and check the file.
	StellarCoreVersion string
	// NodeName is the validator's StellarNode name; NetworkID its network's ID.
	NodeName, NetworkID string
	// PublicKey is the key the seed must have, when the StellarNode declares one.
	PublicKey string
	// QuorumFromPeers lists the network's other validators of stellar-peers in [[VALIDATORS]].
	QuorumFromPeers bool
	// Install, when set, is where the step copies the operator's binary, so the stellar-core container
	// can run its readiness check.
	Install string
	// AllowLoopback admits loopback peers and archives, as the operator's --allow-loopback-peers does
	// on a test bed of processes on one machine.
	AllowLoopback bool
}

// List is the container's argument list, the subcommand first.
func (a Args) List() []string {
	out := []string{Command, "--base=" + a.Base, "--out=" + a.Out, "--node-name=" + a.NodeName, "--network-id=" + a.NetworkID,
		"--stellar-core-version=" + a.StellarCoreVersion}
	if a.Peers != "" {
		out = append(out, "--peers="+a.Peers)
	}
	if a.PublicKey != "" {
		out = append(out, "--public-key="+a.PublicKey)
	}
	if a.QuorumFromPeers {
		out = append(out, "--quorum-from-peers")
	}
	if a.Install != "" {
		out = append(out, "--install="+a.Install)
	}
	if a.AllowLoopback {
		out = append(out, "--allow-loopback-peers")
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
	fs.StringVar(&a.StellarCoreVersion, "stellar-core-version", "", "the stellar-core version the pod runs (its release line's rules apply)")
	fs.StringVar(&a.PublicKey, "public-key", "", "the public key the seed must have")
	fs.BoolVar(&a.QuorumFromPeers, "quorum-from-peers", false, "list the network's validators of peers.json in [[VALIDATORS]]")
	fs.StringVar(&a.Install, "install", "", "copy this binary there, for the readiness check")
	fs.BoolVar(&a.AllowLoopback, "allow-loopback-peers", false, "admit loopback peers and archives (a test bed on one machine)")
	if err := fs.Parse(args); err != nil {
		return Args{}, err
	}
	if a.Base == "" || a.Out == "" || a.NodeName == "" || a.NetworkID == "" || a.StellarCoreVersion == "" {
		return Args{}, errors.New("render-config needs --base, --out, --node-name, --network-id and --stellar-core-version")
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
	profile, err := stellarcore.ProfileFor(a.StellarCoreVersion)
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
			// What stellar-peers says is checked again here: a bad entry is dropped and said, never written.
			var dropped []error
			discovered, dropped = discovered.Checked()
			for _, d := range dropped {
				_, _ = fmt.Fprintf(stdout, "%s: %v\n", peers.KeyPeersJSON, d)
			}
		}
	}
	seed := getenv(SeedEnv)
	if err := checkSeed(seed, a.PublicKey); err != nil {
		return err
	}
	rendered, err := stellarcore.Render(string(baseText), stellarcore.RenderInput{
		Profile:         profile,
		Seed:            seed,
		NodeName:        a.NodeName,
		PodIP:           getenv(PodIPEnv),
		NetworkID:       a.NetworkID,
		Discovered:      discovered,
		QuorumFromPeers: a.QuorumFromPeers,
	})
	if err != nil {
		return err
	}
	// The last word before stellar-core starts: a file it would refuse is never written.
	if err := stellarcore.Check(rendered, stellarcore.CheckOptions{Profile: profile, AllowLoopback: a.AllowLoopback}); err != nil {
		return err
	}
	if err := writePrivate(a.Out, []byte(rendered)); err != nil {
		return err
	}
	if a.Install != "" {
		if err := installSelf(a.Install); err != nil {
			return err
		}
	}
	_, _ = fmt.Fprintf(stdout, "wrote %s\n", a.Out)
	return nil
}

// checkSeed refuses a seed whose public key is not the declared one. Its message names the keys' first
// characters only, never the seed.
func checkSeed(seed, want string) error {
	if seed == "" {
		return errors.New("the validator seed is empty: check the Secret's " + SeedEnv + " key")
	}
	got, err := stellarcore.PublicKeyOfSeed(seed)
	if err != nil {
		return fmt.Errorf("the %s of the Secret is not a valid seed (S... strkey)", SeedEnv)
	}
	if want != "" && got != want {
		return fmt.Errorf("the seed's public key %s... is not the StellarNode's publicKey %s...: the Secret holds another validator's seed",
			got[:5], want[:5])
	}
	return nil
}

// installSelf copies the running binary to path, executable, through a temporary file.
func installSelf(path string) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own binary: %w", err)
	}
	data, err := os.ReadFile(self)
	if err != nil {
		return fmt.Errorf("read own binary: %w", err)
	}
	return writeFile(path, data, 0o555)
}

// writePrivate writes a file with mode 0600 through a temporary file, so no reader sees half of it.
func writePrivate(path string, data []byte) error { return writeFile(path, data, 0o600) }

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".render-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if err := tmp.Chmod(mode); err != nil {
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
