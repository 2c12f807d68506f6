// Package peers is the shared vocabulary of peer discovery: the stellar-peers ConfigMap format,
// the peer membership of a validator and the pod-template annotations that record it.
package peers

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

const (
	// ConfigMapName is the ConfigMap, one per namespace, that lists the discovered validators.
	ConfigMapName = "stellar-peers"
	// KeyKnownPeers holds the ip:port of every Ready peer, one a line, sorted.
	KeyKnownPeers = "KNOWN_PEERS"
	// KeyPeersJSON holds every peer, Ready or not, as a JSON document (see Document).
	KeyPeersJSON = "peers.json"

	// AnnotationDiscoveredAt is the time the peer content last changed.
	AnnotationDiscoveredAt = "stellar.org/discovered-at"
	// AnnotationPeerCount is the number of Ready peers, the lines of KNOWN_PEERS.
	AnnotationPeerCount = "stellar.org/peer-count"
	// AnnotationValidatorCount is the number of validators taking part in discovery.
	AnnotationValidatorCount = "stellar.org/validator-count"

	// AnnotationRestartedAt is the pod-template annotation `kubectl rollout restart` sets.
	AnnotationRestartedAt = "kubectl.kubernetes.io/restartedAt"
	// AnnotationMembership is the pod-template annotation holding the hash of the peer membership the
	// validator's pods were started with. Peer discovery owns it; the reconciler only sets it on creation.
	AnnotationMembership = "stellar.org/peer-membership"
)

// Peer is one validator taking part in discovery. Its pod IP is set only while its pod is Ready;
// its DNS name is stable and resolves as soon as the pod exists.
type Peer struct {
	Name      string `json:"name"`
	Network   string `json:"network"`
	NetworkID string `json:"networkId"`
	PodName   string `json:"podName"`
	PodIP     string `json:"podIP,omitempty"`
	Port      int32  `json:"port"`
	DNSName   string `json:"dnsName"`
	// PublicKey, HomeDomain and Quality are set for a validator whose quorum is built from the cluster
	// and that has a publicKey: its peers of the network list it in their [[VALIDATORS]].
	PublicKey  string `json:"publicKey,omitempty"`
	HomeDomain string `json:"homeDomain,omitempty"`
	Quality    string `json:"quality,omitempty"`
	// History is the URL of the validator's own history archive, when it publishes one: its peers read
	// from it (the HISTORY of its [[VALIDATORS]] entry).
	History string `json:"history,omitempty"`
	// Cluster is the operator's name for the other cluster a member was read from; "" for a validator
	// of this cluster. A remote member has no pod IP here: it is dialled at DNSName:Port, the address
	// it advertises (its status.externalAddress).
	Cluster string `json:"cluster,omitempty"`
	// Namespace is the namespace of a member of another namespace of this cluster that shares
	// discovery with this one (its Name is "<name>.<namespace>"); "" for a validator of this namespace.
	Namespace string `json:"namespace,omitempty"`
}

// Remote reports whether the peer runs in another cluster.
func (p Peer) Remote() bool { return p.Cluster != "" }

// Own reports whether the peer is a validator of this namespace and cluster.
func (p Peer) Own() bool { return p.Cluster == "" && p.Namespace == "" }

// NeighbourName is the name of a validator of another namespace of the scope, as this namespace's
// validators know it.
func NeighbourName(name, namespace string) string { return name + "." + namespace }

// Neighbour is the peer, a validator of that other namespace of the scope, as this namespace's
// validators know it.
func Neighbour(p Peer, namespace string) Peer {
	p.Name, p.Namespace = NeighbourName(p.Name, namespace), namespace
	return p
}

// SeenFrom is the document of namespace ns as the validators of another namespace of its scope, from,
// see the same members: ns's own validators become neighbours, and from's are their own again.
func (d Document) SeenFrom(ns, from string) Document {
	out := Document{Peers: make([]Peer, 0, len(d.Peers))}
	for _, p := range d.Peers {
		switch {
		case p.Own():
			p = Neighbour(p, ns)
		case !p.Remote() && p.Namespace == from:
			p.Name, p.Namespace = strings.TrimSuffix(p.Name, "."+from), ""
		}
		out.Peers = append(out.Peers, p)
	}
	return out
}

// precedence orders the claims of a network's names and keys: this namespace's validators first,
// then those of the other namespaces of its scope, then those of other clusters. It is the one rule
// of who keeps a name or key listed twice (Document.Checked, Index).
func precedence(p Peer) int {
	switch {
	case p.Own():
		return 0
	case !p.Remote():
		return 1
	default:
		return 2
	}
}

// InQuorum reports whether the peer enters its network's generated quorums.
func (p Peer) InQuorum() bool { return p.PublicKey != "" && p.HomeDomain != "" }

// Ready reports whether the peer's pod is Ready with an IP, so its address is published in KNOWN_PEERS.
func (p Peer) Ready() bool { return p.PodIP != "" }

// Address is the peer's ip:port, as written to KNOWN_PEERS.
func (p Peer) Address() string { return fmt.Sprintf("%s:%d", p.PodIP, p.Port) }

// StableAddress is the peer's DNS name with its port, as written to PREFERRED_PEERS.
func (p Peer) StableAddress() string { return fmt.Sprintf("%s:%d", p.DNSName, p.Port) }

// Document is the content of peers.json.
type Document struct {
	Peers []Peer `json:"peers"`
}

// Sort orders peers by name then pod, so the same peers always give the same bytes.
func Sort(list []Peer) {
	slices.SortFunc(list, func(a, b Peer) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.PodName, b.PodName)
	})
}

// ConfigMapData renders the ConfigMap data for a list of peers. The result depends only on the set of peers.
func ConfigMapData(list []Peer) (map[string]string, error) {
	sorted := slices.Clone(list)
	Sort(sorted)
	if sorted == nil {
		sorted = []Peer{}
	}
	// One peer a line, nothing else: readable with kubectl, and at a thousand validators a third
	// smaller than indented JSON, which the API server, etcd and every watcher handle at each change.
	var doc bytes.Buffer
	doc.WriteString(`{"peers":[`)
	for i, p := range sorted {
		line, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			doc.WriteByte(',')
		}
		doc.WriteByte('\n')
		doc.Write(line)
	}
	if len(sorted) > 0 {
		doc.WriteByte('\n')
	}
	doc.WriteString("]}")
	addrs := make([]string, 0, len(sorted))
	for _, p := range sorted {
		if p.Ready() {
			addrs = append(addrs, p.Address())
		}
	}
	slices.Sort(addrs)
	known := strings.Join(addrs, "\n")
	if known != "" {
		known += "\n"
	}
	return map[string]string{KeyKnownPeers: known, KeyPeersJSON: doc.String() + "\n"}, nil
}

// Validate checks every field of the peer that reaches a stellar-core configuration or an admin
// command against the input grammar: stellar-peers can be written by anyone who may update
// ConfigMaps in the namespace, so what it says is checked again where it is read.
func (p Peer) Validate() error {
	checks := []error{
		stellarv1alpha1.ValidName("name", p.Name),
		stellarv1alpha1.ValidHost("dnsName", p.DNSName),
	}
	if p.Port < 1 || p.Port > 65535 {
		checks = append(checks, fmt.Errorf("port %d is not a port", p.Port))
	}
	// The optional fields, each checked when set.
	for _, f := range []struct {
		field, value string
		valid        func(field, value string) error
	}{
		{"podIP", p.PodIP, stellarv1alpha1.ValidIPv4},
		{"publicKey", p.PublicKey, stellarv1alpha1.ValidPublicKey},
		{"homeDomain", p.HomeDomain, stellarv1alpha1.ValidHost},
		{"quality", p.Quality, stellarv1alpha1.ValidQuality},
		{"history", p.History, stellarv1alpha1.ValidURL},
		{"cluster", p.Cluster, stellarv1alpha1.ValidName},
		{"namespace", p.Namespace, stellarv1alpha1.ValidName},
	} {
		if f.value != "" {
			checks = append(checks, f.valid(f.field, f.value))
		}
	}
	// Where a validator would be sent to dial: never a metadata service or link-local (loopback is
	// judged where the test bed's allowance is known: stellarcore.Check, the other clusters' reader).
	checks = append(checks, stellarv1alpha1.ValidDialHost("dnsName", p.DNSName, true))
	if p.PodIP != "" {
		checks = append(checks, stellarv1alpha1.ValidDialHost("podIP", p.PodIP, true))
	}
	if p.History != "" {
		checks = append(checks, stellarv1alpha1.ValidDialURL("history", p.History, true))
	}
	if p.Cluster != "" {
		if p.PodIP != "" {
			checks = append(checks, fmt.Errorf("a member of cluster %q has no pod IP here", p.Cluster))
		}
	}
	if p.Namespace != "" {
		if !strings.HasSuffix(p.Name, "."+p.Namespace) {
			checks = append(checks, fmt.Errorf("a member of namespace %q is named <name>.%s", p.Namespace, p.Namespace))
		}
	}
	return errors.Join(checks...)
}

// Checked is the document without the peers that fail Validate, and why each was dropped.
// A network's name or publicKey appearing twice keeps its first appearance in precedence order: a
// remote cluster or another namespace cannot make a validator list itself, or one key twice, in
// [[VALIDATORS]].
func (d Document) Checked() (Document, []error) {
	out := Document{Peers: make([]Peer, 0, len(d.Peers))}
	var dropped []error
	taken := Claims{}
	for _, p := range byPrecedence(d.Peers) {
		if err := p.Validate(); err != nil {
			dropped = append(dropped, fmt.Errorf("peer %q dropped: %w", p.Name, err))
			continue
		}
		if !taken.Claim(p.NetworkID, p.Name, p.PublicKey) {
			dropped = append(dropped, fmt.Errorf("peer %q dropped: its name or publicKey is listed already", p.Name))
			continue
		}
		out.Peers = append(out.Peers, p)
	}
	Sort(out.Peers)
	return out, dropped
}

// byPrecedence is a sorted copy of the peers, in precedence order, then by name.
func byPrecedence(list []Peer) []Peer {
	sorted := slices.Clone(list)
	Sort(sorted)
	slices.SortStableFunc(sorted, func(a, b Peer) int { return precedence(a) - precedence(b) })
	return sorted
}

// Claims are the names and public keys taken in each network: the one rule that a network lists a
// validator once, whoever came first (this cluster's validators are offered first).
type Claims map[[3]string]bool

// Claim takes name and key (when not "") in network, unless either is taken already; it reports
// whether it took them.
func (c Claims) Claim(network, name, key string) bool {
	if c[claimOf(network, "name", name)] || (key != "" && c[claimOf(network, "key", key)]) {
		return false
	}
	c.Take(network, name, key)
	return true
}

// Take takes name and key (when not "") in network, taken before or not.
func (c Claims) Take(network, name, key string) {
	c[claimOf(network, "name", name)] = true
	if key != "" {
		c[claimOf(network, "key", key)] = true
	}
}

func claimOf(network, kind, value string) [3]string { return [3]string{network, kind, value} }

// ParseDocument reads peers.json.
func ParseDocument(data []byte) (Document, error) {
	var doc Document
	if err := json.Unmarshal(data, &doc); err != nil {
		return Document{}, fmt.Errorf("parse %s: %w", KeyPeersJSON, err)
	}
	return doc, nil
}

// Member is a validator as its network's peers see it: a name and a peer port, and what it brings to
// their quorum (key, home domain, quality). Pod IPs are not part of membership, so a recreated pod
// never changes anyone's membership.
type Member struct {
	Name string
	Port int32
	// Quorum is "key/homeDomain/quality" for a validator in its network's generated quorums, else "".
	Quorum string
	// Archive says where the validator publishes its history archive ("local:<port>" or the
	// object-storage URL), else "": its peers' configurations read from it.
	Archive string
	// Address is where a member of another cluster is dialled (its advertised host:port), else "":
	// a local member's address follows from its name.
	Address string
}

func (m Member) String() string {
	s := m.Name + ":" + strconv.Itoa(int(m.Port))
	if m.Quorum != "" {
		s += "/" + m.Quorum
	}
	if m.Archive != "" {
		s += " archive " + m.Archive
	}
	if m.Address != "" {
		s += " at " + m.Address
	}
	return s
}

// MembershipHash identifies a set of members, whatever their order. It is a sum of per-member
// hashes, so the membership of every validator of a network (the network minus itself) is found in
// one pass over the network instead of one pass per validator.
func MembershipHash(members []Member) string {
	var sum SetHash
	for _, m := range members {
		sum = sum.Add(m)
	}
	return sum.String()
}

// SetHash is an order-independent hash of a set of members.
type SetHash [2]uint64

// Add returns the hash of the set with m added.
func (h SetHash) Add(m Member) SetHash { return h.plus(HashOf(m)) }

// Remove returns the hash of the set with m removed.
func (h SetHash) Remove(m Member) SetHash { return h.minus(HashOf(m)) }

// HashOf is the hash of the set {m}.
func HashOf(m Member) SetHash { return memberHash(m) }

func (h SetHash) plus(x SetHash) SetHash  { return SetHash{h[0] + x[0], h[1] + x[1]} }
func (h SetHash) minus(x SetHash) SetHash { return SetHash{h[0] - x[0], h[1] - x[1]} }

func (h SetHash) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], h[0])
	binary.BigEndian.PutUint64(b[8:], h[1])
	return hex.EncodeToString(b[:])
}

func memberHash(m Member) SetHash {
	sum := sha256.Sum256([]byte(m.String()))
	return SetHash{binary.BigEndian.Uint64(sum[:8]), binary.BigEndian.Uint64(sum[8:16])}
}
