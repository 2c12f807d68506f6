package operator

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/stellar-k8s/stellar-operator/internal/rollout"
)

// The cached pod keeps all the operator reads (readiness, IP, node, labels, container statuses, the
// agent's port) and none of what it does not (environment, volumes, probes, init containers).
func TestSlimPodKeepsWhatTheOperatorReads(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "v1-0", Labels: map[string]string{"app.kubernetes.io/instance": "v1"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{
			NodeName:       "node-1",
			InitContainers: []corev1.Container{{Name: "render-config", Image: "op:1"}},
			Containers: []corev1.Container{{Name: "agent", Image: "op:1", Ports: []corev1.ContainerPort{{Name: "agent", ContainerPort: 11628}},
				Env: []corev1.EnvVar{{Name: "X", Value: "y"}}, ReadinessProbe: &corev1.Probe{}}},
			Volumes: []corev1.Volume{{Name: "data"}},
		},
		Status: corev1.PodStatus{PodIP: "10.0.0.1", Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "agent", Ready: true}}},
	}
	out, err := slimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	slim := out.(*corev1.Pod)
	if rollout.ReadyPod(slim) == nil || slim.Labels["app.kubernetes.io/instance"] != "v1" || len(slim.Status.ContainerStatuses) != 1 {
		t.Errorf("readiness, labels or statuses lost: %+v", slim)
	}
	c := slim.Spec.Containers[0]
	if c.Name != "agent" || c.Image != "op:1" || len(c.Ports) != 1 || c.Ports[0].ContainerPort != 11628 {
		t.Errorf("the agent's port is read by the status poller: %+v", c)
	}
	if c.Env != nil || c.ReadinessProbe != nil || slim.Spec.Volumes != nil || slim.Spec.InitContainers != nil || slim.ManagedFields != nil {
		t.Errorf("kept what nothing reads: %+v", slim.Spec)
	}
	if other, _ := slimPod("not a pod"); other != "not a pod" {
		t.Errorf("another object changed")
	}
}
