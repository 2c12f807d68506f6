// Package stellarcore models stellar-core's configuration file. It renders the base configuration the
// reconciler publishes and the final file a validator's init step writes. Both are pure functions.
package stellarcore

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

const (
	// DataDir is where the validator's volume is mounted.
	DataDir = "/data"
	// Database is stellar-core's SQLite database on the volume.
	Database = "sqlite3://" + DataDir + "/stellar.db"
	// BucketDir is stellar-core's bucket directory on the volume.
	BucketDir = DataDir + "/buckets"
	// HistoryDir is where a Full validator publishes its local history archive.
	HistoryDir = DataDir + "/history"

	header = "# stellar-core configuration rendered by stellar-operator. Do not edit: it is rewritten.\n"
)

// Keys of stellar-core's tables that the operator writes and reads.
const (
	keyHomeDomain = "HOME_DOMAIN"
	keyQuality    = "QUALITY"
	keyName       = "NAME"
	keyPublicKey  = "PUBLIC_KEY"
	keyAddress    = "ADDRESS"
	keyHistory    = "HISTORY"
	keyGet        = "get"
	keyPut        = "put"
	keyMkdir      = "mkdir"

	keyDeprecatedSQLLedgerState = "DEPRECATED_SQL_LEDGER_STATE"
	keyNTPServer                = "NTP_DRIFT_CHECK_SERVER"
)

// QuorumSetError says why a StellarNode's quorumSet cannot be used.
type QuorumSetError struct{ Reason string }

func (e *QuorumSetError) Error() string { return "invalid quorumSet: " + e.Reason }

// BaseConfig is the validator's stellar-core.cfg without its seed and without discovered peers, for
// the release line of the stellar-core that runs it. It is safe to store in a ConfigMap.
func BaseConfig(node *stellarv1alpha1.StellarNode, profile Profile) (string, error) {
	vc := node.Spec.ValidatorConfig
	if vc == nil {
		return "", fmt.Errorf("%s is not a validator", node.Name)
	}
	cfg := map[string]any{
		// Logs go to stderr: the default log file lies in the image's unwritable working directory.
		"LOG_FILE_PATH":      "",
		"NETWORK_PASSPHRASE": node.NetworkPassphrase(),
		"PEER_PORT":          int64(node.PeerPort()),
		"HTTP_PORT":          int64(node.HTTPPort()),
		"PUBLIC_HTTP_PORT":   false,
		"NODE_IS_VALIDATOR":  true,
		"DATABASE":           Database,
		"BUCKET_DIR_PATH":    BucketDir,
		"CATCHUP_COMPLETE":   vc.CatchupComplete,
	}
	if profile.RequiresSQLLedgerStateFlag() {
		// false is BucketListDB, the only ledger state of later lines (and SDF's advice on this one).
		cfg[keyDeprecatedSQLLedgerState] = false
	}
	if vc.NTPServer != nil {
		// Written whenever the user says: on a line that does not know the key, the checker says so.
		cfg[keyNTPServer] = *vc.NTPServer
	}
	if len(vc.KnownPeers) > 0 {
		cfg["KNOWN_PEERS"] = sortedUnique(vc.KnownPeers)
	}
	if vc.HomeDomain != "" {
		cfg["NODE_HOME_DOMAIN"] = vc.HomeDomain
		cfg["HOME_DOMAINS"] = []map[string]any{{keyHomeDomain: vc.HomeDomain, keyQuality: string(node.QuorumQuality())}}
	}
	if q := vc.Quorum; q != nil {
		addQuorum(cfg, q)
	}
	if vc.AllowUnsafeQuorum {
		cfg["UNSAFE_QUORUM"] = true
	}
	history := map[string]any{}
	for i, url := range node.HistoryArchives(vc.HistoryArchiveURLs) {
		history[fmt.Sprintf("archive%d", i)] = map[string]any{keyGet: archiveGet(url)}
	}
	if own := OwnArchive(node); own != nil {
		// Named after the node: never the name of a [[VALIDATORS]] entry, which lists the others only.
		history[node.Name] = own
	}
	if len(history) > 0 {
		cfg[keyHistory] = history
	}
	if vc.QuorumSet != "" {
		qset, err := parseQuorumSet(vc.QuorumSet)
		if err != nil {
			return "", err
		}
		cfg["QUORUM_SET"] = qset
	}
	return encode(cfg)
}

// addQuorum writes the declared organisations and external validators; the cluster's own validators
// are added when the pod starts, from stellar-peers (see Render).
func addQuorum(cfg map[string]any, q *stellarv1alpha1.QuorumSpec) {
	domains, _ := cfg["HOME_DOMAINS"].([]map[string]any)
	for _, d := range q.HomeDomains {
		domains = append(domains, map[string]any{keyHomeDomain: d.HomeDomain, keyQuality: string(d.Quality)})
	}
	cfg["HOME_DOMAINS"] = domains
	var validators []map[string]any
	for _, v := range q.Validators {
		entry := map[string]any{keyName: v.Name, keyHomeDomain: v.HomeDomain, keyPublicKey: v.PublicKey}
		if v.Address != "" {
			entry[keyAddress] = v.Address
		}
		if v.HistoryArchiveURL != "" {
			entry[keyHistory] = archiveGet(v.HistoryArchiveURL)
		}
		validators = append(validators, entry)
	}
	if len(validators) > 0 {
		cfg["VALIDATORS"] = validators
	}
}

// OwnArchive is the [HISTORY] table of the archive the validator publishes, or nil. A local archive
// lives on the validator's volume and is read back with cp; one in object storage is read over HTTP.
func OwnArchive(node *stellarv1alpha1.StellarNode) map[string]any {
	if !node.PublishesHistory() {
		return nil
	}
	if obj := node.ObjectStorage(); obj != nil {
		table := map[string]any{keyGet: archiveGet(obj.URL), keyPut: obj.Put}
		if obj.Mkdir != "" {
			table[keyMkdir] = obj.Mkdir
		}
		return table
	}
	return map[string]any{
		keyGet:   "cp " + HistoryDir + "/{0} {1}",
		keyPut:   "cp {0} " + HistoryDir + "/{1}",
		keyMkdir: "mkdir -p " + HistoryDir + "/{0}",
	}
}

// archiveGet is the command stellar-core runs to fetch a file of an archive served over HTTP.
func archiveGet(url string) string {
	return fmt.Sprintf("curl -sf %s/{0} -o {1}", strings.TrimSuffix(url, "/"))
}

// parseQuorumSet reads the user's [QUORUM_SET] section.
func parseQuorumSet(text string) (map[string]any, error) {
	var doc map[string]any
	if _, err := toml.Decode(text, &doc); err != nil {
		return nil, &QuorumSetError{Reason: err.Error()}
	}
	qset, ok := doc["QUORUM_SET"].(map[string]any)
	if !ok || len(doc) != 1 {
		return nil, &QuorumSetError{Reason: "it must hold exactly one [QUORUM_SET] section"}
	}
	if _, ok := qset["THRESHOLD_PERCENT"]; !ok {
		return nil, &QuorumSetError{Reason: "[QUORUM_SET] has no THRESHOLD_PERCENT"}
	}
	return qset, nil
}

// encode writes a configuration map as TOML: plain keys first, then tables, each in sorted order,
// so every top-level key comes before the first table and the same input gives the same bytes.
func encode(cfg map[string]any) (string, error) {
	var buf bytes.Buffer
	buf.WriteString(header)
	if err := toml.NewEncoder(&buf).Encode(cfg); err != nil {
		return "", fmt.Errorf("encode stellar-core config: %w", err)
	}
	return buf.String(), nil
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
