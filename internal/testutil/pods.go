package testutil

import (
	"fmt"
	"sync/atomic"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PodFor is the pod the StatefulSet controller would create for a one-replica StatefulSet, scheduled.
func PodFor(sts *appsv1.StatefulSet) *corev1.Pod {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: sts.Namespace, Name: sts.Name + "-0", Labels: sts.Spec.Template.Labels},
		Spec:       *sts.Spec.Template.Spec.DeepCopy(),
	}
	pod.Spec.NodeName = "node-1"
	for _, t := range sts.Spec.VolumeClaimTemplates {
		pod.Spec.Volumes = append(pod.Spec.Volumes, corev1.Volume{Name: t.Name, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: t.Name + "-" + pod.Name},
		}})
	}
	return pod
}

var nextIP atomic.Int32

// NextPodIP is a new pod address, never given twice in one test binary. Nothing listens on it.
func NextPodIP() string {
	n := nextIP.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", 100+n/65536, (n/256)%256, n%256)
}

// SetReady sets the pod's Ready condition, as the kubelet would, and reports whether it changed.
func SetReady(pod *corev1.Pod, ready bool) bool {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	for i, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			if c.Status == status {
				return false
			}
			pod.Status.Conditions[i].Status = status
			pod.Status.Conditions[i].LastTransitionTime = metav1.Now()
			return true
		}
	}
	pod.Status.Conditions = append(pod.Status.Conditions,
		corev1.PodCondition{Type: corev1.PodReady, Status: status, LastTransitionTime: metav1.Now()})
	return true
}

// IsReady reports whether the pod's Ready condition is true.
func IsReady(pod *corev1.Pod) bool {
	for _, c := range pod.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Assign gives the pod an address and marks it running, Ready or not.
func Assign(pod *corev1.Pod, ip string, ready bool) {
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	SetReady(pod, ready)
}
