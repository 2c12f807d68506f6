// Package peerdiscovery keeps the validators of each network connected to each other. A pass reads
// validators, StatefulSets and pods from the roster, publishes the stellar-peers ConfigMap of
// each namespace, and restarts, one at a time per network, the validators whose peer membership changed.
package peerdiscovery

import (
	"cmp"
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/stellar-k8s/stellar-operator/internal/loop"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/quorumgate"
	"github.com/stellar-k8s/stellar-operator/internal/remote"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/roster"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
)

// FieldOwner is the field manager of discovery's writes.
const FieldOwner = "stellar-operator-peer-discovery"

// Config tunes discovery.
type Config struct {
	// Interval between passes when nothing happens.
	Interval time.Duration
	// Debounce is the least time from one pass to a woken one: a single change is served at once, the
	// events of a burst by one pass.
	Debounce time.Duration
	// ClusterDomain is the cluster's DNS domain, for stable peer names.
	ClusterDomain string
	// Planner grants membership restarts their turns; the reconciler asks the same one. Nil gives
	// discovery a planner of its own.
	Planner *rollout.Planner
	// Remote are the validators of other clusters, members of the local networks they share; nil
	// when there are none. ClusterName is this cluster's name in the registers they read.
	Remote      *remote.Clusters
	ClusterName string
	// Scopes name the namespaces whose validators discover each other.
	Scopes scope.Scopes
	// Roster is what a pass reads: the validators, their StatefulSets and pods, stellar-peers.
	Roster *roster.Roster
	// Quorum decides whether a network's proposed quorums intersect before any restart for them; the
	// reconciler asks the same one. Nil gives discovery a gate of its own.
	Quorum *quorumgate.Gate
}

// +kubebuilder:rbac:groups=stellar.org,resources=stellarnodes,verbs=get;list;watch
// +kubebuilder:rbac:groups=stellar.org,resources=stellarnodes/status,verbs=get;patch
// +kubebuilder:rbac:groups=apps,resources=statefulsets,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// PeerDiscovery is a manager.Runnable that runs only on the elected leader.
type PeerDiscovery struct {
	client client.Client
	// apiReader reads past the cache, only to recover from a write that found the cache behind.
	apiReader client.Reader
	recorder  recorder.EventRecorder
	cfg       Config
	log       logr.Logger
	trigger   chan struct{}
	report    *reportStore
	// retryDelay grows while passes fail, so a failing API server is not hammered.
	retryDelay time.Duration
	stats      stats

	planner *rollout.Planner

	mu sync.Mutex
	// networks and lastChange remember each network's members and its latest change, for events.
	networks   map[string][]peers.Member
	lastChange map[string]membershipChange
	// published is, per namespace, what stellar-peers holds as far as discovery knows.
	published map[string]published
	// turns are, per namespace, its turns across clusters (used by the pass only); claiming is set
	// by a pass that left a claim waiting for the next read of the other clusters.
	turns    map[string]*clusterTurns
	claiming atomic.Bool
	roster   *roster.Roster
	// views are, per namespace, the index and view of the last pass, reused while nothing changed.
	views map[string]builtView
}

// New builds the discovery runnable. Add it with mgr.Add.
func New(mgr manager.Manager, cfg Config) *PeerDiscovery {
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Debounce <= 0 {
		cfg.Debounce = 10 * time.Millisecond
	}
	if cfg.ClusterDomain == "" {
		cfg.ClusterDomain = "cluster.local"
	}
	if cfg.Quorum == nil {
		cfg.Quorum = &quorumgate.Gate{ClusterDomain: cfg.ClusterDomain}
	}
	d := &PeerDiscovery{
		client:     mgr.GetClient(),
		apiReader:  mgr.GetAPIReader(),
		recorder:   mgr.GetEventRecorder("peer-discovery"),
		cfg:        cfg,
		log:        mgr.GetLogger().WithName("peer-discovery"),
		trigger:    make(chan struct{}, 1),
		report:     &reportStore{},
		planner:    cmp.Or(cfg.Planner, rollout.NewPlanner()),
		networks:   map[string][]peers.Member{},
		lastChange: map[string]membershipChange{},
		published:  map[string]published{},
		turns:      map[string]*clusterTurns{},
		roster:     cfg.Roster,
		views:      map[string]builtView{},
	}
	// Every change of a validator, its StatefulSet or pod, or stellar-peers asks for a pass.
	d.roster.OnChange(d.Trigger)
	return d
}

// NeedLeaderElection keeps discovery on the leader: two writers would restart validators twice.
func (d *PeerDiscovery) NeedLeaderElection() bool { return true }

// Handler serves /peers.
func (d *PeerDiscovery) Handler() http.Handler { return d.report }

// Report is what /peers shows now.
func (d *PeerDiscovery) Report() PeersReport { return d.report.snapshot() }

// Trigger asks for a pass soon. Calls while one is pending are merged into it.
func (d *PeerDiscovery) Trigger() {
	d.stats.triggers.Add(1)
	select {
	case d.trigger <- struct{}{}:
	default:
		d.stats.merged.Add(1)
	}
}

// Stats counts what the loop decided: triggers received, merged into a pending pass, and passes run;
// and the namespace views passes built (not reused: something in them had changed).
type Stats struct {
	Triggers, Merged, TriggeredPasses, Passes, ViewsBuilt int64
}

type stats struct {
	triggers, merged, triggeredPasses, passes, viewsBuilt atomic.Int64
}

// Stats is a snapshot of the loop's counters. Every trigger either starts a pass or is merged into one:
// Triggers == Merged + TriggeredPasses once the loop is idle.
func (d *PeerDiscovery) Stats() Stats {
	return Stats{
		Triggers: d.stats.triggers.Load(), Merged: d.stats.merged.Load(),
		TriggeredPasses: d.stats.triggeredPasses.Load(), Passes: d.stats.passes.Load(), ViewsBuilt: d.stats.viewsBuilt.Load(),
	}
}

// Start runs a pass at once, then on every relevant cache event and every interval, until ctx ends.
func (d *PeerDiscovery) Start(ctx context.Context) error {
	if err := d.roster.WaitSynced(ctx); err != nil {
		return err
	}
	// Never a pass without the other clusters' last known members: it would publish, and restart
	// validators for, quorums without them.
	if err := d.cfg.Remote.WaitLoaded(ctx); err != nil {
		return err
	}
	d.log.Info("peer discovery started", "interval", d.cfg.Interval.String())
	l := loop.Loop{Interval: d.cfg.Interval, Wake: d.trigger, Debounce: d.cfg.Debounce, Folded: func() { d.stats.merged.Add(1) }}
	l.Run(ctx, func(ctx context.Context, why loop.Why) {
		if why == loop.Woken {
			d.stats.triggeredPasses.Add(1)
		}
		d.runPass(ctx)
	})
	return nil
}

func (d *PeerDiscovery) runPass(ctx context.Context) {
	start := time.Now()
	err := d.Pass(ctx)
	d.stats.passes.Add(1)
	passDuration.Observe(time.Since(start).Seconds())
	passesTotal.Inc()
	if err != nil {
		errorsTotal.Inc()
		d.retryDelay = min(max(2*d.retryDelay, time.Second), d.cfg.Interval)
		d.log.Error(err, "peer discovery pass failed; retrying", "in", d.retryDelay.String())
		time.AfterFunc(d.retryDelay, d.Trigger)
		return
	}
	d.retryDelay = 0
	lastSuccess.SetToCurrentTime()
	d.log.V(1).Info("peer discovery pass done", "duration", time.Since(start).String())
}
