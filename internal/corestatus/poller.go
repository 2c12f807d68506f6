// Package corestatus brings what each validator's stellar-core says of itself into its StellarNode:
// a leader-only runnable reads every validator's agent status document (pod IP, agent port) on pod
// events and at an interval, with bounded concurrency and timeouts, and writes status.core. A pod that
// does not answer is reported on its own StellarNode and never holds back the others.
package corestatus

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/agent"
	"github.com/stellar-k8s/stellar-operator/internal/health"
	"github.com/stellar-k8s/stellar-operator/internal/loop"
	"github.com/stellar-k8s/stellar-operator/internal/quorum"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// FieldOwner is the field manager of the poller's status writes.
const FieldOwner = "stellar-operator-core-status"

// Event reasons.
const (
	ReasonLostSync = "LostSync"
	ReasonSynced   = "Synced"
)

// Config tunes the poller.
type Config struct {
	// Interval between polls of every validator; events poll one sooner.
	Interval time.Duration
	// Timeout of one agent request.
	Timeout time.Duration
	// Concurrency bounds the requests in flight.
	Concurrency int
	// Dial, when set, makes the agents' and APIs' connections (netguard.LoopbackOnly in tests).
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// Reported, when set, is given the transitive quorum map a synced validator of each network
	// reports (its agent's /quorum), read once per network per round.
	Reported func(namespace, networkID string, m quorum.Map)
}

// Poller is the runnable. Add it with mgr.Add.
type Poller struct {
	client   client.Client
	cache    cache.Cache
	recorder recorder.EventRecorder
	log      logr.Logger
	cfg      Config
	http     *http.Client

	mu      sync.Mutex
	pending map[client.ObjectKey]bool
	wake    chan struct{}
	rounds  int64
	// mapsRead are the networks whose quorum map was read this round, by namespace/network.
	mapsRead map[string]bool
}

// New builds the poller.
func New(c client.Client, ca cache.Cache, rec recorder.EventRecorder, log logr.Logger, cfg Config) *Poller {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	dial := cfg.Dial
	if dial == nil {
		dial = (&net.Dialer{Timeout: cfg.Timeout}).DialContext
	}
	return &Poller{
		client: c, cache: ca, recorder: rec, log: log.WithName("core-status"), cfg: cfg,
		http:    &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{DialContext: dial}},
		pending: map[client.ObjectKey]bool{}, wake: make(chan struct{}, 1),
	}
}

// NeedLeaderElection keeps the poller on the leader: one writer of status.core.
func (p *Poller) NeedLeaderElection() bool { return true }

// Rounds is how many poll rounds have finished.
func (p *Poller) Rounds() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rounds
}

// Start polls at once, then on pod events and every interval, until ctx ends.
func (p *Poller) Start(ctx context.Context) error {
	inf, err := p.cache.GetInformer(ctx, &corev1.Pod{})
	if err != nil {
		return err
	}
	if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { p.enqueue(obj) },
		UpdateFunc: func(_, obj any) { p.enqueue(obj) },
	}); err != nil {
		return err
	}
	// A pod's event polls it after a moment, so a burst is one round; the interval polls them all.
	l := loop.Loop{Interval: p.cfg.Interval, Wake: p.wake, Debounce: 200 * time.Millisecond}
	l.Run(ctx, func(ctx context.Context, why loop.Why) {
		if why != loop.Woken {
			p.enqueueAll(ctx)
		}
		p.round(ctx)
	})
	return nil
}

// polled are the components whose pods the poller reads.
var polled = map[string]stellarv1alpha1.NodeType{
	resources.Component(stellarv1alpha1.NodeTypeValidator):  stellarv1alpha1.NodeTypeValidator,
	resources.Component(stellarv1alpha1.NodeTypeHorizon):    stellarv1alpha1.NodeTypeHorizon,
	resources.Component(stellarv1alpha1.NodeTypeSorobanRPC): stellarv1alpha1.NodeTypeSorobanRPC,
}

func (p *Poller) enqueue(obj any) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		return
	}
	if _, ok := polled[pod.Labels[resources.LabelComponent]]; !ok {
		return
	}
	p.mu.Lock()
	p.pending[client.ObjectKeyFromObject(pod)] = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Poller) enqueueAll(ctx context.Context) {
	var pods corev1.PodList
	if err := p.client.List(ctx, &pods, client.MatchingLabels{resources.LabelName: resources.AppName}); err != nil {
		p.log.Error(err, "list the nodes' pods")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range pods.Items {
		if _, ok := polled[pods.Items[i].Labels[resources.LabelComponent]]; ok {
			p.pending[client.ObjectKeyFromObject(&pods.Items[i])] = true
		}
	}
}

// round polls every pending pod, Concurrency at a time.
func (p *Poller) round(ctx context.Context) {
	p.mu.Lock()
	keys := make([]client.ObjectKey, 0, len(p.pending))
	for k := range p.pending {
		keys = append(keys, k)
	}
	p.pending = map[client.ObjectKey]bool{}
	p.mapsRead = map[string]bool{}
	p.mu.Unlock()
	sem := make(chan struct{}, p.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := p.poll(ctx, k); err != nil {
				p.log.V(1).Info("core status not written", "pod", k.String(), "error", err.Error())
			}
		})
	}
	wg.Wait()
	p.mu.Lock()
	p.rounds++
	p.mu.Unlock()
}

// poll reads one pod's agent and writes its StellarNode's status.core when it changed.
func (p *Poller) poll(ctx context.Context, key client.ObjectKey) error {
	pod := &corev1.Pod{}
	if err := p.client.Get(ctx, key, pod); err != nil {
		return client.IgnoreNotFound(err)
	}
	nodeType := polled[pod.Labels[resources.LabelComponent]]
	name := pod.Labels[resources.LabelInstance]
	port := containerPort(pod, nodeType)
	if pod.Status.PodIP == "" || port == 0 || name == "" || pod.DeletionTimestamp != nil {
		return nil
	}
	node := &stellarv1alpha1.StellarNode{}
	if err := p.client.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: name}, node); err != nil {
		return client.IgnoreNotFound(err)
	}
	if nodeType != stellarv1alpha1.NodeTypeValidator {
		return p.writeHealth(ctx, node, p.apiHealth(ctx, nodeType, pod.Status.PodIP, port, node.Status.Health, time.Now()))
	}
	doc, err := p.fetch(ctx, pod.Status.PodIP, port)
	if err == nil && doc.InSync() && p.firstOfNetwork(node) {
		if m, err := p.fetchQuorum(ctx, pod.Status.PodIP, port); err == nil {
			p.cfg.Reported(node.Namespace, node.NetworkID(), m)
		} else {
			p.log.V(1).Info("quorum map not read", "pod", key.String(), "error", err.Error())
		}
	}
	next := Merge(node.Status.Core, doc, err, time.Now())
	if equality.Semantic.DeepEqual(node.Status.Core, next) {
		return nil
	}
	patched := node.DeepCopy()
	patched.Status.Core = next
	if err := p.client.Status().Patch(ctx, patched, client.MergeFrom(node), client.FieldOwner(FieldOwner)); err != nil {
		return err
	}
	switch Transition(node.Status.Core, next) {
	case ReasonLostSync:
		p.recorder.Eventf(node, nil, corev1.EventTypeWarning, ReasonLostSync, "Observe",
			"stellar-core is %q, no longer synced (ledger %d, %d s old)", next.State, next.Ledger, next.LedgerAgeSeconds)
	case ReasonSynced:
		p.recorder.Eventf(node, nil, corev1.EventTypeNormal, ReasonSynced, "Observe", "stellar-core is synced at ledger %d", next.Ledger)
	}
	return nil
}

func (p *Poller) fetch(ctx context.Context, ip string, port int32) (agent.Status, error) {
	body, err := p.get(ctx, ip, port, agent.StatusPath, 1<<20)
	if err != nil {
		return agent.Status{}, err
	}
	var doc agent.Status
	if err := json.Unmarshal(body, &doc); err != nil {
		return agent.Status{}, fmt.Errorf("the agent's status is not JSON: %w", err)
	}
	return doc, nil
}

// get reads one of an agent's documents, at most limit bytes.
func (p *Poller) get(ctx context.Context, ip string, port int32, path string, limit int64) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(ip, strconv.Itoa(int(port))) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("the agent did not answer: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("the agent answered HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err == nil && int64(len(body)) > limit {
		err = fmt.Errorf("the agent's %s is over %d bytes", path, limit)
	}
	return body, err
}

// firstOfNetwork reports whether the node is the first of its network this round whose quorum map is
// to be read: one validator's transitive map covers its network.
func (p *Poller) firstOfNetwork(node *stellarv1alpha1.StellarNode) bool {
	if p.cfg.Reported == nil {
		return false
	}
	key := node.Namespace + "/" + node.NetworkID()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mapsRead == nil {
		p.mapsRead = map[string]bool{}
	}
	first := !p.mapsRead[key]
	p.mapsRead[key] = true
	return first
}

// maxQuorumMap bounds an agent's /quorum: 1,000 validators with sets of 100 keys.
const maxQuorumMap = 8 << 20

// fetchQuorum reads an agent's /quorum, checked again here as check-quorum-intersection reads a map.
func (p *Poller) fetchQuorum(ctx context.Context, ip string, port int32) (quorum.Map, error) {
	body, err := p.get(ctx, ip, port, agent.QuorumPath, maxQuorumMap)
	if err != nil {
		return nil, err
	}
	return quorum.ParseJSON(body)
}

// containerPort is the port the poller reads: the validator agent's "agent" port, or the "http"
// port of Horizon's or Soroban RPC's container; 0 when the pod has none.
func containerPort(pod *corev1.Pod, nodeType stellarv1alpha1.NodeType) int32 {
	container, portName := resources.AgentContainer, resources.PortAgent
	if nodeType != stellarv1alpha1.NodeTypeValidator {
		container, portName = resources.Component(nodeType), "http"
	}
	for _, c := range pod.Spec.Containers {
		if c.Name != container {
			continue
		}
		for _, port := range c.Ports {
			if port.Name == portName {
				return port.ContainerPort
			}
		}
	}
	return 0
}

// writeHealth writes a Horizon or Soroban RPC node's status.health when it changed.
func (p *Poller) writeHealth(ctx context.Context, node *stellarv1alpha1.StellarNode, next *stellarv1alpha1.APIHealth) error {
	if equality.Semantic.DeepEqual(node.Status.Health, next) {
		return nil
	}
	patched := node.DeepCopy()
	patched.Status.Health = next
	return p.client.Status().Patch(ctx, patched, client.MergeFrom(node), client.FieldOwner(FieldOwner))
}

// Merge is status.core after a poll: the agent's answer, or the previous values with the reason there
// was none. A pure function.
func Merge(prev *stellarv1alpha1.CoreStatus, doc agent.Status, fetchErr error, now time.Time) *stellarv1alpha1.CoreStatus {
	next := &stellarv1alpha1.CoreStatus{}
	if prev != nil {
		next = prev.DeepCopy()
	}
	switch {
	case fetchErr != nil:
		next.Error = fetchErr.Error()
	case doc.Error != "":
		// The agent answered for a stellar-core that did not (booting, stopped): its state is unknown.
		next.Error, next.State = doc.Error, ""
		next.LastSeen = &metav1.Time{Time: now.Truncate(time.Second)}
	default:
		seen := metav1.Time{Time: now.Truncate(time.Second)}
		next = &stellarv1alpha1.CoreStatus{
			State: doc.State, Ledger: doc.Ledger.Num, LedgerAgeSeconds: doc.Ledger.Age, ProtocolVersion: doc.ProtocolVersion,
			BaseFee: doc.Ledger.BaseFee, BaseReserve: doc.Ledger.BaseReserve, MaxTxSetSize: doc.Ledger.MaxTxSetSize,
			Peers: doc.Peers.Authenticated, QuorumFailAt: new(doc.Quorum.FailAt), PublishBacklog: doc.PublishBacklog, LastSeen: &seen,
			Vote: coreVote(doc.Vote),
		}
	}
	return next
}

// Transition is the event a change of status.core deserves: LostSync when a synced stellar-core says it
// no longer is, Synced when it says it is again (or for the first time), "" otherwise. A silent agent is
// no transition: the pod's readiness says what it means.
func Transition(prev, next *stellarv1alpha1.CoreStatus) string {
	wasSynced := prev != nil && inConsensus(prev)
	isSynced := inConsensus(next)
	switch {
	case next.Error != "" && (prev == nil || prev.State == next.State):
		return ""
	case wasSynced && !isSynced:
		return ReasonLostSync
	case !wasSynced && isSynced:
		return ReasonSynced
	}
	return ""
}

// inConsensus is status.core's verdict by the one definition the readiness probe uses too.
func inConsensus(c *stellarv1alpha1.CoreStatus) bool {
	return health.InConsensus(c.State, c.Ledger, c.LedgerAgeSeconds, health.MaxLedgerAge) == nil
}

// coreVote is the agent's report of the validator's vote as status.core shows it.
func coreVote(r *votes.Report) *stellarv1alpha1.CoreVote {
	if r == nil {
		return nil
	}
	v := &stellarv1alpha1.CoreVote{Vote: r.Vote, Armed: r.Armed, Applied: r.Applied, Error: r.Error}
	if r.ConfirmedAt != nil {
		v.ConfirmedAt = &metav1.Time{Time: r.ConfirmedAt.Truncate(time.Second)}
	}
	return v
}
