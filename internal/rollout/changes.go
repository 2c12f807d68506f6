package rollout

import (
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

// BaseConfigChange is the change of a validator's base configuration, before WithBaseKeys names its keys.
const BaseConfigChange = "base configuration"

// annotationWhy names the pod-template annotations whose change replaces a pod, by what they stand for.
var annotationWhy = map[string]string{
	resources.AnnotationConfigHash: BaseConfigChange,
	peers.AnnotationMembership:     "quorum membership",
	peers.AnnotationRestartedAt:    "restart asked",
}

// Changes says what in desired's pod template differs from live's, each in words: the reason applying
// it replaces the running pod. Only the fields desired sets count, as the reconciler applies only
// those; nil when the pod stays.
func Changes(desired, live *appsv1.StatefulSet) []string {
	d, l := desired.Spec.Template, live.Spec.Template
	var out []string
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range d.Annotations {
			if !yield(k) {
				return
			}
		}
	}) {
		if d.Annotations[key] != l.Annotations[key] {
			what := annotationWhy[key]
			if what == "" {
				what = "annotation " + key
			}
			out = append(out, what)
		}
	}
	if !equality.Semantic.DeepDerivative(d.Labels, l.Labels) {
		out = append(out, "pod labels")
	}
	out = append(out, containerChanges("init container ", d.Spec.InitContainers, l.Spec.InitContainers)...)
	out = append(out, containerChanges("container ", d.Spec.Containers, l.Spec.Containers)...)
	if !equality.Semantic.DeepDerivative(d.Spec.Volumes, l.Spec.Volumes) {
		out = append(out, "volumes")
	}
	rest, liveRest := d.Spec, l.Spec
	rest.InitContainers, rest.Containers, rest.Volumes = nil, nil, nil
	liveRest.InitContainers, liveRest.Containers, liveRest.Volumes = nil, nil, nil
	if !equality.Semantic.DeepDerivative(rest, liveRest) {
		out = append(out, "pod spec")
	}
	if len(out) == 0 && !equality.Semantic.DeepDerivative(d, l) {
		out = append(out, "pod template")
	}
	return out
}

// containerChanges names what differs in each container of desired from the live one of its name.
func containerChanges(kind string, desired, live []corev1.Container) []string {
	var out []string
	for _, dc := range desired {
		i := slices.IndexFunc(live, func(c corev1.Container) bool { return c.Name == dc.Name })
		if i < 0 {
			out = append(out, kind+dc.Name+" added")
			continue
		}
		lc := live[i]
		if dc.Image != lc.Image {
			out = append(out, fmt.Sprintf("%s%s image %s -> %s", kind, dc.Name, lc.Image, dc.Image))
		}
		for _, part := range []struct {
			what   string
			differ bool
		}{
			{"arguments", !equality.Semantic.DeepDerivative(dc.Command, lc.Command) || !equality.Semantic.DeepDerivative(dc.Args, lc.Args)},
			{"environment", !equality.Semantic.DeepDerivative(dc.Env, lc.Env)},
			{"resources", !equality.Semantic.DeepDerivative(dc.Resources, lc.Resources)},
		} {
			if part.differ {
				out = append(out, kind+dc.Name+" "+part.what)
			}
		}
		dRest, lRest := dc, lc
		dRest.Image, dRest.Command, dRest.Args, dRest.Env, dRest.Resources = "", nil, nil, nil, corev1.ResourceRequirements{}
		lRest.Image, lRest.Command, lRest.Args, lRest.Env, lRest.Resources = "", nil, nil, nil, corev1.ResourceRequirements{}
		if !equality.Semantic.DeepDerivative(dRest, lRest) {
			out = append(out, kind+dc.Name+" settings")
		}
	}
	for _, lc := range live {
		if !slices.ContainsFunc(desired, func(c corev1.Container) bool { return c.Name == lc.Name }) {
			out = append(out, kind+lc.Name+" removed")
		}
	}
	return out
}

// WithBaseKeys names the keys of a base configuration change ("base config: QUORUM_SET"), once they
// are known; changes without one, or no keys, are returned as they are.
func WithBaseKeys(changes, keys []string) []string {
	i := slices.Index(changes, BaseConfigChange)
	if i < 0 || len(keys) == 0 {
		return changes
	}
	named := make([]string, len(keys))
	for k, key := range keys {
		named[k] = "base config: " + key
	}
	return slices.Concat(changes[:i], named, changes[i+1:])
}
