package resources

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// The SEP-1 fragments: one ConfigMap per home domain of a namespace's validators, holding the
// [[VALIDATORS]] section of the domain's stellar.toml.
const (
	StellarTOMLPrefix    = "stellar-toml-"
	StellarTOMLKey       = "validators.toml"
	StellarTOMLComponent = "stellar-toml"
	// AnnotationHomeDomain names the home domain a fragment is for.
	AnnotationHomeDomain = "stellar.org/home-domain"
)

// sep1Validator is one [[VALIDATORS]] entry of SEP-1 (stellar.toml's validator fields).
type sep1Validator struct {
	Alias       string `toml:"ALIAS"`
	DisplayName string `toml:"DISPLAY_NAME"`
	PublicKey   string `toml:"PUBLIC_KEY"`
	Host        string `toml:"HOST,omitempty"`
	History     string `toml:"HISTORY,omitempty"`
}

// maxDomainInName bounds the readable part of a fragment's name.
const maxDomainInName = 40

// StellarTOMLConfigMapName names the fragment of a home domain: the domain readable (lowercase, dots
// as dashes, at most 40 characters), then a short hash of the domain as written, so two domains never
// share a fragment (a-b.org, a.b-org and A.B-ORG read alike) and a 253-character one still has a name.
func StellarTOMLConfigMapName(homeDomain string) string {
	readable := strings.Trim(strings.ToLower(strings.ReplaceAll(homeDomain, ".", "-")), "-")
	if len(readable) > maxDomainInName {
		readable = strings.TrimRight(readable[:maxDomainInName], "-")
	}
	sum := sha256.Sum256([]byte(homeDomain))
	return StellarTOMLPrefix + readable + "-" + hex.EncodeToString(sum[:4])
}

// StellarTOMLConfigMaps are the fragments of a namespace's validators, one per home domain, sorted:
// every validator with a home domain and a public key, once, with its external address as HOST and
// its public archive as HISTORY where it has them. Each value is checked again against the input
// grammar: what the user serves at /.well-known/stellar.toml must hold nothing else. A validator
// whose values fail it is left out, and said in skipped; the others' fragments are still written.
func StellarTOMLConfigMaps(namespace string, nodes []*stellarv1alpha1.StellarNode) (_ []*corev1.ConfigMap, skipped []error, _ error) {
	byDomain := map[string][]sep1Validator{}
	for _, n := range nodes {
		vc := n.Spec.ValidatorConfig
		if !n.IsValidator() || n.DeletionTimestamp != nil || vc.HomeDomain == "" || vc.PublicKey == "" {
			continue
		}
		v := sep1Validator{Alias: n.Name, DisplayName: n.Name, PublicKey: vc.PublicKey,
			Host: n.Status.ExternalAddress, History: publicArchiveURL(n)}
		if err := checkSEP1(vc.HomeDomain, v); err != nil {
			skipped = append(skipped, fmt.Errorf("%s: %w", n.Name, err))
			continue
		}
		byDomain[vc.HomeDomain] = append(byDomain[vc.HomeDomain], v)
	}
	out := make([]*corev1.ConfigMap, 0, len(byDomain))
	for _, domain := range slices.Sorted(func(yield func(string) bool) {
		for d := range byDomain {
			if !yield(d) {
				return
			}
		}
	}) {
		validators := byDomain[domain]
		slices.SortFunc(validators, func(a, b sep1Validator) int { return cmp.Compare(a.Alias, b.Alias) })
		var body bytes.Buffer
		fmt.Fprintf(&body, "# The [[VALIDATORS]] of %s in namespace %s, written by stellar-operator: serve them in\n"+
			"# https://%s/.well-known/stellar.toml (SEP-1).\n", domain, namespace, domain)
		if err := toml.NewEncoder(&body).Encode(map[string][]sep1Validator{"VALIDATORS": validators}); err != nil {
			return nil, skipped, err
		}
		out = append(out, &corev1.ConfigMap{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: StellarTOMLConfigMapName(domain), Namespace: namespace,
				Labels:      NamespaceConfigMapLabels(AppName, StellarTOMLComponent),
				Annotations: map[string]string{AnnotationHomeDomain: domain}},
			Data: map[string]string{StellarTOMLKey: body.String()},
		})
	}
	return out, skipped, nil
}

// publicArchiveURL is where everyone reads the validator's archive: its object storage, else the
// public URL of its own archive, else "".
func publicArchiveURL(n *stellarv1alpha1.StellarNode) string {
	if obj := n.ObjectStorage(); obj != nil {
		return obj.URL
	}
	if h := n.Spec.ValidatorConfig.History; h != nil {
		return h.PublicURL
	}
	return ""
}

func checkSEP1(domain string, v sep1Validator) error {
	checks := []error{stellarv1alpha1.ValidHost("home domain", domain), stellarv1alpha1.ValidName("alias", v.Alias),
		stellarv1alpha1.ValidPublicKey("public key", v.PublicKey)}
	if v.Host != "" {
		checks = append(checks, stellarv1alpha1.ValidAddress("external address", v.Host))
	}
	if v.History != "" {
		checks = append(checks, stellarv1alpha1.ValidURL("archive URL", v.History))
	}
	for _, err := range checks {
		if err != nil {
			return err
		}
	}
	return nil
}
