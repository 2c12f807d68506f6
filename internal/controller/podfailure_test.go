package controller

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

// Each way a pod fails to run, as the kubelet and the scheduler report it, becomes its reason and a
// sentence that names the pod, the container and what to look at; a running pod is no failure.
func TestPodFailure(t *testing.T) {
	waiting := func(container, image, reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: container, Image: image, State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
	}
	for _, c := range []struct {
		name       string
		status     corev1.PodStatus
		wantReason string
		wantParts  []string
	}{
		{"running", corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "stellar-core", Ready: true,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}}, "", nil},
		{"an image that is not there", corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			waiting("stellar-core", "stellar/stellar-core:99.0.0", "ImagePullBackOff", `Back-off pulling image "stellar/stellar-core:99.0.0"`)}},
			stellarv1alpha1.ReasonImagePullFailed, []string{"v-0", "stellar/stellar-core:99.0.0", "stellar-core", "ImagePullBackOff"}},
		{"a bad image name", corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{
			waiting("render-config", "x::y", "InvalidImageName", "couldn't parse image name")}},
			stellarv1alpha1.ReasonImagePullFailed, []string{"render-config", "InvalidImageName"}},
		{"a crash loop", corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "stellar-core", RestartCount: 4,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error",
				Message: "starting\nDatabase error: No DB schema version found\n"}}}}},
			stellarv1alpha1.ReasonCrashLoop, []string{"stellar-core", "4 restarts", "exit code 1", "No DB schema version found"}},
		{"out of memory, restarting", corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "stellar-core", RestartCount: 2,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}},
			stellarv1alpha1.ReasonOOMKilled, []string{"stellar-core", "resources.limits.memory"}},
		{"out of memory once, running again", corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "stellar-core", RestartCount: 1,
			Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled"}}}}},
			"", nil},
		{"no node for it", corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse,
			Reason: corev1.PodReasonUnschedulable, Message: "0/3 nodes are available: 3 Insufficient memory."}}},
			stellarv1alpha1.ReasonUnschedulable, []string{"v-0", "Insufficient memory"}},
		{"a missing Secret", corev1.PodStatus{InitContainerStatuses: []corev1.ContainerStatus{
			waiting("render-config", "op", "CreateContainerConfigError", `secret "v-seed" not found`)}},
			stellarv1alpha1.ReasonPodCannotStart, []string{`secret "v-seed" not found`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "v-0"}, Status: c.status}
			reason, problem := podFailure(pod)
			if reason != c.wantReason {
				t.Fatalf("reason %q (%s), want %q", reason, problem, c.wantReason)
			}
			for _, part := range c.wantParts {
				if !strings.Contains(problem, part) {
					t.Errorf("%q does not say %q", problem, part)
				}
			}
		})
	}
}
