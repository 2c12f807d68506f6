package controller

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

func withMkdir(n *stellarv1alpha1.StellarNode, mkdir string) *stellarv1alpha1.StellarNode {
	n.Spec.ValidatorConfig.History.ObjectStorage.Mkdir = mkdir
	return n
}

func TestPolicy(t *testing.T) {
	node := func(image, put string) *stellarv1alpha1.StellarNode {
		n := &stellarv1alpha1.StellarNode{ObjectMeta: metav1.ObjectMeta{Name: "v"}, Spec: stellarv1alpha1.StellarNodeSpec{
			NodeType: stellarv1alpha1.NodeTypeValidator, Network: stellarv1alpha1.NetworkTestnet, Version: "27.1.0", Image: image,
			ValidatorConfig: &stellarv1alpha1.ValidatorConfig{SeedSecretRef: "s"}}}
		if put != "" {
			n.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Publish: new(true),
				ObjectStorage: &stellarv1alpha1.ObjectStorageArchive{Put: put, URL: "https://b.example.org/x"}}
		}
		return n
	}
	strict := Policy{ImageRegistries: []string{"registry.example.org/"}, ArchivePrograms: []string{"aws"}}
	for _, c := range []struct {
		policy Policy
		node   *stellarv1alpha1.StellarNode
		want   string
	}{
		{Policy{}, node("evil.example.com/core:1", "curl -T {0} http://x/{1}"), ""},
		{strict, node("", "aws s3 cp {0} s3://b/{1}"), ""},
		{strict, node("registry.example.org/stellar-core:27.1.0", ""), ""},
		{strict, node("evil.example.com/core:1", ""), "not from an allowed registry"},
		{strict, node("registry.example.org.evil.com/core:1", ""), "not from an allowed registry"},
		{strict, node("", "curl -T {0} http://x/{1}"), `runs "curl"`},
		// Both refused: always the put first, so the status says the same thing every pass.
		{strict, withMkdir(node("", "gsutil cp {0} gs://b/{1}"), "mkdir {0}"), `put runs "gsutil"`},
	} {
		err := c.policy.Check(c.node)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v on %q/%v: %v, want %q", c.policy, c.node.Spec.Image, c.node.ObjectStorage(), err, c.want)
		}
	}
}
