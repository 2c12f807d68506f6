package remote_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/operator"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/quorum"
	"github.com/stellar-k8s/stellar-operator/internal/remote"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/rollout"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

const (
	timeout  = 30 * time.Second
	interval = 20 * time.Millisecond
	// operatorReadInterval is how often each operator reads the other cluster.
	operatorReadInterval = 100 * time.Millisecond
)

// validator is a Full validator of example.org with key i, reachable from the other cluster at
// <name>.example.org:11625, its archive at https://<name>.example.org/history.
func validator(ns, name string, key int) *stellarv1alpha1.StellarNode {
	return fixture.Validator(ns, name, fixture.InOrganisation("example.org", fixture.OrgKeys[key], nil),
		fixture.WithAdvertisedAddress(name+".example.org:11625"), fixture.PublishingHistory("https://"+name+".example.org/history"))
}

func peersDoc(g Gomega, c cluster) peers.Document {
	cm := &corev1.ConfigMap{}
	g.Expect(c.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: peers.ConfigMapName}, cm)).To(Succeed())
	doc, err := peers.ParseDocument([]byte(cm.Data[peers.KeyPeersJSON]))
	g.Expect(err).NotTo(HaveOccurred())
	return doc
}

func names(doc peers.Document) []string {
	var out []string
	for _, p := range doc.Peers {
		out = append(out, p.Name)
	}
	return out
}

// quorumKeys are the keys the validator's rendered, checked configuration names in [[VALIDATORS]].
func quorumKeys(g Gomega, c cluster, name string) []string {
	keys, err := testutil.RenderedQuorum(ctx, c.client, ns, name)
	g.Expect(err).NotTo(HaveOccurred())
	return keys
}

func keys(i ...int) []string {
	var out []string
	for _, k := range i {
		out = append(out, fixture.OrgKeys[k])
	}
	slices.Sort(out)
	return out
}

func remoteStatus(c cluster, name string) func(g Gomega) []stellarv1alpha1.RemoteClusterStatus {
	return func(g Gomega) []stellarv1alpha1.RemoteClusterStatus {
		node := &stellarv1alpha1.StellarNode{}
		g.Expect(c.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, node)).To(Succeed())
		return node.Status.RemoteClusters
	}
}

// settled waits until every validator of ns in c runs the membership discovery wants, Ready.
func settled(op *operator.Operator, sim *testutil.Simulator) {
	EventuallyWithOffset(1, func(g Gomega) {
		r := op.Discovery.Report().Namespaces[ns]
		g.Expect(r.Peers).NotTo(BeEmpty())
		g.Expect(r.PendingRestarts).To(BeEmpty())
		for _, p := range r.Peers {
			if !p.Remote() {
				g.Expect(p.Ready()).To(BeTrue(), "%s Ready", p.Name)
			}
		}
	}, timeout, interval).Should(Succeed())
	sim.ResetCounts()
}

// ns is the namespace of the validators in both clusters.
const ns = "tier1"

var _ = Describe("Validators of one network in two clusters", Ordered, func() {
	var (
		opA, opB   *operator.Operator
		stopA      func()
		dirOfA     string
		simA, simB *testutil.Simulator
		toB        *proxy
	)

	BeforeAll(func() {
		for _, c := range []cluster{clusterA, clusterB} {
			Expect(c.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		}
		// A reads B through a proxy the test can cut; B reads A directly. Each with the shipped role.
		apiB, err := url.Parse(clusterB.cfg.Host)
		Expect(err).NotTo(HaveOccurred())
		toB = startProxy(apiB.Host)
		dirA, dirB := GinkgoT().TempDir(), GinkgoT().TempDir()
		readerKubeconfig(clusterB, "operator-of-a", dirA, "cluster-b", toB.addr)
		readerKubeconfig(clusterA, "operator-of-b", dirB, "cluster-a", "")
		var stopB func()
		opA, stopA = runOperator(clusterA, "cluster-a", ns, dirA)
		opB, stopB = runOperator(clusterB, "cluster-b", ns, dirB)
		DeferCleanup(func() { stopA(); stopB() }) // the stopA of the operator running then
		dirOfA = dirA
		var stop func()
		simA, stop = testutil.StartSimulator(ctx, clusterA.client, ns, 50*time.Millisecond)
		DeferCleanup(stop)
		simB, stop = testutil.StartSimulator(ctx, clusterB.client, ns, 50*time.Millisecond)
		DeferCleanup(stop)
	})

	It("names every other validator of both clusters in each configuration, never itself", func() {
		Expect(clusterA.client.Create(ctx, validator(ns, "a1", 0))).To(Succeed())
		Expect(clusterA.client.Create(ctx, validator(ns, "a2", 1))).To(Succeed())
		Expect(clusterB.client.Create(ctx, validator(ns, "b1", 2))).To(Succeed())

		Eventually(func(g Gomega) {
			g.Expect(names(peersDoc(g, clusterA))).To(Equal([]string{"a1", "a2", "b1.tier1.cluster-b"}))
			g.Expect(names(peersDoc(g, clusterB))).To(Equal([]string{"a1.tier1.cluster-a", "a2.tier1.cluster-a", "b1"}))
			g.Expect(quorumKeys(g, clusterA, "a1")).To(Equal(keys(1, 2)))
			g.Expect(quorumKeys(g, clusterA, "a2")).To(Equal(keys(0, 2)))
			g.Expect(quorumKeys(g, clusterB, "b1")).To(Equal(keys(0, 1)))
		}, timeout, interval).Should(Succeed())
		remoteB := peersDoc(Default, clusterA).Peers[2]
		Expect(remoteB).To(And(HaveField("Cluster", "cluster-b"), HaveField("DNSName", "b1.example.org"),
			HaveField("Port", int32(11625)), HaveField("PodIP", "")))
		settled(opA, simA)
		settled(opB, simB)
		Eventually(remoteStatus(clusterA, "a1"), timeout, interval).Should(Equal([]stellarv1alpha1.RemoteClusterStatus{
			{Name: "cluster-b", Members: 1}}))
	})

	It("restarts each validator of both clusters once, one at a time across both clusters, when one joins in cluster B", func() {
		Expect(clusterB.client.Create(ctx, validator(ns, "b2", 3))).To(Succeed())
		Eventually(func(g Gomega) {
			g.Expect(simA.RestartCounts()).To(Equal(map[string]int{"a1": 1, "a2": 1}))
			g.Expect(simB.RestartCounts()).To(Equal(map[string]int{"b1": 1}))
			g.Expect(quorumKeys(g, clusterA, "a1")).To(Equal(keys(1, 2, 3)))
			g.Expect(quorumKeys(g, clusterB, "b2")).To(Equal(keys(0, 1, 2)))
		}, timeout, interval).Should(Succeed())
		settled(opA, simA)
		settled(opB, simB)
		// The two operators took the network's turn across clusters one after the other.
		downs := append(simA.Downs(), simB.Downs()...)
		Expect(downs).To(HaveLen(3))
		Expect(testutil.Overlapping(downs)).To(BeEmpty(), "two validators of the network were down at once")
	})

	It("drops and reports a remote validator with a hostile value, and restarts nobody for it", func() {
		Expect(clusterB.client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "rogue"}})).To(Succeed())
		evil := validator("rogue", "evil", 0)
		evil.Spec.ValidatorConfig.ExternalPeer = nil
		Expect(clusterB.client.Create(ctx, evil)).To(Succeed())
		// Nobody manages "rogue" in B: its status says what a hostile writer wants.
		evil.Status.ExternalAddress = "evil.example.org:11625\nNODE_SEED=\"SXXX\""
		Expect(clusterB.client.Status().Update(ctx, evil)).To(Succeed())

		Eventually(func(g Gomega) []string {
			clusters := opA.Discovery.Report().RemoteClusters
			g.Expect(clusters).To(HaveLen(1))
			return clusters[0].Dropped
		}, timeout, interval).Should(ConsistOf(HavePrefix("rogue/evil: status.externalAddress")))
		Expect(names(peersDoc(Default, clusterA))).NotTo(ContainElement(ContainSubstring("evil")))
		Expect(simA.RestartCounts()).To(BeEmpty())
	})

	It("keeps cluster B's members while it does not answer, says so, and restarts nothing then or after", func() {
		before := peersDoc(Default, clusterA)
		toB.down()
		Eventually(remoteStatus(clusterA, "a1"), timeout, interval).Should(ConsistOf(And(
			HaveField("Name", "cluster-b"), HaveField("Stale", true), HaveField("Members", int32(2)))))
		Expect(peersDoc(Default, clusterA)).To(Equal(before))

		By("a change in cluster A waits for cluster B to answer")
		Eventually(waitingReasonAfterChange(clusterA, "a1"), timeout, interval).Should(ContainSubstring("its cluster does not answer"))
		Expect(simA.RestartCounts()).To(BeEmpty())

		toB.up()
		Eventually(remoteStatus(clusterA, "a1"), timeout, interval).Should(Equal([]stellarv1alpha1.RemoteClusterStatus{
			{Name: "cluster-b", Members: 2}}))
		Expect(peersDoc(Default, clusterA)).To(Equal(before))
		By("cluster B back: the waiting change goes through, and nothing else restarts")
		Eventually(simA.RestartCounts, timeout, interval).Should(Equal(map[string]int{"a1": 1}))
		settled(opA, simA)
		Expect(simA.RestartCounts()).To(BeEmpty())
	})

	It("keeps cluster B's members across a restart of A's operator while B does not answer, and restarts nothing then or after", func() {
		settled(opA, simA)
		before := peersDoc(Default, clusterA)
		By("A keeps B's last known members where its next operator finds them")
		Eventually(func(g Gomega) []string {
			cm := &corev1.ConfigMap{}
			g.Expect(clusterA.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: remote.MembersConfigMapName}, cm)).To(Succeed())
			saved := map[string]remote.Saved{}
			g.Expect(json.Unmarshal([]byte(cm.Data[remote.KeyClustersJSON]), &saved)).To(Succeed())
			var out []string
			for _, m := range saved["cluster-b"].Members {
				out = append(out, m.Peer.Name)
			}
			return out
		}, timeout, interval).Should(Equal([]string{"b1.tier1.cluster-b", "b2.tier1.cluster-b"}))

		toB.down()
		Eventually(remoteStatus(clusterA, "a1"), timeout, interval).Should(ConsistOf(HaveField("Stale", true)))
		By("A's operator restarts while B does not answer")
		stopA()
		opA, stopA = runOperator(clusterA, "cluster-a", ns, dirOfA)
		Eventually(func(g Gomega) []remote.Cluster { return opA.Discovery.Report().RemoteClusters }, timeout, interval).Should(ConsistOf(And(
			HaveField("Name", "cluster-b"), HaveField("Stale", true), HaveField("Members", HaveLen(2)))))
		Consistently(func(g Gomega) {
			g.Expect(peersDoc(g, clusterA)).To(Equal(before), "no member dropped from stellar-peers")
			g.Expect(simA.RestartCounts()).To(BeEmpty(), "nobody restarted")
		}, "3s", interval).Should(Succeed())
		for _, name := range []string{"a1", "a2"} {
			Eventually(remoteStatus(clusterA, name), timeout, interval).Should(ConsistOf(And(
				HaveField("Name", "cluster-b"), HaveField("Stale", true), HaveField("Members", int32(2)))))
		}

		toB.up()
		Eventually(remoteStatus(clusterA, "a1"), timeout, interval).Should(Equal([]stellarv1alpha1.RemoteClusterStatus{
			{Name: "cluster-b", Members: 2}}))
		Consistently(func(g Gomega) {
			g.Expect(peersDoc(g, clusterA)).To(Equal(before))
			g.Expect(simA.RestartCounts()).To(BeEmpty())
		}, "2s", interval).Should(Succeed())
	})

	It("holds a validator of cluster B whose key a validator of cluster A had first, and leaves A's running", func() {
		before := getSTSGeneration(clusterA, "a1")
		twin := validator(ns, "b-twin", 0) // a1's key
		Expect(clusterB.client.Create(ctx, twin)).To(Succeed())
		Eventually(func(g Gomega) *metav1.Condition {
			n := &stellarv1alpha1.StellarNode{}
			g.Expect(clusterB.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "b-twin"}, n)).To(Succeed())
			return meta.FindStatusCondition(n.Status.Conditions, stellarv1alpha1.ConditionDegraded)
		}, timeout, interval).Should(And(Not(BeNil()), HaveField("Reason", stellarv1alpha1.ReasonDuplicateKeyElsewhere),
			HaveField("Message", ContainSubstring("tier1/a1 of cluster cluster-a"))))
		Consistently(func(g Gomega) {
			err := clusterB.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "b-twin"}, &appsv1.StatefulSet{})
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the later one never starts")
			g.Expect(getSTSGeneration(clusterA, "a1")).To(Equal(before), "the first one is left running as it was")
		}, "2s", interval).Should(Succeed())
	})

	It("holds the restarts a member arriving from cluster B brings while, as the network reports it, they could split the network", func() {
		settled(opA, simA)
		networkID := fixture.Validator(ns, "x").NetworkID()
		type set = struct {
			t  int
			vs []int
		}
		// b1 and b2 trust 3 of a1, a2, b1, b2, as a1 and a2 do now; b3, not yet a member, only itself.
		opA.Quorum.Report(ns, networkID, reportOf(map[int]set{2: {3, []int{0, 1, 2, 3}}, 3: {3, []int{0, 1, 2, 3}}, 4: {1, []int{4}}}))
		Consistently(func(g Gomega) {
			g.Expect(opA.Discovery.Report().Namespaces[ns].BlockedBy).To(BeEmpty(), "b3 is no member: nobody's set reaches it")
		}, "1s", interval).Should(Succeed())

		By("b3 joins in cluster B: a1 and a2 would trust 3 of 5, so {a1, a2, b1} and {b3} are quorums with no node in common")
		Expect(clusterB.client.Create(ctx, validator(ns, "b3", 4))).To(Succeed())
		// Both the reconciler and discovery ask the gate; whichever sees b3 first holds a1 and a2 (a
		// validator its reconciler holds is no restart discovery considers).
		for _, name := range []string{"a1", "a2"} {
			Eventually(func(g Gomega) *metav1.Condition {
				n := &stellarv1alpha1.StellarNode{}
				g.Expect(clusterA.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, n)).To(Succeed())
				return meta.FindStatusCondition(n.Status.Conditions, stellarv1alpha1.ConditionDegraded)
			}, timeout, interval).Should(And(Not(BeNil()), HaveField("Reason", stellarv1alpha1.ReasonQuorumSplit),
				HaveField("Message", And(ContainSubstring("no node in common"), ContainSubstring(fixture.OrgKeys[4][:5])))))
		}
		Consistently(func(g Gomega) {
			g.Expect(simA.RestartCounts()).To(BeEmpty(), "nobody restarted into a set that can split the network")
			r := opA.Discovery.Report().Namespaces[ns]
			for _, blocked := range r.BlockedBy {
				g.Expect(blocked).To(ConsistOf(HavePrefix(stellarv1alpha1.ReasonQuorumSplit+": ")), "what discovery holds, it holds for the split")
			}
		}, "2s", interval).Should(Succeed())

		By("b3 reported trusting the organisation too: the restarts go through, one at a time")
		opA.Quorum.Report(ns, networkID, reportOf(map[int]set{2: {3, []int{0, 1, 2, 3}}, 3: {3, []int{0, 1, 2, 3}}, 4: {3, []int{0, 1, 2, 3, 4}}}))
		Eventually(simA.RestartCounts, timeout, interval).Should(Equal(map[string]int{"a1": 1, "a2": 1}))
		settled(opA, simA)
		Expect(testutil.Overlapping(simA.Downs())).To(BeEmpty(), "two validators of the network were down at once")
	})

	It("never writes a stellar-turns it did not create: A's restarts wait, and go through once A may write its own", func() {
		settled(opA, simA)
		turns := client.ObjectKey{Namespace: ns, Name: rollout.TurnsConfigMapName}
		foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: turns.Name, Labels: map[string]string{"app": "web"}},
			Data: map[string]string{"x": "y"}}
		// Ours removed and someone else's put in its place; the operator may write its own in between.
		Eventually(func() error {
			err := clusterA.client.Delete(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: turns.Name}})
			if client.IgnoreNotFound(err) != nil {
				return err
			}
			return clusterA.client.Create(ctx, foreign.DeepCopy())
		}, timeout, interval).Should(Succeed())

		By("a change in cluster A needs the network's turn across clusters, which A cannot claim")
		Eventually(waitingReasonAfterChange(clusterA, "a2"), timeout, interval).Should(And(ContainSubstring(turns.Name), ContainSubstring("is not the operator's")))
		Consistently(func(g Gomega) {
			got := &corev1.ConfigMap{}
			g.Expect(clusterA.client.Get(ctx, turns, got)).To(Succeed())
			g.Expect(got.Data).To(Equal(foreign.Data))
			g.Expect(got.Labels).To(Equal(foreign.Labels))
			g.Expect(got.OwnerReferences).To(BeEmpty())
			g.Expect(simA.RestartCounts()).To(BeEmpty(), "nobody restarts without a turn the other cluster can see")
		}, "2s", interval).Should(Succeed())

		By("the foreign ConfigMap removed: A writes its own, and the waiting restart goes through")
		Expect(clusterA.client.Delete(ctx, foreign)).To(Succeed())
		Eventually(simA.RestartCounts, timeout, interval).Should(Equal(map[string]int{"a2": 1}))
		got := &corev1.ConfigMap{}
		Expect(clusterA.client.Get(ctx, turns, got)).To(Succeed())
		Expect(got.Labels).To(HaveKeyWithValue(resources.LabelManagedBy, resources.ManagedBy))
		settled(opA, simA)
	})
})

// reportOf is a transitive quorum map as a validator's stellar-core reports it: each key of sets with
// threshold t over validators vs.
func reportOf(sets map[int]struct {
	t  int
	vs []int
}) quorum.Map {
	m := quorum.Map{}
	for k, s := range sets {
		m[fixture.OrgKeys[k]] = &quorum.QSet{Threshold: s.t, Validators: keys(s.vs...)}
	}
	return m
}

// waitingReasonAfterChange changes the validator's memory limit, which replaces its pod, and reads why
// that change waits (status.rollout.reason).
func waitingReasonAfterChange(c cluster, name string) func(g Gomega) string {
	ExpectWithOffset(1, testutil.UpdateNode(ctx, c.client, ns, name, func(n *stellarv1alpha1.StellarNode) {
		n.Spec.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("3Gi")}
	})).To(Succeed())
	return func(g Gomega) string {
		n := &stellarv1alpha1.StellarNode{}
		g.Expect(c.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, n)).To(Succeed())
		g.Expect(n.Status.Rollout).NotTo(BeNil())
		return n.Status.Rollout.Reason
	}
}

func getSTSGeneration(c cluster, name string) int64 {
	sts := &appsv1.StatefulSet{}
	ExpectWithOffset(1, c.client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sts)).To(Succeed())
	return sts.Generation
}
