package resources

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// Every image the examples' nodes run is one SDF publishes: its repository SDF's, its tag named in
// docs/STELLAR_CORE.md's "Image tags", which cites where each published tag is read from.
func TestExamplesRunPublishedImages(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "STELLAR_CORE.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, tags, _ := strings.Cut(string(doc), "## Image tags")
	tags, _, _ = strings.Cut(tags, "\n## ")
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	repositories := map[stellarv1alpha1.NodeType]string{
		stellarv1alpha1.NodeTypeValidator: "stellar/stellar-core", stellarv1alpha1.NodeTypeHorizon: "stellar/stellar-horizon",
		stellarv1alpha1.NodeTypeSorobanRPC: "stellar/stellar-rpc",
	}
	seen := map[stellarv1alpha1.NodeType]int{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for d := range strings.SplitSeq(string(data), "\n---") {
			var node stellarv1alpha1.StellarNode
			if err := yaml.Unmarshal([]byte(d), &node); err != nil || node.Kind != "StellarNode" {
				continue
			}
			image := imageOr(&node, repositories[node.Spec.NodeType]+":")
			repo, tag, _ := strings.Cut(image, ":")
			if repo != repositories[node.Spec.NodeType] || !strings.Contains(tags, "`"+tag+"`") {
				t.Errorf("%s: %s runs %s: not an SDF repository with a tag docs/STELLAR_CORE.md names as published", f, node.Name, image)
			}
			seen[node.Spec.NodeType]++
		}
	}
	if len(seen) != 3 {
		t.Errorf("examples of %v only: want validators, Horizon and Soroban RPC", seen)
	}
}
