package stellarcore

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/quorum"
)

// The rules below are stellar-core's own, read from its source; each check names the function it
// mirrors. The rules that differ between releases come from the release line's Profile (release.go),
// with the tag and line they were read at. Check applies them to every configuration the operator
// writes, so a configuration stellar-core would refuse never reaches a pod.

// Rules a configuration can break. Each is the reason of the StellarNode's Degraded condition.
const (
	RuleSyntax              = "ConfigSyntax"
	RuleUnknownKey          = "UnknownConfigKey"
	RulePaths               = "UnwritablePath"
	RuleNoReadableArchive   = "NoReadableArchive"
	RuleArchiveCommand      = "InvalidArchiveCommand"
	RuleNoQuorum            = "NoQuorum"
	RuleInvalidQuorumSet    = "InvalidQuorumSet"
	RuleUnsafeQuorum        = "UnsafeQuorum"
	RuleHomeDomains         = "InvalidHomeDomains"
	RuleValidators          = "InvalidValidators"
	RuleSelfListed          = "SelfListed"
	RuleNodeHomeDomain      = "NodeHomeDomain"
	RuleArchivesNotBlocking = "ArchivesNotBlocking"
	RuleMissingKey          = "MissingRequiredKey"
	RuleLowQualityQuorum    = "LowQualityQuorum"
	RuleUpgrade             = "InvalidUpgrade"
	RuleInvalidValue        = "InvalidValue"
)

// Violation is one rule a configuration breaks.
type Violation struct {
	Rule string
	// Message says what stellar-core would do, in its own words where it has them, and why.
	Message string
	// Field is the StellarNode field to fix, where it is not the rule's usual one.
	Field string
}

// ConfigError lists every rule a configuration breaks, in a stable order.
type ConfigError struct {
	Violations []Violation
}

func (e *ConfigError) Error() string {
	msgs := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		msgs[i] = v.Message
	}
	return "stellar-core would refuse this configuration: " + strings.Join(msgs, "; ")
}

// Rule is the first rule broken, the reason to report.
func (e *ConfigError) Rule() string { return e.Violations[0].Rule }

// fieldToFix is the StellarNode field that a broken rule comes from.
const fieldQuorumSet = "spec.validatorConfig.quorumSet"

var fieldToFix = map[string]string{
	RuleSyntax:              fieldQuorumSet,
	RuleUnknownKey:          "spec.version",
	RuleMissingKey:          "spec.version",
	RuleLowQualityQuorum:    "spec.validatorConfig.quorum.quality or quorum.homeDomains (one organisation above LOW)",
	RuleUpgrade:             "spec.validatorConfig.protocolVersion or spec.version",
	RuleInvalidValue:        "the field that gives the value (knownPeers, homeDomain, quorum, ntpServer)",
	RuleNoReadableArchive:   "spec.validatorConfig.historyArchiveUrls",
	RuleArchiveCommand:      "spec.validatorConfig.historyArchiveUrls or quorum.validators[].historyArchiveUrl",
	RuleNoQuorum:            "spec.validatorConfig.quorum (with homeDomain) or quorumSet",
	RuleInvalidQuorumSet:    fieldQuorumSet,
	RuleUnsafeQuorum:        "spec.validatorConfig.quorum or quorumSet (more validators), or allowUnsafeQuorum",
	RuleHomeDomains:         "spec.validatorConfig.quorum.homeDomains",
	RuleValidators:          "spec.validatorConfig.quorum.validators, or the publicKey and homeDomain of the network's validators",
	RuleSelfListed:          "spec.validatorConfig.quorum.validators",
	RuleNodeHomeDomain:      "spec.validatorConfig.homeDomain",
	RuleArchivesNotBlocking: "spec.validatorConfig.quorum.validators (validators with a historyArchiveUrl), or allowUnsafeQuorum",
}

// keyFields are the StellarNode fields that write keys some release lines do not know.
var keyFields = map[string]string{
	keyNTPServer: "spec.validatorConfig.ntpServer (stellar-core 27.1 and later) or spec.version",
}

// WithFields adds to each message the StellarNode field to fix.
func (e *ConfigError) WithFields() *ConfigError {
	out := &ConfigError{Violations: slices.Clone(e.Violations)}
	for i, v := range out.Violations {
		if f := cmp.Or(v.Field, fieldToFix[v.Rule]); f != "" {
			out.Violations[i].Message += " (fix " + f + ")"
		}
	}
	return out
}

// maxQuorumNesting is MAXIMUM_QUORUM_NESTING_LEVEL (src/scp/QuorumSetUtils.cpp).
const maxQuorumNesting = 4

// CheckOptions say what the checker knows beyond the file.
type CheckOptions struct {
	// Profile is the release line of the stellar-core that will read the file. Required.
	Profile Profile
	// SelfKey is the node's own public key when the file has no NODE_SEED (a base configuration).
	SelfKey string
	// AllowLoopback admits loopback peers and archives: only a test bed of processes on one machine
	// (--allow-loopback-peers) has them; anywhere else they would make a validator dial its own pod.
	AllowLoopback bool
}

// Check returns a *ConfigError when stellar-core of the profile's release line would refuse the
// configuration at start, or nil. It reads a base configuration (no seed yet) or a rendered one (with
// NODE_SEED) alike.
func Check(text string, opts CheckOptions) error {
	if !opts.Profile.Valid() {
		return errors.New("stellarcore.Check needs the release line's profile")
	}
	var cfg map[string]any
	if _, err := toml.Decode(text, &cfg); err != nil {
		return &ConfigError{Violations: []Violation{{Rule: RuleSyntax, Message: "the file is not valid TOML: " + err.Error()}}}
	}
	c := checker{cfg: cfg, self: opts.SelfKey, profile: opts.Profile, loopback: opts.AllowLoopback}
	if seed, ok := cfg["NODE_SEED"].(string); ok {
		if key, err := PublicKeyOfSeed(seed); err == nil {
			c.self = key
		} else {
			c.add(RuleSyntax, "NODE_SEED is not a valid seed")
		}
	}
	c.keys()
	c.values()
	c.ledgerStateFlag()
	c.paths()
	c.archives()
	c.quorum()
	c.upgrades()
	if len(c.violations) == 0 {
		return nil
	}
	return &ConfigError{Violations: c.violations}
}

type checker struct {
	cfg        map[string]any
	self       string
	profile    Profile
	loopback   bool
	violations []Violation
}

func (c *checker) add(rule, format string, args ...any) {
	c.violations = append(c.violations, Violation{Rule: rule, Message: fmt.Sprintf(format, args...)})
}

// keys mirrors Config::processConfig of the release line: any other top-level key is "Unknown
// configuration entry".
func (c *checker) keys() {
	var unknown []string
	for k := range c.cfg {
		if !c.profile.Knows(k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		c.add(RuleUnknownKey, "Unknown configuration entry: '%s' (stellar-core %s does not know it)", k, c.profile.Line)
		c.violations[len(c.violations)-1].Field = keyFields[k]
	}
}

// values checks every host, address and entry name of the file against the input grammar, again: the
// file is assembled from ConfigMaps that anyone who may update them can edit.
func (c *checker) values() {
	check := func(err error) {
		if err != nil {
			c.add(RuleInvalidValue, "%v", err)
		}
	}
	for _, key := range []string{"KNOWN_PEERS", "PREFERRED_PEERS"} {
		list, _ := c.cfg[key].([]any)
		for _, item := range list {
			s, _ := item.(string)
			check(stellarv1alpha1.ValidAddress(key+" entry", s))
			check(stellarv1alpha1.ValidDialAddress(key+" entry", s, c.loopback))
		}
	}
	if passphrase, ok := c.cfg["NETWORK_PASSPHRASE"].(string); ok {
		check(stellarv1alpha1.ValidText("NETWORK_PASSPHRASE", passphrase, 256))
	}
	if home, ok := c.cfg["NODE_HOME_DOMAIN"].(string); ok {
		check(stellarv1alpha1.ValidHost("NODE_HOME_DOMAIN", home))
	}
	if server, ok := c.cfg[keyNTPServer].(string); ok && server != "" {
		check(stellarv1alpha1.ValidHost(keyNTPServer, server))
	}
	for _, v := range c.validatorEntries() {
		if name, ok := v[keyName].(string); ok {
			check(stellarv1alpha1.ValidEntryName("[[VALIDATORS]] NAME", name))
		}
		if home, ok := v[keyHomeDomain].(string); ok {
			check(stellarv1alpha1.ValidHost("[[VALIDATORS]] HOME_DOMAIN", home))
		}
		if addr, ok := v[keyAddress].(string); ok {
			check(stellarv1alpha1.ValidAddress("[[VALIDATORS]] ADDRESS", addr))
			check(stellarv1alpha1.ValidDialAddress("[[VALIDATORS]] ADDRESS", addr, c.loopback))
		}
	}
	if domains, ok := c.cfg["HOME_DOMAINS"].([]map[string]any); ok {
		for _, d := range domains {
			if home, ok := d[keyHomeDomain].(string); ok {
				check(stellarv1alpha1.ValidHost("[[HOME_DOMAINS]] HOME_DOMAIN", home))
			}
		}
	}
}

// ledgerStateFlag mirrors the end of Config::processConfig on the lines that need
// DEPRECATED_SQL_LEDGER_STATE or EXPERIMENTAL_BUCKETLIST_DB, but not both.
func (c *checker) ledgerStateFlag() {
	if !c.profile.RequiresSQLLedgerStateFlag() {
		return
	}
	_, deprecated := c.cfg[keyDeprecatedSQLLedgerState]
	_, experimental := c.cfg["EXPERIMENTAL_BUCKETLIST_DB"]
	at := c.profile.Citation(ruleRequiresSQLLedgerStateFlag)
	switch {
	case !deprecated && !experimental:
		c.add(RuleMissingKey, "Invalid configuration: DEPRECATED_SQL_LEDGER_STATE not set (stellar-core %s requires it, %s)", c.profile.Line, at)
	case deprecated && experimental:
		c.add(RuleMissingKey, "Invalid configuration: EXPERIMENTAL_BUCKETLIST_DB and DEPRECATED_SQL_LEDGER_STATE must not both be set (%s)", at)
	}
}

// CheckProtocol refuses a protocol the line cannot apply: a Custom network's protocolVersion, which
// its validators vote for (Upgrades::setParameters: "Protocol version error: supported is up to").
func CheckProtocol(profile Profile, protocol int32) error {
	if protocol >= 1 && protocol <= profile.MaxProtocol() {
		return nil
	}
	return &ConfigError{Violations: []Violation{{Rule: RuleUpgrade, Message: protocolMessage(profile, strconv.Itoa(int(protocol)))}}}
}

func protocolMessage(profile Profile, protocol string) string {
	return fmt.Sprintf("the upgrade to protocol %s can never apply: stellar-core %s supports protocols up to %d",
		protocol, profile.Line, profile.MaxProtocol())
}

// upgrades checks upgrades a COMMANDS key would arm at start (the operator arms none there; votes
// go through the agent): a protocol above the line's own is never applied.
func (c *checker) upgrades() {
	commands, _ := c.cfg["COMMANDS"].([]any)
	for _, raw := range commands {
		cmd, _ := raw.(string)
		query, ok := strings.CutPrefix(cmd, "upgrades?")
		if !ok {
			continue
		}
		for param := range strings.SplitSeq(query, "&") {
			v, ok := strings.CutPrefix(param, "protocolversion=")
			if !ok {
				continue
			}
			if n, err := strconv.Atoi(v); err != nil || n < 1 || int32(n) > c.profile.MaxProtocol() {
				c.add(RuleUpgrade, "%s", protocolMessage(c.profile, v))
			}
		}
	}
}

// paths: the defaults of LOG_FILE_PATH, DATABASE and BUCKET_DIR_PATH are relative to the image's
// working directory, which a non-root container cannot write (Config::Config sets them; a log file
// that cannot be opened is fatal in Logging::setLoggingToFile).
func (c *checker) paths() {
	if p, ok := c.cfg["LOG_FILE_PATH"].(string); !ok || (p != "" && !path.IsAbs(p)) {
		c.add(RulePaths, `LOG_FILE_PATH must be "" (logs to stderr) or an absolute path: its default is a file in the unwritable working directory`)
	}
	db, _ := c.cfg["DATABASE"].(string)
	if !strings.HasPrefix(db, "sqlite3:///") && !strings.HasPrefix(db, "postgresql://") {
		c.add(RulePaths, "DATABASE must be an absolute sqlite3:/// path on the data volume or a postgresql:// URL, not %q", db)
	}
	if p, _ := c.cfg["BUCKET_DIR_PATH"].(string); !path.IsAbs(p) {
		c.add(RulePaths, "BUCKET_DIR_PATH must be an absolute path on the data volume, not %q", p)
	}
}

// archives mirrors HistoryArchiveManager::checkSensibleConfig: at least one archive to read from, and
// no archive that can be written but not read. Commands run without a shell (ProcessManager splits on
// spaces), so shell syntax would reach the program as literal arguments.
func (c *checker) archives() {
	readable := 0
	history, _ := c.cfg[keyHistory].(map[string]any)
	names := sortedKeys(history)
	for _, name := range names {
		archive, ok := history[name].(map[string]any)
		if !ok {
			c.add(RuleArchiveCommand, "[HISTORY.%s] must be a table", name)
			continue
		}
		get, _ := archive[keyGet].(string)
		put, _ := archive[keyPut].(string)
		if put != "" && get == "" {
			c.add(RuleArchiveCommand, "archive %s has a put command but no get command", name)
		}
		for _, verb := range []string{keyGet, keyPut, keyMkdir} {
			if cmd, _ := archive[verb].(string); cmd != "" {
				c.command(name, verb, cmd)
			}
		}
		if get != "" {
			readable++
		}
	}
	for _, v := range c.validatorEntries() {
		if h, _ := v[keyHistory].(string); h != "" {
			c.command(fmt.Sprint(v[keyName]), keyHistory, h)
			readable++
		}
	}
	if readable == 0 {
		c.add(RuleNoReadableArchive, "No readable archives configured, catchup will fail: give a history archive to read from")
	}
}

func (c *checker) command(archive, verb, cmd string) {
	if err := ArchiveCommand(cmd); err != nil {
		c.add(RuleArchiveCommand, "archive %s: the %s command: %v", archive, verb, err)
	}
	if (verb == keyGet || verb == keyHistory || verb == keyPut) && (!strings.Contains(cmd, "{0}") || !strings.Contains(cmd, "{1}")) {
		c.add(RuleArchiveCommand, "archive %s: the %s command %q must name the remote path {0} and the local path {1}", archive, verb, cmd)
	}
	// Every URL an archive command names is a host the validator will dial.
	for _, arg := range SplitLikeStellarCore(cmd) {
		if strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://") {
			if err := stellarv1alpha1.ValidDialURL("archive "+archive+" "+verb+" URL", strings.TrimSuffix(arg, "/{0}"), c.loopback); err != nil {
				c.add(RuleArchiveCommand, "%v", err)
			}
		}
	}
}

// coreWhitespace is what std::regex's \s matches in stellar-core's process split
// (ProcessManagerImpl.cpp, split: std::regex ws_re("\\s+")): the C locale's isspace.
var coreWhitespace = regexp.MustCompile(`[ \t\n\v\f\r]+`)

// SplitLikeStellarCore is the argv stellar-core runs for a command: it splits on whitespace and
// spawns the program without a shell.
func SplitLikeStellarCore(cmd string) []string { return coreWhitespace.Split(cmd, -1) }

// ArchiveCommand checks that an archive command gives stellar-core exactly the argv the operator
// meant: arguments separated by single spaces, each in the input grammar. The operator's own commands
// curl -sf <url>/{0} -o {1} and mkdir -p <dir> are the only shapes whose flags start with "-".
func ArchiveCommand(cmd string) error {
	argv := SplitLikeStellarCore(cmd)
	if strings.Join(argv, " ") != cmd {
		return fmt.Errorf("%q splits into other arguments than it shows (only single spaces may separate them)", cmd)
	}
	if len(argv) == 5 && argv[0] == "curl" && argv[1] == "-sf" && argv[3] == "-o" && argv[4] == "{1}" {
		url, ok := strings.CutSuffix(argv[2], "/{0}")
		if !ok {
			return fmt.Errorf("%q must fetch <url>/{0}", cmd)
		}
		return stellarv1alpha1.ValidURL("its URL", url)
	}
	if len(argv) == 3 && argv[0] == "mkdir" && argv[1] == "-p" {
		argv = []string{argv[0], argv[2]}
	}
	for _, arg := range argv {
		if err := stellarv1alpha1.ValidArgument("argument", arg); err != nil {
			return err
		}
	}
	return nil
}

// validatorEntries is the [[VALIDATORS]] array, or nil.
func (c *checker) validatorEntries() []map[string]any {
	list, _ := c.cfg["VALIDATORS"].([]map[string]any)
	return list
}

func sortedKeys(m map[string]any) []string {
	return slices.Sorted(maps.Keys(m))
}

// validator is one [[VALIDATORS]] entry, or the node itself.
type validator struct {
	name, key, domain string
	quality           int
	history           bool
}

// quorum mirrors the quorum part of Config::processConfig.
func (c *checker) quorum() {
	isValidator, _ := c.cfg["NODE_IS_VALIDATOR"].(bool)
	rawQSet, hasQSet := c.cfg["QUORUM_SET"]
	_, hasValidators := c.cfg["VALIDATORS"]
	unsafeOK, _ := c.cfg["UNSAFE_QUORUM"].(bool)
	domains := c.homeDomains()
	validators := c.validators(domains)

	home, _ := c.cfg["NODE_HOME_DOMAIN"].(string)
	switch {
	case !hasQSet && !hasValidators && !isValidator:
		c.add(RuleNoQuorum, "no validators defined in VALIDATORS/QUORUM_SET: even a node that does not validate needs a quorum to follow")
		return
	case !hasQSet && !hasValidators && home == "":
		c.add(RuleNoQuorum, "NODE_HOME_DOMAIN must be set: a validator needs a quorum, from [[VALIDATORS]] under its home domain or a [QUORUM_SET]")
		return
	}
	// Config::processConfig: a validator adds itself, unless it has only a [QUORUM_SET].
	if isValidator && (hasValidators || !hasQSet) {
		validators = c.addSelf(validators, domains)
	}
	generated, genErr := generateQuorumSet(validators)
	if genErr != "" {
		c.add(RuleValidators, "%s", genErr)
	}
	switch {
	case hasQSet:
		c.explicitQuorum(rawQSet, validators, generated, genErr == "", unsafeOK)
	case genErr == "" && len(validators) > 0:
		c.generatedQuorum(validators, generated, unsafeOK)
	}
}

// QuorumSetOf is the quorum set stellar-core takes from a configuration, decided as Check decides
// it (Config::processConfig: the [QUORUM_SET] when there is one, else the one generated from
// [[VALIDATORS]] and the node itself). selfKey is the node's public key when the file has no seed.
// Keys named by $NAME are resolved through [[VALIDATORS]]; one that is not stays as written, a key
// no node has. It is an error when Check would refuse the file.
func QuorumSetOf(text string, profile Profile, selfKey string) (quorum.QSet, error) {
	if err := Check(text, CheckOptions{Profile: profile, SelfKey: selfKey, AllowLoopback: true}); err != nil {
		return quorum.QSet{}, err
	}
	var cfg map[string]any
	if _, err := toml.Decode(text, &cfg); err != nil {
		return quorum.QSet{}, err
	}
	c := checker{cfg: cfg, self: selfKey, profile: profile}
	if seed, ok := cfg["NODE_SEED"].(string); ok {
		c.self, _ = PublicKeyOfSeed(seed)
	}
	domains := c.homeDomains()
	validators := c.validators(domains)
	if raw, ok := cfg["QUORUM_SET"].(map[string]any); ok {
		q, _ := c.loadQuorumSet(raw, 0)
		aliases := map[string]string{}
		for _, v := range validators {
			aliases["$"+v.name] = v.key
		}
		return q.resolved(aliases).public(), nil
	}
	validators = c.addSelf(validators, domains)
	q, _ := generateQuorumSet(validators)
	return q.public(), nil
}

// resolved is q with $NAME aliases replaced by their keys.
func (q qset) resolved(aliases map[string]string) qset {
	out := qset{threshold: q.threshold}
	for _, v := range q.validators {
		if key, ok := aliases[v]; ok {
			v = key
		}
		out.validators = append(out.validators, v)
	}
	for _, in := range q.inner {
		out.inner = append(out.inner, in.resolved(aliases))
	}
	return out
}

// public is q as package quorum holds it.
func (q qset) public() quorum.QSet {
	out := quorum.QSet{Threshold: q.threshold, Validators: slices.Clone(q.validators)}
	for _, in := range q.inner {
		out.InnerSets = append(out.InnerSets, in.public())
	}
	return out
}

// explicitQuorum checks a [QUORUM_SET], and that it agrees with [[VALIDATORS]] when both are given.
func (c *checker) explicitQuorum(raw any, validators []validator, generated qset, generatedOK, unsafeOK bool) {
	table, ok := raw.(map[string]any)
	if !ok {
		c.add(RuleInvalidQuorumSet, "QUORUM_SET must be a table")
		return
	}
	q, err := c.loadQuorumSet(table, 0)
	if err != "" {
		c.add(RuleInvalidQuorumSet, "invalid [QUORUM_SET]: %s", err)
		return
	}
	if len(validators) > 0 && generatedOK && !unsafeOK && !q.equal(generated) {
		c.add(RuleUnsafeQuorum, "SCP unsafe: the [QUORUM_SET] differs from the one generated from [[VALIDATORS]]; give one of them")
	}
	c.safety(q, levelBFT, unsafeOK)
}

// generatedQuorum checks the quorum set stellar-core generates from [[VALIDATORS]].
func (c *checker) generatedQuorum(validators []validator, generated qset, unsafeOK bool) {
	// Config::verifyHistoryValidatorsBlocking
	var archives []string
	for _, v := range validators {
		if v.history {
			archives = append(archives, v.key)
		}
	}
	// Config::setValidatorWeightConfig, from v22.1
	if c.profile.RefusesLowOnlyQuorum() && isValidator(c.cfg) && highestQuality(validators) == 0 {
		c.add(RuleLowQualityQuorum, "At least one validator must have a quality level higher than LOW (stellar-core %s, %s)",
			c.profile.Line, c.profile.Citation(ruleRefusesLowOnlyQuorum))
	}
	if !unsafeOK && !generated.vBlocking(archives) {
		c.add(RuleArchivesNotBlocking, "SCP unsafe: Quorum can be reached without validators with an archive; "+
			"validators that publish a history archive must be in every quorum")
	}
	level := levelSimpleMajority
	if len(domainsOf(validators)) > 1 {
		level = levelBFT
	}
	c.safety(generated, level, unsafeOK)
}

// homeDomains mirrors Config::parseDomainsQuality.
func (c *checker) homeDomains() map[string]int {
	out := map[string]int{}
	raw, ok := c.cfg["HOME_DOMAINS"]
	if !ok {
		return out
	}
	list, ok := raw.([]map[string]any)
	if !ok {
		c.add(RuleHomeDomains, "malformed HOME_DOMAINS: it must be an array of tables [[HOME_DOMAINS]]")
		return out
	}
	for _, entry := range list {
		domain, _ := entry[keyHomeDomain].(string)
		for k := range entry {
			if k != keyHomeDomain && k != keyQuality {
				c.add(RuleHomeDomains, "Unknown field '%s' in HOME_DOMAINS", k)
			}
		}
		q, known := qualityOf(entry[keyQuality])
		switch {
		case domain == "" || entry[keyQuality] == nil:
			c.add(RuleHomeDomains, "Malformed HOME_DOMAINS '%s': HOME_DOMAIN and QUALITY are both required", domain)
		case !known:
			c.add(RuleHomeDomains, "Unknown QUALITY '%v' for home domain %s: use LOW, MEDIUM, HIGH or CRITICAL", entry[keyQuality], domain)
		default:
			if _, dup := out[domain]; dup {
				c.add(RuleHomeDomains, "Malformed HOME_DOMAINS: duplicate '%s'", domain)
			}
			out[domain] = q
		}
	}
	return out
}

func qualityOf(v any) (int, bool) {
	s, _ := v.(string)
	i := slices.Index(stellarv1alpha1.Qualities, stellarv1alpha1.Quality(s))
	return i, i >= 0
}

// validators mirrors Config::parseValidators and Config::addValidatorName.
func (c *checker) validators(domains map[string]int) []validator {
	raw, ok := c.cfg["VALIDATORS"]
	if !ok {
		return nil
	}
	list, ok := raw.([]map[string]any)
	if !ok {
		c.add(RuleValidators, "malformed VALIDATORS: it must be an array of tables [[VALIDATORS]]")
		return nil
	}
	var out []validator
	names, keys := map[string]bool{}, map[string]bool{}
	history, _ := c.cfg[keyHistory].(map[string]any)
	for _, entry := range list {
		v := validator{}
		v.name, _ = entry[keyName].(string)
		v.key, _ = entry[keyPublicKey].(string)
		v.domain, _ = entry[keyHomeDomain].(string)
		hist, _ := entry[keyHistory].(string)
		v.history = hist != ""
		for _, k := range sortedKeys(entry) {
			if !slices.Contains([]string{keyName, keyHomeDomain, keyQuality, keyPublicKey, keyAddress, keyHistory}, k) {
				c.add(RuleValidators, "malformed VALIDATORS entry, unknown element '%s'", k)
			}
		}
		if v.name == "" {
			c.add(RuleValidators, "malformed VALIDATORS entry: missing 'NAME'")
			continue
		}
		if v.key == "" || v.domain == "" {
			c.add(RuleValidators, "malformed VALIDATORS entry '%s': PUBLIC_KEY and HOME_DOMAIN are required", v.name)
			continue
		}
		if !ValidPublicKey(v.key) {
			c.add(RuleValidators, "VALIDATORS entry '%s': bad public key %q", v.name, v.key)
			continue
		}
		q, ok := c.entryQuality(v, entry, domains)
		if !ok {
			continue
		}
		v.quality = q
		if names[v.name] {
			c.add(RuleValidators, "naming node twice: %s", v.name)
		}
		if _, clash := history[v.name]; clash && v.history {
			c.add(RuleValidators, "Conflicting archive name '%s': a [HISTORY] table has the name of a validator", v.name)
		}
		if keys[v.key] {
			c.add(RuleValidators, "Duplicate validator entry for '%s'", v.key)
		}
		names[v.name], keys[v.key] = true, true
		if v.quality >= 2 && !v.history {
			c.add(RuleValidators, "malformed VALIDATORS entry '%s' (critical and high quality must have an archive)", v.name)
		}
		if c.self != "" && v.key == c.self {
			c.add(RuleSelfListed, "Duplicate validator entry for '%s': the node lists itself, but stellar-core adds itself from NODE_SEED", v.key)
		}
		out = append(out, v)
	}
	return out
}

// entryQuality is a [[VALIDATORS]] entry's quality: on the entry or through its home domain, never both.
func (c *checker) entryQuality(v validator, entry map[string]any, domains map[string]int) (int, bool) {
	domainQuality, viaDomain := domains[v.domain]
	entryQuality, onEntry := entry[keyQuality]
	switch {
	case viaDomain && onEntry:
		c.add(RuleValidators, "malformed VALIDATORS entry '%s': quality already defined in home domain '%s'", v.name, v.domain)
	case viaDomain:
		return domainQuality, true
	case onEntry:
		q, known := qualityOf(entryQuality)
		if !known {
			c.add(RuleValidators, "Unknown QUALITY '%v' for VALIDATORS entry '%s'", entryQuality, v.name)
			return 0, false
		}
		return q, true
	default:
		c.add(RuleValidators, "malformed VALIDATORS entry '%s' (missing quality)", v.name)
	}
	return 0, false
}

// addSelf mirrors Config::addSelfToValidators.
func (c *checker) addSelf(validators []validator, domains map[string]int) []validator {
	home, _ := c.cfg["NODE_HOME_DOMAIN"].(string)
	if home == "" {
		c.add(RuleNodeHomeDomain, "NODE_HOME_DOMAIN must be set: a validator with [[VALIDATORS]] adds itself under its home domain")
		return validators
	}
	q, ok := domains[home]
	if !ok {
		c.add(RuleNodeHomeDomain, "Validator configured with NODE_HOME_DOMAIN='%s' but there is no matching HOME_DOMAINS", home)
		return validators
	}
	self := c.self
	if self == "" {
		// The key is not known yet (a base configuration without publicKey): a placeholder that no
		// other validator has stands for it.
		self = "self"
	}
	return append(validators, validator{name: "self", key: self, domain: home, quality: q})
}

func isValidator(cfg map[string]any) bool {
	v, _ := cfg["NODE_IS_VALIDATOR"].(bool)
	return v
}

func highestQuality(validators []validator) int {
	highest := 0
	for _, v := range validators {
		highest = max(highest, v.quality)
	}
	return highest
}

func domainsOf(validators []validator) map[string]bool {
	out := map[string]bool{}
	for _, v := range validators {
		out[v.domain] = true
	}
	return out
}

// qset is SCPQuorumSet.
type qset struct {
	threshold  int
	validators []string
	inner      []qset
}

// loadQuorumSet mirrors Config::loadQset.
func (c *checker) loadQuorumSet(table map[string]any, level int) (qset, string) {
	if level > maxQuorumNesting {
		return qset{}, "too many levels in quorum set"
	}
	percent := int64(67)
	var q qset
	for _, k := range sortedKeys(table) {
		switch v := table[k]; k {
		case "THRESHOLD_PERCENT":
			p, ok := v.(int64)
			if !ok || p <= 0 || p > 100 {
				return q, fmt.Sprintf("invalid THRESHOLD_PERCENT %v: it must be a whole number from 1 to 100", v)
			}
			percent = p
		case "VALIDATORS":
			list, ok := v.([]any)
			if !ok {
				return q, "VALIDATORS must be an array of public keys"
			}
			for _, item := range list {
				key, _ := item.(string)
				if !ValidPublicKey(key) && !strings.HasPrefix(key, "$") {
					return q, fmt.Sprintf("bad public key %q", key)
				}
				q.validators = append(q.validators, key)
			}
		default:
			inner, ok := v.(map[string]any)
			if !ok {
				return q, fmt.Sprintf("invalid quorum set, should be a group while parsing '%s': "+
					"a key after [QUORUM_SET] belongs to it, so top-level keys must come before it", k)
			}
			sub, err := c.loadQuorumSet(inner, level+1)
			if err != "" {
				return q, err + " while parsing '" + k + "'"
			}
			q.inner = append(q.inner, sub)
		}
	}
	n := int64(len(q.validators) + len(q.inner))
	q.threshold = int(1 + (n*percent-1)/100)
	if n == 0 {
		return q, "invalid quorum set definition: it lists no validator"
	}
	return q, ""
}

type thresholdLevel int

const (
	levelSimpleMajority thresholdLevel = iota
	levelBFT
	levelAllRequired
)

// defaultThreshold mirrors computeDefaultThreshold in Config.cpp.
func defaultThreshold(q qset, level thresholdLevel) int {
	top := len(q.validators) + len(q.inner)
	switch {
	case top == 0:
		return 0
	case level == levelSimpleMajority && len(q.inner) == 0:
		return top - (top-1)/2
	case level == levelAllRequired:
		return top
	default:
		return top - (top-1)/3
	}
}

// safety mirrors Config::validateConfig and isQuorumSetSane (src/scp/QuorumSetUtils.cpp).
func (c *checker) safety(q qset, level thresholdLevel, unsafeOK bool) {
	top := len(q.validators) + len(q.inner)
	minSize := defaultThreshold(q, level)
	failureSafety := top - minSize
	if failureSafety >= q.minBlocking() {
		c.add(RuleUnsafeQuorum, "FAILURE_SAFETY incompatible with QUORUM_SET: a threshold of %d of %d leaves no room for a failure", q.threshold, top)
		return
	}
	if !unsafeOK {
		switch {
		case failureSafety == 0:
			c.add(RuleUnsafeQuorum, "SCP unsafe: a quorum of %d with threshold %d stops when any one of them fails; "+
				"it needs at least %d validators to tolerate one failure", top, q.threshold, minSafeSize(level))
		case q.threshold < minSize:
			c.add(RuleUnsafeQuorum, "SCP unsafe: THRESHOLD_PERCENT too low: %d of %d, at least %d is safe", q.threshold, top, minSize)
		}
	}
	if msg := q.sane(!unsafeOK); msg != "" {
		c.add(RuleInvalidQuorumSet, "Invalid QUORUM_SET: %s", msg)
	}
}

func minSafeSize(level thresholdLevel) int {
	if level == levelSimpleMajority {
		return 3
	}
	return 4
}

// sane mirrors QuorumSetSanityChecker.
func (q qset) sane(extraChecks bool) string {
	seen := map[string]bool{}
	count := 0
	var walk func(q qset, depth int) string
	walk = func(q qset, depth int) string {
		if depth > maxQuorumNesting {
			return "Maximum quorum nesting level exceeded"
		}
		if q.threshold < 1 {
			return "Threshold must be greater than 0"
		}
		total := len(q.validators) + len(q.inner)
		count += len(q.validators)
		if q.threshold > total {
			return "Threshold exceeds total number of entries"
		}
		if extraChecks && q.threshold < total-q.threshold+1 {
			return "Threshold is lower than the v-blocking size (< 51%)."
		}
		for _, v := range q.validators {
			if seen[v] {
				return "Duplicate node found in quorum configuration: " + v
			}
			seen[v] = true
		}
		for _, in := range q.inner {
			if msg := walk(in, depth+1); msg != "" {
				return msg
			}
		}
		return ""
	}
	if msg := walk(q, 0); msg != "" {
		return msg
	}
	if count < 1 || count > 1000 {
		return "Total number of nodes in a quorum must be within 1 and 1000"
	}
	return ""
}

// minBlocking is the size of the smallest v-blocking set (LocalNode::findClosestVBlocking over all
// nodes): the fewest failures that stop the quorum.
func (q qset) minBlocking() int {
	p := q.public()
	return p.MinBlocking()
}

// vBlocking mirrors LocalNode::isVBlockingInternal.
func (q qset) vBlocking(nodes []string) bool {
	if q.threshold == 0 {
		return false
	}
	left := 1 + len(q.validators) + len(q.inner) - q.threshold
	for _, v := range q.validators {
		if slices.Contains(nodes, v) {
			if left--; left <= 0 {
				return true
			}
		}
	}
	for _, in := range q.inner {
		if in.vBlocking(nodes) {
			if left--; left <= 0 {
				return true
			}
		}
	}
	return false
}

func (q qset) equal(o qset) bool {
	a, b := q.normalized(), o.normalized()
	return a.String() == b.String()
}

func (q qset) String() string {
	parts := []string{fmt.Sprint(q.threshold)}
	parts = append(parts, q.validators...)
	for _, in := range q.inner {
		parts = append(parts, "{"+in.String()+"}")
	}
	return strings.Join(parts, " ")
}

// normalized mirrors normalizeQSet: singleton inner sets merged into their parent, a set that is one
// inner set unwrapped, everything sorted.
func (q qset) normalized() qset {
	out := qset{threshold: q.threshold, validators: slices.Clone(q.validators)}
	for _, in := range q.inner {
		n := in.normalized()
		if n.threshold == 1 && len(n.validators) == 1 && len(n.inner) == 0 {
			out.validators = append(out.validators, n.validators[0])
			continue
		}
		out.inner = append(out.inner, n)
	}
	if out.threshold == 1 && len(out.validators) == 0 && len(out.inner) == 1 {
		out = out.inner[0]
	}
	slices.Sort(out.validators)
	sort.Slice(out.inner, func(i, j int) bool { return out.inner[i].String() < out.inner[j].String() })
	return out
}

// generateQuorumSet mirrors Config::generateQuorumSet: validators sorted by quality (highest first),
// then home domain; one inner set per home domain with a simple majority; each lower quality nested
// as one more inner set. It returns stellar-core's error message when it would refuse the entries.
func generateQuorumSet(validators []validator) (qset, string) {
	if len(validators) == 0 {
		return qset{}, ""
	}
	todo := slices.Clone(validators)
	sort.SliceStable(todo, func(i, j int) bool {
		if todo[i].quality != todo[j].quality {
			return todo[i].quality > todo[j].quality
		}
		return todo[i].domain < todo[j].domain
	})
	q, err := generateLevel(todo, 3)
	return q.normalized(), err
}

func generateLevel(todo []validator, quality int) (qset, string) {
	var ret qset
	i := 0
	for i < len(todo) && todo[i].quality == quality {
		var inner qset
		j := i
		for ; j < len(todo) && todo[j].domain == todo[i].domain; j++ {
			if todo[j].quality != todo[i].quality {
				return ret, fmt.Sprintf("Validators '%s' and '%s' must have same quality", todo[i].name, todo[j].name)
			}
			inner.validators = append(inner.validators, todo[j].key)
		}
		if len(inner.validators) < 3 && quality >= 2 {
			return ret, fmt.Sprintf("Critical and High quality validators for '%s' must have redundancy of at least 3", todo[i].domain)
		}
		inner.threshold = defaultThreshold(inner, levelSimpleMajority)
		ret.inner = append(ret.inner, inner)
		i = j
	}
	if i < len(todo) {
		lower, err := generateLevel(todo[i:], todo[i].quality)
		if err != "" {
			return ret, err
		}
		ret.inner = append(ret.inner, lower)
	}
	level := levelBFT
	if quality == 3 {
		level = levelAllRequired
	}
	ret.threshold = defaultThreshold(ret, level)
	return ret, ""
}
