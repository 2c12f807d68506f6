package controller

import (
	"fmt"
	"slices"
	"strings"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// Policy is what the operator's administrator allows beyond the API's grammar: whoever may create a
// StellarNode may otherwise run any image and any program as an archive command (docs/SECURITY.md).
type Policy struct {
	// ImageRegistries, when set, are the prefixes spec.image must start with ("registry.example.org/").
	ImageRegistries []string
	// ArchivePrograms, when set, are the programs objectStorage put and mkdir may run ("aws", "gsutil").
	ArchivePrograms []string
}

// PolicyError says what the policy refuses and what it allows.
type PolicyError struct{ Reason string }

func (e *PolicyError) Error() string { return e.Reason }

// Check refuses a node whose image or archive programs the policy does not allow.
func (p Policy) Check(node *stellarv1alpha1.StellarNode) error {
	if img := node.Spec.Image; img != "" && len(p.ImageRegistries) > 0 &&
		!slices.ContainsFunc(p.ImageRegistries, func(prefix string) bool { return strings.HasPrefix(img, prefix) }) {
		return &PolicyError{Reason: fmt.Sprintf("spec.image %q is not from an allowed registry (%s): the operator's --allowed-image-registries",
			img, strings.Join(p.ImageRegistries, ", "))}
	}
	obj := node.ObjectStorage()
	if obj == nil || len(p.ArchivePrograms) == 0 {
		return nil
	}
	// In a fixed order: the message reaches the status, which must not change between passes.
	for _, c := range []struct{ field, cmd string }{{"put", obj.Put}, {"mkdir", obj.Mkdir}} {
		field, cmd := c.field, c.cmd
		program, _, _ := strings.Cut(cmd, " ")
		if cmd != "" && !slices.Contains(p.ArchivePrograms, program) {
			return &PolicyError{Reason: fmt.Sprintf("spec.validatorConfig.history.objectStorage.%s runs %q, not an allowed program (%s): the operator's --allowed-archive-programs",
				field, program, strings.Join(p.ArchivePrograms, ", "))}
		}
	}
	return nil
}
