// Package operator is the one set-up path of the stellar-operator: the scheme, the cache policy, the
// StellarNode reconciler, peer discovery, /peers and the health checks. cmd/main.go, every envtest
// suite and the benchmark build the operator here, so a test runs it exactly as it ships.
package operator

import (
	"crypto/tls"
	"fmt"
	"net"
	"time"

	"github.com/go-logr/logr"
	"github.com/go-logr/zapr"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/controller"
	"github.com/stellar-k8s/stellar-operator/internal/corestatus"
	"github.com/stellar-k8s/stellar-operator/internal/metricsauth"
	"github.com/stellar-k8s/stellar-operator/internal/netguard"
	"github.com/stellar-k8s/stellar-operator/internal/owned"
	"github.com/stellar-k8s/stellar-operator/internal/peerdiscovery"
	"github.com/stellar-k8s/stellar-operator/internal/quorumgate"
	"github.com/stellar-k8s/stellar-operator/internal/remote"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/roster"
)

// LeaderElectionID names the Lease the replicas compete for.
const LeaderElectionID = "stellar-operator.stellar.org"

// Operator is a manager with the reconciler and peer discovery added.
type Operator struct {
	Manager   manager.Manager
	Discovery *peerdiscovery.PeerDiscovery
	// Planner paces every change that replaces a validator's pod; the reconciler and discovery share it.
	Planner *rollout.Planner
	// CoreStatus reads the validators' agents into status.core; nil when turned off.
	CoreStatus *corestatus.Poller
	// Quorum is the intersection gate the reconciler and discovery ask before a quorum changes.
	Quorum *quorumgate.Gate
}

// NewScheme holds the built-in kinds and StellarNode.
func NewScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(stellarv1alpha1.AddToScheme(scheme))
	return scheme
}

// New builds the operator against an API server. Start it with o.Manager.Start.
func New(restConfig *rest.Config, c Config) (*Operator, error) {
	buildInfo.Reset()
	buildInfo.WithLabelValues(BuildVersion()).Set(1)
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Scheme:                  NewScheme(),
		Metrics:                 metricsOptions(c),
		HealthProbeBindAddress:  c.ProbeAddr,
		PprofBindAddress:        c.PprofAddr,
		LeaderElection:          c.LeaderElect,
		LeaderElectionID:        LeaderElectionID,
		LeaderElectionNamespace: c.LeaderElectionNamespace,
		// Handing over leadership at once on shutdown keeps the gap without a leader short.
		LeaderElectionReleaseOnCancel: true,
		// A leader that cannot renew its lease exits. These tolerate the API server being away for
		// 20 seconds (an upgrade, a restart) without the operator restarting itself.
		LeaseDuration: ptr.To(30 * time.Second),
		RenewDeadline: ptr.To(20 * time.Second),
		RetryPeriod:   ptr.To(4 * time.Second),
		Cache:         cacheOptions(c.Namespaces),
		// Controller names are unique within this binary; tests run several operators in one process.
		Controller: config.Controller{SkipNameValidation: new(true)},
		// Secrets are never read, so never cached.
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	clusters, err := addRemoteClusters(mgr, c)
	if err != nil {
		return nil, err
	}
	validators := roster.New(mgr.GetCache())
	if err := mgr.Add(validators); err != nil {
		return nil, fmt.Errorf("add roster: %w", err)
	}
	planner := rollout.NewPlanner()
	if clusters != nil {
		planner.WithRemote(clusters.RolloutMembers)
	}
	gate := &quorumgate.Gate{ClusterDomain: c.ClusterDomain, Neighbours: validators.Validators}
	if err := (&controller.StellarNodeReconciler{
		Quorum:      gate,
		ClusterName: c.ClusterName,
		Client:      mgr.GetClient(),
		APIReader:   mgr.GetAPIReader(),
		Scheme:      mgr.GetScheme(),
		Recorder:    mgr.GetEventRecorder("stellarnode-controller"),
		Options: resources.Options{OperatorImage: c.OperatorImage, ClusterDomain: c.ClusterDomain, NetworkPolicies: c.NetworkPolicies,
			OperatorNamespace: c.OperatorNamespace, MonitoringNamespace: c.MonitoringNamespace, AllowLoopbackPeers: c.AllowLoopbackPeers},
		Planner:             planner,
		RolloutBlockedAfter: c.RolloutBlockedAfter,
		Policy:              controller.Policy{ImageRegistries: c.AllowedImageRegistries, ArchivePrograms: c.AllowedArchivePrograms},
		Remote:              clusters,
		Scopes:              c.DiscoveryScopes,
		Roster:              validators,
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up reconciler: %w", err)
	}
	if err := (&controller.NetworkUpgradeReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("stellarnetworkupgrade-controller"),
	}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up network upgrades: %w", err)
	}
	if err := (&controller.StellarTOMLReconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(),
		Recorder: mgr.GetEventRecorder("stellartoml-controller")}).SetupWithManager(mgr); err != nil {
		return nil, fmt.Errorf("set up stellar.toml fragments: %w", err)
	}
	discovery := peerdiscovery.New(mgr, peerdiscovery.Config{Interval: c.DiscoveryInterval, ClusterDomain: c.ClusterDomain, Planner: planner,
		Remote: clusters, ClusterName: c.ClusterName, Scopes: c.DiscoveryScopes, Roster: validators, Quorum: gate})
	if err := mgr.Add(discovery); err != nil {
		return nil, fmt.Errorf("add peer discovery: %w", err)
	}
	if clusters != nil {
		// What another cluster says changes the local networks: a pass publishes and paces it.
		clusters.OnChange(discovery.Trigger)
		clusters.OnRead(discovery.AfterRemoteRead)
	}
	poller, err := addCoreStatus(mgr, c, gate)
	if err != nil {
		return nil, err
	}
	if c.MetricsAddr != "0" {
		if err := mgr.AddMetricsServerExtraHandler("/peers", discovery.Handler()); err != nil {
			return nil, fmt.Errorf("serve /peers: %w", err)
		}
		if err := mgr.AddMetricsServerExtraHandler("/rollouts", planner); err != nil {
			return nil, fmt.Errorf("serve /rollouts: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, err
	}
	return &Operator{Manager: mgr, Discovery: discovery, Planner: planner, CoreStatus: poller, Quorum: gate}, nil
}

// addRemoteClusters reads the other clusters' kubeconfigs when a directory of them is given; nil without.
func addRemoteClusters(mgr ctrl.Manager, c Config) (*remote.Clusters, error) {
	if c.RemoteClustersDir == "" {
		return nil, nil
	}
	rc := remote.Config{Dir: c.RemoteClustersDir, Interval: c.RemoteReadInterval, Dial: c.dial(), AllowLoopbackPeers: c.AllowLoopbackPeers}
	if c.OperatorNamespace != "" {
		rc.Store = remote.ConfigMapStore{Namespace: c.OperatorNamespace,
			Writer: owned.Writer{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(), FieldOwner: controller.FieldOwner}}
	} else {
		mgr.GetLogger().Info("the last known members of other clusters are kept in memory only: give --operator-namespace to keep them across restarts")
	}
	clusters, err := remote.Load(rc, mgr.GetScheme(), mgr.GetLogger())
	if err != nil {
		return nil, err
	}
	if err := mgr.Add(clusters); err != nil {
		return nil, fmt.Errorf("add remote clusters: %w", err)
	}
	return clusters, nil
}

// dial is the dialer of the operator's own connections: loopback (and a test bed's range) only when
// asked, else nil (the default).
func (c Config) dial() netguard.DialFunc {
	if !c.LoopbackOnlyDials {
		return nil
	}
	return netguard.LoopbackAnd((&net.Dialer{Timeout: 2 * time.Second}).DialContext, c.TestBedRanges, c.OnRefusedDial)
}

// addCoreStatus adds the poller of the agents' core status; nil when polling is off.
func addCoreStatus(mgr ctrl.Manager, c Config, gate *quorumgate.Gate) (*corestatus.Poller, error) {
	if c.CoreStatusInterval <= 0 {
		return nil, nil
	}
	// What the validators' stellar-cores report of the network's quorums is what the gate knows of
	// the validators outside.
	cfg := corestatus.Config{Interval: c.CoreStatusInterval, Dial: c.dial(), Reported: gate.Report}
	poller := corestatus.New(mgr.GetClient(), mgr.GetCache(), mgr.GetEventRecorder("core-status"), mgr.GetLogger(), cfg)
	if err := mgr.Add(poller); err != nil {
		return nil, fmt.Errorf("add core status: %w", err)
	}
	return poller, nil
}

func metricsOptions(c Config) metricsserver.Options {
	opts := metricsserver.Options{BindAddress: c.MetricsAddr, SecureServing: c.SecureMetrics}
	if !c.EnableHTTP2 {
		// HTTP/2 stream resets (CVE-2023-44487) are avoided by serving HTTP/1.1 only.
		opts.TLSOpts = []func(*tls.Config){func(t *tls.Config) { t.NextProtos = []string{"http/1.1"} }}
	}
	if c.SecureMetrics {
		opts.FilterProvider = metricsauth.Filter
	}
	if c.MetricsCertDir != "" {
		// A certificate Prometheus can verify (config/secure-metrics), watched for renewals.
		opts.CertDir, opts.CertName, opts.KeyName = c.MetricsCertDir, "tls.crt", "tls.key"
	}
	return opts
}

func cacheOptions(namespaces []string) cache.Options {
	opts := cache.Options{
		// Nothing reads managedFields; a server-side applied object carries them for every field, and at
		// a thousand validators they were most of the cache.
		DefaultTransform: cache.TransformStripManagedFields(),
		// Only the operator's own pods are cached, and only what it reads of them: discovery and status
		// need no others.
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Label: labels.SelectorFromSet(labels.Set{resources.LabelName: resources.AppName}), Transform: slimPod},
			// The reconciler reads a StatefulSet's pod spec past the cache, when it may have changed.
			&appsv1.StatefulSet{}: {Transform: controller.SlimStatefulSet},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = map[string]cache.Config{}
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// slimPod keeps what the operator reads of a pod (its metadata, status, node, and its containers' names,
// images and ports) and drops the rest of its spec: the operator never writes a pod, and at a thousand
// validators their environments, probes and volumes were a large part of the cache.
func slimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	containers := make([]corev1.Container, len(pod.Spec.Containers))
	for i, c := range pod.Spec.Containers {
		containers[i] = corev1.Container{Name: c.Name, Image: c.Image, Ports: c.Ports}
	}
	pod.Spec = corev1.PodSpec{NodeName: pod.Spec.NodeName, Containers: containers}
	pod.ManagedFields = nil
	return pod, nil
}

// NewLogger builds the operator's logger from --log-level and --log-format.
func NewLogger(level, format string) (logr.Logger, error) {
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
