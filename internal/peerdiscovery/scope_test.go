package peerdiscovery_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// scopeNamespaces share discovery in the suite's operator (--discovery-scope scope-a,scope-b).
var scopeNamespaces = []string{"scope-a", "scope-b"}

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
