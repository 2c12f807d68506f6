// Package health is the one definition of "in consensus" for a validator: what the readiness probe,
// the agent's status document, status.core and its LostSync/Synced events all decide with.
//
// "Synced!" alone is not enough: stellar-core says it right after it boots and falls back to "Joining
// SCP" only after 35 s without closing a ledger (ApplicationImpl::getStateHuman). In consensus means
// Synced! and a ledger closed recently (ledgers close about every 5 s).
package health

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Synced is the state stellar-core reports when it follows the network.
const Synced = "Synced!"

// MaxLedgerAge is how old the last closed ledger may be for a validator to count as in consensus.
const MaxLedgerAge = 30 * time.Second

// InConsensus says, as an error, why a stellar-core in state with its last ledger num closed
// ageSeconds ago is not in consensus; nil when it is.
func InConsensus(state string, num, ageSeconds int64, maxAge time.Duration) error {
	switch {
	case state != Synced:
		return fmt.Errorf("stellar-core is %q, not %q", state, Synced)
	case time.Duration(ageSeconds)*time.Second > maxAge:
		return fmt.Errorf("stellar-core says %s but its last ledger (%d) closed %d s ago: it is not in consensus",
			Synced, num, ageSeconds)
	}
	return nil
}

// Info is stellar-core's /info, the fields the operator reads (CommandHandler::info, ApplicationImpl::getJsonInfo).
type Info struct {
	Build           string `json:"build"`
	Network         string `json:"network"`
	State           string `json:"state"`
	StartedOn       string `json:"startedOn"`
	ProtocolVersion int64  `json:"protocol_version"`
	Ledger          struct {
		Num          int64 `json:"num"`
		Age          int64 `json:"age"`
		CloseTime    int64 `json:"closeTime"`
		Version      int64 `json:"version"`
		BaseFee      int64 `json:"baseFee"`
		BaseReserve  int64 `json:"baseReserve"`
		MaxTxSetSize int64 `json:"maxTxSetSize"`
	} `json:"ledger"`
	Peers struct {
		Authenticated int64 `json:"authenticated_count"`
		Pending       int64 `json:"pending_count"`
	} `json:"peers"`
	Quorum struct {
		QSet struct {
			Agree    *int64 `json:"agree"`
			Missing  *int64 `json:"missing"`
			Disagree *int64 `json:"disagree"`
			Delayed  *int64 `json:"delayed"`
			FailAt   *int64 `json:"fail_at"`
			Phase    string `json:"phase"`
			Ledger   int64  `json:"ledger"`
		} `json:"qset"`
		Transitive *struct {
			Intersection    bool       `json:"intersection"`
			LastCheckLedger int64      `json:"last_check_ledger"`
			NodeCount       int64      `json:"node_count"`
			Critical        [][]string `json:"critical"`
		} `json:"transitive"`
	} `json:"quorum"`
}

// ParseInfo reads an /info answer. While it boots stellar-core answers {"error": "Core is booting, try
// again later"}, and {"exception": ...} when a handler throws (CommandHandler::safeRouter): errors.
func ParseInfo(body []byte) (Info, error) {
	var doc struct {
		Error     string `json:"error"`
		Exception string `json:"exception"`
		Info      *Info  `json:"info"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return Info{}, fmt.Errorf("stellar-core's /info is not JSON: %.120s", body)
	}
	switch {
	case doc.Error != "" || doc.Exception != "":
		return Info{}, fmt.Errorf("stellar-core is not ready: %s", doc.Error+doc.Exception)
	case doc.Info == nil:
		return Info{}, errors.New("stellar-core's /info has no info")
	}
	return *doc.Info, nil
}

// Decide reads an /info answer: nil when the node is in consensus, else why not.
func Decide(body []byte, maxAge time.Duration) error {
	info, err := ParseInfo(body)
	if err != nil {
		return err
	}
	return InConsensus(info.State, info.Ledger.Num, info.Ledger.Age, maxAge)
}
