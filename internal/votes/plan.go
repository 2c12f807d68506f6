package votes

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
)

// Plan is a namespace's votes: the document the agents read, and the verdict on each
// StellarNetworkUpgrade.
type Plan struct {
	Document Document
	// Verdicts are by StellarNetworkUpgrade name.
	Verdicts map[string]Verdict
}

// Verdict is where one StellarNetworkUpgrade stands.
type Verdict struct {
	Phase, Reason, Message string
	// Final: the status already holds an Applied or Expired phase for this generation; keep it.
	Final     bool
	Voters    []stellarv1alpha1.ValidatorVote
	Network   *stellarv1alpha1.NetworkLedger
	ExpiresAt *metav1.Time
}

// voter is a validator that may vote, with its release line.
type voter struct {
	node    *stellarv1alpha1.StellarNode
	profile stellarcore.Profile
	err     error
}

// Make plans the votes of one namespace at now: each StellarNetworkUpgrade, oldest first, checked
// against its voters' release lines and the network's ledger; then each Custom network validator's
// vote for its network's protocol where no StellarNetworkUpgrade holds it.
func Make(upgrades []stellarv1alpha1.StellarNetworkUpgrade, nodes []stellarv1alpha1.StellarNode, now time.Time) Plan {
	var validators []voter
	for i := range nodes {
		n := &nodes[i]
		if n.IsValidator() && n.DeletionTimestamp == nil {
			p, err := stellarcore.ProfileFor(n.Spec.Version)
			validators = append(validators, voter{node: n, profile: p, err: err})
		}
	}
	slices.SortFunc(validators, func(a, b voter) int { return strings.Compare(a.node.Name, b.node.Name) })
	sorted := slices.Clone(upgrades)
	slices.SortFunc(sorted, func(a, b stellarv1alpha1.StellarNetworkUpgrade) int {
		return cmp.Or(a.CreationTimestamp.Compare(b.CreationTimestamp.Time), strings.Compare(a.Name, b.Name))
	})
	plan := Plan{Verdicts: map[string]Verdict{}}
	held := map[string]string{}
	for i := range sorted {
		u := &sorted[i]
		if u.DeletionTimestamp != nil {
			continue
		}
		verdict, votes := judge(u, votersOf(u, validators), held, now)
		for _, v := range votes {
			held[v.Validator] = u.Name
		}
		plan.Document.Votes = append(plan.Document.Votes, votes...)
		plan.Verdicts[u.Name] = verdict
	}
	for _, v := range validators {
		if vote := initialProtocolVote(v, now); vote != nil && held[v.node.Name] == "" {
			plan.Document.Votes = append(plan.Document.Votes, *vote)
		}
	}
	return plan
}

func votersOf(u *stellarv1alpha1.StellarNetworkUpgrade, validators []voter) []voter {
	selector := labels.Everything()
	if u.Spec.ValidatorSelector != nil {
		s, err := metav1.LabelSelectorAsSelector(u.Spec.ValidatorSelector)
		if err != nil {
			return nil
		}
		selector = s
	}
	var out []voter
	for _, v := range validators {
		if v.node.NetworkPassphrase() == u.NetworkPassphrase() && selector.Matches(labels.Set(v.node.Labels)) {
			out = append(out, v)
		}
	}
	return out
}

// paramsOf are the vote's values by stellar-core's parameter names.
func paramsOf(spec stellarv1alpha1.StellarNetworkUpgradeSpec) Params {
	p := Params{}
	for name, value := range map[string]*int64{
		ParamProtocolVersion: spec.ProtocolVersion, ParamBaseFee: spec.BaseFee, ParamBaseReserve: spec.BaseReserve,
		ParamMaxTxSetSize: spec.MaxTxSetSize, ParamMaxSorobanTxSetSize: spec.MaxSorobanTxSetSize,
		ParamNominationTimeoutLimit: spec.NominationTimeoutLimit,
	} {
		if value != nil {
			p[name] = strconv.FormatInt(*value, 10)
		}
	}
	if spec.ConfigUpgradeSetKey != "" {
		p[ParamConfigUpgradeSetKey] = spec.ConfigUpgradeSetKey
	}
	return p
}

// judge is the verdict on one upgrade and the votes it arms.
func judge(u *stellarv1alpha1.StellarNetworkUpgrade, voters []voter, held map[string]string, now time.Time) (Verdict, []Vote) {
	if (u.Status.Phase == stellarv1alpha1.VoteApplied || u.Status.Phase == stellarv1alpha1.VoteExpired) &&
		u.Status.ObservedGeneration == u.Generation {
		return Verdict{Phase: u.Status.Phase, Final: true}, nil
	}
	params := paramsOf(u.Spec)
	expiry := u.Spec.UpgradeTime.Add(DefaultExpiration)
	if u.Spec.ExpirationMinutes != nil {
		expiry = u.Spec.UpgradeTime.Add(time.Duration(*u.Spec.ExpirationMinutes) * time.Minute)
	}
	key := u.Name + "/" + strconv.FormatInt(u.Generation, 10)
	verdict := Verdict{ExpiresAt: &metav1.Time{Time: expiry.UTC()}, Network: networkLedger(voters)}
	for _, v := range voters {
		vv := stellarv1alpha1.ValidatorVote{Name: v.node.Name, ReleaseLine: v.profile.Line}
		if core := v.node.Status.Core; core != nil && core.Vote != nil && core.Vote.Vote == key {
			// Copied: the nodes may be the cache's own objects.
			vv.Armed, vv.ConfirmedAt, vv.LastError = core.Vote.Armed, core.Vote.ConfirmedAt.DeepCopy(), core.Vote.Error
		}
		verdict.Voters = append(verdict.Voters, vv)
	}
	refuse := func(reason, message string) (Verdict, []Vote) {
		verdict.Phase, verdict.Reason, verdict.Message = stellarv1alpha1.VoteRefused, reason, message
		return verdict, nil
	}
	if reason, message := check(u, params, voters, held); reason != "" {
		return refuse(reason, message)
	}
	if applied(key, params, voters) {
		verdict.Phase, verdict.Reason = stellarv1alpha1.VoteApplied, stellarv1alpha1.ReasonApplied
		verdict.Message = "every voter's ledger shows the vote's values; the vote is cleared"
		return verdict, nil
	}
	if !now.Before(expiry) {
		verdict.Phase, verdict.Reason = stellarv1alpha1.VoteExpired, stellarv1alpha1.ReasonExpired
		verdict.Message = fmt.Sprintf("the vote expired at %s without the network taking it%s",
			expiry.UTC().Format(time.RFC3339), describe(verdict.Network))
		return verdict, nil
	}
	var votes []Vote
	armed := 0
	for i, v := range voters {
		vote := Vote{Validator: v.node.Name, Upgrade: u.Name, Generation: u.Generation, Time: u.Spec.UpgradeTime.UTC(), Params: params}
		if v.profile.TakesUpgradeParam(ParamExpirationMinutes) {
			minutes := uint32(expiry.Sub(u.Spec.UpgradeTime.Time) / time.Minute)
			vote.ExpirationMinutes = &minutes
		}
		votes = append(votes, vote)
		if verdict.Voters[i].Armed {
			armed++
		}
	}
	verdict.Phase, verdict.Reason = stellarv1alpha1.VotePending, stellarv1alpha1.ReasonArming
	verdict.Message = fmt.Sprintf("armed on %d of %d voters", armed, len(voters))
	if armed == len(voters) {
		verdict.Phase, verdict.Reason = stellarv1alpha1.VoteArmed, stellarv1alpha1.ReasonArmed
	}
	return verdict, votes
}

// check refuses a vote before anything is armed: no voters, a voter already holding an older vote,
// a parameter or protocol a voter's release line does not take, a protocol step other than one.
func check(u *stellarv1alpha1.StellarNetworkUpgrade, params Params, voters []voter, held map[string]string) (string, string) {
	if len(voters) == 0 {
		return stellarv1alpha1.ReasonNoVoters, "no validator of the network in this namespace matches: nothing to arm"
	}
	for _, v := range voters {
		if v.err != nil {
			return stellarv1alpha1.ReasonUnsupportedVersion, fmt.Sprintf("%s: %v", v.node.Name, v.err)
		}
		if other := held[v.node.Name]; other != "" {
			return stellarv1alpha1.ReasonVoteConflict, fmt.Sprintf(
				"%s already votes for %s, which is older: stellar-core holds one vote at a time", v.node.Name, other)
		}
	}
	names := slices.Sorted(func(yield func(string) bool) {
		for name := range params {
			if !yield(name) {
				return
			}
		}
	})
	if u.Spec.ExpirationMinutes != nil {
		names = append(names, ParamExpirationMinutes)
	}
	for _, name := range names {
		var lacking []string
		for _, v := range voters {
			if !v.profile.TakesUpgradeParam(name) {
				lacking = append(lacking, v.node.Name+" ("+v.profile.Line+")")
			}
		}
		if len(lacking) > 0 {
			return stellarv1alpha1.ReasonUnknownParameter, fmt.Sprintf(
				"upgrades?mode=set of %s does not take %s (%s): stellar-core would drop it and arm the rest",
				strings.Join(lacking, ", "), name, voters[0].profile.UpgradeParamsCitation())
		}
	}
	target, hasProtocol := params[ParamProtocolVersion]
	if !hasProtocol {
		return "", ""
	}
	want, _ := strconv.ParseInt(target, 10, 64)
	var behind []string
	for _, v := range voters {
		if int64(v.profile.MaxProtocol()) < want {
			behind = append(behind, fmt.Sprintf("%s (%s, up to protocol %d)", v.node.Name, v.profile.Line, v.profile.MaxProtocol()))
		}
	}
	if len(behind) > 0 {
		return stellarv1alpha1.ReasonProtocolTooHigh, fmt.Sprintf(
			"protocol %d needs stellar-core v%d or later on every voter; upgrade these first: %s",
			want, want, strings.Join(behind, ", "))
	}
	ledger := networkLedger(voters)
	switch {
	case ledger == nil:
		return stellarv1alpha1.ReasonWaitingForLedger,
			"no voter has reported its ledger yet: the protocol step cannot be checked, nothing is armed"
	case ledger.ProtocolVersion > 0 && want > ledger.ProtocolVersion+1:
		return stellarv1alpha1.ReasonProtocolJump, fmt.Sprintf(
			"the network is at protocol %d: a vote moves it one protocol at a time, to %d",
			ledger.ProtocolVersion, ledger.ProtocolVersion+1)
	case want < ledger.ProtocolVersion:
		return stellarv1alpha1.ReasonProtocolJump, fmt.Sprintf(
			"the network is at protocol %d already: a protocol never goes down", ledger.ProtocolVersion)
	}
	return "", ""
}

// applied says whether every voter's network took every value: the ledger header shows those it
// shows, and the voter's agent saw stellar-core take the others.
func applied(key string, params Params, voters []voter) bool {
	vote := Vote{Params: params}
	for _, v := range voters {
		core := v.node.Status.Core
		if core == nil || core.Ledger == 0 {
			return false
		}
		reported := core.Vote != nil && core.Vote.Vote == key && core.Vote.Applied
		if !reported && len(vote.Remaining(ledgerOf(core), nil)) > 0 {
			return false
		}
	}
	return true
}

func ledgerOf(core *stellarv1alpha1.CoreStatus) Ledger {
	return Ledger{Num: core.Ledger, ProtocolVersion: core.ProtocolVersion, BaseFee: core.BaseFee,
		BaseReserve: core.BaseReserve, MaxTxSetSize: core.MaxTxSetSize}
}

// networkLedger is the most advanced ledger the voters report, or nil.
func networkLedger(voters []voter) *stellarv1alpha1.NetworkLedger {
	var best *stellarv1alpha1.CoreStatus
	for _, v := range voters {
		if core := v.node.Status.Core; core != nil && core.Ledger > 0 && (best == nil || core.Ledger > best.Ledger) {
			best = core
		}
	}
	if best == nil {
		return nil
	}
	return &stellarv1alpha1.NetworkLedger{Ledger: best.Ledger, ProtocolVersion: best.ProtocolVersion,
		BaseFee: best.BaseFee, BaseReserve: best.BaseReserve, MaxTxSetSize: best.MaxTxSetSize}
}

func describe(l *stellarv1alpha1.NetworkLedger) string {
	if l == nil {
		return "; no voter reported its ledger"
	}
	return fmt.Sprintf("; ledger %d has protocol %d, base fee %d, base reserve %d, max tx set size %d",
		l.Ledger, l.ProtocolVersion, l.BaseFee, l.BaseReserve, l.MaxTxSetSize)
}

// initialProtocolVote is a Custom network validator's vote for its network's protocol, while its
// ledger is not there yet: a new network starts at protocol 0 and moves to it in one step. Its time
// is the current hour, so the vote never nears stellar-core's expiry; a protocol its line cannot
// apply, or a step of more than one from a later protocol, is not voted (the first is refused on
// the StellarNode itself).
func initialProtocolVote(v voter, now time.Time) *Vote {
	spec := v.node.Spec
	if v.err != nil || spec.Network != stellarv1alpha1.NetworkCustom || spec.ValidatorConfig == nil ||
		spec.ValidatorConfig.ProtocolVersion == nil {
		return nil
	}
	target := int64(*spec.ValidatorConfig.ProtocolVersion)
	current := int64(0)
	if core := v.node.Status.Core; core != nil {
		current = core.ProtocolVersion
	}
	if target > int64(v.profile.MaxProtocol()) || current >= target || (current > 0 && target > current+1) {
		return nil
	}
	vote := &Vote{Validator: v.node.Name, Upgrade: InitialProtocol, Time: now.UTC().Truncate(time.Hour),
		Params: Params{ParamProtocolVersion: strconv.FormatInt(target, 10)}}
	if v.profile.TakesUpgradeParam(ParamExpirationMinutes) {
		minutes := uint32(DefaultExpiration / time.Minute)
		vote.ExpirationMinutes = &minutes
	}
	return vote
}
