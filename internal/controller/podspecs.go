package controller

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const (
	// AnnotationPodSpecDigest is set by the cache, never written: the digest of the pod spec
	// SlimStatefulSet dropped from a cached StatefulSet.
	AnnotationPodSpecDigest = "stellar.org/cached-pod-spec-digest"
	// AnnotationPodSpecsCompared, written by the reconciler on its StatefulSet, is "<desired>/<live>":
	// the digests of the pod spec it wants and of the live one it last found, read in full, to be that
	// one with the API server's defaults. An operator started again trusts it while both still hold,
	// so it reads none of a thousand StatefulSets past its cache. Forged, it could only hide a hand
	// edit from someone who may edit the StatefulSet anyway.
	AnnotationPodSpecsCompared = "stellar.org/pod-specs-compared"
)

// SlimStatefulSet is the cache's transform of StatefulSets: it keeps their metadata, status and pod
// template metadata, and puts a digest in place of the pod spec, which at a thousand validators was
// a third of the operator's heap. Nothing may write a cached StatefulSet back whole; the reconciler
// applies its own object, discovery patches annotations only. The digest is computed from the pod
// spec whenever there is one, so a digest written back by mistake is never trusted.
func SlimStatefulSet(obj any) (any, error) {
	sts, ok := obj.(*appsv1.StatefulSet)
	if !ok {
		return obj, nil
	}
	if _, slim := sts.Annotations[AnnotationPodSpecDigest]; slim && len(sts.Spec.Template.Spec.Containers) == 0 {
		// The informer may hand an object it already holds to the transform again (a resync); a real
		// pod spec always has a container.
		return sts, nil
	}
	digest, err := podSpecDigest(&sts.Spec.Template.Spec)
	if err != nil {
		return nil, err
	}
	if sts.Annotations == nil {
		sts.Annotations = map[string]string{}
	}
	sts.Annotations[AnnotationPodSpecDigest] = digest
	sts.Spec.Template.Spec = corev1.PodSpec{}
	sts.ManagedFields = nil
	return sts, nil
}

func podSpecDigest(spec *corev1.PodSpec) (string, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// podSpecs remembers, per StatefulSet, the last full comparison of a desired pod spec with the live
// one, by their digests: of content, so a StatefulSet deleted and created again under its name is
// never mistaken. A live pod spec found the same as the desired one (that one with the API server's
// defaults) is not kept; one found different is, so a validator waiting for its rollout turn is
// rechecked without reading it again: only while a change waits.
type podSpecs struct {
	mu    sync.Mutex
	known map[client.ObjectKey]comparison
}

type comparison struct {
	desired, live string
	// differing is the live pod spec when it is not the desired one; nil when it is.
	differing *corev1.PodSpec
}

// lookup is the comparison of these digests, if it was made.
func (p *podSpecs) lookup(key client.ObjectKey, desired, live string) (comparison, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c, ok := p.known[key]
	return c, ok && c.desired == desired && c.live == live
}

func (p *podSpecs) remember(key client.ObjectKey, c comparison) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known == nil {
		p.known = map[client.ObjectKey]comparison{}
	}
	p.known[key] = c
}

func (p *podSpecs) forget(key client.ObjectKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.known, key)
}

// liveStatefulSet reads desired's live StatefulSet with its pod spec. When the cached digest shows the
// live pod spec is one compared with desired's before, the cached object is completed from that
// comparison (desired's pod spec when they were found the same, the live one kept otherwise);
// otherwise the StatefulSet is read in full from the API server (once per validator after a start,
// and after any change of its pod spec) and compared.
func (r *StellarNodeReconciler) liveStatefulSet(ctx context.Context, desired *appsv1.StatefulSet) (*appsv1.StatefulSet, error) {
	key := client.ObjectKeyFromObject(desired)
	live := &appsv1.StatefulSet{}
	if err := r.Get(ctx, key, live); err != nil {
		return nil, err
	}
	cached, slim := live.Annotations[AnnotationPodSpecDigest]
	if !slim {
		return live, nil
	}
	want, err := podSpecDigest(&desired.Spec.Template.Spec)
	if err != nil {
		return nil, err
	}
	c, compared := r.podSpecs.lookup(key, want, cached)
	switch {
	case compared && c.differing != nil:
		live.Spec.Template.Spec = *c.differing.DeepCopy()
		return live, nil
	case compared || live.Annotations[AnnotationPodSpecsCompared] == want+"/"+cached:
		live.Spec.Template.Spec = *desired.Spec.Template.Spec.DeepCopy()
		return live, nil
	}
	full := &appsv1.StatefulSet{}
	if err := r.APIReader.Get(ctx, key, full); err != nil {
		return nil, err
	}
	got, err := podSpecDigest(&full.Spec.Template.Spec)
	if err != nil {
		return nil, err
	}
	if !equality.Semantic.DeepDerivative(desired.Spec.Template.Spec, full.Spec.Template.Spec) {
		r.podSpecs.remember(key, comparison{desired: want, live: got, differing: full.Spec.Template.Spec.DeepCopy()})
		return full, nil
	}
	r.podSpecs.remember(key, comparison{desired: want, live: got})
	if full.Annotations[AnnotationPodSpecsCompared] != want+"/"+got {
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"annotations": map[string]string{AnnotationPodSpecsCompared: want + "/" + got}}})
		if err != nil {
			return nil, err
		}
		// Metadata only: the pod template, and so the pod, is left as it is.
		if err := r.Patch(ctx, full.DeepCopy(), client.RawPatch(types.MergePatchType, patch), client.FieldOwner(FieldOwner)); err != nil {
			return nil, err
		}
	}
	return full, nil
}
