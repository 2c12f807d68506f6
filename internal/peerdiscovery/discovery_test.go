package peerdiscovery_test

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peerdiscovery"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

const (
	timeout  = 20 * time.Second
	interval = 20 * time.Millisecond
)

func newNamespace() string {
	ns, err := testutil.NewNamespace(ctx, k8sClient, "discovery")
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return ns
}

func create(nodes ...*stellarv1alpha1.StellarNode) {
	for _, n := range nodes {
		ExpectWithOffset(1, k8sClient.Create(ctx, n)).To(Succeed())
	}
}

func peersConfigMap(ns string) func(g Gomega) *corev1.ConfigMap {
	return func(g Gomega) *corev1.ConfigMap {
		cm := &corev1.ConfigMap{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: peers.ConfigMapName}, cm)).To(Succeed())
		return cm
	}
}

func knownPeers(ns string) func(g Gomega) []string {
	return func(g Gomega) []string {
		return strings.Fields(peersConfigMap(ns)(g).Data[peers.KeyKnownPeers])
	}
}

func document(g Gomega, ns string) peers.Document {
	doc, err := peers.ParseDocument([]byte(peersConfigMap(ns)(g).Data[peers.KeyPeersJSON]))
	g.Expect(err).NotTo(HaveOccurred())
	return doc
}

// testSeed is a valid seed made for tests only (examples/custom-network-validators.yaml).
const testSeed = "SD2FP32ZJ3ETJNGDLE5QBDPOLWSCQZTAUEYX3JVBSFSULRC65BYPE3EI"

// renderedFor is the stellar-core.cfg a validator's init step would write from the live ConfigMaps.
func renderedFor(g Gomega, ns, name string) map[string]any {
	node := &stellarv1alpha1.StellarNode{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, node)).To(Succeed())
	base := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-config"}, base)).To(Succeed())
	profile, err := stellarcore.ProfileFor(node.Spec.Version)
	g.Expect(err).NotTo(HaveOccurred())
	out, err := stellarcore.Render(base.Data["stellar-core.cfg"], stellarcore.RenderInput{
		Profile: profile, Seed: testSeed, NodeName: name, NetworkID: node.NetworkID(), Discovered: document(g, ns),
		QuorumFromPeers: node.QuorumFromCluster(),
	})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stellarcore.Check(out, stellarcore.CheckOptions{Profile: profile})).To(Succeed(), "stellar-core would refuse %s's configuration", name)
	return parseTOML(g, out)
}

// settled waits until the namespace's membership is applied everywhere and no restart is pending.
func settled(ns string, sim *simulator, validators int) {
	EventuallyWithOffset(1, func(g Gomega) {
		g.Expect(knownPeers(ns)(g)).To(HaveLen(validators))
		r := discovery.Report().Namespaces[ns]
		g.Expect(r.PendingRestarts).To(BeEmpty())
		var sets appsv1.StatefulSetList
		g.Expect(k8sClient.List(ctx, &sets, client.InNamespace(ns))).To(Succeed())
		for _, s := range sets.Items {
			g.Expect(s.Status.ObservedGeneration).To(Equal(s.Generation))
			g.Expect(s.Status.ReadyReplicas).To(Equal(*s.Spec.Replicas))
		}
	}, timeout, interval).Should(Succeed())
	sim.ResetCounts()
}

// targetHash is the membership discovery computes for a validator from the live StellarNodes.
func targetHash(ns, name string) string {
	var list stellarv1alpha1.StellarNodeList
	ExpectWithOffset(1, k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	nodes := make([]*stellarv1alpha1.StellarNode, len(list.Items))
	for i := range list.Items {
		nodes[i] = &list.Items[i]
	}
	for _, nw := range peerdiscovery.BuildView(peers.NewIndex(nodes, nil), peerdiscovery.Lookup{}, "cluster.local").Networks {
		for _, s := range nw.States {
			if s.Name == name {
				return s.TargetHash
			}
		}
	}
	Fail(name + " is not a discovery member")
	return ""
}

// noteOf is the note of the latest event of that reason on the validator, "" when there is none.
func noteOf(ns, name, reason string) string {
	var events eventsv1.EventList
	ExpectWithOffset(1, k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
	note := ""
	for _, e := range events.Items {
		if e.Reason == reason && e.Regarding.Name == name {
			note = e.Note
		}
	}
	return note
}

func templateAnnotations(ns, name string) map[string]string {
	sts := &appsv1.StatefulSet{}
	ExpectWithOffset(1, k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sts)).To(Succeed())
	return sts.Spec.Template.Annotations
}

var _ = Describe("PeerDiscovery", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("publishes three validators within a second of the last pod becoming Ready", func() {
		sim := startSimulator(ns, 300*time.Millisecond)
		create(fixture.Validator(ns, "v1"), fixture.Validator(ns, "v2"),
			fixture.Validator(ns, "v3"))

		var seen time.Time
		Eventually(func(g Gomega) {
			g.Expect(knownPeers(ns)(g)).To(HaveLen(3))
			seen = time.Now()
		}, timeout, 5*time.Millisecond).Should(Succeed())
		latency := seen.Sub(sim.LastReady())
		// Reported, not asserted: the interval timer is 30 s, longer than the test waits, so an event
		// published the peers; how fast depends on the machine (make bench measures it).
		AddReportEntry("detection latency (last pod Ready -> stellar-peers lists 3)", latency.String())

		cm := peersConfigMap(ns)(Default)
		Expect(cm.Labels).To(HaveKeyWithValue("app.kubernetes.io/managed-by", "stellar-operator"))
		Expect(cm.Annotations).To(HaveKeyWithValue(peers.AnnotationPeerCount, "3"))
		Expect(cm.Annotations).To(HaveKeyWithValue(peers.AnnotationValidatorCount, "3"))
		Expect(cm.Annotations).To(HaveKey(peers.AnnotationDiscoveredAt))
		lines := strings.Split(strings.TrimSpace(cm.Data[peers.KeyKnownPeers]), "\n")
		Expect(lines).To(HaveEach(MatchRegexp(`^10\.\d+\.\d+\.\d+:11625$`)))
		Expect(lines).To(HaveLen(3))
		Expect(slices.IsSorted(lines)).To(BeTrue(), "KNOWN_PEERS is sorted: %v", lines)
		doc := document(Default, ns)
		Expect(doc.Peers).To(HaveLen(3))
		Expect(doc.Peers[0]).To(HaveField("DNSName", "v1-0.v1-headless."+ns+".svc.cluster.local"))
		Expect(doc.Peers[0]).To(HaveField("Network", "Testnet"))

		// Every validator's config names the two others and not itself.
		settled(ns, sim, 3)
		for _, self := range []string{"v1", "v2", "v3"} {
			cfg := renderedFor(Default, ns, self)
			Expect(cfg["PREFERRED_PEERS"]).To(HaveLen(2))
			Expect(cfg["KNOWN_PEERS"]).To(HaveLen(2))
			for _, p := range cfg["PREFERRED_PEERS"].([]any) {
				Expect(p).NotTo(HavePrefix(self + "-0."))
			}
			var status stellarv1alpha1.StellarNode
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: self}, &status)).To(Succeed())
			Eventually(func() int32 {
				_ = k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: self}, &status)
				return status.Status.Peers
			}, timeout, interval).Should(Equal(int32(2)))
		}
	})

	It("leaves out suspended, unready, other-network, Horizon and Soroban RPC nodes", func() {
		sim := startSimulator(ns, 0)
		sim.HoldDown("unready", true)
		suspended := fixture.Validator(ns, "suspended")
		suspended.Spec.Suspended = true
		create(fixture.Validator(ns, "a"), fixture.Validator(ns, "b"),
			fixture.Validator(ns, "unready"), suspended,
			fixture.Validator(ns, "main", fixture.OnNetwork(stellarv1alpha1.NetworkMainnet)),
			fixture.Horizon(ns, "horizon"), fixture.SorobanRPC(ns, "rpc"))

		Eventually(func(g Gomega) {
			g.Expect(knownPeers(ns)(g)).To(HaveLen(3)) // a, b and main: Ready validators
			names := []string{}
			for _, p := range document(g, ns).Peers {
				names = append(names, p.Name)
				if p.Name == "unready" {
					g.Expect(p.PodIP).To(BeEmpty(), "an unready pod's address is never published")
				}
			}
			g.Expect(names).To(ConsistOf("a", "b", "main", "unready"))
		}, timeout, interval).Should(Succeed())

		Eventually(func(g Gomega) {
			cfg := renderedFor(g, ns, "a")
			g.Expect(cfg["KNOWN_PEERS"]).To(HaveLen(1), "only b is a Ready Testnet peer")
			for _, p := range cfg["PREFERRED_PEERS"].([]any) {
				g.Expect(p).NotTo(Or(HavePrefix("main-0."), HavePrefix("suspended-0."), HavePrefix("horizon"), HavePrefix("rpc"), HavePrefix("a-0.")))
			}
		}, timeout, interval).Should(Succeed())
	})

	It("restarts the first three validators exactly once each, one at a time, when a fourth enters their quorum", func() {
		sim := startSimulator(ns, 400*time.Millisecond)
		create(fixture.OrgValidator(ns, "v1", 0), fixture.OrgValidator(ns, "v2", 1),
			fixture.OrgValidator(ns, "v3", 2))
		settled(ns, sim, 3)
		before := map[string]string{}
		for _, n := range []string{"v1", "v2", "v3"} {
			before[n] = templateAnnotations(ns, n)[peers.AnnotationMembership]
		}

		create(fixture.OrgValidator(ns, "v4", 3))
		Eventually(sim.RestartCounts, timeout, interval).Should(Equal(map[string]int{"v1": 1, "v2": 1, "v3": 1}))
		settled(ns, sim, 4)
		Consistently(sim.RestartCounts, 2*time.Second, interval).Should(BeEmpty(), "nothing restarts once the wave is done")

		for _, n := range []string{"v1", "v2", "v3"} {
			a := templateAnnotations(ns, n)
			Expect(a[peers.AnnotationMembership]).NotTo(Equal(before[n]))
			Expect(a).To(HaveKey(peers.AnnotationRestartedAt))
		}
		Expect(templateAnnotations(ns, "v4")).NotTo(HaveKey(peers.AnnotationRestartedAt), "a new validator starts with the current peers")
		Expect(templateAnnotations(ns, "v4")).To(HaveKeyWithValue(peers.AnnotationMembership, targetHash(ns, "v4")),
			"the membership the reconciler wrote at creation is the one discovery computes")

		var events eventsv1.EventList
		Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
		restartedFor := map[string]string{}
		for _, e := range events.Items {
			if e.Reason == "RestartingForPeers" {
				restartedFor[e.Regarding.Name] = e.Note
			}
		}
		Expect(restartedFor).To(HaveLen(3))
		Expect(restartedFor["v1"]).To(ContainSubstring("joined: v4:11625/" + fixture.OrgKeys[3]))
		Expect(restartedFor["v1"]).To(ContainSubstring("which stellar-core reads only at start"))
		Expect(noteOf(ns, "v4", "JoinedNetwork")).To(HavePrefix("3 validators of its network here restart for it"))
	})

	It("peers a joining validator live and restarts nobody when no quorum there names it", func() {
		sim := startSimulator(ns, 100*time.Millisecond)
		// Two with quorum sets of their own, one in the generated quorum of its organisation.
		create(fixture.Validator(ns, "l1"), fixture.Validator(ns, "l2"), fixture.OrgValidator(ns, "l3", 0))
		settled(ns, sim, 3)
		before := templateAnnotations(ns, "l3")

		// A validator with a quorum set of its own enters no generated quorum: the others' quorums do
		// not change, only their peers, which their agents connect live.
		create(fixture.Validator(ns, "l4"))
		settled(ns, sim, 4)
		Consistently(sim.RestartCounts, 2*time.Second, interval).Should(BeEmpty())
		Expect(templateAnnotations(ns, "l3")).To(Equal(before))
		Eventually(func(g Gomega) {
			for _, self := range []string{"l1", "l2", "l3"} {
				g.Expect(renderedFor(g, ns, self)["PREFERRED_PEERS"]).To(ContainElement(HavePrefix("l4-0.")), "its next start reads it")
			}
		}, timeout, interval).Should(Succeed())
		Expect(noteOf(ns, "l4", "JoinedNetwork")).To(And(HavePrefix("0 validators of its network here restart for it"),
			ContainSubstring("; 3 connect to it live")))
	})

	It("never has two validators of a network restarting at once", func() {
		sim := startSimulator(ns, 600*time.Millisecond)
		create(fixture.OrgValidator(ns, "p1", 0), fixture.OrgValidator(ns, "p2", 1),
			fixture.OrgValidator(ns, "p3", 2))
		settled(ns, sim, 3)
		create(fixture.OrgValidator(ns, "p4", 3))
		Eventually(sim.RestartCounts, timeout, interval).Should(HaveLen(3))
		settled(ns, sim, 4)
		Expect(sim.MostDownAtOnce()).To(BeNumerically("<=", 1))
	})

	It("updates KNOWN_PEERS for an IP-only change and restarts nothing", func() {
		sim := startSimulator(ns, 100*time.Millisecond)
		create(fixture.Validator(ns, "x1"), fixture.Validator(ns, "x2"),
			fixture.Validator(ns, "x3"))
		settled(ns, sim, 3)
		old := knownPeers(ns)(Default)
		annotations := templateAnnotations(ns, "x1")

		// The pod is recreated (evicted, say) and comes back with another IP.
		pod := &corev1.Pod{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "x2-0"}, pod)).To(Succeed())
		Expect(k8sClient.Delete(ctx, pod, client.GracePeriodSeconds(0))).To(Succeed())
		Eventually(func(g Gomega) {
			now := knownPeers(ns)(g)
			g.Expect(now).To(HaveLen(3))
			g.Expect(now).NotTo(ConsistOf(old))
		}, timeout, interval).Should(Succeed())
		Consistently(sim.RestartCounts, 2*time.Second, interval).Should(BeEmpty())
		Expect(templateAnnotations(ns, "x1")).To(Equal(annotations))
	})

	It("restores a deleted or hand-edited stellar-peers ConfigMap", func() {
		sim := startSimulator(ns, 0)
		create(fixture.Validator(ns, "r1"), fixture.Validator(ns, "r2"))
		settled(ns, sim, 2)
		want := peersConfigMap(ns)(Default).Data

		Expect(k8sClient.Delete(ctx, peersConfigMap(ns)(Default))).To(Succeed())
		Eventually(func(g Gomega) map[string]string { return peersConfigMap(ns)(g).Data }, timeout, interval).Should(Equal(want))

		cm := peersConfigMap(ns)(Default)
		cm.Data[peers.KeyKnownPeers] = "203.0.113.7:11625\n"
		cm.Data["extra"] = "x"
		delete(cm.Labels, "app.kubernetes.io/name")
		Expect(k8sClient.Update(ctx, cm)).To(Succeed())
		Eventually(func(g Gomega) map[string]string { return peersConfigMap(ns)(g).Data }, timeout, interval).Should(Equal(want))
	})

	It("never restarts a validator whose restartPolicy is None", func() {
		sim := startSimulator(ns, 100*time.Millisecond)
		quiet := fixture.OrgValidator(ns, "quiet", 0)
		quiet.Spec.ValidatorConfig.PeerDiscovery.RestartPolicy = stellarv1alpha1.PeerRestartNone
		create(quiet, fixture.OrgValidator(ns, "loud", 1))
		settled(ns, sim, 2)
		create(fixture.OrgValidator(ns, "late", 2))
		Eventually(sim.RestartCounts, timeout, interval).Should(Equal(map[string]int{"loud": 1}))
		settled(ns, sim, 3)
		Consistently(sim.RestartCounts, time.Second, interval).Should(BeEmpty())
		Expect(templateAnnotations(ns, "quiet")).NotTo(HaveKey(peers.AnnotationRestartedAt))
	})

	It("removes a suspended validator and restarts the others once for it", func() {
		sim := startSimulator(ns, 100*time.Millisecond)
		create(fixture.OrgValidator(ns, "s1", 0), fixture.OrgValidator(ns, "s2", 1),
			fixture.OrgValidator(ns, "s3", 2))
		settled(ns, sim, 3)
		Expect(testutil.UpdateNode(ctx, k8sClient, ns, "s3", func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = true })).To(Succeed())
		Eventually(func(g Gomega) []peers.Peer { return document(g, ns).Peers }, timeout, interval).Should(HaveLen(2))
		Eventually(sim.RestartCounts, timeout, interval).Should(Equal(map[string]int{"s1": 1, "s2": 1}))

		Expect(k8sClient.Delete(ctx, fixture.Validator(ns, "s3"))).To(Succeed())
		Consistently(sim.RestartCounts, 2*time.Second, interval).Should(Equal(map[string]int{"s1": 1, "s2": 1}))
	})

	It("reads only from the cache: a pass sends no GET or LIST to the API server", func() {
		sim := startSimulator(ns, 0)
		create(fixture.Validator(ns, "c1"), fixture.Validator(ns, "c2"))
		settled(ns, sim, 2)
		requests.Reset()
		for range 20 {
			Expect(discovery.Pass(ctx)).To(Succeed())
		}
		Expect(requests.Reads()).To(BeEmpty())
		Expect(requests.Writes(peerdiscovery.FieldOwner)).To(BeEmpty(), "nothing changed, so discovery writes nothing")
	})

	It("merges events that arrive while a pass is pending into that pass", func() {
		sim := startSimulator(ns, 0)
		names := []string{"b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8"}
		for _, n := range names {
			create(fixture.Validator(ns, n))
		}
		settled(ns, sim, len(names))
		before := discovery.Stats()
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Go(func() {
				defer GinkgoRecover()
				pod := &corev1.Pod{}
				Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: n + "-0"}, pod)).To(Succeed())
				pod.Annotations = map[string]string{"burst": "1"}
				Expect(k8sClient.Update(ctx, pod)).To(Succeed())
			})
		}
		wg.Wait()
		// What the loop decided, whatever the machine's speed: each of the 8 events is a trigger, and once
		// the loop is idle every trigger has either started a pass or been merged into a pending one.
		Eventually(func(g Gomega) {
			now := discovery.Stats()
			g.Expect(now.Triggers - before.Triggers).To(BeNumerically(">=", len(names)))
			g.Expect(now.Triggers).To(Equal(now.TriggeredPasses + now.Merged))
		}, timeout, interval).Should(Succeed())
		after := discovery.Stats()
		AddReportEntry("passes for a burst of 8 pod events", after.TriggeredPasses-before.TriggeredPasses)
	})

	It("serves the current peers on /peers", func() {
		sim := startSimulator(ns, 0)
		create(fixture.Validator(ns, "w1"))
		settled(ns, sim, 1)
		rec := httptest.NewRecorder()
		discovery.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/peers", nil))
		Expect(rec.Code).To(Equal(200))
		var report peerdiscovery.PeersReport
		Expect(json.Unmarshal(rec.Body.Bytes(), &report)).To(Succeed())
		Expect(report.Namespaces[ns].Peers).To(ConsistOf(HaveField("Name", "w1")))
		Expect(report.Namespaces[ns].LastChange).NotTo(BeNil())

		rec = httptest.NewRecorder()
		discovery.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/peers", nil))
		Expect(rec.Code).To(Equal(405))
	})
})

var _ = Describe("PeerDiscovery watching some namespaces only", func() {
	It("sees the validators of its namespaces and none of the others", func() {
		ns, other := newNamespace(), newNamespace()
		sim, otherSim := startSimulator(ns, 0), startSimulator(other, 0)
		quiet := fixture.WithRestartPolicy(stellarv1alpha1.PeerRestartNone)
		create(fixture.Validator(ns, "n1", quiet), fixture.Validator(ns, "n2", quiet), fixture.Validator(other, "o1", quiet))
		settled(ns, sim, 2)
		settled(other, otherSim, 1)

		// A second operator, as deployed with --watch-namespaces: its cache is per namespace.
		c := testutil.TestConfig()
		c.Namespaces = []string{ns}
		namespaced := startOperator(&testutil.RequestCounter{}, c).Discovery
		Eventually(func(g Gomega) {
			report := namespaced.Report()
			g.Expect(report.Namespaces).To(HaveKey(ns))
			g.Expect(report.Namespaces).NotTo(HaveKey(other))
			g.Expect(report.Namespaces[ns].Peers).To(ConsistOf(HaveField("Name", "n1"), HaveField("Name", "n2")))
		}, timeout, interval).Should(Succeed())
	})
})

var _ = Describe("PeerDiscovery with its cache behind the API server", func() {
	It("writes nothing, and does not fail, when the ConfigMap it would create already holds the peers", func() {
		// Another namespace is watched, so this operator's own passes never touch ns: the only write
		// it attempts in ns is the one below, made as if its cache had not yet seen the ConfigMap. The
		// suite's operator watches ns too and finds no validator there: the ConfigMap holds no peers,
		// as it would write, so it writes nothing either.
		ns, watched := newNamespace(), newNamespace()
		c := testutil.TestConfig()
		c.Namespaces = []string{watched}
		behind := startOperator(&testutil.RequestCounter{}, c).Discovery

		var list []peers.Peer
		data, err := peers.ConfigMapData(list)
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: peers.ConfigMapName, Namespace: ns, Labels: map[string]string{
				resources.LabelName: peers.ConfigMapName, resources.LabelComponent: "peer-discovery",
				resources.LabelManagedBy: resources.ManagedBy}},
			Data: data,
		})).To(Succeed())
		before := peersConfigMap(ns)(Default).ResourceVersion

		changed, err := behind.PublishIfChanged(ctx, ns, list, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeFalse())
		Expect(peersConfigMap(ns)(Default).ResourceVersion).To(Equal(before))

		// What it found is now what it published: the same peers again write nothing, even from a
		// cache that has caught up.
		changed, err = behind.PublishIfChanged(ctx, ns, list, peersConfigMap(ns)(Default))
		Expect(err).NotTo(HaveOccurred())
		Expect(changed).To(BeFalse())
	})
})

var _ = Describe("PeerDiscovery under leader election", func() {
	It("writes nothing while another replica holds the lease, and starts when it gets it", func() {
		// Another replica holds the lease.
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "stellar-operator.stellar.org"},
			Spec: coordinationv1.LeaseSpec{
				HolderIdentity: new("another-replica"), LeaseDurationSeconds: new(int32(3600)),
				AcquireTime: &metav1.MicroTime{Time: time.Now()}, RenewTime: &metav1.MicroTime{Time: time.Now()},
			},
		}
		Expect(k8sClient.Create(ctx, lease)).To(Succeed())

		writes := &testutil.RequestCounter{}
		c := testutil.TestConfig()
		c.LeaderElect = true
		c.DiscoveryInterval = 200 * time.Millisecond
		follower := startOperator(writes, c).Discovery

		ns := newNamespace()
		sim := startSimulator(ns, 0)
		create(fixture.Validator(ns, "f1"))
		settled(ns, sim, 1) // the leader of this suite publishes

		Consistently(func() map[string]int { return writes.Writes() }, 2*time.Second, 100*time.Millisecond).Should(BeEmpty())
		Expect(follower.Report().LastPass).To(BeNil(), "the follower never ran a pass")

		Expect(k8sClient.Delete(ctx, lease)).To(Succeed())
		Eventually(func() *time.Time { return follower.Report().LastPass }, timeout, interval).ShouldNot(BeNil())
	})
})
