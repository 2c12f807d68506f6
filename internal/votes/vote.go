// Package votes is network upgrade votes: the vote each validator keeps armed in stellar-core (the
// stellar-votes document the operator writes and the agents read), what stellar-core says is armed
// (upgrades?mode=get), and the operator's plan of votes from StellarNetworkUpgrades, checked
// against each voter's release line.
package votes

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// The ConfigMap the agents mount: one document per namespace.
const (
	ConfigMapName = "stellar-votes"
	KeyVotesJSON  = "votes.json"
)

// InitialProtocol names the vote of a Custom network's validators for their network's protocol
// (validatorConfig.protocolVersion): a new network starts at protocol 0.
const InitialProtocol = "initial-protocol"

// DefaultExpiration is how long after its time a vote stands: stellar-core's fixed expiry before
// v25.1 (Upgrades::UPDGRADE_EXPIRATION_HOURS, 12 hours), asked explicitly of later lines, whose
// default is 15 minutes.
const DefaultExpiration = 720 * time.Minute

// maxDocument bounds what an agent reads of the document.
const maxDocument = 1 << 20

// Vote is what one validator asks the network to take, and from when.
type Vote struct {
	// Validator is the voter's StellarNode name.
	Validator string `json:"validator"`
	// Upgrade is the StellarNetworkUpgrade's name, or InitialProtocol.
	Upgrade    string    `json:"upgrade"`
	Generation int64     `json:"generation,omitempty"`
	Time       time.Time `json:"upgradeTime"`
	Params     Params    `json:"params"`
	// ExpirationMinutes is sent to lines that take it (v25.1 on).
	ExpirationMinutes *uint32 `json:"expirationMinutes,omitempty"`
}

// Params are the values of a vote, by stellar-core's own parameter names.
type Params map[string]string

// Parameter names of upgrades?mode=set (CommandHandler::upgrades).
const (
	ParamProtocolVersion        = "protocolversion"
	ParamBaseFee                = "basefee"
	ParamBaseReserve            = "basereserve"
	ParamMaxTxSetSize           = "maxtxsetsize"
	ParamMaxSorobanTxSetSize    = "maxsorobantxsetsize"
	ParamConfigUpgradeSetKey    = "configupgradesetkey"
	ParamNominationTimeoutLimit = "nominationtimeoutlimit"
	ParamExpirationMinutes      = "expirationminutes"
)

// numeric are the parameters that are a uint32.
var numeric = []string{ParamProtocolVersion, ParamBaseFee, ParamBaseReserve, ParamMaxTxSetSize,
	ParamMaxSorobanTxSetSize, ParamNominationTimeoutLimit}

// Key names the vote for reports: upgrade/generation.
func (v Vote) Key() string { return v.Upgrade + "/" + strconv.FormatInt(v.Generation, 10) }

// Expiry is when stellar-core drops the vote.
func (v Vote) Expiry() time.Time {
	if v.ExpirationMinutes != nil {
		return v.Time.Add(time.Duration(*v.ExpirationMinutes) * time.Minute)
	}
	return v.Time.Add(DefaultExpiration)
}

// Validate checks a vote as it is read: names, values and time, each against its grammar.
func (v Vote) Validate() error {
	if err := stellarv1alpha1.ValidName("validator", v.Validator); err != nil {
		return err
	}
	if v.Upgrade != InitialProtocol {
		if err := stellarv1alpha1.ValidName("upgrade", v.Upgrade); err != nil {
			return err
		}
	}
	if v.Time.IsZero() || v.Time.Unix() <= 0 {
		return errors.New("a vote needs its upgrade time")
	}
	if len(v.Params) == 0 {
		return errors.New("a vote needs a value")
	}
	for name, value := range v.Params {
		switch {
		case slices.Contains(numeric, name):
			if _, err := parseUint32(value); err != nil {
				return fmt.Errorf("%s %q: %w", name, value, err)
			}
		case name == ParamConfigUpgradeSetKey:
			if err := stellarv1alpha1.ValidConfigUpgradeSetKey(name, value); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown vote parameter %q", name)
		}
	}
	return nil
}

func parseUint32(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n == 0 || strconv.FormatUint(n, 10) != s {
		return 0, errors.New("not a positive 32-bit number")
	}
	return uint32(n), nil
}

// SetQuery is the admin command that arms params of the vote: upgrades?mode=set&upgradetime=...
// (the time in stellar-core's ISO form, UTC to the second).
func (v Vote) SetQuery(params Params) string {
	q := url.Values{}
	q.Set("mode", "set")
	q.Set("upgradetime", v.Time.UTC().Format("2006-01-02T15:04:05Z"))
	for name, value := range params {
		q.Set(name, value)
	}
	if v.ExpirationMinutes != nil {
		q.Set(ParamExpirationMinutes, strconv.FormatUint(uint64(*v.ExpirationMinutes), 10))
	}
	return "upgrades?" + q.Encode()
}

// Document is the content of the stellar-votes ConfigMap: at most one vote per validator (stellar-core
// holds one set of upgrade parameters), sorted by validator. A validator the document does not name
// has nothing armed: its agent clears what stellar-core holds.
type Document struct {
	Votes []Vote `json:"votes"`
}

// For is the validator's vote, or nil.
func (d Document) For(validator string) *Vote {
	for i := range d.Votes {
		if d.Votes[i].Validator == validator {
			return &d.Votes[i]
		}
	}
	return nil
}

// Encode is the document as the ConfigMap holds it, deterministic.
func (d Document) Encode() string {
	slices.SortFunc(d.Votes, func(a, b Vote) int { return strings.Compare(a.Validator, b.Validator) })
	if d.Votes == nil {
		d.Votes = []Vote{}
	}
	data, _ := json.MarshalIndent(d, "", "  ")
	return string(data) + "\n"
}

// Decode reads a document, bounded in size; each vote is validated where it is used.
func Decode(data []byte) (Document, error) {
	if len(data) > maxDocument {
		return Document{}, fmt.Errorf("votes document of %d bytes is over %d", len(data), maxDocument)
	}
	var d Document
	if err := json.Unmarshal(data, &d); err != nil {
		return Document{}, fmt.Errorf("votes document: %w", err)
	}
	return d, nil
}

// Armed is what stellar-core holds (upgrades?mode=get, UpgradeParameters::toJson): the time, and
// each parameter set.
type Armed struct {
	Time   time.Time
	Params Params
}

// getNames maps upgrades?mode=get's field names to upgrades?mode=set's.
var getNames = map[string]string{
	"version": ParamProtocolVersion, "fee": ParamBaseFee, "reserve": ParamBaseReserve, "maxtxsize": ParamMaxTxSetSize,
	"maxsorobantxsetsize": ParamMaxSorobanTxSetSize, "nominationtimeoutlimit": ParamNominationTimeoutLimit,
	"configupgradesetkey": ParamConfigUpgradeSetKey, "flags": "flags",
}

// ParseArmed reads upgrades?mode=get. Each optional field is {"nullopt": true} or {"nullopt": false,
// "data": value} (cereal's std::optional); the key of Soroban settings sits under configupgradeinfo.
func ParseArmed(body []byte) (Armed, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return Armed{}, fmt.Errorf("upgrades?mode=get is not JSON: %.120s", body)
	}
	a := Armed{Params: Params{}}
	var seconds int64
	if err := json.Unmarshal(raw["time"], &seconds); err != nil {
		return Armed{}, fmt.Errorf("upgrades?mode=get has no time: %.120s", body)
	}
	if seconds > 0 {
		a.Time = time.Unix(seconds, 0).UTC()
	}
	if info, ok := raw["configupgradeinfo"]; ok {
		var ci struct {
			Key string `json:"configupgradesetkey"`
		}
		if json.Unmarshal(info, &ci) == nil && ci.Key != "" {
			a.Params[ParamConfigUpgradeSetKey] = ci.Key
		}
	}
	for field, name := range getNames {
		var opt struct {
			Nullopt bool            `json:"nullopt"`
			Data    json.RawMessage `json:"data"`
		}
		if len(raw[field]) == 0 || json.Unmarshal(raw[field], &opt) != nil || opt.Nullopt || len(opt.Data) == 0 {
			continue
		}
		var s string
		if json.Unmarshal(opt.Data, &s) != nil {
			s = string(opt.Data)
		}
		a.Params[name] = s
	}
	return a, nil
}

// Holds says whether stellar-core holds exactly these params at the vote's time.
func (a Armed) Holds(v Vote, params Params) bool {
	if len(a.Params) != len(params) || !a.Time.Equal(v.Time.Truncate(time.Second)) {
		return false
	}
	for name, value := range params {
		if a.Params[name] != value {
			return false
		}
	}
	return true
}

// Empty says whether nothing is armed.
func (a Armed) Empty() bool { return len(a.Params) == 0 }

// Ledger is the ledger header as stellar-core's /info shows it.
type Ledger struct {
	Num, ProtocolVersion, BaseFee, BaseReserve, MaxTxSetSize int64
}

// shown maps the parameters /info shows to their value in a ledger header.
func (l Ledger) shown(name string) (int64, bool) {
	switch name {
	case ParamProtocolVersion:
		return l.ProtocolVersion, true
	case ParamBaseFee:
		return l.BaseFee, true
	case ParamBaseReserve:
		return l.BaseReserve, true
	case ParamMaxTxSetSize:
		return l.MaxTxSetSize, true
	}
	return 0, false
}

// Remaining are the vote's params the network has not taken: those the ledger header does not show
// yet, and those it cannot show (Soroban settings, nomination limit) unless taken says so.
func (v Vote) Remaining(l Ledger, taken map[string]bool) Params {
	out := Params{}
	for name, value := range v.Params {
		if have, shown := l.shown(name); shown {
			if strconv.FormatInt(have, 10) != value {
				out[name] = value
			}
		} else if !taken[name] {
			out[name] = value
		}
	}
	return out
}

// Report is what an agent says of its validator's vote, in its status document.
type Report struct {
	// Vote is the vote's Key.
	Vote string `json:"vote"`
	// Armed: stellar-core holds what remains of it, read back after arming.
	Armed bool `json:"armed"`
	// Applied: the network took every value.
	Applied     bool       `json:"applied"`
	ConfirmedAt *time.Time `json:"confirmedAt,omitempty"`
	Error       string     `json:"error,omitempty"`
}
