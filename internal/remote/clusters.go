// Package remote reads the validators of other clusters, through kubeconfig files mounted into the
// operator's pod, so the validators of one network in several clusters name and dial each other.
// What another cluster says is untrusted input: each member passes the input grammar like a local
// spec, a cluster's answer is bounded in size, and a cluster that cannot be read keeps its last known
// members, marked stale, and never loses them: an outage elsewhere never shrinks a quorum here.
package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/loop"
	"github.com/stellar-k8s/stellar-operator/internal/netguard"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
)

const (
	// MaxNodes is the most StellarNodes one cluster may list; a cluster listing more is not read
	// (its last known members are kept) rather than read in part.
	MaxNodes = 1000
	// MaxResponseBytes bounds one answer of a remote API server.
	MaxResponseBytes = 16 << 20
)

// Config says where the other clusters are and how often to read them.
type Config struct {
	// Dir holds one kubeconfig file per cluster; a file's name is the cluster's name here.
	Dir string
	// Interval between reads of every cluster.
	Interval time.Duration
	// Timeout of one cluster's read.
	Timeout time.Duration
	// Dial, when set, makes every connection to a remote API server (tests: loopback only).
	Dial netguard.DialFunc
	// AllowLoopbackPeers admits members that advertise loopback addresses (a test bed on one machine).
	AllowLoopbackPeers bool
	// Store keeps the last known members across restarts and leader changes; nil: in memory only.
	Store Store
	// SaveEvery refreshes what Store holds of a cluster's last read, at most this often (default
	// 10 minutes), when its members have not changed: a changed member is saved at once.
	SaveEvery time.Duration
}

// Cluster is what is known of one other cluster.
type Cluster struct {
	Name string `json:"name"`
	// Members are its validators taking part in discovery, sorted by name: from its last answer, so
	// while it does not answer they are the last known ones.
	Members []Member `json:"members"`
	// Dropped names its validators left out and why ("namespace/name: reason").
	Dropped []string `json:"dropped,omitempty"`
	// LastRead is when it last answered; zero before its first answer.
	LastRead time.Time `json:"lastRead"`
	// Stale: its last read failed, or it never answered; Error says why.
	Stale bool   `json:"stale"`
	Error string `json:"error,omitempty"`
	// Turns are its registers of each network's turn across clusters, per namespace of its members
	// (rollout.StepClusterTurn), from its last answer.
	Turns map[string]map[string]rollout.Register `json:"turns,omitempty"`
}

const notReadYet = "not read yet"

// Clusters reads every other cluster on an interval, as a leader-only runnable.
type Clusters struct {
	cfg     Config
	log     logr.Logger
	readers map[string]client.Reader
	names   []string

	mu       sync.RWMutex
	state    map[string]Cluster
	onChange []func()
	onRead   []func()

	// loaded is closed once the saved members are restored (or there is no store).
	loaded chan struct{}
	// saved is what Store holds, as last loaded or saved.
	saved map[string]Saved
}

// Load reads every kubeconfig file of cfg.Dir. A file that names a program to run for credentials
// (exec, auth-provider) is refused: the operator runs no program another file chooses.
func Load(cfg Config, scheme *runtime.Scheme, log logr.Logger) (*Clusters, error) {
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Second
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = 10 * time.Minute
	}
	c := &Clusters{cfg: cfg, log: log.WithName("remote-clusters"), readers: map[string]client.Reader{}, state: map[string]Cluster{},
		loaded: make(chan struct{}), saved: map[string]Saved{}}
	entries, err := os.ReadDir(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("remote clusters: %w", err)
	}
	for _, e := range entries {
		// Mounted Secrets and ConfigMaps add dot-named links and directories: only plain names count.
		if strings.HasPrefix(e.Name(), ".") || e.IsDir() {
			continue
		}
		name := e.Name()
		if err := stellarv1alpha1.ValidName("remote cluster name (kubeconfig file name)", name); err != nil || len(name) > 63 {
			return nil, fmt.Errorf("remote clusters: %s: a file's name is its cluster's name, a DNS label of at most 63 characters", name)
		}
		restCfg, err := restConfig(filepath.Join(cfg.Dir, name), cfg)
		if err != nil {
			return nil, fmt.Errorf("remote cluster %s: %w", name, err)
		}
		reader, err := client.New(restCfg, client.Options{Scheme: scheme})
		if err != nil {
			return nil, fmt.Errorf("remote cluster %s: %w", name, err)
		}
		c.readers[name] = reader
		c.names = append(c.names, name)
		c.state[name] = Cluster{Name: name, Stale: true, Error: notReadYet}
	}
	slices.Sort(c.names)
	return c, nil
}

func restConfig(path string, cfg Config) (*rest.Config, error) {
	kc, err := clientcmd.LoadFromFile(path)
	if err != nil {
		return nil, err
	}
	for name, auth := range kc.AuthInfos {
		if auth.Exec != nil || auth.AuthProvider != nil {
			return nil, fmt.Errorf("user %q names a program to run for credentials: give a token or a client certificate", name)
		}
	}
	restCfg, err := clientcmd.NewDefaultClientConfig(*kc, nil).ClientConfig()
	if err != nil {
		return nil, err
	}
	restCfg.Timeout = cfg.Timeout
	restCfg.UserAgent = "stellar-operator-remote"
	if cfg.Dial != nil {
		restCfg.Dial = cfg.Dial
	}
	restCfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return boundedBodies{next: rt} }
	return restCfg, nil
}

// Names are the clusters, sorted.
func (c *Clusters) Names() []string { return c.names }

// OnChange registers f, called after a read that changed what is known (members, dropped, staleness).
func (c *Clusters) OnChange(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onChange = append(c.onChange, f)
}

// OnRead registers f, called after every read of every cluster, changed or not: a claim on a turn
// across clusters moves on with each fresh read.
func (c *Clusters) OnRead(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.onRead = append(c.onRead, f)
}

// NeedLeaderElection: only the leader reconciles and runs discovery, the two readers of this.
func (c *Clusters) NeedLeaderElection() bool { return true }

// Start restores the members saved by the operator that ran before, then reads every cluster at
// once and every interval, until ctx ends.
func (c *Clusters) Start(ctx context.Context) error {
	if err := c.restore(ctx); err != nil {
		return nil // ctx ended
	}
	c.log.Info("reading remote clusters", "clusters", c.names, "interval", c.cfg.Interval.String())
	loop.Loop{Interval: c.cfg.Interval}.Run(ctx, func(ctx context.Context, _ loop.Why) {
		c.ReadAll(ctx)
		c.save(ctx)
	})
	return nil
}

// WaitLoaded returns once the saved members are restored, so nobody acts on a cluster as empty that
// was only not read yet; or when ctx ends.
func (c *Clusters) WaitLoaded(ctx context.Context) error {
	if c == nil {
		return nil
	}
	select {
	case <-c.loaded:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// restore loads the saved members into every cluster not read yet, marked stale, and tries again
// every few seconds until it can: what is not restored would look like a cluster without members.
func (c *Clusters) restore(ctx context.Context) error {
	if c.cfg.Store == nil {
		close(c.loaded)
		return nil
	}
	for {
		saved, err := c.cfg.Store.Load(ctx)
		if err == nil {
			c.mu.Lock()
			for name, s := range saved {
				if st, ok := c.state[name]; ok && st.LastRead.IsZero() {
					st.Members, st.LastRead = restoredMembers(s.Members), s.LastRead
					c.state[name] = st
					observe(st)
					c.log.Info("remote cluster's last known members restored", "cluster", name, "members", len(st.Members),
						"lastRead", s.LastRead.UTC().Format(time.RFC3339))
				}
			}
			c.saved = saved
			c.mu.Unlock()
			close(c.loaded)
			return nil
		}
		c.log.Error(err, "last known members of the remote clusters not restored yet: discovery waits", "retryIn", "5s")
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Second):
		}
	}
}

// restoredMembers are saved members as known before a read: not known to be in consensus or settled.
func restoredMembers(saved []Member) []Member {
	out := slices.Clone(saved)
	for i := range out {
		out[i].InConsensus, out[i].Settled = false, false
	}
	return out
}

// save keeps every cluster read since the last save when its members changed, or its last save is
// older than SaveEvery.
func (c *Clusters) save(ctx context.Context) {
	if c.cfg.Store == nil {
		return
	}
	c.mu.RLock()
	// A cluster no longer configured is forgotten.
	next, due := maps.Clone(c.saved), false
	maps.DeleteFunc(next, func(name string, _ Saved) bool {
		_, configured := c.state[name]
		due = due || !configured
		return !configured
	})
	for name, st := range c.state {
		if st.Stale || st.LastRead.IsZero() {
			continue
		}
		last, ok := c.saved[name]
		if !ok || !sameMembers(last.Members, st.Members) || st.LastRead.Sub(last.LastRead) >= c.cfg.SaveEvery {
			next[name], due = Saved{Members: st.Members, LastRead: st.LastRead}, true
		}
	}
	c.mu.RUnlock()
	if !due {
		return
	}
	if err := c.cfg.Store.Save(ctx, next); err != nil {
		c.log.Error(err, "last known members of the remote clusters not saved; tried again after the next read")
		return
	}
	c.mu.Lock()
	c.saved = next
	c.mu.Unlock()
}

// sameMembers compares members by what a restart would use of them: their peers and namespaces.
func sameMembers(a, b []Member) bool {
	return slices.EqualFunc(a, b, func(x, y Member) bool { return x.Peer == y.Peer && x.Namespace == y.Namespace })
}

// ReadAll reads every cluster once.
func (c *Clusters) ReadAll(ctx context.Context) {
	changed := false
	for _, name := range c.names {
		changed = c.read(ctx, name) || changed
	}
	c.mu.RLock()
	fs := slices.Clone(c.onRead)
	if changed {
		fs = append(fs, c.onChange...)
	}
	c.mu.RUnlock()
	for _, f := range fs {
		f()
	}
}

// read lists one cluster's StellarNodes. A failure keeps its last known members and marks it stale.
func (c *Clusters) read(ctx context.Context, name string) bool {
	started := time.Now()
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	list := &stellarv1alpha1.StellarNodeList{}
	err := c.readers[name].List(ctx, list, client.Limit(MaxNodes))
	if err == nil && list.Continue != "" {
		err = fmt.Errorf("it lists more than %d StellarNodes", MaxNodes)
	}
	var members []Member
	var dropped []string
	var turns map[string]map[string]rollout.Register
	if err == nil {
		members, dropped = membersOf(name, list.Items, c.cfg.AllowLoopbackPeers)
		turns, err = c.readTurns(ctx, name, members)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	before := c.state[name]
	next := before
	if err != nil {
		readErrorsTotal.WithLabelValues(name).Inc()
		// The first error of an outage is kept: a new text every read (a new local port, say) would
		// rewrite every validator's status each time.
		if !before.Stale || before.Error == notReadYet {
			next.Stale, next.Error = true, err.Error()
			c.log.Info("remote cluster not read: its last known members are kept", "cluster", name, "error", err.Error(),
				"members", len(before.Members))
		}
	} else {
		next.Members, next.Dropped, next.Turns = members, dropped, turns
		next.LastRead, next.Stale, next.Error = started, false, ""
		if !slices.Equal(before.Dropped, next.Dropped) {
			for _, d := range next.Dropped {
				c.log.Info("remote validator left out", "cluster", name, "validator", d)
			}
		}
	}
	c.state[name] = next
	observe(next)
	return before.Stale != next.Stale || before.Error != next.Error ||
		!slices.Equal(before.Members, next.Members) || !slices.Equal(before.Dropped, next.Dropped) ||
		!reflect.DeepEqual(before.Turns, next.Turns)
}

// readTurns reads the stellar-turns ConfigMap of each namespace that has members: a cluster whose
// registers cannot be read is not read at all (stale), since its claims on turns would be unknown.
func (c *Clusters) readTurns(ctx context.Context, name string, members []Member) (map[string]map[string]rollout.Register, error) {
	turns := map[string]map[string]rollout.Register{}
	for _, m := range members {
		ns := m.Namespace
		if _, done := turns[ns]; done {
			continue
		}
		cm := &corev1.ConfigMap{}
		err := c.readers[name].Get(ctx, client.ObjectKey{Namespace: ns, Name: rollout.TurnsConfigMapName}, cm)
		if apierrors.IsNotFound(err) {
			turns[ns] = map[string]rollout.Register{}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s/%s: %w", ns, rollout.TurnsConfigMapName, err)
		}
		regs, err := rollout.ParseRegisters(cm.Data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", ns, err)
		}
		turns[ns] = regs
	}
	return turns, nil
}

// Participants are the network's participants in other clusters (each namespace there with members
// of it), with the register each last showed and when that read started.
func (c *Clusters) Participants(network string) []rollout.Participant {
	var out []rollout.Participant
	for _, cl := range c.Snapshot() {
		seen := map[string]bool{}
		for _, m := range cl.Members {
			if m.Peer.NetworkID != network || seen[m.Namespace] {
				continue
			}
			seen[m.Namespace] = true
			out = append(out, rollout.Participant{Source: cl.Name, Namespace: m.Namespace, Register: cl.Turns[m.Namespace][network],
				ReadAt: cl.LastRead})
		}
	}
	return out
}

// Snapshot is what is known of every cluster, sorted by name. The slices are shared: read only.
func (c *Clusters) Snapshot() []Cluster {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make([]Cluster, 0, len(c.names))
	for _, name := range c.names {
		out = append(out, c.state[name])
	}
	return out
}

// Peers are the members of every cluster, as the local validators are given them.
func (c *Clusters) Peers() []peers.Peer { return PeersOf(c.Snapshot()) }

// PeersOf are the members of these clusters, as the local validators are given them.
func PeersOf(clusters []Cluster) []peers.Peer {
	var out []peers.Peer
	for _, cl := range clusters {
		for _, m := range cl.Members {
			out = append(out, m.Peer)
		}
	}
	return out
}

// StatusFor is what a validator of network shows of every cluster in status.remoteClusters.
func StatusFor(clusters []Cluster, network string) []stellarv1alpha1.RemoteClusterStatus {
	var out []stellarv1alpha1.RemoteClusterStatus
	for _, cl := range clusters {
		st := stellarv1alpha1.RemoteClusterStatus{Name: cl.Name, Stale: cl.Stale}
		for _, m := range cl.Members {
			if m.Peer.NetworkID == network {
				st.Members++
			}
		}
		if cl.Stale {
			st.Message = cl.Error
			if len(st.Message) > 500 {
				st.Message = st.Message[:500]
			}
		}
		out = append(out, st)
	}
	return out
}

// RolloutMembers are a network's members in every cluster as the rollout planner counts them: a
// cluster that does not answer gives its last known members, marked stale, so they hold every turn.
func (c *Clusters) RolloutMembers(network string) []rollout.Member {
	var out []rollout.Member
	for _, cl := range c.Snapshot() {
		for _, m := range cl.Members {
			if m.Peer.NetworkID != network {
				continue
			}
			out = append(out, rollout.Member{Name: m.Peer.Name, InConsensus: m.InConsensus && !cl.Stale,
				Settled: m.Settled && !cl.Stale, Accepted: true, Remote: true, Stale: cl.Stale})
		}
	}
	return out
}

// boundedBodies fails a read past MaxResponseBytes of one answer.
type boundedBodies struct{ next http.RoundTripper }

func (b boundedBodies) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := b.next.RoundTrip(req)
	if err != nil || resp.Body == nil {
		return resp, err
	}
	resp.Body = &boundedBody{ReadCloser: resp.Body, left: MaxResponseBytes}
	return resp, nil
}

type boundedBody struct {
	io.ReadCloser
	left int64
}

var errTooLarge = errors.New("answer larger than the bound for a remote cluster")

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}

// KeyHolderBefore is the validator of another cluster, on node's network, that has node's public key
// and comes first by the rule every operator computes alike: the StellarNode created first, then the
// cluster's name, then namespace/name. Nil when there is none: node may run. cluster is this one's name.
func (c *Clusters) KeyHolderBefore(node *stellarv1alpha1.StellarNode, cluster string) *Member {
	if c == nil || node.Spec.ValidatorConfig == nil || node.Spec.ValidatorConfig.PublicKey == "" {
		return nil
	}
	self := keyClaim{created: node.CreationTimestamp.UTC().Truncate(time.Second), cluster: cluster, name: node.Namespace + "/" + node.Name}
	var first *Member
	var firstClaim keyClaim
	for _, st := range c.Snapshot() {
		for i := range st.Members {
			m := st.Members[i]
			if m.Key != node.Spec.ValidatorConfig.PublicKey || m.Peer.NetworkID != node.NetworkID() {
				continue
			}
			claim := keyClaim{created: m.Created, cluster: st.Name, name: m.Namespace + "/" + m.Name()}
			if claim.before(self) && (first == nil || claim.before(firstClaim)) {
				first, firstClaim = &m, claim
			}
		}
	}
	return first
}

// keyClaim is what decides which of two validators with one key runs.
type keyClaim struct {
	created       time.Time
	cluster, name string
}

func (a keyClaim) before(b keyClaim) bool {
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	if a.cluster != b.cluster {
		return a.cluster < b.cluster
	}
	return a.name < b.name
}
