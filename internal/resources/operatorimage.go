package resources

import (
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/stellar-k8s/stellar-operator/internal/renderconfig"
)

// operatorContainers run the operator's own binary in a validator's pod: the render-config init step
// and the agent. A new operator image changes them and nothing else.
var operatorContainers = []string{renderconfig.Command, AgentContainer}

// WithLiveOperatorImage is desired with the operator containers on the image live runs them with, when
// that is another tag or digest of the same repository (another release of this operator; a hand edit
// to any other image is reverted as always). An operator upgrade alone would replace every validator's
// pod (each leaving consensus to catch up) for nothing the validator needs; the caller keeps the live
// image when that is the only change, and the pod takes the new one with the next change that replaces
// it anyway.
func WithLiveOperatorImage(desired, live *appsv1.StatefulSet) *appsv1.StatefulSet {
	out := desired.DeepCopy()
	keep := func(containers []corev1.Container, live []corev1.Container) {
		for i := range containers {
			if !slices.Contains(operatorContainers, containers[i].Name) {
				continue
			}
			j := slices.IndexFunc(live, func(c corev1.Container) bool { return c.Name == containers[i].Name })
			if j >= 0 && imageRepository(live[j].Image) == imageRepository(containers[i].Image) {
				containers[i].Image = live[j].Image
			}
		}
	}
	keep(out.Spec.Template.Spec.InitContainers, live.Spec.Template.Spec.InitContainers)
	keep(out.Spec.Template.Spec.Containers, live.Spec.Template.Spec.Containers)
	return out
}

// imageRepository is an image reference without its digest and tag.
func imageRepository(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}
