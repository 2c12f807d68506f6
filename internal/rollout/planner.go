package rollout

import (
	"cmp"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Planner hands out the turns of every network to its two clients, the reconciler and peer
// discovery, so that together they never replace two validators of a network at once. Its only state
// is the turns it granted whose StatefulSet write the cache does not show yet: everything else comes
// from the objects, so a restarted operator decides exactly as the killed one would have.
type Planner struct {
	mu sync.Mutex
	// written holds, per namespace/validator (whichever namespace of its scope asks), the StatefulSet a granted turn wrote to and the
	// generation it wrote (reserved while the write is under way), until the cache shows that
	// generation of that StatefulSet. Another StatefulSet of the same name (the validator deleted and
	// created again) ends it: that write is gone with its object.
	written map[string]write
	// networks is the latest view of each namespace/network and its decisions, for /rollouts.
	networks map[string]*NetworkQueue
	// remote lists a network's members in other clusters; nil when there are none.
	remote func(network string) []Member
	// clusterTurns says, per namespace/network with members in other clusters, whether this cluster
	// holds the network's turn across clusters (StepClusterTurn), and why not.
	clusterTurns map[string]clusterTurn
}

type clusterTurn struct {
	held bool
	why  string
}

// SetClusterTurn records whether the namespace's part of a network holds the network's turn across
// clusters. A network with members in other clusters grants a turn to a settled network only then.
func (p *Planner) SetClusterTurn(namespace, network string, held bool, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.clusterTurns == nil {
		p.clusterTurns = map[string]clusterTurn{}
	}
	p.clusterTurns[namespace+"/"+network] = clusterTurn{held: held, why: why}
}

// Busy reports whether one of the members (of one network of one namespace, here) is being replaced
// or not back in consensus: a turn granted here is not over.
func (p *Planner) Busy(namespace string, members []Member) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	inFlight := p.inFlightLocked(namespace, members)
	for _, m := range members {
		if inFlight[m.Name] || !m.Settled {
			return true
		}
	}
	return false
}

// acrossClustersLocked withholds a turn the network's members granted when the network has members in
// other clusters and this cluster does not hold its turn across them.
func (p *Planner) acrossClustersLocked(namespace, network string, members []Member, d Decision) Decision {
	if !d.Granted || d.Reason != GrantedSettled || !slices.ContainsFunc(members, func(m Member) bool { return m.Remote }) {
		return d
	}
	ct, ok := p.clusterTurns[namespace+"/"+network]
	if ok && ct.held {
		return d
	}
	why := "the network's turn across clusters is not this cluster's yet"
	if ok && ct.why != "" {
		why += ": " + ct.why
	}
	return Decision{Reason: WaitingForClusters, Detail: why}
}

// WithRemote makes every decision count, beside a network's local members, its members in other
// clusters as remote lists them (nil: none): a turn here waits for them to be settled too.
func (p *Planner) WithRemote(remote func(network string) []Member) *Planner {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.remote = remote
	return p
}

// withRemoteLocked adds the network's remote members, keeping the order by name.
func (p *Planner) withRemoteLocked(network string, members []Member) []Member {
	if p.remote == nil {
		return members
	}
	remote := p.remote(network)
	if len(remote) == 0 {
		return members
	}
	all := append(slices.Clone(members), remote...)
	slices.SortFunc(all, func(a, b Member) int { return strings.Compare(a.Name, b.Name) })
	return all
}

// NewPlanner returns a planner with no turn in flight.
func NewPlanner() *Planner {
	return &Planner{written: map[string]write{}, networks: map[string]*NetworkQueue{}}
}

// write is a granted turn's write to one StatefulSet.
type write struct {
	uid        types.UID
	generation int64
}

const reserved = math.MaxInt64

// Turn is a granted turn: Done records the write it made, Cancel gives it back when nothing was
// written. Exactly one of them must be called.
type Turn struct {
	p             *Planner
	namespace, nw string
	name          string
	// held is false for a validator that is no member: its turn holds nothing of the network.
	held bool
}

// Request asks for a turn for one validator of a network. members are the network's members as the
// cache shows them now. When the decision grants the turn, the returned Turn holds it.
func (p *Planner) Request(namespace, network string, members []Member, name string) (Decision, *Turn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	members = p.withRemoteLocked(network, members)
	inFlight := p.inFlightLocked(namespace, members)
	d := p.acrossClustersLocked(namespace, network, members, Decide(members, inFlight, name))
	q := p.queueLocked(namespace, network, members, inFlight)
	q.Decisions[name] = d
	if !d.Granted {
		return d, nil
	}
	turnsTotal.WithLabelValues(namespace, d.Reason).Inc()
	self, member := find(members, name)
	if member {
		p.written[namespace+"/"+name] = write{uid: self.UID, generation: reserved}
	}
	return d, &Turn{p: p, namespace: namespace, nw: network, name: name, held: member}
}

// Observe records a network's members as the cache shows them, for /rollouts, without asking anything.
func (p *Planner) Observe(namespace, network string, members []Member) {
	p.mu.Lock()
	defer p.mu.Unlock()
	members = p.withRemoteLocked(network, members)
	p.queueLocked(namespace, network, members, p.inFlightLocked(namespace, members))
}

// Done records that the turn wrote generation to the validator's StatefulSet.
func (t *Turn) Done(generation int64) {
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	if w, ok := t.p.written[t.namespace+"/"+t.name]; ok && t.held {
		t.p.written[t.namespace+"/"+t.name] = write{uid: w.uid, generation: generation}
	}
}

// Cancel gives the turn back: nothing was written.
func (t *Turn) Cancel() {
	t.p.mu.Lock()
	defer t.p.mu.Unlock()
	delete(t.p.written, t.namespace+"/"+t.name)
}

// inFlightLocked forgets the writes the cache now shows and names the members still in flight.
func (p *Planner) inFlightLocked(namespace string, members []Member) map[string]bool {
	inFlight := map[string]bool{}
	for _, m := range members {
		k := cmp.Or(m.Ref, namespace+"/"+m.Name)
		w, ok := p.written[k]
		if !ok {
			continue
		}
		if w.uid != m.UID || (w.generation != reserved && m.Generation >= w.generation) {
			delete(p.written, k)
			continue
		}
		inFlight[m.Name] = true
	}
	return inFlight
}

// Retain forgets the namespace's networks but these, for /rollouts: a network whose validators are
// all gone is no rollout any more.
func (p *Planner) Retain(namespace string, networks []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, q := range p.networks {
		if q.Namespace == namespace && !slices.Contains(networks, q.Network) {
			delete(p.networks, k)
		}
	}
}

// NetworkQueue is one network's rollout as /rollouts shows it.
type NetworkQueue struct {
	Namespace string `json:"namespace"`
	Network   string `json:"network"`
	// Replacing are the members being replaced or not back in consensus.
	Replacing []string `json:"replacing"`
	// Queue are the members with a change waiting, in the order their turns come.
	Queue []string `json:"queue"`
	// Decisions are the latest answers given to each member that asked.
	Decisions map[string]Decision `json:"decisions,omitempty"`
	Updated   time.Time           `json:"updated"`
	// queuedHere are the members of Queue in the queue's own namespace, in order.
	queuedHere []string
}

func (p *Planner) queueLocked(namespace, network string, members []Member, inFlight map[string]bool) *NetworkQueue {
	k := namespace + "/" + network
	q := p.networks[k]
	if q == nil {
		q = &NetworkQueue{Namespace: namespace, Network: network, Decisions: map[string]Decision{}}
		p.networks[k] = q
	}
	q.Replacing, q.Queue, q.queuedHere, q.Updated = []string{}, []string{}, q.queuedHere[:0], time.Now()
	for _, m := range members {
		if inFlight[m.Name] || !m.Settled {
			q.Replacing = append(q.Replacing, m.Name)
		}
		if m.Pending {
			q.Queue = append(q.Queue, m.Name)
			if m.Ref == "" && !m.Remote {
				q.queuedHere = append(q.queuedHere, m.Name)
			}
		}
	}
	for name := range q.Decisions {
		if _, ok := find(members, name); !ok {
			delete(q.Decisions, name)
		}
	}
	return q
}

// NextInLine names, for each network, the first validator whose change still waits for its turn: the
// one a validator coming back in consensus may let through. Its clients wake it on their members'
// changes rather than let it wait for its next recheck.
func (p *Planner) NextInLine() []types.NamespacedName {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []types.NamespacedName
	for _, q := range p.networks {
		for _, name := range q.queuedHere {
			if !q.Decisions[name].Granted {
				out = append(out, types.NamespacedName{Namespace: q.Namespace, Name: name})
				break
			}
		}
	}
	return out
}

// Snapshot lists every network's rollout, sorted by namespace and network.
func (p *Planner) Snapshot() []NetworkQueue {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]NetworkQueue, 0, len(p.networks))
	for _, q := range p.networks {
		c := *q
		c.Replacing, c.Queue = slices.Clone(q.Replacing), slices.Clone(q.Queue)
		c.Decisions, c.queuedHere = maps.Clone(q.Decisions), nil
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b NetworkQueue) int {
		return strings.Compare(a.Namespace+"/"+a.Network, b.Namespace+"/"+b.Network)
	})
	return out
}

// ServeHTTP serves /rollouts: every network's queue as JSON.
func (p *Planner) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"networks": p.Snapshot()})
}
