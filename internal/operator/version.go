package operator

import (
	"runtime/debug"

	"github.com/stellar-k8s/stellar-operator/internal/metrics"
)

// Version is the operator's release, set when a release is built:
// -ldflags "-X github.com/stellar-k8s/stellar-operator/internal/operator.Version=v0.2.0".
var Version string

var buildInfo = metrics.GaugeVec("stellar_operator_build_info", "1, labelled with the running operator's version.", "version")

// BuildVersion is Version, or for a build without it the commit Go stamped into the binary ("dev-<commit>"),
// or "dev".
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "dev-" + s.Value[:12]
			}
		}
	}
	return "dev"
}
