package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// NodeType is the kind of Stellar software a StellarNode runs.
// +kubebuilder:validation:Enum=Validator;Horizon;SorobanRpc
type NodeType string

const (
	NodeTypeValidator  NodeType = "Validator"
	NodeTypeHorizon    NodeType = "Horizon"
	NodeTypeSorobanRPC NodeType = "SorobanRpc"
)

// Network is the Stellar network a node joins.
// +kubebuilder:validation:Enum=Mainnet;Testnet;Futurenet;Custom
type Network string

const (
	NetworkMainnet   Network = "Mainnet"
	NetworkTestnet   Network = "Testnet"
	NetworkFuturenet Network = "Futurenet"
	NetworkCustom    Network = "Custom"
)

// RetentionPolicy says what happens to a node's volume when the StellarNode is deleted.
// +kubebuilder:validation:Enum=Delete;Retain
type RetentionPolicy string

const (
	RetentionDelete RetentionPolicy = "Delete"
	RetentionRetain RetentionPolicy = "Retain"
)

// PeerRestartPolicy says whether a validator is restarted when its peers change.
// +kubebuilder:validation:Enum=RollingRestart;None
type PeerRestartPolicy string

const (
	PeerRestartRolling PeerRestartPolicy = "RollingRestart"
	PeerRestartNone    PeerRestartPolicy = "None"
)

// StellarNodeSpec is the desired state of a Stellar node.
// +kubebuilder:validation:XValidation:rule="self.network == 'Custom' ? (has(self.customNetworkPassphrase) && size(self.customNetworkPassphrase) > 0) : !has(self.customNetworkPassphrase)",message="customNetworkPassphrase is required when network is Custom and forbidden otherwise",fieldPath=".customNetworkPassphrase"
// +kubebuilder:validation:XValidation:rule="self.nodeType == 'Validator' ? has(self.validatorConfig) : !has(self.validatorConfig)",message="validatorConfig is required when nodeType is Validator and forbidden otherwise",fieldPath=".validatorConfig"
// +kubebuilder:validation:XValidation:rule="self.nodeType == 'Horizon' ? has(self.horizonConfig) : !has(self.horizonConfig)",message="horizonConfig is required when nodeType is Horizon and forbidden otherwise",fieldPath=".horizonConfig"
// +kubebuilder:validation:XValidation:rule="self.nodeType == 'SorobanRpc' ? has(self.sorobanConfig) : !has(self.sorobanConfig)",message="sorobanConfig is required when nodeType is SorobanRpc and forbidden otherwise",fieldPath=".sorobanConfig"
// +kubebuilder:validation:XValidation:rule="self.nodeType != 'Validator' || self.network != 'Custom' || (has(self.validatorConfig) && has(self.validatorConfig.protocolVersion))",message="validatorConfig.protocolVersion is required on a Custom network: a new network starts at protocol 0 and its validators vote for this one",fieldPath=".validatorConfig.protocolVersion"
// +kubebuilder:validation:XValidation:rule="self.nodeType != 'Validator' || self.network == 'Custom' || !has(self.validatorConfig) || !has(self.validatorConfig.protocolVersion)",message="validatorConfig.protocolVersion is for Custom networks only: a public network's protocol is voted by its Tier-1 validators",fieldPath=".validatorConfig.protocolVersion"
// +kubebuilder:validation:XValidation:rule="!has(self.validatorConfig) || !has(self.validatorConfig.quorum) || !has(self.validatorConfig.quorum.quality) || !(self.validatorConfig.quorum.quality in ['HIGH', 'CRITICAL']) || ((has(self.validatorConfig.history) && has(self.validatorConfig.history.publish)) ? self.validatorConfig.history.publish : self.network == 'Custom')",message="a validator of HIGH or CRITICAL quality must publish a history archive (validatorConfig.history.publish): SDF asks it of every such validator, and its peers list it with that archive",fieldPath=".validatorConfig.history"
// +kubebuilder:validation:XValidation:rule="self.nodeType != 'Validator' || self.version.matches('^v?[0-9]+[.][0-9]+[.][0-9]+([-.+_][A-Za-z0-9._+-]*)?$')",message="a Validator's version must be a stellar-core release, major.minor.patch (such as 27.1.0): the configuration follows its release line's rules",fieldPath=".version"
// +kubebuilder:validation:XValidation:rule="self.nodeType != 'Validator' || (has(self.validatorConfig) && has(self.validatorConfig.publicKey))",message="validatorConfig.publicKey is required: the key of the validator's seed (its pod refuses a seed of another key), so two StellarNodes given one seed are two with one key and the later one never starts",fieldPath=".validatorConfig.publicKey"
// +kubebuilder:validation:XValidation:rule="self.nodeType != 'Validator' || !has(self.replicas) || self.replicas <= 1",message="a Validator may only have 0 or 1 replicas: two pods with one seed would be one node twice",fieldPath=".replicas"
type StellarNodeSpec struct {
	// NodeType is the software this node runs. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="nodeType is immutable"
	NodeType NodeType `json:"nodeType"`

	// Network is the Stellar network the node joins. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="network is immutable"
	Network Network `json:"network"`

	// CustomNetworkPassphrase is the network passphrase of a Custom network.
	// Required when network is Custom, forbidden otherwise. Immutable.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[^\p{C}\p{Z}]*( [^\p{C}\p{Z}]*)*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="customNetworkPassphrase is immutable"
	CustomNetworkPassphrase string `json:"customNetworkPassphrase,omitempty"`

	// Version is the image tag of the node software, e.g. "27.1.0". A Validator's version selects the
	// stellar-core release line whose rules its configuration follows (status.releaseLine), also when
	// image is set.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`
	Version string `json:"version"`

	// Image overrides the whole image reference. A Validator's image must run the stellar-core release
	// that version names: its configuration is written for that release line.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`
	Image string `json:"image,omitempty"`

	// Replicas is the number of pods. A Validator may only have 0 or 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Replicas *int32 `json:"replicas,omitempty"`

	// Suspended scales the node to zero, keeps its data and takes it out of peer discovery.
	// +optional
	// +kubebuilder:default=false
	Suspended bool `json:"suspended,omitempty"`

	// Resources are the compute resources of the node's main container.
	// +optional
	Resources corev1.ResourceRequirements `json:"resources,omitempty"`

	// Storage is the node's persistent volume.
	// +optional
	// +kubebuilder:default={}
	Storage StorageSpec `json:"storage,omitempty"`

	// Scheduling places the node's pods: where they may run, and, for validators, apart from the
	// other validators of their network. A change rolls like any other (one validator at a time).
	// +optional
	Scheduling *SchedulingSpec `json:"scheduling,omitempty"`

	// ValidatorConfig configures stellar-core. Required when nodeType is Validator, forbidden otherwise.
	// +optional
	ValidatorConfig *ValidatorConfig `json:"validatorConfig,omitempty"`

	// HorizonConfig configures Horizon. Required when nodeType is Horizon, forbidden otherwise.
	// +optional
	HorizonConfig *HorizonConfig `json:"horizonConfig,omitempty"`

	// SorobanConfig configures Soroban RPC. Required when nodeType is SorobanRpc, forbidden otherwise.
	// +optional
	SorobanConfig *SorobanConfig `json:"sorobanConfig,omitempty"`
}

// SpreadPolicy says how a validator's pod is kept apart from the other validators of its network.
// +kubebuilder:validation:Enum=Soft;Hard;None
type SpreadPolicy string

const (
	// SpreadSoft asks the scheduler to put the network's validators on different nodes and, where
	// nodes carry zones, in different zones, and lets it place them together when it cannot.
	SpreadSoft SpreadPolicy = "Soft"
	// SpreadHard refuses to place two validators of a network on one node (a pod waits, Unschedulable).
	SpreadHard SpreadPolicy = "Hard"
	// SpreadNone leaves placement to the other scheduling fields.
	SpreadNone SpreadPolicy = "None"
)

// SchedulingSpec places a node's pods. Labels and annotations with the operator's prefixes
// (app.kubernetes.io/, stellar.org/) are refused: the operator's own selectors and restart keys
// live there.
type SchedulingSpec struct {
	// Spread keeps a validator away from the other validators of its network: one node's loss then
	// takes at most one of them. Default Soft.
	// +optional
	// +kubebuilder:default=Soft
	Spread SpreadPolicy `json:"spread,omitempty"`
	// NodeSelector, Affinity, Tolerations and TopologySpreadConstraints are the pod's own, as in a
	// Pod; TopologySpreadConstraints come after the spread's.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	NodeSelector map[string]LabelValue `json:"nodeSelector,omitempty"`
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=32
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxItems=8
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`
	// PriorityClassName is the pods' PriorityClass.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	PriorityClassName string `json:"priorityClassName,omitempty"`
	// ServiceAccountName runs the pods as this ServiceAccount (its token is never mounted).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	ServiceAccountName string `json:"serviceAccountName,omitempty"`
	// ImagePullSecrets name Secrets of the namespace that pull the images.
	// +optional
	// +kubebuilder:validation:MaxItems=8
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// PodLabels and PodAnnotations are added to the pods.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('app.kubernetes.io/') && !k.startsWith('stellar.org/'))",message="podLabels may not use the operator's prefixes app.kubernetes.io/ and stellar.org/"
	PodLabels map[string]LabelValue `json:"podLabels,omitempty"`
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('app.kubernetes.io/') && !k.startsWith('stellar.org/') && !k.startsWith('kubectl.kubernetes.io/'))",message="podAnnotations may not use the operator's prefixes app.kubernetes.io/, stellar.org/ and kubectl.kubernetes.io/ (restarts)"
	PodAnnotations map[string]AnnotationValue `json:"podAnnotations,omitempty"`
}

// LabelValue is a Kubernetes label value.
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:Pattern=`^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
type LabelValue string

// AnnotationValue is the value of an annotation the user gives a Service: visible characters,
// spaces, tabs and line breaks (DocumentPattern), no other control, format or space character and no
// line separator.
// +kubebuilder:validation:MaxLength=4096
// +kubebuilder:validation:Pattern=`^[^\p{C}\p{Z}]*([ \t\r\n][^\p{C}\p{Z}]*)*$`
type AnnotationValue string

// StorageSpec describes the node's persistent volume.
type StorageSpec struct {
	// StorageClassName is the StorageClass of the volume; empty means the cluster default. Immutable.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="storage.storageClassName is immutable"
	StorageClassName *string `json:"storageClassName,omitempty"`

	// Size is the requested size of the volume. Immutable: a StatefulSet cannot change its volume claims.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="storage.size is immutable"
	// +kubebuilder:default="20Gi"
	Size *resource.Quantity `json:"size,omitempty"`

	// RetentionPolicy says whether the volume is deleted with the StellarNode or kept.
	// +optional
	// +kubebuilder:default=Retain
	RetentionPolicy RetentionPolicy `json:"retentionPolicy,omitempty"`
}

// ValidatorConfig configures a stellar-core validator.
// +kubebuilder:validation:XValidation:rule="self.peerPort != self.httpPort",message="httpPort must differ from peerPort",fieldPath=".httpPort"
// +kubebuilder:validation:XValidation:rule="self.peerPort != 11628 && self.httpPort != 11628",message="peerPort and httpPort must differ from 11628, the validator agent's port",fieldPath=".peerPort"
// +kubebuilder:validation:XValidation:rule="!has(self.history) || !has(self.history.port) || (self.history.port != self.peerPort && self.history.port != self.httpPort && self.history.port != 11628)",message="history.port must differ from peerPort, httpPort and 11628, the validator agent's port: two listeners cannot share a port",fieldPath=".history.port"
// +kubebuilder:validation:XValidation:rule="!(has(self.quorum) && has(self.quorumSet))",message="quorum and quorumSet are mutually exclusive: give one",fieldPath=".quorumSet"
// +kubebuilder:validation:XValidation:rule="!has(self.quorum) || has(self.homeDomain)",message="quorum needs homeDomain: stellar-core groups validators by home domain",fieldPath=".homeDomain"
type ValidatorConfig struct {
	// SeedSecretRef names a Secret in the same namespace whose key STELLAR_CORE_SEED holds the validator's
	// secret seed. The operator never reads it: the seed goes from the Secret to the pod only.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SeedSecretRef string `json:"seedSecretRef"`

	// PeerPort is stellar-core's PEER_PORT.
	// +optional
	// +kubebuilder:default=11625
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	PeerPort int32 `json:"peerPort,omitempty"`

	// HTTPPort is stellar-core's HTTP_PORT (admin commands, bound to 127.0.0.1).
	// +optional
	// +kubebuilder:default=11626
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	HTTPPort int32 `json:"httpPort,omitempty"`

	// ExternalPeer exposes the validator's peer port, and only it, outside the cluster.
	// +optional
	ExternalPeer *ExternalPeer `json:"externalPeer,omitempty"`

	// HomeDomain is NODE_HOME_DOMAIN; a matching [[HOME_DOMAINS]] entry is written with it.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`
	HomeDomain string `json:"homeDomain,omitempty"`

	// PublicKey is the validator's G... public key, the one of its seed. Other validators of its network
	// in this namespace list it in their quorum under this key; render-config refuses to start the pod
	// when the seed's key differs.
	// +optional
	// +kubebuilder:validation:Pattern=`^G[A-Z2-7]{55}$`
	PublicKey string `json:"publicKey,omitempty"`

	// Quorum builds the validator's quorum from the cluster: every other validator of its network in this
	// namespace that has a publicKey, plus the validators given here; stellar-core then generates a safe
	// quorum set from their home domains and qualities. Needs homeDomain; excludes quorumSet.
	// +optional
	Quorum *QuorumSpec `json:"quorum,omitempty"`

	// QuorumSet is the TOML text of a [QUORUM_SET] section, written as given: the expert's alternative
	// to quorum. It is checked against stellar-core's rules like everything else.
	// +optional
	// +kubebuilder:validation:MaxLength=65536
	// +kubebuilder:validation:Pattern=`^[^\p{C}\p{Z}]*([ \t\r\n][^\p{C}\p{Z}]*)*$`
	QuorumSet string `json:"quorumSet,omitempty"`

	// AllowUnsafeQuorum writes UNSAFE_QUORUM = true, which lets stellar-core start with a quorum that
	// cannot tolerate a failure (a network of one or two validators, say). Off by default: without it, a
	// quorum stellar-core calls unsafe is reported as Degraded and never reaches a pod.
	// +optional
	AllowUnsafeQuorum bool `json:"allowUnsafeQuorum,omitempty"`

	// AllowUnprovenQuorum lets changes of the network's quorums through when the operator's quorum
	// intersection check runs out of time before proving either answer (QuorumUnproven). A split found
	// is never let through.
	// +optional
	AllowUnprovenQuorum bool `json:"allowUnprovenQuorum,omitempty"`

	// KnownPeers are extra static host:port entries, such as public network peers.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=260
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$`
	KnownPeers []string `json:"knownPeers,omitempty"`

	// HistoryArchiveURLs are the history archives to read from. Default: the network's SDF archives
	// (none for Custom).
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:items:Pattern=`^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+=:@/-]*)?$`
	HistoryArchiveURLs []string `json:"historyArchiveUrls,omitempty"`

	// CatchupComplete makes the node replay the whole history (CATCHUP_COMPLETE).
	// +optional
	CatchupComplete bool `json:"catchupComplete,omitempty"`

	// PeerDiscovery controls dynamic peer discovery for this validator.
	// +optional
	// +kubebuilder:default={}
	PeerDiscovery PeerDiscoverySpec `json:"peerDiscovery,omitempty"`

	// History is the validator's own history archive. A validator that publishes one is a Full
	// validator; HIGH and CRITICAL quality need it. See docs/HISTORY_ARCHIVES.md.
	// +optional
	History *HistorySpec `json:"history,omitempty"`

	// ProtocolVersion is the protocol a Custom network runs. A new network starts at protocol 0; every
	// validator arms this upgrade at start (stellar-core's COMMANDS), so the first ledgers move to it
	// without anyone calling the admin API. Required on Custom networks, forbidden on public ones.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	ProtocolVersion *int32 `json:"protocolVersion,omitempty"`

	// NTPServer is stellar-core's NTP_DRIFT_CHECK_SERVER (stellar-core 27.1 and later): the host a
	// validator asks about every ten minutes over UDP port 123 to warn of clock drift (it never sets
	// the clock). Unset leaves stellar-core's default, pool.ntp.org, which needs egress to the
	// internet; "" turns the check off; a host name or IPv4 address names an NTP server you run. On an
	// earlier release line the key does not exist, and setting this is refused (Degraded).
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*)?$`
	NTPServer *string `json:"ntpServer,omitempty"`

	// RolloutPolicy says when a change that replaces this validator's pod (a new version, resources,
	// configuration or peers) is applied. Paced waits for the validator's turn: one validator of a
	// network at a time, the next once every member is back in consensus. Immediate applies it at
	// once, whatever the other validators are doing: it can take a second validator of the network
	// down and halt it. See docs/UPGRADING.md.
	// +optional
	// +kubebuilder:default=Paced
	RolloutPolicy RolloutPolicy `json:"rolloutPolicy,omitempty"`
}

// Quality is how much a quorum relies on an organisation (stellar-core's QUALITY).
// +kubebuilder:validation:Enum=LOW;MEDIUM;HIGH;CRITICAL
type Quality string

// Qualities, lowest first.
const (
	QualityLow      Quality = "LOW"
	QualityMedium   Quality = "MEDIUM"
	QualityHigh     Quality = "HIGH"
	QualityCritical Quality = "CRITICAL"
)

// Qualities are the qualities in stellar-core's order, lowest first (Config::parseQuality).
var Qualities = []Quality{QualityLow, QualityMedium, QualityHigh, QualityCritical}

// QuorumSpec describes a validator's quorum as stellar-core's [[HOME_DOMAINS]] and [[VALIDATORS]].
type QuorumSpec struct {
	// Quality of the validator's own organisation (its homeDomain). Default MEDIUM. HIGH and CRITICAL
	// need at least three validators of the organisation that publish a history archive.
	// +optional
	Quality Quality `json:"quality,omitempty"`

	// HomeDomains are the other organisations the validators below belong to, with their quality.
	// +optional
	// +listType=map
	// +listMapKey=homeDomain
	// +kubebuilder:validation:MaxItems=64
	HomeDomains []QuorumHomeDomain `json:"homeDomains,omitempty"`

	// Validators are validators outside this cluster (SDF's on Testnet, say).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=128
	Validators []ExternalValidator `json:"validators,omitempty"`
}

// QuorumHomeDomain is an organisation and its quality.
type QuorumHomeDomain struct {
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`
	HomeDomain string `json:"homeDomain"`
	// +required
	Quality Quality `json:"quality"`
}

// ExternalValidator is a validator outside the cluster, one [[VALIDATORS]] entry.
type ExternalValidator struct {
	// Name is the entry's NAME, unique among the validator's quorum members.
	// +required
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]+$`
	Name string `json:"name"`
	// +required
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`
	HomeDomain string `json:"homeDomain"`
	// +required
	// +kubebuilder:validation:Pattern=`^G[A-Z2-7]{55}$`
	PublicKey string `json:"publicKey"`
	// Address is its host:port, added to the peers.
	// +optional
	// +kubebuilder:validation:MaxLength=260
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$`
	Address string `json:"address,omitempty"`
	// HistoryArchiveURL is the validator's public history archive; HIGH and CRITICAL organisations need one.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+=:@/-]*)?$`
	HistoryArchiveURL string `json:"historyArchiveUrl,omitempty"`
}

// HistorySpec is a validator's own history archive.
type HistorySpec struct {
	// Publish makes the validator publish a history archive (a Full validator). Default: true on a
	// Custom network, where no one else has an archive; false on public networks, where it costs
	// storage and egress and SDF's archives exist.
	// +optional
	Publish *bool `json:"publish,omitempty"`

	// Port is where the archive server sidecar serves a local archive.
	// +optional
	// +kubebuilder:default=11627
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// ObjectStorage publishes to object storage instead of the validator's volume.
	// PublicURL is where everyone reads the validator's own archive from outside the cluster, when you
	// expose its archive port; the SEP-1 fragment names it as HISTORY (objectStorage.url otherwise).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+=:@/-]*)?$`
	PublicURL string `json:"publicURL,omitempty"`

	// +optional
	ObjectStorage *ObjectStorageArchive `json:"objectStorage,omitempty"`
}

// ExternalPeer is a Service <name>-peer that exposes the validator's peer port outside the cluster.
// The admin port is never exposed.
type ExternalPeer struct {
	// ServiceType is LoadBalancer (with externalTrafficPolicy Local, so peers see the real source
	// address) or NodePort.
	// +optional
	// +kubebuilder:default=LoadBalancer
	// +kubebuilder:validation:Enum=LoadBalancer;NodePort
	ServiceType corev1.ServiceType `json:"serviceType,omitempty"`
	// AdvertisedAddress is host:port that validators elsewhere dial, such as a public DNS name you point
	// at the Service. Unset, a LoadBalancer's address is used once the cloud assigns one.
	// +optional
	// +kubebuilder:validation:MaxLength=260
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$`
	AdvertisedAddress string `json:"advertisedAddress,omitempty"`
	// Annotations of the Service, such as a cloud's load balancer settings.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	Annotations map[string]AnnotationValue `json:"annotations,omitempty"`
}

// ObjectStorageArchive is a history archive in object storage: stellar-core runs the put and mkdir
// commands (without a shell) with the credentials the operator passes from a Secret it never reads.
type ObjectStorageArchive struct {
	// Put copies a local file {0} to the archive path {1}, for example
	// "aws s3 cp {0} s3://bucket/core/{1}" (the stellar-core image has awscli).
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^([A-Za-z0-9_./:@%+=,~]|\{[01]\})([A-Za-z0-9_./:@%+=,~-]|\{[01]\})*( ([A-Za-z0-9_./:@%+=,~]|\{[01]\})([A-Za-z0-9_./:@%+=,~-]|\{[01]\})*)*$`
	// +kubebuilder:validation:XValidation:rule="self.contains('{0}') && self.contains('{1}')",message="put must name the local file {0} and the archive path {1}"
	Put string `json:"put"`

	// Mkdir creates the archive directory {0}; object stores usually need none.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:Pattern=`^([A-Za-z0-9_./:@%+=,~]|\{[01]\})([A-Za-z0-9_./:@%+=,~-]|\{[01]\})*( ([A-Za-z0-9_./:@%+=,~]|\{[01]\})([A-Za-z0-9_./:@%+=,~-]|\{[01]\})*)*$`
	Mkdir string `json:"mkdir,omitempty"`

	// URL is where everyone reads the archive over HTTP(S).
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+=:@/-]*)?$`
	URL string `json:"url"`

	// CredentialsSecretRef names a Secret in the validator's namespace; each of CredentialKeys becomes an
	// environment variable of the same name in the stellar-core container.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	CredentialsSecretRef string `json:"credentialsSecretRef,omitempty"`

	// CredentialKeys are the Secret's keys to pass, for example AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:Pattern=`^[A-Z_][A-Z0-9_]*$`
	CredentialKeys []string `json:"credentialKeys,omitempty"`
}

// RolloutPolicy says when a change that replaces a validator's pod is applied.
// +kubebuilder:validation:Enum=Paced;Immediate
type RolloutPolicy string

const (
	RolloutPaced     RolloutPolicy = "Paced"
	RolloutImmediate RolloutPolicy = "Immediate"
)

// PeerDiscoverySpec controls dynamic peer discovery for one validator.
type PeerDiscoverySpec struct {
	// Enabled publishes this validator to its network's peers and gives it theirs.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`

	// RestartPolicy says whether the validator is restarted, one at a time per network, when its peer
	// membership changes. None publishes without restarting.
	// +optional
	// +kubebuilder:default=RollingRestart
	RestartPolicy PeerRestartPolicy `json:"restartPolicy,omitempty"`
}

// HorizonConfig configures a Horizon API server with its captive core.
type HorizonConfig struct {
	// DatabaseSecretRef names a Secret whose key DATABASE_URL holds Horizon's PostgreSQL URL.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	DatabaseSecretRef string `json:"databaseSecretRef"`

	// Ingest makes this Horizon ingest ledgers.
	// +optional
	// +kubebuilder:default=true
	Ingest *bool `json:"ingest,omitempty"`

	// StellarCoreURL is the HTTP URL of a stellar-core Horizon may query (STELLAR_CORE_URL).
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+=:@/-]*)?$`
	StellarCoreURL string `json:"stellarCoreUrl,omitempty"`

	// HistoryArchiveURLs are the archives captive core reads. Default: the network's SDF archives.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:items:Pattern=`^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+=:@/-]*)?$`
	HistoryArchiveURLs []string `json:"historyArchiveUrls,omitempty"`
}

// SorobanConfig configures a Soroban RPC (stellar-rpc) server with its captive core.
type SorobanConfig struct {
	// HistoryRetentionWindow is how many ledgers of history the server keeps.
	// +optional
	// +kubebuilder:validation:Minimum=1
	HistoryRetentionWindow *int32 `json:"historyRetentionWindow,omitempty"`

	// LogLevel of stellar-rpc.
	// +optional
	// +kubebuilder:validation:Enum=debug;info;warn;error
	LogLevel string `json:"logLevel,omitempty"`

	// HistoryArchiveURLs are the archives captive core reads. Default: the network's SDF archives.
	// +optional
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=2048
	// +kubebuilder:validation:items:Pattern=`^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+=:@/-]*)?$`
	HistoryArchiveURLs []string `json:"historyArchiveUrls,omitempty"`
}

// Condition types of a StellarNode.
const (
	ConditionReady       = "Ready"
	ConditionProgressing = "Progressing"
	ConditionDegraded    = "Degraded"
)

// Reasons of the StellarNode conditions.
const (
	// ReasonInvalidConfig: the spec gives a configuration the user must fix; nothing was applied.
	ReasonInvalidConfig = "InvalidConfig"
	// ReasonReconcileError: the operator could not talk to the API server.
	ReasonReconcileError = "ReconcileError"
	// ReasonPodCannotStart: the kubelet cannot start a pod (a missing Secret, say).
	ReasonPodCannotStart = "PodCannotStart"
	// ReasonImagePullFailed: a container's image cannot be pulled (ErrImagePull, ImagePullBackOff,
	// InvalidImageName).
	ReasonImagePullFailed = "ImagePullFailed"
	// ReasonCrashLoop: a container keeps exiting and the kubelet waits before starting it again.
	ReasonCrashLoop = "CrashLoopBackOff"
	// ReasonOOMKilled: a container was killed for using more memory than its limit.
	ReasonOOMKilled = "OOMKilled"
	// ReasonUnschedulable: the scheduler finds no node for the pod.
	ReasonUnschedulable = "Unschedulable"
	// ReasonAsExpected: no problem seen.
	ReasonAsExpected = "AsExpected"
	// ReasonRollingOut: pods are being replaced with the current spec.
	ReasonRollingOut = "RollingOut"
	// ReasonStable: every pod runs the current spec.
	ReasonStable = "Stable"
	// ReasonSuspended: the node is scaled to zero by spec.suspended.
	ReasonSuspended = "Suspended"
	// ReasonScaledToZero: replicas is 0.
	ReasonScaledToZero = "ScaledToZero"
	// ReasonReady: every pod is ready.
	ReasonReady = "Ready"
	// ReasonNotReady: some pods are not ready yet.
	ReasonNotReady = "NotReady"
	// ReasonQuorumSplit: the quorum sets the operator would give the network's validators can split it
	// (two quorums with no node in common); nothing that changes a quorum is applied.
	ReasonQuorumSplit = "QuorumSplit"
	// ReasonQuorumUnproven: their intersection was not proven within the check's limit; held the same
	// way unless allowUnprovenQuorum is set.
	ReasonQuorumUnproven = "QuorumUnproven"
	// ReasonDuplicateKeyElsewhere: a validator of the network in another cluster has the same publicKey
	// and comes first (created first, then by cluster name, then namespace/name); this one is held.
	ReasonDuplicateKeyElsewhere = "DuplicateKeyElsewhere"
	// ReasonDuplicateKey: another validator of the network has the same publicKey; this one never starts.
	ReasonDuplicateKey = "DuplicateKey"
	// ReasonRenderConfigFailed: the pod's render-config step refused to write the configuration.
	ReasonRenderConfigFailed = "RenderConfigFailed"
	// ReasonWaitingForTurn: a change that replaces the validator's pod waits for its network's turn.
	ReasonWaitingForTurn = "WaitingForTurn"
	// ReasonRolloutBlocked: such a change has waited longer than the operator's threshold.
	ReasonRolloutBlocked = "RolloutBlocked"
	// ReasonSharedArchive: another validator of the namespace writes the same object-storage archive.
	ReasonSharedArchive = "SharedArchive"
	// ReasonReleaseLineMismatch: the validator's image runs a stellar-core of another release line than
	// spec.version, which its configuration was written for.
	ReasonReleaseLineMismatch = "ReleaseLineMismatch"
	// ReasonNotAllowed: the operator's policy refuses the node's image or archive programs.
	ReasonNotAllowed = "NotAllowed"
	// ReasonNameConflict: an object the operator would write exists and is not the StellarNode's.
	ReasonNameConflict = "NameConflict"
	// ReasonUnsupportedVersion: a validator's version has no release line the operator can check it with.
	ReasonUnsupportedVersion = "UnsupportedVersion"
)

// Events of the release line.
const (
	// EventReleaseLine: the release line whose rules the configuration follows, when it is first known
	// or changes.
	EventReleaseLine = "ReleaseLine"
	// EventReleaseLineAssumed: the version's own line has no table; another line's rules were used.
	EventReleaseLineAssumed = "ReleaseLineAssumed"
)

// Events of the quorum check.
const (
	// EventQuorumUnprovenAllowed: the network's quorum intersection is not proven and the node's
	// allowUnprovenQuorum lets its changes through.
	EventQuorumUnprovenAllowed = "QuorumUnprovenAllowed"
	// EventQuorumCriticalGroups: groups whose misconfiguration alone could split the network were found.
	EventQuorumCriticalGroups = "QuorumCriticalGroups"
)

// A configuration stellar-core would refuse gives Degraded with the reason of the first rule it breaks,
// one of stellarcore's Rule constants (ConfigSyntax, UnknownConfigKey, UnwritablePath, NoReadableArchive,
// InvalidArchiveCommand, NoQuorum, InvalidQuorumSet, UnsafeQuorum, InvalidHomeDomains, InvalidValidators,
// SelfListed, NodeHomeDomain, ArchivesNotBlocking, MissingRequiredKey, LowQualityQuorum, InvalidUpgrade,
// InvalidValue).

// Phases of a StellarNode.
const (
	PhasePending   = "Pending"
	PhaseRunning   = "Running"
	PhaseSuspended = "Suspended"
	PhaseDegraded  = "Degraded"
)

// StellarNodeStatus is the observed state of a Stellar node.
type StellarNodeStatus struct {
	// Conditions: Ready, Progressing, Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Phase is a one-word summary: Pending, Running, Suspended or Degraded.
	// +optional
	Phase string `json:"phase,omitempty"`

	// ReadyReplicas is the number of ready pods.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// ExternalAddress is host:port validators outside the cluster dial: spec.validatorConfig.externalPeer's
	// advertisedAddress, else its LoadBalancer's address and the peer port; empty until there is one.
	// +optional
	ExternalAddress string `json:"externalAddress,omitempty"`

	// Endpoint is the in-cluster address of the node's service.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// PeerAddress is the stable address other validators use to reach this one.
	// +optional
	PeerAddress string `json:"peerAddress,omitempty"`

	// Peers is how many discovered peers the validator's current configuration names.
	// +optional
	Peers int32 `json:"peers,omitempty"`

	// RemoteClusters are the other clusters the operator reads validators from, with how many of this
	// validator's network each has. A stale one did not answer its last read: its last known members
	// are kept, never dropped, and every rollout of the network waits for it.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	RemoteClusters []RemoteClusterStatus `json:"remoteClusters,omitempty"`

	// ReleaseLine is the stellar-core release line whose rules the validator's configuration follows,
	// such as "v27.1"; ReleaseLineNote says why it is not the version's own line, when it is not.
	// +optional
	ReleaseLine string `json:"releaseLine,omitempty"`
	// +optional
	ReleaseLineNote string `json:"releaseLineNote,omitempty"`

	// ConfigChecked fingerprints what stellar-core's rules last accepted for the validator: the
	// operator's build, the release line, the base configuration and the network's peers. While they
	// stay the same the configuration is not checked again; any change of them is checked.
	// +optional
	ConfigChecked string `json:"configChecked,omitempty"`

	// HistoryArchive is the URL the validator's own history archive is read from, when it publishes one.
	// +optional
	HistoryArchive string `json:"historyArchive,omitempty"`

	// Core is what the validator's stellar-core says of itself, read from its agent.
	// +optional
	Core *CoreStatus `json:"core,omitempty"`

	// Health is what Horizon's /health or Soroban RPC's getHealth last said.
	// +optional
	Health *APIHealth `json:"health,omitempty"`

	// Rollout is set while a change that replaces the validator's pod waits for its turn.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`

	// Quorum is the operator's check of the quorum sets it gives the validator's network (docs/QUORUM.md).
	// +optional
	Quorum *QuorumStatus `json:"quorum,omitempty"`
}

// Verdicts of the quorum intersection check.
const (
	QuorumIntersecting = "Intersecting"
	QuorumSplit        = "Split"
	QuorumUnproven     = "Unproven"
)

// QuorumStatus is the verdict on a validator network's quorum map and what the map can survive.
type QuorumStatus struct {
	// Intersection: Intersecting (every two quorums share a validator, proven), Split (two quorums
	// share none: nothing that changes a quorum is applied) or Unproven (not decided within the limit).
	// +kubebuilder:validation:Enum=Intersecting;Split;Unproven
	Intersection string `json:"intersection"`

	// UnknownValidators counts the validators the network's sets name whose own sets the operator does
	// not know; they count as in no quorum.
	// +optional
	UnknownValidators int32 `json:"unknownValidators,omitempty"`

	// ReportedValidators counts the validators outside the operator's whose sets came from what the
	// network's validators last reported (their stellar-core's transitive quorum).
	// +optional
	ReportedValidators int32 `json:"reportedValidators,omitempty"`

	// FailureTolerance is how many validators of this validator's quorum set may fail before its quorum
	// does.
	// +optional
	FailureTolerance *int32 `json:"failureTolerance,omitempty"`

	// OrganisationFailureTolerance is how many validators of the network, anywhere and its own
	// included, may fail before no validator of this validator's organisation (its home domain, here and
	// in other clusters) has a quorum: failures cascade through the other validators' sets. -1: none has
	// one now. Known once the network's quorums are proven to intersect.
	// +optional
	OrganisationFailureTolerance *int32 `json:"organisationFailureTolerance,omitempty"`

	// CriticalGroups are the groups whose misconfiguration alone could split the network (stellar-core's
	// intersection-critical groups), each as its validators' names or keys joined by commas; at most 10.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10
	CriticalGroups []string `json:"criticalGroups,omitempty"`

	// CriticalGroupsChecked: every candidate group was tried within the limit, so CriticalGroups is all
	// of them. False while the search runs, when it ran out of time, or when the network can split.
	// +optional
	CriticalGroupsChecked bool `json:"criticalGroupsChecked,omitempty"`
}

// RemoteClusterStatus is one other cluster as the validator's network sees it.
type RemoteClusterStatus struct {
	// Name is the operator's name for the cluster (its kubeconfig file's name).
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// Members are the validators of this network there.
	Members int32 `json:"members"`
	// Stale: its last read failed; Members are the last known.
	// +optional
	Stale bool `json:"stale,omitempty"`
	// Message says why it is stale.
	// +optional
	// +kubebuilder:validation:MaxLength=512
	Message string `json:"message,omitempty"`
}

// CoreStatus is stellar-core's own state, as the validator's agent last reported it.
type CoreStatus struct {
	// State is stellar-core's state: Booting, Joining SCP, Connected, Catching up, Synced!, Stopping.
	// +optional
	State string `json:"state,omitempty"`
	// Ledger is the last closed ledger's number.
	// +optional
	Ledger int64 `json:"ledger,omitempty"`
	// LedgerAgeSeconds is how long ago it closed, when the agent was asked.
	// +optional
	LedgerAgeSeconds int64 `json:"ledgerAgeSeconds,omitempty"`
	// ProtocolVersion is the ledger's protocol.
	// +optional
	ProtocolVersion int64 `json:"protocolVersion,omitempty"`
	// BaseFee, BaseReserve and MaxTxSetSize are the last closed ledger header's values.
	// +optional
	BaseFee int64 `json:"baseFee,omitempty"`
	// +optional
	BaseReserve int64 `json:"baseReserve,omitempty"`
	// +optional
	MaxTxSetSize int64 `json:"maxTxSetSize,omitempty"`
	// Vote is the network upgrade vote the agent keeps armed in stellar-core, if any.
	// +optional
	Vote *CoreVote `json:"vote,omitempty"`
	// Peers is the number of authenticated peers.
	// +optional
	Peers int64 `json:"peers,omitempty"`
	// QuorumFailAt is how many more validators failing would stop this validator's quorum.
	// +optional
	QuorumFailAt *int64 `json:"quorumFailAt,omitempty"`
	// PublishBacklog is how many checkpoints a Full validator has not published yet.
	// +optional
	PublishBacklog *int64 `json:"publishBacklog,omitempty"`
	// LastSeen is when the agent last answered.
	// +optional
	LastSeen *metav1.Time `json:"lastSeen,omitempty"`
	// Error says why the last poll got no answer from stellar-core (its agent silent, or stellar-core
	// booting or not answering); the other fields are then from the last answer.
	// +optional
	Error string `json:"error,omitempty"`
}

// CoreVote is what the agent says of the validator's network upgrade vote.
type CoreVote struct {
	// Vote names it: the StellarNetworkUpgrade and its generation, "name/generation", or
	// "initial-protocol/0" for a Custom network's first protocol upgrade.
	Vote string `json:"vote"`
	// Armed: stellar-core holds what remains of the vote, read back after arming.
	Armed bool `json:"armed"`
	// Applied: the ledger took every value of the vote.
	// +optional
	Applied bool `json:"applied,omitempty"`
	// ConfirmedAt is when the agent last read the vote back from stellar-core.
	// +optional
	ConfirmedAt *metav1.Time `json:"confirmedAt,omitempty"`
	// Error is the agent's last failure to arm it.
	// +optional
	Error string `json:"error,omitempty"`
}

// APIHealth is a Horizon or Soroban RPC node's own report on its health.
type APIHealth struct {
	// Healthy is the node's verdict: Horizon's /health answered 200, or getHealth said "healthy".
	Healthy bool `json:"healthy"`
	// Detail is what it said: Horizon's database_connected, core_up and core_synced, or getHealth's
	// status and latest ledger.
	// +optional
	Detail string `json:"detail,omitempty"`
	// LastSeen is when it last answered.
	// +optional
	LastSeen *metav1.Time `json:"lastSeen,omitempty"`
	// Error says why the last poll got no answer.
	// +optional
	Error string `json:"error,omitempty"`
}

// RolloutStatus is a change waiting for its turn in its network's rollout.
type RolloutStatus struct {
	// WaitingSince is when the change started waiting.
	WaitingSince metav1.Time `json:"waitingSince"`

	// WaitingFor names the validators the turn waits for.
	// +optional
	// +listType=atomic
	WaitingFor []string `json:"waitingFor,omitempty"`

	// Reason says why, in words.
	// +optional
	Reason string `json:"reason,omitempty"`

	// Changes are what the waiting change replaces the pod for: a new image, configuration,
	// arguments, resources.
	// +optional
	// +listType=atomic
	Changes []string `json:"changes,omitempty"`
}

// StellarNode runs a Stellar validator, Horizon or Soroban RPC node.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=sn
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.nodeType`
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.network`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Line",type=string,JSONPath=`.status.releaseLine`,priority=1
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Peers",type=integer,JSONPath=`.status.peers`
// +kubebuilder:printcolumn:name="Degraded",type=string,JSONPath=`.status.conditions[?(@.type=="Degraded")].reason`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.core.state`
// +kubebuilder:printcolumn:name="Ledger",type=integer,JSONPath=`.status.core.ledger`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 52",message="name must be a lowercase DNS label of at most 52 characters (it names the StatefulSet, its pods and Services)"
type StellarNode struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec StellarNodeSpec `json:"spec"`

	// +optional
	Status StellarNodeStatus `json:"status,omitempty"`
}

// StellarNodeList is a list of StellarNodes.
// +kubebuilder:object:root=true
type StellarNodeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []StellarNode `json:"items"`
}
