package peerdiscovery_test

import (
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// The operator as it ships (reconciler, discovery and their one planner) against the pod simulator,
// which holds every new pod NotReady for a while, as a real validator catching up would be.
var _ = Describe("Rollouts of validator changes", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	updateAll := func(change func(*stellarv1alpha1.StellarNode), names ...string) {
		for _, n := range names {
			ExpectWithOffset(1, testutil.UpdateNode(ctx, k8sClient, ns, n, change)).To(Succeed())
		}
	}
	image := func(name string) func(g Gomega) string {
		return func(g Gomega) string {
			sts := &appsv1.StatefulSet{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sts)).To(Succeed())
			return sts.Spec.Template.Spec.Containers[0].Image
		}
	}
	node := func(name string) func(g Gomega) *stellarv1alpha1.StellarNode {
		return func(g Gomega) *stellarv1alpha1.StellarNode {
			n := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, n)).To(Succeed())
			return n
		}
	}
	condition := func(name, condType string) func(g Gomega) *metav1.Condition {
		return func(g Gomega) *metav1.Condition {
			c := meta.FindStatusCondition(node(name)(g).Status.Conditions, condType)
			g.Expect(c).NotTo(BeNil())
			return c
		}
	}
	newVersion := func(n *stellarv1alpha1.StellarNode) { n.Spec.Version = "22.3.0" }
	newResources := func(n *stellarv1alpha1.StellarNode) {
		n.Spec.Resources = corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1500m")}}
	}
	newQuorumSet := func(n *stellarv1alpha1.StellarNode) {
		n.Spec.ValidatorConfig.QuorumSet = strings.Replace(fixture.SafeQuorumSet, "THRESHOLD_PERCENT = 67", "THRESHOLD_PERCENT = 75", 1)
	}
	four := []string{"r1", "r2", "r3", "r4"}

	DescribeTable("replaces four validators of one network one at a time, each once, when all four change in one go",
		func(change func(*stellarv1alpha1.StellarNode), replaced func(*appsv1.StatefulSet) bool, says string) {
			sim := startSimulator(ns, 500*time.Millisecond)
			for _, n := range four {
				create(fixture.Validator(ns, n))
			}
			settled(ns, sim, 4)

			updateAll(change, four...)
			Eventually(func(g Gomega) {
				for _, n := range four {
					sts := &appsv1.StatefulSet{}
					g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: n}, sts)).To(Succeed())
					g.Expect(replaced(sts)).To(BeTrue(), n)
				}
				g.Expect(sim.RestartCounts()).To(Equal(map[string]int{"r1": 1, "r2": 1, "r3": 1, "r4": 1}))
			}, 2*timeout, interval).Should(Succeed())
			Expect(sim.MostDownAtOnce()).To(Equal(1), "never two validators of the network not Ready at once")
			settled(ns, sim, 4)

			var events eventsv1.EventList
			Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
			started := map[string]int{}
			for _, e := range events.Items {
				if e.Reason == "RolloutStarted" {
					started[e.Regarding.Name]++
					Expect(e.Note).To(HavePrefix("replacing the validator's pod for "+says), "the event says what changed")
				}
			}
			Expect(started).To(Equal(map[string]int{"r1": 1, "r2": 1, "r3": 1, "r4": 1}), "one turn each")
			for _, n := range four {
				Expect(node(n)(Default).Status.Rollout).To(BeNil(), "nothing waits any more")
			}
		},
		Entry("a new version", newVersion, func(sts *appsv1.StatefulSet) bool {
			return sts.Spec.Template.Spec.Containers[0].Image == "stellar/stellar-core:22.3.0"
		}, "init container render-config arguments, container stellar-core image stellar/stellar-core:27.1.0 -> stellar/stellar-core:22.3.0"),
		Entry("new resources", newResources, func(sts *appsv1.StatefulSet) bool {
			return sts.Spec.Template.Spec.Containers[0].Resources.Requests.Cpu().MilliValue() == 1500
		}, "container stellar-core resources:"),
		Entry("a new quorum set", newQuorumSet, func(sts *appsv1.StatefulSet) bool {
			cm := &corev1.ConfigMap{}
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: sts.Namespace, Name: sts.Name + "-config"}, cm) == nil &&
				strings.Contains(cm.Data["stellar-core.cfg"], "THRESHOLD_PERCENT = 75")
		}, "base config: QUORUM_SET:"),
	)

	It("rolls two networks in parallel, shows who waits for whom, and raises Degraded when blocked too long", func() {
		sim := startSimulator(ns, 300*time.Millisecond)
		testnet := []string{"t1", "t2"}
		mainnet := []string{"c1", "c2"}
		for _, n := range testnet {
			create(fixture.Validator(ns, n))
		}
		for _, n := range mainnet {
			create(fixture.Validator(ns, n, fixture.OnNetwork(stellarv1alpha1.NetworkMainnet)))
		}
		settled(ns, sim, 4)

		// Testnet's validator replaced first stays down: its network's next turn never comes.
		sim.HoldDown("t1", true)
		sim.HoldDown("t2", true)
		updateAll(newVersion, append(slices.Clone(testnet), mainnet...)...)

		By("the other network rolls on")
		Eventually(image("c1"), timeout, interval).Should(Equal("stellar/stellar-core:22.3.0"))
		Eventually(image("c2"), timeout, interval).Should(Equal("stellar/stellar-core:22.3.0"))

		By("one Testnet validator is replaced, the other waits for it, and says so")
		var first, second string
		Eventually(func(g Gomega) {
			counts := sim.RestartCounts()
			g.Expect(counts["t1"] + counts["t2"]).To(Equal(1))
			first, second = "t1", "t2"
			if counts["t2"] == 1 {
				first, second = "t2", "t1"
			}
		}, timeout, interval).Should(Succeed())
		Eventually(func(g Gomega) {
			st := node(second)(g).Status
			g.Expect(st.Rollout).NotTo(BeNil())
			g.Expect(st.Rollout.WaitingFor).To(Equal([]string{first}))
			g.Expect(st.Rollout.Changes).To(ContainElement(
				"container stellar-core image stellar/stellar-core:"+fixture.DefaultVersion+" -> stellar/stellar-core:22.3.0"), "what it waits to change")
			c := meta.FindStatusCondition(st.Conditions, stellarv1alpha1.ConditionProgressing)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(stellarv1alpha1.ReasonWaitingForTurn))
			g.Expect(c.Message).To(ContainSubstring(first))
		}, timeout, interval).Should(Succeed())
		Expect(image(second)(Default)).To(Equal("stellar/stellar-core:"+fixture.DefaultVersion), "no turn, no new template")
		requests.Reset()

		By("past the threshold the waiting validator is Degraded, naming its blocker")
		Eventually(condition(second, stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", stellarv1alpha1.ReasonRolloutBlocked),
			HaveField("Message", ContainSubstring(first))))
		Expect(sim.RestartCounts()[second]).To(BeZero())
		// Rechecked every 2 s while it waits, from the cache: its pod spec, compared once, is not read again.
		Expect(requests.Count(func(r testutil.Request) bool {
			return r.Method == "GET" && strings.HasSuffix(r.Path, "/namespaces/"+ns+"/statefulsets/"+second)
		})).To(BeEmpty(), "a waiting validator's StatefulSet read again from the API server at each recheck")

		By("once the blocker is back, the waiting one gets its turn")
		sim.HoldDown(first, false)
		Eventually(image(second), timeout, interval).Should(Equal("stellar/stellar-core:22.3.0"))
		sim.HoldDown(second, false)
		settled(ns, sim, 4)
		Eventually(condition(second, stellarv1alpha1.ConditionDegraded), timeout, interval).Should(HaveField("Status", metav1.ConditionFalse))
		Expect(node(second)(Default).Status.Rollout).To(BeNil())
	})

	It("rolls a validator deleted while suspended, and created again under its name, like any other", func() {
		sim := startSimulator(ns, 200*time.Millisecond)
		three := []string{"g1", "g2", "g3"}
		for _, n := range three {
			create(fixture.Validator(ns, n))
		}
		settled(ns, sim, 3)
		// Suspended, g3 is no member: its change gets a turn that holds nothing of the network.
		updateAll(func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = true; n.Spec.Version = "22.3.0" }, "g3")
		Eventually(image("g3"), timeout, interval).Should(Equal("stellar/stellar-core:22.3.0"))
		Expect(k8sClient.Delete(ctx, fixture.Validator(ns, "g3"))).To(Succeed())
		// envtest runs no garbage collector: remove what it would, everything g3 owned. With no kubelet,
		// a pod bound to a node deleted with a grace period stays terminating forever: the simulator
		// may not have removed g3's pod yet, so it goes at once, as a kubelet would finish it.
		owned := client.MatchingLabels{resources.LabelInstance: "g3"}
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "g3"}, &stellarv1alpha1.StellarNode{}))
		}, timeout, interval).Should(BeTrue())
		// A reconcile that still saw the old g3 in its cache may write its StatefulSet again (owned by the
		// old g3, which a garbage collector would remove): removed until none comes back for a second.
		Eventually(func(g Gomega) {
			for _, obj := range []client.Object{&appsv1.StatefulSet{}, &corev1.ConfigMap{}, &corev1.Service{}, &networkingv1.NetworkPolicy{}, &corev1.Pod{}} {
				g.Expect(k8sClient.DeleteAllOf(ctx, obj, client.InNamespace(ns), owned, client.GracePeriodSeconds(0))).To(Succeed())
			}
			g.Consistently(func() bool {
				return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "g3"}, &appsv1.StatefulSet{}))
			}, time.Second, interval).Should(BeTrue())
		}, timeout, interval).Should(Succeed())
		create(fixture.Validator(ns, "g3"))
		settled(ns, sim, 3)

		updateAll(newVersion, three...)
		Eventually(func(g Gomega) {
			for _, n := range three {
				g.Expect(image(n)(g)).To(Equal("stellar/stellar-core:22.3.0"))
			}
			g.Expect(sim.RestartCounts()).To(Equal(map[string]int{"g1": 1, "g2": 1, "g3": 1}))
		}, 2*timeout, interval).Should(Succeed())
		Expect(sim.MostDownAtOnce()).To(Equal(1))
	})

	It("forgets on /rollouts a network whose validators are all gone", func() {
		sim := startSimulator(ns, 0)
		create(fixture.Validator(ns, "f1"), fixture.Validator(ns, "m1", fixture.OnNetwork(stellarv1alpha1.NetworkMainnet)))
		settled(ns, sim, 2)
		mainnet := fixture.Validator(ns, "m1", fixture.OnNetwork(stellarv1alpha1.NetworkMainnet)).NetworkID()
		networksOf := func(g Gomega) []string {
			rec := httptest.NewRecorder()
			rollouts.ServeHTTP(rec, httptest.NewRequest("GET", "/rollouts", nil))
			var body struct {
				Networks []struct{ Namespace, Network string } `json:"networks"`
			}
			g.Expect(json.Unmarshal(rec.Body.Bytes(), &body)).To(Succeed())
			var out []string
			for _, q := range body.Networks {
				if q.Namespace == ns {
					out = append(out, q.Network)
				}
			}
			return out
		}
		Eventually(networksOf, timeout, interval).Should(ContainElement(mainnet))
		Expect(k8sClient.Delete(ctx, fixture.Validator(ns, "m1"))).To(Succeed())
		Eventually(networksOf, timeout, interval).ShouldNot(ContainElement(mainnet))
		Expect(networksOf(Default)).To(HaveLen(1), "the other network stays")
	})

	It("rolls a network where no validator is in consensus all at once", func() {
		sim := startSimulator(ns, 200*time.Millisecond)
		three := []string{"d1", "d2", "d3"}
		for _, n := range three {
			create(fixture.Validator(ns, n))
		}
		settled(ns, sim, 3)
		for _, n := range three {
			sim.HoldDown(n, true)
			pod := &corev1.Pod{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: n + "-0"}, pod)).To(Succeed())
			testutil.SetReady(pod, false)
			Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		}
		updateAll(newVersion, three...)
		Eventually(func(g Gomega) {
			for _, n := range three {
				g.Expect(image(n)(g)).To(Equal("stellar/stellar-core:22.3.0"))
			}
			g.Expect(sim.RestartCounts()).To(Equal(map[string]int{"d1": 1, "d2": 1, "d3": 1}))
		}, timeout, interval).Should(Succeed())
		var events eventsv1.EventList
		Expect(k8sClient.List(ctx, &events, client.InNamespace(ns))).To(Succeed())
		Expect(events.Items).To(ContainElement(HaveField("Note", ContainSubstring("no validator of the network is in consensus"))))
	})

	It("lets a change through at once with rolloutPolicy Immediate", func() {
		sim := startSimulator(ns, 200*time.Millisecond)
		create(fixture.Validator(ns, "i1"), fixture.Validator(ns, "i2"), fixture.Validator(ns, "i3"))
		settled(ns, sim, 3)
		sim.HoldDown("i1", true)
		updateAll(newVersion, "i1")
		Eventually(func() int { return sim.RestartCounts()["i1"] }, timeout, interval).Should(Equal(1))

		updateAll(newVersion, "i2")
		Eventually(condition("i2", stellarv1alpha1.ConditionProgressing), timeout, interval).Should(HaveField("Reason", stellarv1alpha1.ReasonWaitingForTurn))
		updateAll(func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.RolloutPolicy = stellarv1alpha1.RolloutImmediate
		}, "i2")
		Eventually(image("i2"), timeout, interval).Should(Equal("stellar/stellar-core:22.3.0"))
		sim.HoldDown("i1", false)
	})

	It("keeps a PodDisruptionBudget per network that refuses to evict a second validator while one is down", func() {
		sim := startSimulator(ns, 200*time.Millisecond)
		three := []string{"e1", "e2", "e3"}
		for _, n := range three {
			create(fixture.Validator(ns, n))
		}
		create(fixture.Validator(ns, "other", fixture.OnNetwork(stellarv1alpha1.NetworkMainnet)))
		settled(ns, sim, 4)

		id := node("e1")(Default).NetworkID()
		pdb := &policyv1.PodDisruptionBudget{}
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: resources.NetworkDisruptionBudgetName(id)}, pdb)
		}, timeout, interval).Should(Succeed())
		Expect(pdb.Spec.MinAvailable.IntValue()).To(Equal(2), "three validators, one may go")
		Expect(pdb.Spec.MaxUnavailable).To(BeNil())
		Expect(pdb.OwnerReferences).To(HaveLen(3), "every validator of the network owns it")
		selector, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		Expect(err).NotTo(HaveOccurred())
		var pods corev1.PodList
		Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: selector})).To(Succeed())
		var selected []string
		for _, p := range pods.Items {
			selected = append(selected, p.Name)
		}
		Expect(selected).To(ConsistOf("e1-0", "e2-0", "e3-0"), "the other network's validator has its own budget")
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: resources.NetworkDisruptionBudgetName(node("other")(Default).NetworkID())},
			&policyv1.PodDisruptionBudget{})).To(Succeed())

		// envtest runs no disruption controller: write the status it would, from the pods.
		sim.HoldDown("e1", true)
		writeDisruptionStatus(pdb, selector)
		evict := func(name string) error {
			pod := &corev1.Pod{}
			if err := k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pod); err != nil {
				return err
			}
			return k8sClient.SubResource("eviction").Create(ctx, pod, &policyv1.Eviction{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, DeleteOptions: &metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}})
		}
		Expect(evict("e1-0")).To(Succeed(), "one validator may be evicted")
		Eventually(func(g Gomega) {
			pod := &corev1.Pod{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "e1-0"}, pod)).To(Succeed())
			g.Expect(testutil.IsReady(pod)).To(BeFalse())
		}, timeout, interval).Should(Succeed())
		writeDisruptionStatus(pdb, selector)
		err = evict("e2-0")
		Expect(apierrors.IsTooManyRequests(err)).To(BeTrue(), "the API server refuses a second eviction while one is down: %v", err)
		sim.HoldDown("e1", false)
	})
})

// writeDisruptionStatus writes the status kube-controller-manager's disruption controller would give a
// budget of a number of minAvailable over the pods its selector matches: expected are the pods that exist.
func writeDisruptionStatus(pdb *policyv1.PodDisruptionBudget, selector labels.Selector) {
	EventuallyWithOffset(1, func(g Gomega) {
		live := &policyv1.PodDisruptionBudget{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(pdb), live)).To(Succeed())
		var pods corev1.PodList
		g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(pdb.Namespace), client.MatchingLabelsSelector{Selector: selector})).To(Succeed())
		expected, healthy := int32(len(pods.Items)), int32(0)
		for i := range pods.Items {
			if testutil.IsReady(&pods.Items[i]) {
				healthy++
			}
		}
		desired := int32(live.Spec.MinAvailable.IntValue())
		live.Status = policyv1.PodDisruptionBudgetStatus{
			ObservedGeneration: live.Generation, ExpectedPods: expected, CurrentHealthy: healthy, DesiredHealthy: desired,
			DisruptionsAllowed: max(healthy-desired, 0),
		}
		g.Expect(k8sClient.Status().Update(ctx, live)).To(Succeed())
	}, timeout, interval).Should(Succeed())
}
