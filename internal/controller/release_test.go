package controller_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

var _ = Describe("Release lines", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	withVersion := func(name, version string) *stellarv1alpha1.StellarNode {
		n := validator(ns, name)
		n.Spec.Version = version
		return n
	}
	node := func(name string) func(g Gomega) *stellarv1alpha1.StellarNode {
		return func(g Gomega) *stellarv1alpha1.StellarNode {
			n := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, key(ns, name), n)).To(Succeed())
			return n
		}
	}
	baseConfig := func(name string) func(g Gomega) string {
		return func(g Gomega) string {
			cm := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, name+"-config"), cm)).To(Succeed())
			return cm.Data["stellar-core.cfg"]
		}
	}

	It("writes each validator's configuration for the release line of its version", func() {
		Expect(k8sClient.Create(ctx, withVersion("on-22-1", "22.1.0"))).To(Succeed())
		Expect(k8sClient.Create(ctx, withVersion("on-27-1", "27.1.0"))).To(Succeed())
		Eventually(baseConfig("on-22-1"), timeout, interval).Should(ContainSubstring("DEPRECATED_SQL_LEDGER_STATE = false"))
		Eventually(baseConfig("on-27-1"), timeout, interval).Should(And(ContainSubstring("NETWORK_PASSPHRASE"),
			Not(ContainSubstring("DEPRECATED_SQL_LEDGER_STATE"))))
		Eventually(node("on-22-1"), timeout, interval).Should(And(HaveField("Status.ReleaseLine", "v22.1"), HaveField("Status.ReleaseLineNote", "")))
		Eventually(node("on-27-1"), timeout, interval).Should(HaveField("Status.ReleaseLine", "v27.1"))
		Eventually(eventsFor(ns, "on-22-1"), timeout, interval).Should(ContainElement(
			stellarv1alpha1.EventReleaseLine + ": the configuration follows the rules of stellar-core v22.1"))
		// The pod's init step checks the final file with the same line's rules.
		Eventually(getSTS(ns, "on-22-1"), timeout, interval).Should(WithTransform(func(s *appsv1.StatefulSet) []string {
			return s.Spec.Template.Spec.InitContainers[0].Args
		}, ContainElement("--stellar-core-version=22.1.0")))
	})

	It("says which line's rules it used for a version without its own, once", func() {
		Expect(k8sClient.Create(ctx, withVersion("future", "28.0.0"))).To(Succeed())
		Eventually(node("future"), timeout, interval).Should(And(HaveField("Status.ReleaseLine", "v27.1"),
			HaveField("Status.ReleaseLineNote", ContainSubstring("newer than the newest line"))))
		Eventually(eventsFor(ns, "future"), timeout, interval).Should(ContainElement(HavePrefix(stellarv1alpha1.EventReleaseLineAssumed + ": ")))
		Eventually(getSTS(ns, "future"), timeout, interval).ShouldNot(BeNil())
		Consistently(func(g Gomega) int {
			n := 0
			for _, e := range eventsFor(ns, "future")(g) {
				if len(e) > len(stellarv1alpha1.EventReleaseLineAssumed) && e[:len(stellarv1alpha1.EventReleaseLineAssumed)] == stellarv1alpha1.EventReleaseLineAssumed {
					n++
				}
			}
			return n
		}, "1s", interval).Should(Equal(1))
	})

	It("refuses a version older than the oldest line and never starts it", func() {
		Expect(k8sClient.Create(ctx, withVersion("ancient", "18.0.0"))).To(Succeed())
		Eventually(condition(ns, "ancient", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", stellarv1alpha1.ReasonUnsupportedVersion),
			HaveField("Message", ContainSubstring("older than the oldest release line"))))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "ancient"), &appsv1.StatefulSet{}))).To(BeTrue())
	})

	It("reports an image of another release line, refused by the pod's start script", func() {
		n := withVersion("custom", "27.1.0")
		n.Spec.Image = "registry.example.org/stellar-core:custom"
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		var sts *appsv1.StatefulSet
		Eventually(func(g Gomega) { sts = getSTS(ns, "custom")(g) }, timeout, interval).Should(Succeed())
		Expect(sts.Spec.Template.Spec.Containers[0].Command[2]).To(ContainSubstring(
			"stellar-core version | /opt/stellar-operator/manager check-release --stellar-core-version=27.1.0"))
		pod := testutil.PodFor(sts)
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "stellar-core", Image: n.Spec.Image,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1,
				Message: "check-release: release line mismatch: the image runs stellar-core v22.1.0 (release line v22.1), " +
					"but spec.version 27.1.0 is release line v27.1, which its configuration was written for: set spec.version to the image's release\n"}},
		}}
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		Eventually(condition(ns, "custom", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Reason", stellarv1alpha1.ReasonReleaseLineMismatch), HaveField("Message", ContainSubstring("runs stellar-core v22.1.0"))))
	})

	It("refuses a validator version that is not a release at the API server", func() {
		err := k8sClient.Create(ctx, withVersion("floating", "latest"))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("major.minor.patch"))
	})
})
