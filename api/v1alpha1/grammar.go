package v1alpha1

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
)

// The input grammar: every value that reaches a stellar-core configuration or a command line matches
// one of these allowlists. Each is enforced three times from this one definition: by the API server
// (the CRD's patterns, which grammar_test.go pins to these constants), by stellarcore.Check on the
// final file, and by render-config on what it reads from stellar-peers. None admits a space or
// control character of any kind, a quote, a brace other than the {0}/{1} placeholders of an archive
// command, a shell metacharacter, or an argument that starts with "-".
const (
	// HostPattern is a DNS name or an IPv4 address.
	HostPattern = `^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$`
	// AddressPattern is host:port.
	AddressPattern = `^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$`
	// URLPattern is an http(s) URL of a history archive: host, optional port, a path of safe characters.
	URLPattern = `^https?://[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]{1,5})?(/[A-Za-z0-9._~%+=:@/-]*)?$`
	// CommandPattern is an archive command: arguments separated by single spaces, each of safe
	// characters and the {0}/{1} placeholders, none starting with "-".
	CommandPattern = `^` + argument + `( ` + argument + `)*$`
	// ImagePattern is a container image reference.
	ImagePattern = `^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`
	// PublicKeyPattern is a G... strkey (its checksum is checked where it is decoded).
	PublicKeyPattern = `^G[A-Z2-7]{55}$`
	// VersionPattern is a stellar-core release: major.minor.patch, an optional "v" and a suffix
	// (image tags such as "27.1.0-2790.abc.noble"). The CRD's CEL rule on a validator's version uses it.
	VersionPattern = `^v?[0-9]+[.][0-9]+[.][0-9]+([-.+_][A-Za-z0-9._+-]*)?$`
	// EntryNamePattern is the NAME of a [[VALIDATORS]] entry.
	EntryNamePattern = `^[A-Za-z0-9_.-]+$`
	// ObjectNamePattern is a Kubernetes object name (a DNS subdomain).
	ObjectNamePattern = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	// TextPattern is free text that reaches a configuration (a Custom network's passphrase): visible
	// characters and plain spaces; no control or format character and no other space, line or
	// paragraph separator (U+0085, U+2028, U+2029 among them), which YAML readers fold into spaces, so
	// what is stored would not be what was checked.
	TextPattern = `^[^\p{C}\p{Z}]*( [^\p{C}\p{Z}]*)*$`
	// DocumentPattern is a multi-line document (a quorumSet in TOML): TextPattern's characters with
	// tabs and line breaks.
	DocumentPattern = `^[^\p{C}\p{Z}]*([ \t\r\n][^\p{C}\p{Z}]*)*$`
	// ConfigUpgradeSetKeyPattern is a ConfigUpgradeSetKey in base64 XDR (a contract ID and a content
	// hash, 64 bytes), as upgrades?mode=set takes configupgradesetkey.
	ConfigUpgradeSetKeyPattern = `^[A-Za-z0-9+/]{86}==$`

	argument = `([A-Za-z0-9_./:@%+=,~]|\{[01]\})([A-Za-z0-9_./:@%+=,~-]|\{[01]\})*`
)

var (
	hostRE    = regexp.MustCompile(HostPattern)
	addressRE = regexp.MustCompile(AddressPattern)
	urlRE     = regexp.MustCompile(URLPattern)
	commandRE = regexp.MustCompile(CommandPattern)
	argRE     = regexp.MustCompile(`^` + argument + `$`)
	keyRE     = regexp.MustCompile(PublicKeyPattern)
	nameRE    = regexp.MustCompile(ObjectNamePattern)
	entryRE   = regexp.MustCompile(EntryNamePattern)
	upgradeRE = regexp.MustCompile(ConfigUpgradeSetKeyPattern)
	textRE    = regexp.MustCompile(TextPattern)
	docRE     = regexp.MustCompile(DocumentPattern)
)

// GrammarError says which value broke which grammar, quoting it safely.
type GrammarError struct{ What, Value, Allowed string }

func (e *GrammarError) Error() string {
	return fmt.Sprintf("%s %q is not allowed: %s", e.What, e.Value, e.Allowed)
}

func check(re *regexp.Regexp, what, value, allowed string, maxLen int) error {
	if len(value) > maxLen || !re.MatchString(value) {
		return &GrammarError{What: what, Value: value, Allowed: allowed}
	}
	return nil
}

// ValidHost checks a DNS name or an IPv4 address.
func ValidHost(what, s string) error {
	return check(hostRE, what, s, "a DNS name or an IPv4 address", 253)
}

// ValidAddress checks host:port.
func ValidAddress(what, s string) error {
	return check(addressRE, what, s, "host:port with a DNS name or IPv4 address", 260)
}

// ValidURL checks an http(s) archive URL.
func ValidURL(what, s string) error {
	return check(urlRE, what, s, "http(s)://host[:port][/path] of letters, digits and . _ ~ % + = : @ / -", 2048)
}

// ValidCommand checks an archive command.
func ValidCommand(what, s string) error {
	return check(commandRE, what, s, "arguments of letters, digits, . _ / : @ % + = , ~ - and {0} {1}, "+
		"separated by single spaces, none starting with -", 1024)
}

// ValidArgument checks one argument of an archive command.
func ValidArgument(what, s string) error {
	return check(argRE, what, s, "letters, digits, . _ / : @ % + = , ~ - and {0} {1}, not starting with -", 1024)
}

// ValidIPv4 checks a pod IP.
func ValidIPv4(what, s string) error {
	if a, err := netip.ParseAddr(s); err != nil || !a.Is4() || a.String() != s {
		return &GrammarError{What: what, Value: s, Allowed: "an IPv4 address"}
	}
	return nil
}

// ValidQuality checks a quality name.
func ValidQuality(what, s string) error {
	for _, q := range []Quality{QualityLow, QualityMedium, QualityHigh, QualityCritical} {
		if s == string(q) {
			return nil
		}
	}
	return &GrammarError{What: what, Value: s, Allowed: "LOW, MEDIUM, HIGH or CRITICAL"}
}

// ValidName checks a Kubernetes object name.
func ValidName(what, s string) error {
	return check(nameRE, what, s, "a lowercase DNS name", 253)
}

// ValidEntryName checks the NAME of a [[VALIDATORS]] entry.
func ValidEntryName(what, s string) error {
	return check(entryRE, what, s, "letters, digits, _ . -", 253)
}

// ValidPublicKey checks the shape of a G... public key.
func ValidPublicKey(what, s string) error {
	return check(keyRE, what, s, "a G... public key", 56)
}

// TrimURL is a URL without its trailing slashes, as the operator joins it with archive paths.
func TrimURL(u string) string { return strings.TrimRight(u, "/") }

// ValidConfigUpgradeSetKey checks a Soroban settings key of a vote.
func ValidConfigUpgradeSetKey(what, s string) error {
	return check(upgradeRE, what, s, "88 characters of base64 (a 64-byte ConfigUpgradeSetKey)", 88)
}

// ValidText checks free text of at most maxLen bytes, such as a network passphrase.
func ValidText(what, s string, maxLen int) error {
	return check(textRE, what, s, "printable characters, no control character or line separator", maxLen)
}

// ValidDocument checks a multi-line document of at most maxLen bytes, such as a quorumSet.
func ValidDocument(what, s string, maxLen int) error {
	return check(docRE, what, s, "printable characters, tabs and line breaks, no other control character or line separator", maxLen)
}

// metadataHosts are the names and addresses where clouds serve instance metadata and credentials
// (AWS, GCP, Azure, Oracle: 169.254.169.254 and its names; Alibaba: 100.100.100.200).
var metadataHosts = map[string]bool{
	"metadata": true, "metadata.google.internal": true, "metadata.azure.internal": true,
	"instance-data": true, "instance-data.ec2.internal": true, "100.100.100.200": true,
}

// DialError is a host no validator may be made to dial.
type DialError struct{ What, Host, Why string }

func (e *DialError) Error() string {
	return fmt.Sprintf("%s %q is refused: %s", e.What, e.Host, e.Why)
}

// ValidDialHost refuses a peer or archive host that a validator pod must never be sent to: a
// link-local address (169.254.0.0/16, where clouds answer with instance credentials), a metadata
// service, 0.0.0.0/8 (this host), and loopback (the validator's own admin port) unless loopback is
// allowed, as only a test bed on one machine does (--allow-loopback-peers). A name is judged by its
// spelling: no lookup is made.
func ValidDialHost(what, host string, loopback bool) error {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if metadataHosts[h] {
		return &DialError{What: what, Host: host, Why: "a cloud metadata service"}
	}
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		if loopback {
			return nil
		}
		return &DialError{What: what, Host: host, Why: "loopback: the validator's own pod (allowed only with --allow-loopback-peers)"}
	}
	a, err := netip.ParseAddr(h)
	if err != nil {
		return nil
	}
	switch {
	case a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast():
		return &DialError{What: what, Host: host, Why: "link-local, where clouds serve instance metadata"}
	case a.Is4() && a.As4()[0] == 0, a.IsUnspecified():
		return &DialError{What: what, Host: host, Why: "0.0.0.0/8 is this host"}
	case a.IsLoopback() && !loopback:
		return &DialError{What: what, Host: host, Why: "loopback: the validator's own pod (allowed only with --allow-loopback-peers)"}
	}
	return nil
}

// ValidDialAddress is ValidDialHost of host:port.
func ValidDialAddress(what, address string, loopback bool) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		host = address
	}
	return ValidDialHost(what, host, loopback)
}

// ValidDialURL is ValidDialHost of an http(s) URL's host.
func ValidDialURL(what, raw string, loopback bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return &GrammarError{What: what, Value: raw, Allowed: "an http(s) URL"}
	}
	return ValidDialHost(what, u.Hostname(), loopback)
}
