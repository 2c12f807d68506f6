package operator

import (
	"flag"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/controller"
	"github.com/stellar-k8s/stellar-operator/internal/netguard"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
)

// Config is every setting of the operator. Each flag falls back to an environment variable.
type Config struct {
	MetricsAddr string
	ProbeAddr   string
	// PprofAddr serves Go's profiles (heap, CPU) for diagnosis; empty or "0": off.
	PprofAddr     string
	SecureMetrics bool
	// MetricsCertDir holds tls.crt and tls.key for the metrics server; empty: a self-signed certificate.
	MetricsCertDir          string
	EnableHTTP2             bool
	LeaderElect             bool
	LeaderElectionNamespace string
	// Namespaces to manage; nil means all.
	Namespaces        []string
	DiscoveryInterval time.Duration
	// CoreStatusInterval is how often every validator's agent is read into status.core; 0 turns it off.
	CoreStatusInterval time.Duration
	// RolloutBlockedAfter is how long a change may wait for its rollout turn before its node is Degraded.
	RolloutBlockedAfter time.Duration
	ClusterDomain       string
	OperatorImage       string
	// NetworkPolicies, OperatorNamespace and MonitoringNamespace shape each validator's NetworkPolicy.
	NetworkPolicies     bool
	OperatorNamespace   string
	MonitoringNamespace string
	// AllowedImageRegistries and AllowedArchivePrograms restrict spec.image and objectStorage commands.
	AllowedImageRegistries []string
	AllowedArchivePrograms []string
	LogLevel               string
	LogFormat              string
	// LoopbackOnlyDials refuses the operator's own connections to anything but loopback (tests,
	// demos); OnRefusedDial is told of each, and fails the run (cmd/main exits, test harnesses fail).
	LoopbackOnlyDials bool
	// TestBedRanges are what LoopbackOnlyDials admits besides loopback: the pods of a real-kubelet
	// test bed, inside netguard.TestBedRange only.
	TestBedRanges []netip.Prefix
	OnRefusedDial func(address string)
	// AllowLoopbackPeers admits loopback peer and archive addresses in validators' configurations and
	// from other clusters: only for a test bed of processes on one machine.
	AllowLoopbackPeers bool
	// RemoteClustersDir holds a kubeconfig file per other cluster whose validators join the local
	// networks they share; empty: none. RemoteReadInterval is how often each is read.
	RemoteClustersDir  string
	RemoteReadInterval time.Duration
	// ClusterName is this cluster's name as the other clusters' operators know it (required with
	// RemoteClustersDir): it orders the network's turns across clusters.
	ClusterName string
	// DiscoveryScopes are groups of namespaces whose validators discover each other.
	DiscoveryScopes scope.Scopes
}

// scopeFlags collects the repeated --discovery-scope flag.
type scopeFlags []string

func (f *scopeFlags) String() string     { return strings.Join(*f, " ") }
func (f *scopeFlags) Set(v string) error { *f = append(*f, v); return nil }

// ParseConfig reads the flags in args, each falling back to its environment variable through getenv.
// A value that cannot be read is an error that names it; nothing is kept outside the returned value.
func ParseConfig(args []string, getenv func(string) string) (Config, error) {
	env := envReader{getenv: getenv}
	var c Config
	var watch string
	fs := flag.NewFlagSet("manager", flag.ContinueOnError)
	fs.StringVar(&c.MetricsAddr, "metrics-bind-address", env.str("METRICS_BIND_ADDRESS", ":8080"),
		"address of the metrics endpoint, which also serves /peers; 0 disables it")
	fs.BoolVar(&c.SecureMetrics, "metrics-secure", env.boolean("METRICS_SECURE"),
		"serve metrics over HTTPS with Kubernetes authentication and authorization")
	fs.StringVar(&c.MetricsCertDir, "metrics-cert-dir", env.str("METRICS_CERT_DIR", ""),
		"directory of tls.crt and tls.key for the HTTPS metrics server (reloaded when they change), such as a "+
			"cert-manager Secret mounted there; empty: a self-signed certificate no scraper can verify")
	fs.BoolVar(&c.EnableHTTP2, "enable-http2", env.boolean("ENABLE_HTTP2"), "allow HTTP/2 on the metrics server")
	fs.StringVar(&c.ProbeAddr, "health-probe-bind-address", env.str("HEALTH_PROBE_BIND_ADDRESS", ":8081"),
		"address of the /healthz and /readyz endpoints")
	fs.StringVar(&c.PprofAddr, "pprof-bind-address", env.str("PPROF_BIND_ADDRESS", ""),
		"address to serve Go's profiles on (heap, CPU), for diagnosis; empty: off")
	fs.BoolVar(&c.LeaderElect, "leader-elect", env.boolean("LEADER_ELECT"),
		"elect a leader, so only one replica reconciles and runs peer discovery")
	fs.StringVar(&c.LeaderElectionNamespace, "leader-election-namespace", env.str("LEADER_ELECTION_NAMESPACE", getenv("POD_NAMESPACE")),
		"namespace of the leader-election Lease (default: POD_NAMESPACE)")
	fs.StringVar(&watch, "watch-namespaces", env.str("WATCH_NAMESPACES", getenv("POD_NAMESPACE")),
		"comma-separated namespaces to manage, or 'all' (default: POD_NAMESPACE, or all when it is unset)")
	fs.DurationVar(&c.DiscoveryInterval, "peer-discovery-interval", env.duration("PEER_DISCOVERY_INTERVAL", 30*time.Second),
		"time between peer discovery passes when no event triggers one")
	fs.DurationVar(&c.CoreStatusInterval, "core-status-interval", env.durationOrZero("CORE_STATUS_INTERVAL", 30*time.Second),
		"how often each validator's agent is read into status.core (pod IP, agent port); 0 turns it off, as on a simulated cluster whose pod IPs lead nowhere")
	fs.DurationVar(&c.RolloutBlockedAfter, "rollout-blocked-after", env.duration("ROLLOUT_BLOCKED_AFTER", controller.DefaultRolloutBlockedAfter),
		"how long a change that replaces a validator's pod may wait for its turn before the validator is Degraded (RolloutBlocked)")
	fs.StringVar(&c.ClusterDomain, "cluster-domain", env.str("CLUSTER_DOMAIN", "cluster.local"), "the cluster's DNS domain")
	fs.StringVar(&c.OperatorImage, "operator-image", env.str("OPERATOR_IMAGE", "stellar-operator:latest"),
		"image of this operator, run by validator pods for their render-config step")
	fs.BoolVar(&c.NetworkPolicies, "network-policies", env.booleanOr("NETWORK_POLICIES", true),
		"give each validator a NetworkPolicy: peer port open, agent and archive ports from the operator's and the monitoring namespace only")
	fs.StringVar(&c.OperatorNamespace, "operator-namespace", env.str("OPERATOR_NAMESPACE", getenv("POD_NAMESPACE")),
		"the operator's namespace, whose pods may read validators' agents (default: POD_NAMESPACE)")
	fs.StringVar(&c.MonitoringNamespace, "monitoring-namespace", env.str("MONITORING_NAMESPACE", ""),
		"the namespace of the Prometheus that scrapes validators' agents; empty: none")
	var registries, programs string
	fs.StringVar(&registries, "allowed-image-registries", env.str("ALLOWED_IMAGE_REGISTRIES", ""),
		"comma-separated prefixes spec.image must start with (registry.example.org/); empty allows any image")
	fs.StringVar(&programs, "allowed-archive-programs", env.str("ALLOWED_ARCHIVE_PROGRAMS", ""),
		"comma-separated programs objectStorage put and mkdir may run (aws,gsutil); empty allows any")
	fs.BoolVar(&c.LoopbackOnlyDials, "loopback-only-dials", env.boolean("LOOPBACK_ONLY_DIALS"),
		"refuse, and exit on, any connection of the operator's own to an address outside 127.0.0.0/8 and ::1 "+
			"(validators' agents, Horizon, Soroban RPC): for tests and demos on a simulated cluster")
	var testBed string
	fs.StringVar(&testBed, "test-bed-range", env.str("TEST_BED_RANGE", ""),
		"with --loopback-only-dials, also admit these comma-separated ranges, each inside 198.18.0.0/15 (reserved for "+
			"network test beds): the pods of a test bed with real kubelets")
	fs.BoolVar(&c.AllowLoopbackPeers, "allow-loopback-peers", env.boolean("ALLOW_LOOPBACK_PEERS"),
		"admit loopback peer and archive addresses (127.0.0.0/8, localhost) in validators' configurations and from other "+
			"clusters: for a test bed of processes on one machine; elsewhere they point a validator at its own pod")
	fs.StringVar(&c.RemoteClustersDir, "remote-clusters-dir", env.str("REMOTE_CLUSTERS_DIR", ""),
		"directory of kubeconfig files, one per other cluster (the file's name is the cluster's name), whose validators "+
			"join the networks they share with this one; read-only access to StellarNodes there is enough; empty: none")
	fs.DurationVar(&c.RemoteReadInterval, "remote-read-interval", env.duration("REMOTE_READ_INTERVAL", 30*time.Second),
		"how often each remote cluster's StellarNodes are read")
	fs.StringVar(&c.ClusterName, "cluster-name", env.str("CLUSTER_NAME", ""),
		"this cluster's name, a DNS label, the same one the other clusters' operators give its kubeconfig file "+
			"(required with --remote-clusters-dir)")
	var scopes scopeFlags
	for g := range strings.SplitSeq(getenv("DISCOVERY_SCOPES"), ";") {
		if g = strings.TrimSpace(g); g != "" {
			scopes = append(scopes, g)
		}
	}
	fs.Var(&scopes, "discovery-scope",
		"comma-separated namespaces whose validators discover each other: members of a network in any of them are members "+
			"in all, in stellar-peers, quorums and paced rollouts; repeat for more groups (env DISCOVERY_SCOPES, groups separated by ;)")
	fs.StringVar(&c.LogLevel, "log-level", env.str("LOG_LEVEL", "info"), "log level: debug, info or error")
	fs.StringVar(&c.LogFormat, "log-format", env.str("LOG_FORMAT", "json"), "log format: json or console")
	err := fs.Parse(args)
	if err != nil {
		return Config{}, err
	}
	if len(env.errs) > 0 {
		return Config{}, fmt.Errorf("invalid environment: %s", strings.Join(env.errs, "; "))
	}
	if c.CoreStatusInterval < 0 {
		return Config{}, fmt.Errorf("--core-status-interval must be 0 (off) or positive, got %s", c.CoreStatusInterval)
	}
	if c.RemoteClustersDir != "" {
		if err := stellarv1alpha1.ValidName("--cluster-name", c.ClusterName); err != nil || len(c.ClusterName) > 63 || strings.Contains(c.ClusterName, ".") {
			return Config{}, fmt.Errorf("--remote-clusters-dir needs --cluster-name, this cluster's name as a DNS label (got %q)", c.ClusterName)
		}
	}
	if c.RemoteReadInterval <= 0 {
		return Config{}, fmt.Errorf("--remote-read-interval must be positive, got %s", c.RemoteReadInterval)
	}
	if c.DiscoveryInterval <= 0 {
		return Config{}, fmt.Errorf("--peer-discovery-interval must be positive, got %s", c.DiscoveryInterval)
	}
	c.Namespaces = WatchedNamespaces(watch)
	if c.DiscoveryScopes, err = scope.Parse(scopes); err != nil {
		return Config{}, err
	}
	for _, ns := range c.DiscoveryScopes.Namespaces() {
		if c.Namespaces != nil && !slices.Contains(c.Namespaces, ns) {
			return Config{}, fmt.Errorf("--discovery-scope names namespace %s, which --watch-namespaces leaves out: the operator cannot see its validators", ns)
		}
	}
	c.AllowedImageRegistries, c.AllowedArchivePrograms = commaList(registries), commaList(programs)
	if c.TestBedRanges, err = netguard.ParseTestBed(testBed); err != nil {
		return Config{}, err
	}
	if len(c.TestBedRanges) > 0 && !c.LoopbackOnlyDials {
		return Config{}, fmt.Errorf("--test-bed-range widens --loopback-only-dials, which is off")
	}
	return c, nil
}

// commaList splits a comma-separated flag, dropping empty items.
func commaList(v string) []string {
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// WatchedNamespaces turns a --watch-namespaces value into a list; nil means all namespaces.
func WatchedNamespaces(value string) []string {
	if value == "" || value == "all" {
		return nil
	}
	var out []string
	for ns := range strings.SplitSeq(value, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

// envReader reads environment variables and collects those it cannot read, to report them together.
type envReader struct {
	getenv func(string) string
	errs   []string
}

func (e *envReader) str(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

// boolean reads a boolean variable; unset means false.
func (e *envReader) boolean(name string) bool {
	switch v := strings.ToLower(e.getenv(name)); v {
	case "", "0", "false", "no":
		return false
	case "1", "true", "yes":
		return true
	default:
		e.errs = append(e.errs, fmt.Sprintf("%s=%q is not a boolean", name, v))
		return false
	}
}

// booleanOr reads a boolean variable; unset means def.
func (e *envReader) booleanOr(name string, def bool) bool {
	if e.getenv(name) == "" {
		return def
	}
	return e.boolean(name)
}

// durationOrZero reads a duration that may be 0 (off).
func (e *envReader) durationOrZero(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		e.errs = append(e.errs, fmt.Sprintf("%s=%q is not a duration such as 30s, or 0", name, v))
		return def
	}
	return d
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v := e.getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.errs = append(e.errs, fmt.Sprintf("%s=%q is not a positive duration such as 30s", name, v))
		return def
	}
	return d
}
