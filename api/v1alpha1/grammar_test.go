package v1alpha1

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// crdPatterns are the patterns of the generated CRD, by field path.
func crdPatterns(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("../../config/crd/bases/stellar.org_stellarnodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch t := v.(type) {
		case map[string]any:
			if p, ok := t["pattern"].(string); ok {
				out[path] = p
			}
			for k, child := range t {
				next := path
				if k != "properties" && k != "items" && k != "openAPIV3Schema" && k != "schema" {
					next = path + "." + k
				}
				walk(next, child)
			}
		case []any:
			for _, child := range t {
				walk(path, child)
			}
		}
	}
	walk("", crd["spec"].(map[string]any)["versions"])
	return out
}

// The API server enforces exactly the grammar the checker and render-config enforce.
func TestCRDPatternsAreTheGrammar(t *testing.T) {
	want := map[string]string{
		".spec.validatorConfig.historyArchiveUrls":                  URLPattern,
		".spec.validatorConfig.quorum.validators.historyArchiveUrl": URLPattern,
		".spec.validatorConfig.history.objectStorage.url":           URLPattern,
		".spec.validatorConfig.history.objectStorage.put":           CommandPattern,
		".spec.validatorConfig.history.objectStorage.mkdir":         CommandPattern,
		".spec.validatorConfig.knownPeers":                          AddressPattern,
		".spec.validatorConfig.externalPeer.advertisedAddress":      AddressPattern,
		".spec.validatorConfig.history.publicURL":                   URLPattern,
		".spec.validatorConfig.quorum.validators.address":           AddressPattern,
		".spec.validatorConfig.homeDomain":                          HostPattern,
		".spec.validatorConfig.quorum.validators.homeDomain":        HostPattern,
		".spec.validatorConfig.quorum.homeDomains.homeDomain":       HostPattern,
		".spec.image":                         ImagePattern,
		".spec.validatorConfig.seedSecretRef": ObjectNamePattern,
		".spec.validatorConfig.history.objectStorage.credentialsSecretRef": ObjectNamePattern,
		".spec.customNetworkPassphrase":                                    TextPattern,
		".spec.validatorConfig.quorumSet":                                  DocumentPattern,
	}
	got := crdPatterns(t)
	for path, pattern := range want {
		if got[path] != pattern {
			t.Errorf("%s: the CRD's pattern is %q, the grammar's %q", path, got[path], pattern)
		}
	}
	// No pattern of the CRD admits a space or a control character of any kind.
	for path, p := range got {
		re := regexp.MustCompile(p)
		for _, r := range []string{" ", "\t", "\n", "\v", "\f", "\r", "\u0085", "\u00a0", "\u2028", "\x00", "\x1b"} {
			if r == " " && (strings.HasSuffix(path, ".put") || strings.HasSuffix(path, ".mkdir") || path == ".spec.customNetworkPassphrase") {
				continue // single spaces separate a command's arguments; a passphrase is words
			}
			if (path == ".spec.validatorConfig.quorumSet" || strings.HasSuffix(path, "nnotations.additionalProperties")) && strings.ContainsAny(r, " \t\n\r") {
				continue // a TOML document and an annotation value have lines
			}
			for _, probe := range []string{"a" + r + "a", "http://a" + r + "a", "a:1" + r} {
				if re.MatchString(probe) {
					t.Errorf("%s admits %q", path, probe)
				}
			}
		}
	}
}

// The CEL rule on a validator's version is the grammar's VersionPattern.
func TestVersionRuleIsTheGrammar(t *testing.T) {
	data, err := os.ReadFile("../../config/crd/bases/stellar.org_stellarnodes.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := "self.version.matches('" + VersionPattern + "')"; !strings.Contains(string(data), want) {
		t.Errorf("the CRD has no rule %s", want)
	}
}

// The hostile values of the issue that reported the leak, and their kin, are refused; the values
// users write are kept.
func TestGrammar(t *testing.T) {
	for _, bad := range []string{
		"http://127.0.0.1:1/x\v--data-binary\v@/etc/stellar/rendered/stellar-core.cfg\v-H\vx:",
		"http://a/x y", "http://a/x\ty", "http://a/{2}", "http://a/{0}", "http://a/(x)", "http://a/$(id)", "http://a/`id`",
		"http://a/x;y", "http://a/x|y", "http://a/x&y", "http://a/'x'", `http://a/"x"`, "http://a/x\\y", "ftp://a/x",
		"http://-a/x", "http://a/x\u00a0y", "http://a/x\u2028y",
	} {
		if err := ValidURL("url", bad); err == nil {
			t.Errorf("URL %q accepted", bad)
		}
	}
	for _, good := range []string{"https://history.stellar.org/prd/core-testnet/core_testnet_001", "http://validator-1-0.validator-1-headless.stellar.svc.cluster.local:11627",
		"https://storage.googleapis.com/bucket/core-1/", "http://127.0.0.1:9/archive"} {
		if err := ValidURL("url", good); err != nil {
			t.Errorf("URL %q refused: %v", good, err)
		}
	}
	for _, bad := range []string{"aws s3 cp {0} s3://b/{1} --endpoint-url=http://x", "cp  {0} {1}", "cp\v{0} {1}", "cp {0} {1} ",
		"sh -c x;y", "cp {2} {1}", "cp {0} '{1}'", "cp {0} $HOME/{1}", "cp {0} >{1}"} {
		if err := ValidCommand("put", bad); err == nil {
			t.Errorf("command %q accepted", bad)
		}
	}
	for _, good := range []string{"aws s3 cp {0} s3://bucket/core/{1}", "gsutil cp {0} gs://bucket/{1}", "mkdir -p /data/history/{0}"} {
		err := ValidCommand("put", good)
		if strings.Contains(good, " -p ") {
			if err == nil {
				t.Errorf("%q: an argument starting with - must be refused", good)
			}
			continue
		}
		if err != nil {
			t.Errorf("command %q refused: %v", good, err)
		}
	}
}

func TestUpgradeKeyPatternIsTheGrammar(t *testing.T) {
	data, err := os.ReadFile("../../config/crd/bases/stellar.org_stellarnetworkupgrades.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if want := "pattern: " + ConfigUpgradeSetKeyPattern; !strings.Contains(string(data), want) {
		t.Errorf("the CRD has no %s", want)
	}
	for _, bad := range []string{strings.Repeat("A", 86) + "=", strings.Repeat("A", 85) + "\v==", strings.Repeat("A", 85) + "&==", ""} {
		if ValidConfigUpgradeSetKey("key", bad) == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	if err := ValidConfigUpgradeSetKey("key", strings.Repeat("A", 86)+"=="); err != nil {
		t.Error(err)
	}
}

// Every string field of the API the user writes has a pattern or an enum: none admits a line
// separator, which a YAML reader folds into a space (what is stored would not be what was checked).
func TestEveryStringFieldHasAGrammar(t *testing.T) {
	// Kubernetes' own types embedded in the spec, validated where Kubernetes uses them.
	embedded := []string{".spec.resources.", ".spec.validatorSelector.", ".spec.scheduling.affinity.", ".spec.scheduling.tolerations[]",
		".spec.scheduling.topologySpreadConstraints[]", ".spec.scheduling.imagePullSecrets[]"}
	for _, file := range []string{"stellar.org_stellarnodes.yaml", "stellar.org_stellarnetworkupgrades.yaml"} {
		data, err := os.ReadFile("../../config/crd/bases/" + file)
		if err != nil {
			t.Fatal(err)
		}
		var crd map[string]any
		if err := yaml.Unmarshal(data, &crd); err != nil {
			t.Fatal(err)
		}
		schema := crd["spec"].(map[string]any)["versions"].([]any)[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
		var walk func(path string, n map[string]any)
		walk = func(path string, n map[string]any) {
			if n["type"] == "string" && n["pattern"] == nil && n["enum"] == nil && n["format"] == nil {
				free := true
				for _, prefix := range embedded {
					free = free && !strings.HasPrefix(path, prefix)
				}
				if free {
					t.Errorf("%s %s: a string field with neither pattern nor enum", file, path)
				}
			}
			props, _ := n["properties"].(map[string]any)
			for k, v := range props {
				walk(path+"."+k, v.(map[string]any))
			}
			if items, ok := n["items"].(map[string]any); ok {
				walk(path+"[]", items)
			}
			if add, ok := n["additionalProperties"].(map[string]any); ok {
				walk(path+"{}", add)
			}
		}
		walk(".spec", schema["properties"].(map[string]any)["spec"].(map[string]any))
	}
	for _, bad := range []string{"Probe\u0085Net", "a\u2028b", "a\u2029b", "a\nb", "a\x00b", "a\u009bb"} {
		if ValidText("passphrase", bad, 256) == nil {
			t.Errorf("text %q accepted", bad)
		}
		if strings.ContainsAny(bad, "\n") {
			continue
		}
		if ValidDocument("quorumSet", bad, 256) == nil {
			t.Errorf("document %q accepted", bad)
		}
	}
	if err := ValidText("passphrase", "Test SDF Network ; September 2015", 256); err != nil {
		t.Error(err)
	}
	if err := ValidDocument("quorumSet", "THRESHOLD_PERCENT = 67\r\n\tVALIDATORS = [\"$a\"]\n", 256); err != nil {
		t.Error(err)
	}
}

// Hosts no validator may be sent to: metadata services, link-local, this host, and loopback unless
// the test bed allows it. Names are judged as written, never looked up.
func TestValidDialHost(t *testing.T) {
	for _, bad := range []string{"169.254.169.254", "169.254.0.1", "metadata.google.internal", "METADATA.google.internal.",
		"100.100.100.200", "instance-data", "0.0.0.0", "0.1.2.3"} {
		for _, loopback := range []bool{false, true} {
			if ValidDialHost("peer", bad, loopback) == nil {
				t.Errorf("%s accepted (loopback allowed: %v)", bad, loopback)
			}
		}
	}
	for _, lo := range []string{"127.0.0.1", "127.3.2.1", "localhost", "x.localhost"} {
		if ValidDialHost("peer", lo, false) == nil {
			t.Errorf("%s accepted without the test bed's allowance", lo)
		}
		if err := ValidDialHost("peer", lo, true); err != nil {
			t.Errorf("%s refused on a test bed: %v", lo, err)
		}
	}
	for _, good := range []string{"10.0.0.7", "198.18.0.5", "core1.example.org", "validator-0.validator-headless.stellar.svc.cluster.local", "203.0.113.7"} {
		if err := ValidDialHost("peer", good, false); err != nil {
			t.Errorf("%s refused: %v", good, err)
		}
	}
	if ValidDialAddress("peer", "169.254.169.254:80", true) == nil || ValidDialAddress("peer", "127.0.0.1:11626", false) == nil {
		t.Error("an address's host is not judged")
	}
	if ValidDialURL("archive", "http://169.254.169.254/latest/meta-data/", true) == nil {
		t.Error("a URL's host is not judged")
	}
	if err := ValidDialURL("archive", "https://history.stellar.org/prd/core-live/core_live_001", false); err != nil {
		t.Error(err)
	}
}
