package resources

import (
	"testing"

	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

func TestAnOperatorUpgradeKeepsTheLiveOperatorImage(t *testing.T) {
	node := fixture.Validator("ns", "v1")
	live := ValidatorStatefulSet(node, "", Options{OperatorImage: "registry.example.org/stellar-operator:v1.0.0"})
	desired := ValidatorStatefulSet(node, "", Options{OperatorImage: "registry.example.org/stellar-operator:v1.1.0@sha256:ab"})

	kept := WithLiveOperatorImage(desired, live)
	for _, c := range append(kept.Spec.Template.Spec.InitContainers, kept.Spec.Template.Spec.Containers...) {
		want := "registry.example.org/stellar-operator:v1.0.0"
		if c.Name == "stellar-core" {
			want = "stellar/stellar-core:27.1.0"
		}
		if c.Image != want {
			t.Errorf("container %s: image %s, want %s", c.Name, c.Image, want)
		}
	}
	if desired.Spec.Template.Spec.InitContainers[0].Image != "registry.example.org/stellar-operator:v1.1.0@sha256:ab" {
		t.Error("desired was changed in place")
	}

	// A hand edit to another repository is not another release of the operator: it is not kept.
	live.Spec.Template.Spec.Containers[1].Image = "evil.example.org/agent:v1.0.0"
	if got := WithLiveOperatorImage(desired, live).Spec.Template.Spec.Containers[1].Image; got != "registry.example.org/stellar-operator:v1.1.0@sha256:ab" {
		t.Errorf("the agent kept %s", got)
	}
}

func TestImageRepository(t *testing.T) {
	for ref, want := range map[string]string{
		"stellar-operator:latest":                "stellar-operator",
		"localhost:5000/stellar-operator:v1":     "localhost:5000/stellar-operator",
		"localhost:5000/stellar-operator":        "localhost:5000/stellar-operator",
		"registry.example.org/op@sha256:0123":    "registry.example.org/op",
		"registry.example.org/op:v2@sha256:0123": "registry.example.org/op",
	} {
		if got := imageRepository(ref); got != want {
			t.Errorf("%s: %s, want %s", ref, got, want)
		}
	}
}
