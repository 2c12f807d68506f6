package controller

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

func TestTheCacheKeepsAStatefulSetsPodSpecAsADigestOfIt(t *testing.T) {
	slim := func(sts *appsv1.StatefulSet) *appsv1.StatefulSet {
		t.Helper()
		out, err := SlimStatefulSet(sts.DeepCopy())
		if err != nil {
			t.Fatal(err)
		}
		return out.(*appsv1.StatefulSet)
	}
	sts := resources.ValidatorStatefulSet(fixture.Validator("ns", "a"), "", resources.Options{})
	cached := slim(sts)
	if len(cached.Spec.Template.Spec.Containers) != 0 || len(cached.Spec.Template.Spec.Volumes) != 0 {
		t.Errorf("the cached StatefulSet still has its pod spec: %d containers, %d volumes",
			len(cached.Spec.Template.Spec.Containers), len(cached.Spec.Template.Spec.Volumes))
	}
	if cached.Spec.Template.Annotations[resources.AnnotationConfigHash] != sts.Spec.Template.Annotations[resources.AnnotationConfigHash] ||
		*cached.Spec.Replicas != *sts.Spec.Replicas {
		t.Error("the cached StatefulSet lost what the operator reads besides the pod spec")
	}
	digest := cached.Annotations[AnnotationPodSpecDigest]
	if digest == "" || slim(sts).Annotations[AnnotationPodSpecDigest] != digest {
		t.Fatalf("the digest %q is not stable", digest)
	}

	edited := sts.DeepCopy()
	edited.Spec.Template.Spec.Containers[0].Image = "evil/stellar-core:latest"
	if slim(edited).Annotations[AnnotationPodSpecDigest] == digest {
		t.Error("a pod spec edited by hand has the digest of the one before")
	}
	if again := slim(cached); again.Annotations[AnnotationPodSpecDigest] != digest {
		t.Error("a StatefulSet the cache holds already, handed to the transform again, lost its digest")
	}
	stale := sts.DeepCopy()
	stale.Annotations = map[string]string{AnnotationPodSpecDigest: "written back by mistake"}
	if slim(stale).Annotations[AnnotationPodSpecDigest] != digest {
		t.Error("a digest found on the object is trusted instead of computed")
	}
}

func TestOwnerReferencesCompareAsDeepDerivativeDoes(t *testing.T) {
	yes, no := true, false
	ref := func(name string, controller *bool) metav1.OwnerReference {
		return metav1.OwnerReference{APIVersion: "stellar.org/v1alpha1", Kind: "StellarNode", Name: name, UID: types.UID("uid-" + name), Controller: controller}
	}
	refs := []metav1.OwnerReference{ref("a", &yes), ref("b", nil), ref("c", &no)}
	cases := map[string]struct{ desired, live []metav1.OwnerReference }{
		"none wanted":             {nil, refs},
		"the same":                {refs, slices.Clone(refs)},
		"a prefix":                {refs[:2], refs},
		"one more than live":      {refs, refs[:2]},
		"another order":           {[]metav1.OwnerReference{refs[1], refs[0]}, refs},
		"a controller unset":      {[]metav1.OwnerReference{ref("a", nil)}, refs},
		"a controller live unset": {[]metav1.OwnerReference{ref("b", &yes)}, []metav1.OwnerReference{ref("b", nil)}},
		"another controller flag": {[]metav1.OwnerReference{ref("a", &no)}, refs},
		"a name unset":            {[]metav1.OwnerReference{{UID: "uid-a"}}, refs},
		"another UID":             {[]metav1.OwnerReference{{Name: "a", UID: "other"}}, refs},
		"blockOwnerDeletion":      {[]metav1.OwnerReference{{Name: "a", BlockOwnerDeletion: &yes}}, refs},
	}
	for name, c := range cases {
		if got, want := sameOwners(c.desired, c.live), equality.Semantic.DeepDerivative(c.desired, c.live); got != want {
			t.Errorf("%s: sameOwners says %v, DeepDerivative %v", name, got, want)
		}
	}
}
