package controller_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// runReady gives the validator's StatefulSet a Ready pod, rolled out, as the StatefulSet controller
// and the kubelet would.
func runReady(ns, name string, ready bool) {
	sts := getSTS(ns, name)(Default)
	pod := testutil.PodFor(sts)
	ExpectWithOffset(1, k8sClient.Create(ctx, pod)).To(Succeed())
	testutil.Assign(pod, testutil.NextPodIP(), ready)
	ExpectWithOffset(1, k8sClient.Status().Update(ctx, pod)).To(Succeed())
	setSTSReady(ns, name, ready)
}

func setSTSReady(ns, name string, ready bool) {
	n := int32(0)
	if ready {
		n = 1
	}
	ExpectWithOffset(2, retry.RetryOnConflict(retry.DefaultRetry, func() error {
		sts := &appsv1.StatefulSet{}
		if err := k8sClient.Get(ctx, key(ns, name), sts); err != nil {
			return err
		}
		sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: n, AvailableReplicas: n,
			UpdatedReplicas: 1, CurrentReplicas: 1}
		return k8sClient.Status().Update(ctx, sts)
	})).To(Succeed())
}

var _ = Describe("A validator whose key another already runs with", func() {
	It("is stopped through its network's turn, never while another validator is out, and then holds no rollout back", func() {
		ns := newNamespace()
		in := func(name, key string) *stellarv1alpha1.StellarNode {
			n := validator(ns, name)
			fixture.InOrganisation("example.org", key, nil)(n)
			fixture.AllowingUnsafeQuorum()(n)
			return n
		}
		first := in("first", other)
		Expect(k8sClient.Create(ctx, first)).To(Succeed())
		Eventually(getSTS(ns, "first"), timeout, interval).ShouldNot(BeNil())
		Expect(k8sClient.Create(ctx, in("second", fixture.KeyOf(ns, "second")))).To(Succeed())
		Expect(k8sClient.Create(ctx, in("third", fixture.KeyOf(ns, "third")))).To(Succeed())
		for _, name := range []string{"second", "third"} {
			Eventually(getSTS(ns, name), timeout, interval).ShouldNot(BeNil())
		}
		runReady(ns, "first", true)
		runReady(ns, "second", true)
		runReady(ns, "third", false)

		By("second takes first's key while third is out of consensus: held, still running, waiting")
		updateNode(ns, "second", func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.PublicKey = other })
		Eventually(condition(ns, "second", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Reason", stellarv1alpha1.ReasonDuplicateKey),
			HaveField("Message", And(ContainSubstring("stopped when its network's turn comes"), ContainSubstring("third")))))
		Consistently(func(g Gomega) int32 { return *getSTS(ns, "second")(g).Spec.Replicas }, "1s", interval).Should(BeEquivalentTo(1),
			"never a second validator of the network down at once")

		By("third back in consensus: second is stopped, first keeps running")
		setSTSReady(ns, "third", true)
		pod := testutil.PodFor(getSTS(ns, "third")(Default))
		Expect(k8sClient.Get(ctx, key(ns, pod.Name), pod)).To(Succeed())
		testutil.SetReady(pod, true)
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		Eventually(func(g Gomega) int32 { return *getSTS(ns, "second")(g).Spec.Replicas }, timeout, interval).Should(BeZero())
		Expect(*getSTS(ns, "first")(Default).Spec.Replicas).To(BeEquivalentTo(1))
		Eventually(eventsFor(ns, "second"), timeout, interval).Should(ContainElement(HavePrefix("DuplicateStopped: ")))

		By("stopped, it holds no rollout of its network back")
		// The StatefulSet controller removes the pod of a StatefulSet scaled to zero.
		Expect(k8sClient.Delete(ctx, testutil.PodFor(getSTS(ns, "second")(Default)))).To(Succeed())
		setSTSReady(ns, "second", false)
		Eventually(func(g Gomega) {
			node := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, key(ns, "second"), node)).To(Succeed())
			g.Expect(node.Status.ReadyReplicas).To(BeZero())
			g.Expect(node.IsRolloutMember()).To(BeFalse())
		}, timeout, interval).Should(Succeed())
		Expect(condition(ns, "second", stellarv1alpha1.ConditionReady)(Default).Status).To(Equal(metav1.ConditionFalse))
		updateNode(ns, "first", func(n *stellarv1alpha1.StellarNode) { n.Spec.Version = "27.0.0" })
		Eventually(func(g Gomega) string {
			// Second's key left the others' quorums, so peer discovery restarts them, one at a time:
			// each restart is settled here as the StatefulSet controller would.
			setSTSReady(ns, "first", true)
			setSTSReady(ns, "third", true)
			return getSTS(ns, "first")(g).Spec.Template.Spec.Containers[0].Image
		}, 3*timeout, interval).Should(Equal("stellar/stellar-core:27.0.0"), "first's version change takes its turn")
	})
})
