package rollout

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// A network whose validators run in several clusters has one planner per cluster. Each paces its own,
// but two could grant a turn at the same moment, each before seeing the other's validator go down. The
// cluster turn makes those turns exclusive: Lamport's bakery, with one register per participant (a
// namespace of one cluster) that the other clusters read. Reads come through the other clusters' API
// servers on an interval, so a read counts only if it started after this participant's latest write.
// A participant whose cluster does not answer is never read fresh: nobody here takes the turn then.

// Register is one participant's published claim on its network's cluster turn.
type Register struct {
	// Cluster is the participant's own cluster name (--cluster-name), the same for every reader.
	Cluster string `json:"cluster"`
	// Choosing: it is picking its number.
	Choosing bool `json:"choosing,omitempty"`
	// Number is its place in line; 0: it wants no turn.
	Number int64 `json:"number,omitempty"`
}

// Participant is another cluster's register for the network, as last read.
type Participant struct {
	// Source is the name this operator gives the participant's cluster (its kubeconfig file), for messages.
	Source    string
	Namespace string
	Register  Register
	// ReadAt is when the read it came from started; a read older than this participant's own latest
	// write says nothing of what the other saw of it.
	ReadAt time.Time
}

// Cluster turn phases.
const (
	TurnIdle     = "Idle"
	TurnChoosing = "Choosing"
	TurnWaiting  = "Waiting"
	TurnHeld     = "Held"
)

// ClusterTurn is one participant's state: its phase, its number, and when it last wrote its register.
type ClusterTurn struct {
	Phase   string
	Number  int64
	WroteAt time.Time
}

// ResumeClusterTurn is the state of a participant whose register says reg, after the operator
// started again at now: its place in line is kept, and every read is judged from now.
func ResumeClusterTurn(reg Register, now time.Time) ClusterTurn {
	switch {
	case reg.Choosing:
		return ClusterTurn{Phase: TurnChoosing, WroteAt: now}
	case reg.Number > 0:
		return ClusterTurn{Phase: TurnWaiting, Number: reg.Number, WroteAt: now}
	}
	return ClusterTurn{Phase: TurnIdle}
}

// Register is what the state publishes.
func (t ClusterTurn) Register(cluster string) Register {
	return Register{Cluster: cluster, Choosing: t.Phase == TurnChoosing, Number: t.Number}
}

// StepClusterTurn moves a participant's state on, given whether it has a change waiting (wants) or a
// turn not finished (busy), and the other participants of its network. It returns the next state
// (whose register the caller publishes, then sets WroteAt), whether the participant holds the
// network's turn, and, when not, why. It is pure.
func StepClusterTurn(t ClusterTurn, self Participant, wants, busy bool, others []Participant) (next ClusterTurn, held bool, why string) {
	if len(others) == 0 {
		return ClusterTurn{Phase: TurnIdle}, true, ""
	}
	if !wants && !busy {
		return ClusterTurn{Phase: TurnIdle, WroteAt: t.WroteAt}, false, "no change waiting"
	}
	stale := func() string {
		for _, o := range others {
			if !o.ReadAt.After(t.WroteAt) {
				return fmt.Sprintf("waiting for a read of cluster %s (namespace %s) after this cluster's latest claim",
					cmp.Or(o.Source, o.Register.Cluster), o.Namespace)
			}
		}
		return ""
	}
	switch t.Phase {
	case TurnIdle:
		if !wants {
			return t, false, "no change waiting"
		}
		return ClusterTurn{Phase: TurnChoosing}, false, "claiming the network's turn across clusters"
	case TurnChoosing:
		if s := stale(); s != "" {
			return t, false, s
		}
		highest := int64(0)
		for _, o := range others {
			highest = max(highest, o.Register.Number)
		}
		return ClusterTurn{Phase: TurnWaiting, Number: highest + 1}, false, "took a place in line across clusters"
	case TurnWaiting:
		if s := stale(); s != "" {
			return t, false, s
		}
		for _, o := range others {
			if o.Register.Cluster == self.Register.Cluster && o.Namespace == self.Namespace {
				return t, false, fmt.Sprintf("another cluster calls itself %s too: give each cluster its own --cluster-name", o.Register.Cluster)
			}
			if o.Register.Choosing {
				return t, false, fmt.Sprintf("cluster %s (namespace %s) is choosing its place in line", o.Register.Cluster, o.Namespace)
			}
			if o.Register.Number != 0 && before(o, Participant{Namespace: self.Namespace, Register: Register{Cluster: self.Register.Cluster, Number: t.Number}}) {
				return t, false, fmt.Sprintf("cluster %s (namespace %s) has the network's turn, or is before this one", o.Register.Cluster, o.Namespace)
			}
		}
		return ClusterTurn{Phase: TurnHeld, Number: t.Number, WroteAt: t.WroteAt}, true, ""
	case TurnHeld:
		return t, true, ""
	}
	return ClusterTurn{Phase: TurnIdle, WroteAt: t.WroteAt}, false, "unknown phase"
}

// before orders participants by number, then cluster name, then namespace.
func before(a, b Participant) bool {
	if a.Register.Number != b.Register.Number {
		return a.Register.Number < b.Register.Number
	}
	if a.Register.Cluster != b.Register.Cluster {
		return a.Register.Cluster < b.Register.Cluster
	}
	return a.Namespace < b.Namespace
}

// TurnsConfigMapName is the ConfigMap, one per namespace, holding the namespace's registers: one key
// per network ID with validators in other clusters, its value the Register as JSON.
const TurnsConfigMapName = "stellar-turns"

// maxRegisters bounds what is read of another cluster's stellar-turns.
const maxRegisters = 64

// ParseRegisters reads a stellar-turns ConfigMap's data, which may come from another cluster: every
// register must be small, name a cluster by a DNS label and hold a number not below zero.
func ParseRegisters(data map[string]string) (map[string]Register, error) {
	if len(data) > maxRegisters {
		return nil, fmt.Errorf("%s holds %d registers, more than %d", TurnsConfigMapName, len(data), maxRegisters)
	}
	out := make(map[string]Register, len(data))
	for network, text := range data {
		var r Register
		if len(text) > 512 {
			return nil, fmt.Errorf("%s: register %.64q is too long", TurnsConfigMapName, network)
		}
		dec := json.NewDecoder(strings.NewReader(text))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("%s: register %.64q: %w", TurnsConfigMapName, network, err)
		}
		if err := stellarv1alpha1.ValidName("cluster", r.Cluster); err != nil || len(r.Cluster) > 63 || r.Number < 0 {
			return nil, fmt.Errorf("%s: register %.64q: a cluster name (DNS label) and a number from 0 are required", TurnsConfigMapName, network)
		}
		out[network] = r
	}
	return out, nil
}

// Encode is the register as stellar-turns holds it.
func (r Register) Encode() string {
	b, _ := json.Marshal(r)
	return string(b)
}
