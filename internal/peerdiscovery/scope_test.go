package peerdiscovery_test

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// scopeNamespaces share discovery in the suite's operator (--discovery-scope scope-a,scope-b), and so
// do splitScope's.
var (
	scopeNamespaces = []string{"scope-a", "scope-b"}
	splitScope      = []string{"split-a", "split-b"}
)

// trustingOnly is a validator of ns whose [QUORUM_SET] is exactly the keys of names, all of them.
func trustingOnly(ns, name string, names ...string) *stellarv1alpha1.StellarNode {
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = fmt.Sprintf("%q", fixture.KeyOf(ns, n))
	}
	return fixture.Validator(ns, name, fixture.AllowingUnsafeQuorum(),
		fixture.WithQuorumSet(fmt.Sprintf("[QUORUM_SET]\nTHRESHOLD_PERCENT = 100\nVALIDATORS = [%s]\n", strings.Join(quoted, ", "))))
}

var _ = Describe("PeerDiscovery across the namespaces of a scope", func() {
	It("makes the validators of both namespaces one network's members, and restarts them one at a time across both", func() {
		a, b := scopeNamespaces[0], scopeNamespaces[1]
		for _, ns := range scopeNamespaces {
			Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		}
		simA, simB := startSimulator(a, 300*time.Millisecond), startSimulator(b, 300*time.Millisecond)
		org := func(ns, name string, key int) *stellarv1alpha1.StellarNode {
			return fixture.Validator(ns, name, fixture.InOrganisation("example.org", fixture.OrgKeys[key], nil),
				fixture.PublishingHistory("https://"+name+"."+ns+".example.org/history"))
		}
		// One name in both namespaces: each namespace knows the other's as <name>.<namespace>.
		create(org(a, "v1", 0), org(a, "v2", 1), org(b, "v1", 2))
		settled(a, simA, 3)
		settled(b, simB, 3)

		Eventually(func(g Gomega) {
			g.Expect(peerNames(document(g, a))).To(Equal([]string{"v1", "v1.scope-b", "v2"}))
			g.Expect(peerNames(document(g, b))).To(Equal([]string{"v1", "v1.scope-a", "v2.scope-a"}))
			for _, p := range document(g, a).Peers {
				if p.Name == "v1.scope-b" {
					g.Expect(p.Namespace).To(Equal(b))
					g.Expect(p.DNSName).To(HaveSuffix(".scope-b.svc.cluster.local"), "its stable in-cluster name")
					g.Expect(p.PodIP).NotTo(BeEmpty(), "Ready in its namespace, so in KNOWN_PEERS here")
				}
			}
			// Each validator's checked configuration names every other one of the scope, never itself.
			g.Expect(quorumOf(g, a, "v1")).To(ConsistOf(fixture.OrgKeys[1], fixture.OrgKeys[2]))
			g.Expect(quorumOf(g, b, "v1")).To(ConsistOf(fixture.OrgKeys[0], fixture.OrgKeys[1]))
			preferred := renderedFor(g, a, "v1")["PREFERRED_PEERS"]
			g.Expect(preferred).To(ContainElement(HavePrefix("v1-0.v1-headless.scope-b.svc.cluster.local:")))
			g.Expect(preferred).NotTo(ContainElement(HavePrefix("v1-0.v1-headless.scope-a.")))
		}, timeout, interval).Should(Succeed())

		// A validator joining in one namespace restarts the three others, in both, once each and one
		// at a time: one planner, whichever namespace asks.
		create(org(b, "v2", 3))
		Eventually(simA.RestartCounts, timeout, interval).Should(Equal(map[string]int{"v1": 1, "v2": 1}))
		Eventually(simB.RestartCounts, timeout, interval).Should(Equal(map[string]int{"v1": 1}))
		Eventually(func(g Gomega) {
			for _, ns := range scopeNamespaces {
				g.Expect(knownPeers(ns)(g)).To(HaveLen(4))
				g.Expect(discovery.Report().Namespaces[ns].PendingRestarts).To(BeEmpty())
			}
		}, timeout, interval).Should(Succeed())
		downs := append(simA.Downs(), simB.Downs()...)
		Expect(downs).To(HaveLen(3))
		Expect(testutil.Overlapping(downs)).To(BeEmpty(), "two validators of the scope's network were down at once")

		var events eventsv1.EventList
		Expect(k8sClient.List(ctx, &events, client.InNamespace(a))).To(Succeed())
		var notes []string
		for _, e := range events.Items {
			if e.Reason == "RestartingForPeers" {
				notes = append(notes, e.Note)
			}
		}
		Expect(strings.Join(notes, "\n")).To(ContainSubstring("joined: v2.scope-b:11625"))
	})

	It("checks a network's quorums with the sets of its validators in the scope's other namespaces", func() {
		a, b := splitScope[0], splitScope[1]
		for _, ns := range splitScope {
			Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		}
		create(trustingOnly(a, "a1", "a1", "a2"), trustingOnly(a, "a2", "a1", "a2"))
		sts := func(ns, name string) func() error {
			return func() error {
				return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &appsv1.StatefulSet{})
			}
		}
		for _, name := range []string{"a1", "a2"} {
			Eventually(sts(a, name), timeout, interval).Should(Succeed())
		}

		By("two validators of the other namespace that trust only each other: {a1, a2} and {b1, b2} are two quorums")
		create(trustingOnly(b, "b1", "b1", "b2"))
		Eventually(sts(b, "b1"), timeout, interval).Should(Succeed(), "b1 alone is in no quorum: it may start")
		create(trustingOnly(b, "b2", "b1", "b2"))
		degraded := func(ns, name string) func(Gomega) *metav1.Condition {
			return func(g Gomega) *metav1.Condition {
				n := &stellarv1alpha1.StellarNode{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, n)).To(Succeed())
				return meta.FindStatusCondition(n.Status.Conditions, stellarv1alpha1.ConditionDegraded)
			}
		}
		for _, v := range []struct{ ns, name string }{{a, "a1"}, {a, "a2"}, {b, "b1"}, {b, "b2"}} {
			// Those reconciled before b2 existed see the split at their next recheck.
			Eventually(degraded(v.ns, v.name), 3*timeout, interval).Should(And(Not(BeNil()),
				HaveField("Reason", stellarv1alpha1.ReasonQuorumSplit),
				HaveField("Message", And(ContainSubstring(a+"/a1"), ContainSubstring(a+"/a2"), ContainSubstring(b+"/b1"),
					ContainSubstring(b+"/b2"), ContainSubstring("no node in common")))))
		}
		Consistently(func(g Gomega) {
			g.Expect(apierrors.IsNotFound(sts(b, "b2")())).To(BeTrue(), "b2, which would complete the second quorum, never starts")
		}, "1s", interval).Should(Succeed())
	})
})

func peerNames(doc peers.Document) []string {
	var out []string
	for _, p := range doc.Peers {
		out = append(out, p.Name)
	}
	return out
}

// quorumOf are the keys a validator's rendered, checked configuration names in [[VALIDATORS]].
func quorumOf(g Gomega, ns, name string) []string {
	keys, err := testutil.RenderedQuorum(ctx, k8sClient, ns, name)
	g.Expect(err).NotTo(HaveOccurred())
	return keys
}
