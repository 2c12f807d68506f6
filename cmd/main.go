// Command manager runs the stellar-operator: the StellarNode reconciler and peer discovery.
// `manager render-config` is the init step of validator pods (see internal/renderconfig).
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/controller"
	"github.com/stellar-k8s/stellar-operator/internal/peerdiscovery"
	"github.com/stellar-k8s/stellar-operator/internal/renderconfig"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "render-config" {
		if err := renderconfig.Run(os.Args[2:], os.Getenv, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "render-config:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// options are the manager's settings. Every flag falls back to an environment variable.
type options struct {
	metricsAddr, probeAddr       string
	secureMetrics, enableHTTP2   bool
	leaderElect                  bool
	leaderElectionNamespace      string
	watchNamespaces              string
	discoveryInterval            time.Duration
	clusterDomain, operatorImage string
	logLevel, logFormat          string
}

func parseFlags() options {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", env("METRICS_BIND_ADDRESS", ":8080"),
		"address of the metrics endpoint, which also serves /peers; 0 disables it")
	flag.BoolVar(&o.secureMetrics, "metrics-secure", envBool("METRICS_SECURE"),
		"serve metrics over HTTPS with Kubernetes authentication and authorization")
	flag.BoolVar(&o.enableHTTP2, "enable-http2", envBool("ENABLE_HTTP2"), "allow HTTP/2 on the metrics server")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", env("HEALTH_PROBE_BIND_ADDRESS", ":8081"),
		"address of the /healthz and /readyz endpoints")
	flag.BoolVar(&o.leaderElect, "leader-elect", envBool("LEADER_ELECT"),
		"elect a leader, so only one replica reconciles and runs peer discovery")
	flag.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", env("LEADER_ELECTION_NAMESPACE", os.Getenv("POD_NAMESPACE")),
		"namespace of the leader-election Lease (default: POD_NAMESPACE)")
	flag.StringVar(&o.watchNamespaces, "watch-namespaces", env("WATCH_NAMESPACES", os.Getenv("POD_NAMESPACE")),
		"comma-separated namespaces to manage, or 'all' (default: POD_NAMESPACE, or all when it is unset)")
	flag.DurationVar(&o.discoveryInterval, "peer-discovery-interval", envDuration("PEER_DISCOVERY_INTERVAL", 30*time.Second),
		"time between peer discovery passes when no event triggers one")
	flag.StringVar(&o.clusterDomain, "cluster-domain", env("CLUSTER_DOMAIN", "cluster.local"), "the cluster's DNS domain")
	flag.StringVar(&o.operatorImage, "operator-image", env("OPERATOR_IMAGE", "stellar-operator:latest"),
		"image of this operator, run by validator pods for their render-config step")
	flag.StringVar(&o.logLevel, "log-level", env("LOG_LEVEL", "info"), "log level: debug, info or error")
	flag.StringVar(&o.logFormat, "log-format", env("LOG_FORMAT", "json"), "log format: json or console")
	flag.Parse()
	return o
}

func run() error {
	o := parseFlags()
	if len(envErrors) > 0 {
		return fmt.Errorf("invalid environment: %s", strings.Join(envErrors, "; "))
	}
	if o.discoveryInterval <= 0 {
		return fmt.Errorf("--peer-discovery-interval must be positive, got %s", o.discoveryInterval)
	}
	logger, err := newLogger(o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	ctrl.SetLogger(logger)
	setupLog := logger.WithName("setup")

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(stellarv1alpha1.AddToScheme(scheme))

	namespaces := watchedNamespaces(o.watchNamespaces)
	setupLog.Info("starting", "namespaces", describeNamespaces(namespaces), "peerDiscoveryInterval", o.discoveryInterval.String())

	metricsOpts := metricsserver.Options{BindAddress: o.metricsAddr, SecureServing: o.secureMetrics}
	if !o.enableHTTP2 {
		// HTTP/2 stream resets (CVE-2023-44487) are avoided by serving HTTP/1.1 only.
		metricsOpts.TLSOpts = []func(*tls.Config){func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} }}
	}
	if o.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	cacheOpts := cache.Options{
		// Only the operator's own pods are cached: discovery and status need no others.
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Label: labels.SelectorFromSet(labels.Set{resources.LabelName: resources.AppName})},
		},
	}
	if len(namespaces) > 0 {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			cacheOpts.DefaultNamespaces[ns] = cache.Config{}
		}
	}

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "stellar-operator.stellar.org",
		LeaderElectionNamespace: o.leaderElectionNamespace,
		// Handing over leadership at once on shutdown keeps the gap without a leader short.
		LeaderElectionReleaseOnCancel: true,
		// A leader that cannot renew its lease exits. These tolerate the API server being away for
		// 20 seconds (an upgrade, a restart) without the operator restarting itself.
		LeaseDuration: ptr.To(30 * time.Second),
		RenewDeadline: ptr.To(20 * time.Second),
		RetryPeriod:   ptr.To(4 * time.Second),
		Cache:         cacheOpts,
		// Secrets are never read, so never cached.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	resOpts := resources.Options{OperatorImage: o.operatorImage, ClusterDomain: o.clusterDomain}
	if err := (&controller.StellarNodeReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("stellarnode-controller"),
		Options:  resOpts,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("set up reconciler: %w", err)
	}

	discovery := peerdiscovery.New(mgr, peerdiscovery.Config{Interval: o.discoveryInterval, ClusterDomain: o.clusterDomain})
	if err := mgr.Add(discovery); err != nil {
		return fmt.Errorf("add peer discovery: %w", err)
	}
	if o.metricsAddr != "0" {
		if err := mgr.AddMetricsServerExtraHandler("/peers", discovery.Handler()); err != nil {
			return fmt.Errorf("serve /peers: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}

	setupLog.Info("starting manager")
	return mgr.Start(ctrl.SetupSignalHandler())
}

// watchedNamespaces turns the --watch-namespaces value into a list; nil means all namespaces.
func watchedNamespaces(value string) []string {
	if value == "" || value == "all" {
		return nil
	}
	var out []string
	for _, ns := range strings.Split(value, ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			out = append(out, ns)
		}
	}
	return out
}

func describeNamespaces(ns []string) string {
	if len(ns) == 0 {
		return "all"
	}
	return strings.Join(ns, ",")
}

func newLogger(level, format string) (logr.Logger, error) {
	lvl, err := zapcore.ParseLevel(level)
	if err != nil {
		return logr.Logger{}, fmt.Errorf("--log-level: %w", err)
	}
	cfg := zap.NewProductionConfig()
	if format == "console" {
		cfg = zap.NewDevelopmentConfig()
	}
	cfg.Level = zap.NewAtomicLevelAt(lvl)
	cfg.Sampling = nil
	z, err := cfg.Build()
	if err != nil {
		return logr.Logger{}, err
	}
	return zapr.NewLogger(z), nil
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok && v != "" {
		return v
	}
	return def
}

// envErrors collects environment variables that could not be read, reported before anything starts.
var envErrors []string

// envBool reads a boolean variable; unset means false.
func envBool(name string) bool {
	switch v := strings.ToLower(os.Getenv(name)); v {
	case "", "0", "false", "no":
		return false
	case "1", "true", "yes":
		return true
	default:
		envErrors = append(envErrors, fmt.Sprintf("%s=%q is not a boolean", name, v))
		return false
	}
}

func envDuration(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		envErrors = append(envErrors, fmt.Sprintf("%s=%q is not a positive duration such as 30s", name, v))
		return def
	}
	return d
}
