// Command manager runs the stellar-operator: the StellarNode reconciler and peer discovery.
// `manager render-config` is the init step of validator pods and `manager check-release` the first step of
// their stellar-core container (see internal/renderconfig), `manager ready`
// their readiness check (see internal/readiness), `manager agent` their sidecar: status, metrics, live
// peering and a Full validator's history archive (see internal/agent). `manager check-quorum-intersection
// FILE` checks a quorum map as stellar-core's command of that name does (see internal/quorum); `manager version`
// prints the operator's version.
package main

import (
	"fmt"
	"os"
	"strings"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/stellar-k8s/stellar-operator/internal/agent"
	"github.com/stellar-k8s/stellar-operator/internal/operator"
	"github.com/stellar-k8s/stellar-operator/internal/quorum"
	"github.com/stellar-k8s/stellar-operator/internal/readiness"
	"github.com/stellar-k8s/stellar-operator/internal/renderconfig"
)

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case renderconfig.Command:
			subcommand(renderconfig.Command, renderconfig.Run(os.Args[2:], os.Getenv, os.Stdout))
			return
		case renderconfig.ReleaseCommand:
			subcommand(renderconfig.ReleaseCommand, renderconfig.RunCheckRelease(os.Args[2:], os.Stdin, os.Stdout))
			return
		case readiness.Command:
			subcommand(readiness.Command, readiness.Run(os.Args[2:], os.Stdout))
			return
		case agent.Command:
			subcommand(agent.Command, agent.Run(ctrl.SetupSignalHandler(), os.Args[2:], os.Stdout))
			return
		case quorum.Command:
			os.Exit(quorum.Run(os.Args[2:], os.Stdout, os.Stderr))
		case "version":
			fmt.Println(operator.BuildVersion())
			return
		}
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// subcommand ends a pod-side subcommand: its error, if any, is the last line of its output, which the
// kubelet keeps as the container's termination message.
func subcommand(name string, err error) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func run() error {
	c, err := operator.ParseConfig(os.Args[1:], os.Getenv)
	if err != nil {
		return err
	}
	logger, err := operator.NewLogger(c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	ctrl.SetLogger(logger)
	c.OnRefusedDial = func(address string) {
		// A test or demo that would send traffic off this host: stop, loudly.
		logger.Error(nil, "a dial outside loopback was refused; exiting (--loopback-only-dials)", "address", address)
		os.Exit(3)
	}
	namespaces := "all"
	if len(c.Namespaces) > 0 {
		namespaces = strings.Join(c.Namespaces, ",")
	}
	logger.WithName("setup").Info("starting", "version", operator.BuildVersion(), "namespaces", namespaces, "peerDiscoveryInterval", c.DiscoveryInterval.String(),
		"discoveryScopes", c.DiscoveryScopes.Namespaces())
	op, err := operator.New(ctrl.GetConfigOrDie(), c)
	if err != nil {
		return err
	}
	return op.Manager.Start(ctrl.SetupSignalHandler())
}
