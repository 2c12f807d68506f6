package controller_test

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// trusting is a validator of ns whose [QUORUM_SET] lists exactly the keys of names (67 %).
func trusting(ns, name string, names ...string) *stellarv1alpha1.StellarNode {
	return trustingAt(ns, name, 67, names...)
}

// trustingAt is trusting at another threshold.
func trustingAt(ns, name string, percent int, names ...string) *stellarv1alpha1.StellarNode {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", fixture.KeyOf(ns, n))
	}
	return validator(ns, name, fixture.AllowingUnsafeQuorum(),
		fixture.WithQuorumSet(fmt.Sprintf("[QUORUM_SET]\nTHRESHOLD_PERCENT = %d\nVALIDATORS = [%s]\n", percent, strings.Join(quoted, ", "))))
}

// quorumOf is the node's status.quorum.
func quorumOf(ns, name string) func(Gomega) *stellarv1alpha1.QuorumStatus {
	return func(g Gomega) *stellarv1alpha1.QuorumStatus {
		node := &stellarv1alpha1.StellarNode{}
		g.Expect(k8sClient.Get(ctx, key(ns, name), node)).To(Succeed())
		return node.Status.Quorum
	}
}

var _ = Describe("The quorum intersection gate", func() {
	It("applies nothing to a network whose quorums would split, names the two quorums, and lets the change through once it is safe", func() {
		ns := newNamespace()
		Expect(k8sClient.Create(ctx, trusting(ns, "a1", "a1", "a2"))).To(Succeed())
		Expect(k8sClient.Create(ctx, trusting(ns, "a2", "a1", "a2"))).To(Succeed())
		Eventually(getSTS(ns, "a1"), timeout, interval).ShouldNot(BeNil())
		Eventually(getSTS(ns, "a2"), timeout, interval).ShouldNot(BeNil())
		before := getSTS(ns, "a1")(Default).Generation

		By("a second organisation that trusts only itself: two quorums with no node in common")
		Expect(k8sClient.Create(ctx, trusting(ns, "b1", "b1", "b2"))).To(Succeed())
		Expect(k8sClient.Create(ctx, trusting(ns, "b2", "b1", "b2"))).To(Succeed())
		for _, name := range []string{"a1", "a2", "b1", "b2"} {
			// Those reconciled before b2 existed see the split at their next recheck.
			Eventually(condition(ns, name, stellarv1alpha1.ConditionDegraded), 3*timeout, interval).Should(And(
				HaveField("Status", metav1.ConditionTrue), HaveField("Reason", stellarv1alpha1.ReasonQuorumSplit),
				HaveField("Message", And(ContainSubstring(ns+"/a1"), ContainSubstring(ns+"/a2"), ContainSubstring(ns+"/b1"),
					ContainSubstring(ns+"/b2"), ContainSubstring("no node in common")))))
		}
		Eventually(eventsFor(ns, "b1"), timeout, interval).Should(ContainElement(HavePrefix(stellarv1alpha1.ReasonQuorumSplit + ": ")))
		Eventually(quorumOf(ns, "a1"), timeout, interval).Should(And(Not(BeNil()),
			HaveField("Intersection", stellarv1alpha1.QuorumSplit), HaveField("CriticalGroups", BeEmpty()), HaveField("CriticalGroupsChecked", false)))
		// b1 alone may have started (without b2 it is in no quorum: the network cannot split yet);
		// b2, which would complete the second quorum, never does.
		Consistently(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "b2"), &appsv1.StatefulSet{}))).To(BeTrue(), "b2 never starts")
			g.Expect(getSTS(ns, "a1")(g).Generation).To(Equal(before), "a1 is not touched")
		}, "2s", interval).Should(Succeed())

		By("the second organisation trusts both: one network, its quorums intersecting")
		for _, name := range []string{"b1", "b2"} {
			updateNode(ns, name, func(n *stellarv1alpha1.StellarNode) {
				n.Spec.ValidatorConfig.QuorumSet = trusting(ns, name, "a1", "a2", "b1", "b2").Spec.ValidatorConfig.QuorumSet
			})
		}
		for _, name := range []string{"b1", "b2"} {
			Eventually(getSTS(ns, name), timeout, interval).ShouldNot(BeNil())
		}
		for _, name := range []string{"a1", "a2", "b1", "b2"} {
			// a1 and a2 changed nothing: they see the network safe again at their next recheck.
			Eventually(condition(ns, name, stellarv1alpha1.ConditionDegraded), 3*timeout, interval).Should(
				HaveField("Reason", Not(Equal(stellarv1alpha1.ReasonQuorumSplit))))
		}
		// b1 trusts 3 of the 4 (67 %): one of them may fail.
		Eventually(quorumOf(ns, "b1"), timeout, interval).Should(And(Not(BeNil()),
			HaveField("Intersection", stellarv1alpha1.QuorumIntersecting), HaveField("FailureTolerance", HaveValue(BeEquivalentTo(1))),
			HaveField("CriticalGroupsChecked", true)))
	})

	It("names the validator whose misconfiguration alone could split an intersecting network", func() {
		ns := newNamespace()
		// a, b and c trust two of the three; d trusts a and itself. Every two quorums share a node,
		// but a going along with anyone could form {a, d} while b and c form another.
		for _, name := range []string{"a", "b", "c"} {
			Expect(k8sClient.Create(ctx, trustingAt(ns, name, 66, "a", "b", "c"))).To(Succeed())
		}
		Expect(k8sClient.Create(ctx, trustingAt(ns, "d", 100, "a", "d"))).To(Succeed())
		for _, name := range []string{"a", "b", "c", "d"} {
			Eventually(quorumOf(ns, name), timeout, interval).Should(And(Not(BeNil()),
				HaveField("Intersection", stellarv1alpha1.QuorumIntersecting),
				HaveField("CriticalGroups", Equal([]string{ns + "/a"})), HaveField("CriticalGroupsChecked", true)))
			Eventually(getSTS(ns, name), timeout, interval).ShouldNot(BeNil(), "a critical group holds nothing back")
		}
		Expect(quorumOf(ns, "a")(Default).FailureTolerance).To(HaveValue(BeEquivalentTo(1)))
		Expect(quorumOf(ns, "d")(Default).FailureTolerance).To(HaveValue(BeEquivalentTo(0)))
		// One organisation (example.org): failing a alone leaves b and c their quorum; a and b take
		// everyone's. d's own set survives no failure, its organisation one.
		for _, name := range []string{"a", "d"} {
			Expect(quorumOf(ns, name)(Default).OrganisationFailureTolerance).To(HaveValue(BeEquivalentTo(1)))
		}
		Eventually(eventsFor(ns, "d"), timeout, interval).Should(ContainElement(And(
			HavePrefix(stellarv1alpha1.EventQuorumCriticalGroups+": "), ContainSubstring(ns+"/a"))))
	})

	It("says NameConflict for a validator whose names are taken even where the network is held, so it is in no quorum", func() {
		ns := newNamespace()
		// A split network: every validator's change is held with QuorumSplit.
		for _, name := range []string{"a1", "a2"} {
			Expect(k8sClient.Create(ctx, trusting(ns, name, "a1", "a2"))).To(Succeed())
		}
		for _, name := range []string{"b1", "b2"} {
			Expect(k8sClient.Create(ctx, trusting(ns, name, "b1", "b2"))).To(Succeed())
		}
		Eventually(condition(ns, "a1", stellarv1alpha1.ConditionDegraded), 3*timeout, interval).Should(
			HaveField("Reason", stellarv1alpha1.ReasonQuorumSplit))
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "x-config"}, Data: map[string]string{"owner": "someone else"}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "x-config"), &corev1.ConfigMap{}) }, timeout, interval).Should(Succeed())
		Expect(k8sClient.Create(ctx, trusting(ns, "x", "a1", "a2", "x"))).To(Succeed())
		Eventually(condition(ns, "x", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Reason", stellarv1alpha1.ReasonNameConflict), HaveField("Message", ContainSubstring("x-config"))))
		Consistently(condition(ns, "x", stellarv1alpha1.ConditionDegraded), "1s", interval).Should(
			HaveField("Reason", stellarv1alpha1.ReasonNameConflict), "the hold of the network never overwrites it")
	})

	It("holds a network whose intersection is not proven, and lets it start once each of its validators allows that", func() {
		ns := newNamespace()
		names := []string{"u1", "u2", "u3"}
		for _, name := range names {
			unprovenKeys.Store(fixture.KeyOf(ns, name), true)
		}
		for _, name := range names {
			Expect(k8sClient.Create(ctx, trusting(ns, name, names...))).To(Succeed())
		}
		for _, name := range names {
			Eventually(condition(ns, name, stellarv1alpha1.ConditionDegraded), 3*timeout, interval).Should(And(
				HaveField("Status", metav1.ConditionTrue), HaveField("Reason", stellarv1alpha1.ReasonQuorumUnproven),
				HaveField("Message", ContainSubstring("not proven"))))
		}
		Consistently(func(g Gomega) {
			for _, name := range names {
				g.Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, name), &appsv1.StatefulSet{}))).To(BeTrue(), name+" never starts")
			}
		}, "2s", interval).Should(Succeed())
		Expect(eventsFor(ns, "u1")(Default)).NotTo(ContainElement(HavePrefix(stellarv1alpha1.EventQuorumUnprovenAllowed)))

		By("allowUnprovenQuorum on each validator")
		for _, name := range names {
			updateNode(ns, name, func(n *stellarv1alpha1.StellarNode) { n.Spec.ValidatorConfig.AllowUnprovenQuorum = true })
		}
		for _, name := range names {
			Eventually(getSTS(ns, name), timeout, interval).ShouldNot(BeNil())
			Eventually(condition(ns, name, stellarv1alpha1.ConditionDegraded), 3*timeout, interval).Should(
				HaveField("Reason", Not(Equal(stellarv1alpha1.ReasonQuorumUnproven))))
			Eventually(quorumOf(ns, name), timeout, interval).Should(And(Not(BeNil()),
				HaveField("Intersection", stellarv1alpha1.QuorumUnproven)))
			Eventually(eventsFor(ns, name), timeout, interval).Should(ContainElement(HavePrefix(stellarv1alpha1.EventQuorumUnprovenAllowed + ": ")))
		}
	})
})
