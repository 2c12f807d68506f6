package rollout

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func statefulSet(mutate func(*corev1.PodTemplateSpec)) *appsv1.StatefulSet {
	sts := &appsv1.StatefulSet{}
	sts.Spec.Template.Annotations = map[string]string{"stellar.org/config-hash": "aaa"}
	sts.Spec.Template.Spec.InitContainers = []corev1.Container{{Name: "render-config", Image: "op:1", Args: []string{"render-config"}}}
	sts.Spec.Template.Spec.Containers = []corev1.Container{
		{Name: "stellar-core", Image: "stellar/stellar-core:22.1.0", Resources: corev1.ResourceRequirements{
			Limits: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("4Gi")}}},
		{Name: "agent", Image: "op:1", Args: []string{"agent", "--port=11628"}},
	}
	if mutate != nil {
		mutate(&sts.Spec.Template)
	}
	return sts
}

func TestChangesSayWhatReplacesThePod(t *testing.T) {
	live := statefulSet(nil)
	// What the API server adds (defaults) is no change.
	defaulted := statefulSet(func(p *corev1.PodTemplateSpec) {
		p.Spec.Containers[0].TerminationMessagePath = "/dev/termination-log"
		p.Spec.RestartPolicy = corev1.RestartPolicyAlways
	})
	if got := Changes(statefulSet(nil), defaulted); got != nil {
		t.Errorf("defaults counted as changes: %v", got)
	}
	for _, c := range []struct {
		name   string
		mutate func(*corev1.PodTemplateSpec)
		want   []string
	}{
		{"a new version", func(p *corev1.PodTemplateSpec) { p.Spec.Containers[0].Image = "stellar/stellar-core:22.3.0" },
			[]string{"container stellar-core image stellar/stellar-core:22.1.0 -> stellar/stellar-core:22.3.0"}},
		{"a new operator", func(p *corev1.PodTemplateSpec) {
			p.Spec.InitContainers[0].Image, p.Spec.Containers[1].Image = "op:2", "op:2"
			p.Spec.Containers[1].Args = append(p.Spec.Containers[1].Args, "--votes=/etc/stellar/votes/votes.json")
			p.Spec.Volumes = []corev1.Volume{{Name: "votes"}}
		}, []string{"init container render-config image op:1 -> op:2", "container agent image op:1 -> op:2", "container agent arguments", "volumes"}},
		{"a new configuration and memory", func(p *corev1.PodTemplateSpec) {
			p.Annotations["stellar.org/config-hash"] = "bbb"
			p.Spec.Containers[0].Resources.Limits[corev1.ResourceMemory] = resource.MustParse("8Gi")
		}, []string{"base configuration", "container stellar-core resources"}},
		{"a container gone", func(p *corev1.PodTemplateSpec) { p.Spec.Containers = p.Spec.Containers[:1] },
			[]string{"container agent removed"}},
	} {
		if got := Changes(statefulSet(c.mutate), live); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}

func TestWithBaseKeysNamesWhatChangedInTheConfiguration(t *testing.T) {
	changes := []string{"base configuration", "container stellar-core resources"}
	got := WithBaseKeys(changes, []string{"HISTORY.local", "QUORUM_SET"})
	want := []string{"base config: HISTORY.local", "base config: QUORUM_SET", "container stellar-core resources"}
	if !slices.Equal(got, want) {
		t.Errorf("%q, want %q", got, want)
	}
	if got := WithBaseKeys(changes, nil); !slices.Equal(got, changes) {
		t.Errorf("no keys known: %q, want the change as it was", got)
	}
	if got := WithBaseKeys(changes[1:], []string{"QUORUM_SET"}); !slices.Equal(got, changes[1:]) {
		t.Errorf("no base configuration change: %q", got)
	}
}
