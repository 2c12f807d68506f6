package v1alpha1

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Defaults of fields that the API server fills in; the helpers below apply them to objects
// built in memory too, so the rest of the code never sees an unset value.
const (
	DefaultPeerPort int32 = 11625
	DefaultHTTPPort int32 = 11626
)

// Passphrases of the public networks.
var networkPassphrases = map[Network]string{
	NetworkMainnet:   "Public Global Stellar Network ; September 2015",
	NetworkTestnet:   "Test SDF Network ; September 2015",
	NetworkFuturenet: "Test SDF Future Network ; October 2022",
}

// SDF history archives of the public networks.
var sdfArchives = map[Network][]string{
	NetworkMainnet: {
		"https://history.stellar.org/prd/core-live/core_live_001",
		"https://history.stellar.org/prd/core-live/core_live_002",
		"https://history.stellar.org/prd/core-live/core_live_003",
	},
	NetworkTestnet: {
		"https://history.stellar.org/prd/core-testnet/core_testnet_001",
		"https://history.stellar.org/prd/core-testnet/core_testnet_002",
		"https://history.stellar.org/prd/core-testnet/core_testnet_003",
	},
	NetworkFuturenet: {
		"https://history-futurenet.stellar.org",
	},
}

// NetworkPassphrase is the passphrase of the node's network.
func (n *StellarNode) NetworkPassphrase() string {
	if n.Spec.Network == NetworkCustom {
		return n.Spec.CustomNetworkPassphrase
	}
	return networkPassphrases[n.Spec.Network]
}

// networkIDs remembers the ID of each passphrase seen: a discovery pass asks for thousands.
var networkIDs sync.Map

// NetworkID identifies the node's network by its passphrase, so two Custom networks never mix.
func (n *StellarNode) NetworkID() string {
	passphrase := n.NetworkPassphrase()
	if id, ok := networkIDs.Load(passphrase); ok {
		return id.(string)
	}
	sum := sha256.Sum256([]byte(passphrase))
	id := hex.EncodeToString(sum[:8])
	networkIDs.Store(passphrase, id)
	return id
}

// DefaultHistoryArchives are the SDF archives of a public network, none for Custom.
func DefaultHistoryArchives(network Network) []string {
	return append([]string(nil), sdfArchives[network]...)
}

// IsValidator reports whether the node runs stellar-core as a validator.
func (n *StellarNode) IsValidator() bool {
	return n.Spec.NodeType == NodeTypeValidator && n.Spec.ValidatorConfig != nil
}

// DesiredReplicas is the replica count, zero when suspended.
func (n *StellarNode) DesiredReplicas() int32 {
	if n.Spec.Suspended {
		return 0
	}
	if n.Spec.Replicas == nil {
		return 1
	}
	return *n.Spec.Replicas
}

// PeerPort is the validator's PEER_PORT.
func (n *StellarNode) PeerPort() int32 {
	if n.Spec.ValidatorConfig == nil || n.Spec.ValidatorConfig.PeerPort == 0 {
		return DefaultPeerPort
	}
	return n.Spec.ValidatorConfig.PeerPort
}

// HTTPPort is the validator's HTTP_PORT.
func (n *StellarNode) HTTPPort() int32 {
	if n.Spec.ValidatorConfig == nil || n.Spec.ValidatorConfig.HTTPPort == 0 {
		return DefaultHTTPPort
	}
	return n.Spec.ValidatorConfig.HTTPPort
}

// PeerDiscoveryEnabled reports whether the validator takes part in peer discovery.
func (n *StellarNode) PeerDiscoveryEnabled() bool {
	if !n.IsValidator() {
		return false
	}
	e := n.Spec.ValidatorConfig.PeerDiscovery.Enabled
	return e == nil || *e
}

// RestartsForPeers reports whether the validator is restarted when its peer membership changes.
func (n *StellarNode) RestartsForPeers() bool {
	return n.PeerDiscoveryEnabled() && n.Spec.ValidatorConfig.PeerDiscovery.RestartPolicy != PeerRestartNone
}

// SpecRefused reports whether the reconciler refused the node's current spec (a configuration
// stellar-core would refuse, a key or archive taken, a policy, a name conflict): Degraded and not
// Progressing for one reason, at this generation. Nothing of such a spec is applied, and a running
// validator is not restarted either until it is fixed.
func (n *StellarNode) SpecRefused() bool {
	degraded := meta.FindStatusCondition(n.Status.Conditions, ConditionDegraded)
	progressing := meta.FindStatusCondition(n.Status.Conditions, ConditionProgressing)
	return degraded != nil && progressing != nil && degraded.Status == metav1.ConditionTrue &&
		progressing.Status == metav1.ConditionFalse && degraded.Reason == progressing.Reason &&
		degraded.ObservedGeneration == n.Generation && progressing.ObservedGeneration == n.Generation
}

// IsPeerDiscoveryMember reports whether the validator is one of its network's discovered peers:
// a validator, not suspended, with discovery enabled and at least one replica, and not held from
// ever starting.
func (n *StellarNode) IsPeerDiscoveryMember() bool {
	return n.PeerDiscoveryEnabled() && n.DeletionTimestamp == nil && n.DesiredReplicas() > 0 && !n.HeldBeforeStart()
}

// HeldBeforeStart reports whether the operator holds the validator from starting at all, and no pod
// of it is ready: its names are taken by objects it did not make (NameConflict), or its key is another
// validator's (DuplicateKey, DuplicateKeyElsewhere). Such a validator is in no quorum and claims no key:
// a member that cannot run only makes every quorum of its network harder to reach.
func (n *StellarNode) HeldBeforeStart() bool {
	d := meta.FindStatusCondition(n.Status.Conditions, ConditionDegraded)
	if d == nil || d.Status != metav1.ConditionTrue || d.ObservedGeneration != n.Generation || n.Status.ReadyReplicas > 0 {
		return false
	}
	switch d.Reason {
	case ReasonNameConflict, ReasonDuplicateKey, ReasonDuplicateKeyElsewhere:
		return true
	}
	return false
}

// HistoryArchives are the validator's archives: the user's, or the network's SDF archives.
func (n *StellarNode) HistoryArchives(userURLs []string) []string {
	if len(userURLs) > 0 {
		return append([]string(nil), userURLs...)
	}
	return DefaultHistoryArchives(n.Spec.Network)
}

// QuorumQuality is the quality of the validator's own organisation in structured quorum mode.
func (n *StellarNode) QuorumQuality() Quality {
	if vc := n.Spec.ValidatorConfig; vc != nil && vc.Quorum != nil && vc.Quorum.Quality != "" {
		return vc.Quorum.Quality
	}
	return QualityMedium
}

// QuorumFromCluster reports whether the validator's quorum is built from its network's validators.
func (n *StellarNode) QuorumFromCluster() bool {
	return n.Spec.ValidatorConfig != nil && n.Spec.ValidatorConfig.Quorum != nil
}

// SpecAccepted reports whether the reconciler has checked the node's current spec and found a
// configuration stellar-core accepts. Peer discovery restarts no member of a network while one of its
// validators' specs is unchecked or refused: the others would start with what that one brings.
func (n *StellarNode) SpecAccepted() bool {
	if n.Status.ObservedGeneration != n.Generation {
		return false
	}
	c := meta.FindStatusCondition(n.Status.Conditions, ConditionDegraded)
	switch {
	case c == nil:
		return false
	case c.Status != metav1.ConditionTrue:
		return true
	}
	// Problems of pods, of the API server or of a rollout come after the configuration was checked.
	switch c.Reason {
	case ReasonPodCannotStart, ReasonRenderConfigFailed, ReasonReconcileError, ReasonRolloutBlocked:
		return true
	}
	return false
}

// RollsOutImmediately reports whether the user let this validator's pod-replacing changes through
// without waiting for its network's turn.
func (n *StellarNode) RollsOutImmediately() bool {
	return n.Spec.ValidatorConfig != nil && n.Spec.ValidatorConfig.RolloutPolicy == RolloutImmediate
}

// IsRolloutMember reports whether the validator counts in its network's rollout: it should be
// running (not suspended, not scaled to zero, not being deleted), and is not held from running with
// no pod ready (HeldBeforeStart: it is in no quorum, and a duplicate's key runs in the other). Nobody
// waits for those: waiting would hold every change of the network, the one that takes such a validator
// out of its peers' quorums too.
func (n *StellarNode) IsRolloutMember() bool {
	return n.IsValidator() && n.DeletionTimestamp == nil && n.DesiredReplicas() > 0 && !n.HeldBeforeStart()
}

// DefaultHistoryPort is where a Full validator's archive server listens.
const DefaultHistoryPort = 11627

// PublishesHistory reports whether the validator publishes a history archive (a Full validator):
// as history.publish says, else on Custom networks only.
func (n *StellarNode) PublishesHistory() bool {
	vc := n.Spec.ValidatorConfig
	if vc == nil {
		return false
	}
	if vc.History != nil && vc.History.Publish != nil {
		return *vc.History.Publish
	}
	return n.Spec.Network == NetworkCustom
}

// PublishesLocally reports whether the validator's archive lives on its volume, served by its sidecar.
func (n *StellarNode) PublishesLocally() bool {
	return n.PublishesHistory() && (n.Spec.ValidatorConfig.History == nil || n.Spec.ValidatorConfig.History.ObjectStorage == nil)
}

// HistoryPort is the port of the validator's archive server.
func (n *StellarNode) HistoryPort() int32 {
	if h := n.Spec.ValidatorConfig.History; h != nil && h.Port != 0 {
		return h.Port
	}
	return DefaultHistoryPort
}

// ObjectStorage is the validator's object-storage archive, or nil.
func (n *StellarNode) ObjectStorage() *ObjectStorageArchive {
	if !n.PublishesHistory() || n.Spec.ValidatorConfig.History == nil {
		return nil
	}
	return n.Spec.ValidatorConfig.History.ObjectStorage
}
