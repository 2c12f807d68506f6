package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StellarNetworkUpgradeSpec is one vote of this namespace's validators of one network: the values
// they ask the network to take at the first ledger closed at or after UpgradeTime.
// +kubebuilder:validation:XValidation:rule="self.network == 'Custom' ? (has(self.customNetworkPassphrase) && size(self.customNetworkPassphrase) > 0) : !has(self.customNetworkPassphrase)",message="customNetworkPassphrase is required when network is Custom and forbidden otherwise",fieldPath=".customNetworkPassphrase"
// +kubebuilder:validation:XValidation:rule="has(self.protocolVersion) || has(self.baseFee) || has(self.baseReserve) || has(self.maxTxSetSize) || has(self.maxSorobanTxSetSize) || has(self.configUpgradeSetKey) || has(self.nominationTimeoutLimit)",message="a vote needs at least one of protocolVersion, baseFee, baseReserve, maxTxSetSize, maxSorobanTxSetSize, configUpgradeSetKey, nominationTimeoutLimit"
type StellarNetworkUpgradeSpec struct {
	// Network is the network voted on: its validators in this namespace vote.
	// +required
	Network Network `json:"network"`
	// CustomNetworkPassphrase names a Custom network, as its StellarNodes do.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[^\p{C}\p{Z}]*( [^\p{C}\p{Z}]*)*$`
	CustomNetworkPassphrase string `json:"customNetworkPassphrase,omitempty"`
	// ValidatorSelector narrows the voters to the network's validators with these labels; unset, every
	// validator of the network in this namespace votes.
	// +optional
	ValidatorSelector *metav1.LabelSelector `json:"validatorSelector,omitempty"`
	// UpgradeTime is when the upgrade may apply (UTC): stellar-core proposes it from the first ledger
	// closed at or after it, until the vote expires.
	// +required
	UpgradeTime metav1.Time `json:"upgradeTime"`
	// ProtocolVersion is the ledger protocol to move to: one above the network's current protocol, and
	// no higher than every voter's release line supports.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	ProtocolVersion *int64 `json:"protocolVersion,omitempty"`
	// BaseFee is the new base fee, in stroops.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	BaseFee *int64 `json:"baseFee,omitempty"`
	// BaseReserve is the new base reserve, in stroops.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	BaseReserve *int64 `json:"baseReserve,omitempty"`
	// MaxTxSetSize is the new maximum number of operations in a ledger's classic transaction set.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	MaxTxSetSize *int64 `json:"maxTxSetSize,omitempty"`
	// MaxSorobanTxSetSize is the new maximum number of Soroban transactions in a ledger (from v20).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	MaxSorobanTxSetSize *int64 `json:"maxSorobanTxSetSize,omitempty"`
	// ConfigUpgradeSetKey names Soroban settings already uploaded to the ledger (base64 XDR of a
	// ConfigUpgradeSetKey, from v20): the user uploads them, the validators vote for them.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9+/]{86}==$`
	ConfigUpgradeSetKey string `json:"configUpgradeSetKey,omitempty"`
	// NominationTimeoutLimit is the new limit of nomination timeouts (from v25.1).
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=4294967295
	NominationTimeoutLimit *int64 `json:"nominationTimeoutLimit,omitempty"`
	// ExpirationMinutes is how long after UpgradeTime the vote stands (from v25.1). Unset, the
	// operator asks 720 minutes of lines that take it, the expiry older lines have.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=525600
	ExpirationMinutes *int32 `json:"expirationMinutes,omitempty"`
}

// Vote phases.
const (
	// VotePending: checked, waiting for the voters' agents to confirm the vote armed.
	VotePending = "Pending"
	// VoteArmed: every voter's stellar-core holds the vote.
	VoteArmed = "Armed"
	// VoteApplied: every voter's ledger shows the values; the vote is cleared.
	VoteApplied = "Applied"
	// VoteExpired: the vote's time plus its expiry passed without the ledger taking it.
	VoteExpired = "Expired"
	// VoteRefused: a check failed; nothing is armed.
	VoteRefused = "Refused"
)

// Conditions and reasons of a StellarNetworkUpgrade.
const (
	ConditionArmed   = "Armed"
	ConditionApplied = "Applied"

	// ReasonProtocolTooHigh: a voter's release line cannot apply the protocol; its image must be upgraded first.
	ReasonProtocolTooHigh = "ProtocolTooHigh"
	// ReasonProtocolJump: the protocol is more than one above the network's current one.
	ReasonProtocolJump = "ProtocolJump"
	// ReasonUnknownParameter: a voter's release line does not take a parameter of the vote.
	ReasonUnknownParameter = "UnknownParameter"
	// ReasonNoVoters: no validator of the network in this namespace matches.
	ReasonNoVoters = "NoVoters"
	// ReasonVoteConflict: an older vote holds a voter; stellar-core holds one vote at a time.
	ReasonVoteConflict = "VoteConflict"
	// ReasonWaitingForLedger: no voter has reported its ledger yet, so the protocol step cannot be checked.
	ReasonWaitingForLedger = "WaitingForLedger"
	// ReasonArming, ReasonArmed, ReasonApplied, ReasonExpired follow the vote.
	ReasonArming  = "Arming"
	ReasonArmed   = "Armed"
	ReasonApplied = "Applied"
	ReasonExpired = "Expired"
)

// ValidatorVote is where one voter stands, as its agent reported it.
type ValidatorVote struct {
	// Name is the voter's StellarNode.
	Name string `json:"name"`
	// ReleaseLine is the voter's stellar-core release line.
	// +optional
	ReleaseLine string `json:"releaseLine,omitempty"`
	// Armed says whether its stellar-core holds this vote.
	Armed bool `json:"armed"`
	// ConfirmedAt is when its agent last read the vote back from stellar-core (upgrades?mode=get).
	// +optional
	ConfirmedAt *metav1.Time `json:"confirmedAt,omitempty"`
	// LastError is the agent's last failure to arm the vote.
	// +optional
	LastError string `json:"lastError,omitempty"`
}

// NetworkLedger is the network's ledger header as the voters last reported it.
type NetworkLedger struct {
	// Ledger is the ledger read.
	Ledger int64 `json:"ledger"`
	// ProtocolVersion, BaseFee, BaseReserve and MaxTxSetSize are the ledger header's values.
	ProtocolVersion int64 `json:"protocolVersion"`
	BaseFee         int64 `json:"baseFee"`
	BaseReserve     int64 `json:"baseReserve"`
	MaxTxSetSize    int64 `json:"maxTxSetSize"`
}

// StellarNetworkUpgradeStatus is where the vote stands.
type StellarNetworkUpgradeStatus struct {
	// ObservedGeneration is the generation this status is for.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Phase is Pending, Armed, Applied, Expired or Refused.
	// +optional
	Phase string `json:"phase,omitempty"`
	// Message says why, in words.
	// +optional
	Message string `json:"message,omitempty"`
	// Validators are the voters.
	// +optional
	// +listType=map
	// +listMapKey=name
	Validators []ValidatorVote `json:"validators,omitempty"`
	// Network is the ledger header the voters report (the most advanced one).
	// +optional
	Network *NetworkLedger `json:"network,omitempty"`
	// ExpiresAt is when stellar-core drops the vote: UpgradeTime plus its expiry.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// Conditions: Armed, Applied, Degraded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// StellarNetworkUpgrade is one network upgrade vote of this namespace's validators, armed on each and
// kept armed by the operator until the ledger takes it or it expires.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=snu
// +kubebuilder:printcolumn:name="Network",type=string,JSONPath=`.spec.network`
// +kubebuilder:printcolumn:name="Time",type=string,JSONPath=`.spec.upgradeTime`
// +kubebuilder:printcolumn:name="Protocol",type=integer,JSONPath=`.spec.protocolVersion`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ledger Protocol",type=integer,JSONPath=`.status.network.protocolVersion`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type StellarNetworkUpgrade struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   StellarNetworkUpgradeSpec   `json:"spec"`
	Status StellarNetworkUpgradeStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// StellarNetworkUpgradeList is a list of StellarNetworkUpgrades.
type StellarNetworkUpgradeList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []StellarNetworkUpgrade `json:"items"`
}

// NetworkPassphrase is the passphrase of the network voted on.
func (u *StellarNetworkUpgrade) NetworkPassphrase() string {
	if u.Spec.Network == NetworkCustom {
		return u.Spec.CustomNetworkPassphrase
	}
	return networkPassphrases[u.Spec.Network]
}
