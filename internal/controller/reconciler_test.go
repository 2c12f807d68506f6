package controller_test

import (
	"fmt"
	"net/http"
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
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/controller"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

const (
	timeout  = 10 * time.Second
	interval = 50 * time.Millisecond
)

func validator(ns, name string, opts ...fixture.Option) *stellarv1alpha1.StellarNode {
	return fixture.Validator(ns, name, append([]fixture.Option{fixture.WithHomeDomain("example.org")}, opts...)...)
}

func key(ns, name string) client.ObjectKey { return client.ObjectKey{Namespace: ns, Name: name} }

func getSTS(ns, name string) func(g Gomega) *appsv1.StatefulSet {
	return func(g Gomega) *appsv1.StatefulSet {
		sts := &appsv1.StatefulSet{}
		g.Expect(k8sClient.Get(ctx, key(ns, name), sts)).To(Succeed())
		return sts
	}
}

func expectControlledBy(obj client.Object, node *stellarv1alpha1.StellarNode) {
	ref := metav1.GetControllerOf(obj)
	ExpectWithOffset(1, ref).NotTo(BeNil(), "%s has no controller", obj.GetName())
	ExpectWithOffset(1, ref.Kind).To(Equal("StellarNode"))
	ExpectWithOffset(1, ref.UID).To(Equal(node.UID))
}

func condition(ns, name, condType string) func(g Gomega) *metav1.Condition {
	return func(g Gomega) *metav1.Condition {
		node := &stellarv1alpha1.StellarNode{}
		g.Expect(k8sClient.Get(ctx, key(ns, name), node)).To(Succeed())
		c := meta.FindStatusCondition(node.Status.Conditions, condType)
		g.Expect(c).NotTo(BeNil())
		return c
	}
}

func eventsFor(ns, name string) func(g Gomega) []string {
	return func(g Gomega) []string {
		var list eventsv1.EventList
		g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		var out []string
		for _, e := range list.Items {
			if e.Regarding.Name == name {
				out = append(out, e.Reason+": "+e.Note)
			}
		}
		return out
	}
}

var _ = Describe("StellarNode reconciler", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("creates a validator's configuration, Services and StatefulSet", func() {
		node := validator(ns, "alpha")
		Expect(k8sClient.Create(ctx, node)).To(Succeed())

		sts := &appsv1.StatefulSet{}
		Eventually(func(g Gomega) { g.Expect(k8sClient.Get(ctx, key(ns, "alpha"), sts)).To(Succeed()) }, timeout, interval).Should(Succeed())
		expectControlledBy(sts, node)
		Expect(sts.Labels).To(HaveKeyWithValue(resources.LabelComponent, "validator"))
		Expect(sts.Labels).To(HaveKeyWithValue(resources.LabelNetwork, "testnet"))
		Expect(sts.Labels).To(HaveKeyWithValue(resources.LabelManagedBy, "stellar-operator"))
		Expect(sts.Spec.Selector.MatchLabels).To(Equal(map[string]string{resources.LabelName: "stellar-node", resources.LabelInstance: "alpha"}))
		Expect(sts.Spec.ServiceName).To(Equal("alpha-headless"))
		Expect(*sts.Spec.Replicas).To(Equal(int32(1)))
		Expect(sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted).To(Equal(appsv1.RetainPersistentVolumeClaimRetentionPolicyType))
		Expect(sts.Spec.VolumeClaimTemplates).To(HaveLen(1))
		Expect(sts.Spec.VolumeClaimTemplates[0].OwnerReferences).To(BeEmpty(), "a PVC owned by the node would defeat Retain")
		Expect(sts.Spec.Template.Annotations).To(HaveKey(peers.AnnotationMembership))

		pod := sts.Spec.Template.Spec
		Expect(pod.InitContainers).To(HaveLen(1))
		Expect(pod.InitContainers[0].Image).To(Equal(testOperatorImage))
		Expect(pod.InitContainers[0].Args[0]).To(Equal("render-config"))
		seed := pod.InitContainers[0].Env[0]
		Expect(seed.ValueFrom.SecretKeyRef.Name).To(Equal("alpha-seed"))
		Expect(seed.ValueFrom.SecretKeyRef.Key).To(Equal("STELLAR_CORE_SEED"))
		Expect(pod.Containers[0].Image).To(Equal("stellar/stellar-core:27.1.0"))
		Expect(strings.Join(pod.Containers[0].Command, " ")).To(ContainSubstring("stellar-core run --conf"))
		Expect(pod.Containers[0].Env).To(Equal([]corev1.EnvVar{{Name: "HOME", Value: "/tmp"}}), "the seed reaches only the init step")
		Expect(*pod.SecurityContext.RunAsNonRoot).To(BeTrue())

		cm := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, key(ns, "alpha-config"), cm)).To(Succeed())
		expectControlledBy(cm, node)
		Expect(cm.Data[resources.ConfigKey]).To(ContainSubstring(`NETWORK_PASSPHRASE = "Test SDF Network ; September 2015"`))
		Expect(cm.Data[resources.ConfigKey]).NotTo(ContainSubstring("NODE_SEED"))

		headless := &corev1.Service{}
		Expect(k8sClient.Get(ctx, key(ns, "alpha-headless"), headless)).To(Succeed())
		expectControlledBy(headless, node)
		Expect(headless.Spec.ClusterIP).To(Equal(corev1.ClusterIPNone))
		Expect(headless.Spec.PublishNotReadyAddresses).To(BeTrue())
		svc := &corev1.Service{}
		Expect(k8sClient.Get(ctx, key(ns, "alpha"), svc)).To(Succeed())
		Expect(svc.Spec.Ports[0].Port).To(Equal(int32(11625)))

		Eventually(func(g Gomega) {
			n := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, key(ns, "alpha"), n)).To(Succeed())
			g.Expect(n.Status.ObservedGeneration).To(Equal(n.Generation))
			g.Expect(n.Status.PeerAddress).To(Equal("alpha-0.alpha-headless." + ns + ".svc.cluster.local:11625"))
			g.Expect(n.Status.Phase).To(Equal(stellarv1alpha1.PhasePending))
		}, timeout, interval).Should(Succeed())
		Eventually(eventsFor(ns, "alpha"), timeout, interval).Should(ContainElement(ContainSubstring("Created: StatefulSet alpha created")))
	})

	It("sends no write when it reconciles an unchanged StellarNode", func() {
		for _, n := range []*stellarv1alpha1.StellarNode{validator(ns, "quiet"), fixture.Horizon(ns, "quiet-horizon")} {
			Expect(k8sClient.Create(ctx, n)).To(Succeed())
			Eventually(condition(ns, n.Name, stellarv1alpha1.ConditionProgressing), timeout, interval).Should(HaveField("ObservedGeneration", n.Generation))
		}
		Eventually(func(g Gomega) {
			g.Expect(k8sClient.Get(ctx, key(ns, "quiet-horizon"), &appsv1.Deployment{})).To(Succeed())
			g.Expect(k8sClient.Get(ctx, key(ns, "quiet"), &appsv1.StatefulSet{})).To(Succeed())
		}, timeout, interval).Should(Succeed())
		// Let the first reconciles finish: the counters settle once nothing is left to write.
		Eventually(func() map[string]int {
			requests.Reset()
			before := reconciles()
			touch(ns, "quiet")
			touch(ns, "quiet-horizon")
			Eventually(reconciles, timeout, interval).Should(BeNumerically(">=", before+2))
			return requests.Writes(controller.FieldOwner, "")
		}, timeout, interval).Should(BeEmpty(), "a reconcile of an unchanged node writes nothing")

		// The cache keeps no pod spec (SlimStatefulSet): once one was compared in full, a validator
		// whose pod spec did not change is reconciled from the cache, with no read past it. Its peer
		// restart policy is discovery's, not its pod's; observedGeneration says it was reconciled.
		requests.Reset()
		updateNode(ns, "quiet", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.PeerDiscovery.RestartPolicy = stellarv1alpha1.PeerRestartNone
		})
		Eventually(func(g Gomega) {
			n := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, key(ns, "quiet"), n)).To(Succeed())
			g.Expect(n.Status.ObservedGeneration).To(Equal(n.Generation))
		}, timeout, interval).Should(Succeed())
		Expect(requests.Count(func(r testutil.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/namespaces/"+ns+"/statefulsets/quiet")
		})).To(BeEmpty(), "an unchanged StatefulSet read again from the API server")
		// What it found is kept on the StatefulSet, for an operator started again.
		Expect(getSTS(ns, "quiet")(Default).Annotations).To(HaveKeyWithValue(controller.AnnotationPodSpecsCompared, MatchRegexp("^[0-9a-f]{64}/[0-9a-f]{64}$")))
	})

	It("reports Ready when the StatefulSet's pod is ready", func() {
		Expect(k8sClient.Create(ctx, validator(ns, "ready"))).To(Succeed())
		sts := &appsv1.StatefulSet{}
		Eventually(func(g Gomega) { g.Expect(k8sClient.Get(ctx, key(ns, "ready"), sts)).To(Succeed()) }, timeout, interval).Should(Succeed())
		// The operator writes the StatefulSet too (what it found of its pod spec): read again on a conflict.
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			if err := k8sClient.Get(ctx, key(ns, "ready"), sts); err != nil {
				return err
			}
			sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1, CurrentReplicas: 1}
			return k8sClient.Status().Update(ctx, sts)
		})).To(Succeed())
		Eventually(condition(ns, "ready", stellarv1alpha1.ConditionReady), timeout, interval).Should(HaveField("Status", metav1.ConditionTrue))
		Eventually(condition(ns, "ready", stellarv1alpha1.ConditionProgressing), timeout, interval).Should(HaveField("Status", metav1.ConditionFalse))
	})

	It("rolls the workload on a version change and suspends and resumes", func() {
		node := validator(ns, "beta")
		Expect(k8sClient.Create(ctx, node)).To(Succeed())
		Eventually(getSTS(ns, "beta"), timeout, interval).Should(HaveField("Spec.Template.Spec.Containers", HaveLen(2)), "stellar-core and its agent")

		updateNode(ns, "beta", func(n *stellarv1alpha1.StellarNode) { n.Spec.Version = "22.2.0" })
		Eventually(func(g Gomega) string {
			return getSTS(ns, "beta")(g).Spec.Template.Spec.Containers[0].Image
		}, timeout, interval).Should(Equal("stellar/stellar-core:22.2.0"))

		updateNode(ns, "beta", func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = true })
		Eventually(func(g Gomega) int32 { return *getSTS(ns, "beta")(g).Spec.Replicas }, timeout, interval).Should(BeZero())
		Eventually(condition(ns, "beta", stellarv1alpha1.ConditionReady), timeout, interval).Should(HaveField("Reason", "Suspended"))
		Expect(k8sClient.Get(ctx, key(ns, "beta-config"), &corev1.ConfigMap{})).To(Succeed(), "suspending keeps the configuration")
		Eventually(eventsFor(ns, "beta"), timeout, interval).Should(ContainElement(ContainSubstring("Suspended")))

		updateNode(ns, "beta", func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = false })
		Eventually(func(g Gomega) int32 { return *getSTS(ns, "beta")(g).Spec.Replicas }, timeout, interval).Should(Equal(int32(1)))
	})

	It("replaces no validator's pod for an operator upgrade alone, and takes the new image with the next change", func() {
		Expect(k8sClient.Create(ctx, validator(ns, "upgraded"))).To(Succeed())
		Eventually(getSTS(ns, "upgraded"), timeout, interval).Should(Not(BeNil()))
		// What the operator's previous release wrote: its own image, another tag, in the two containers
		// that run its binary.
		const older = "example.org/stellar-operator:older"
		Eventually(func() error {
			sts := getSTS(ns, "upgraded")(Default)
			sts.Spec.Template.Spec.InitContainers[0].Image = older
			sts.Spec.Template.Spec.Containers[1].Image = older
			return k8sClient.Update(ctx, sts)
		}, timeout, interval).Should(Succeed())
		generation := getSTS(ns, "upgraded")(Default).Generation
		Consistently(func(g Gomega) {
			sts := getSTS(ns, "upgraded")(g)
			g.Expect(sts.Generation).To(Equal(generation))
			g.Expect(sts.Spec.Template.Spec.InitContainers[0].Image).To(Equal(older))
			g.Expect(sts.Spec.Template.Spec.Containers[1].Image).To(Equal(older))
		}, 2*time.Second, interval).Should(Succeed(), "the upgraded operator replaced the pod for its own image")

		updateNode(ns, "upgraded", func(n *stellarv1alpha1.StellarNode) { n.Spec.Version = "22.2.0" })
		Eventually(func(g Gomega) {
			sts := getSTS(ns, "upgraded")(g)
			g.Expect(sts.Spec.Template.Spec.Containers[0].Image).To(Equal("stellar/stellar-core:22.2.0"))
			g.Expect(sts.Spec.Template.Spec.InitContainers[0].Image).To(Equal(testOperatorImage))
			g.Expect(sts.Spec.Template.Spec.Containers[1].Image).To(Equal(testOperatorImage))
		}, timeout, interval).Should(Succeed())
	})

	It("reverts hand edits but keeps peer discovery's annotations", func() {
		// No pod is ever Ready here, so the planner would let discovery restart gamma at once (a network
		// down rolls together): restartPolicy None keeps discovery's annotations as the test writes them.
		Expect(k8sClient.Create(ctx, validator(ns, "gamma", fixture.WithRestartPolicy(stellarv1alpha1.PeerRestartNone)))).To(Succeed())
		Eventually(getSTS(ns, "gamma"), timeout, interval).Should(Not(BeNil()))

		// Peer discovery writes its annotations with its own field manager.
		sts := getSTS(ns, "gamma")(Default)
		before := sts.DeepCopy()
		sts.Spec.Template.Annotations[peers.AnnotationMembership] = "discovered"
		sts.Spec.Template.Annotations[peers.AnnotationRestartedAt] = "2026-01-01T00:00:00Z"
		Expect(k8sClient.Patch(ctx, sts, client.MergeFrom(before), client.FieldOwner("stellar-operator-peer-discovery"))).To(Succeed())

		// A person edits fields the reconciler owns.
		Eventually(func() error {
			sts := getSTS(ns, "gamma")(Default)
			sts.Spec.Replicas = new(int32(3))
			sts.Spec.Template.Spec.Containers[0].Image = "evil/stellar-core:latest"
			return k8sClient.Update(ctx, sts)
		}, timeout, interval).Should(Succeed())
		Eventually(func() error {
			cm := &corev1.ConfigMap{}
			if err := k8sClient.Get(ctx, key(ns, "gamma-config"), cm); err != nil {
				return err
			}
			cm.Data[resources.ConfigKey] = "PUBLIC_HTTP_PORT = true\n"
			return k8sClient.Update(ctx, cm)
		}, timeout, interval).Should(Succeed())

		Eventually(func(g Gomega) {
			s := getSTS(ns, "gamma")(g)
			g.Expect(*s.Spec.Replicas).To(Equal(int32(1)))
			g.Expect(s.Spec.Template.Spec.Containers[0].Image).To(Equal("stellar/stellar-core:27.1.0"))
			g.Expect(s.Spec.Template.Annotations).To(HaveKeyWithValue(peers.AnnotationMembership, "discovered"))
			g.Expect(s.Spec.Template.Annotations).To(HaveKeyWithValue(peers.AnnotationRestartedAt, "2026-01-01T00:00:00Z"))
			c := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "gamma-config"), c)).To(Succeed())
			g.Expect(c.Data[resources.ConfigKey]).To(ContainSubstring("PUBLIC_HTTP_PORT = false"))
		}, timeout, interval).Should(Succeed())
	})

	It("starts a new validator with the current membership of its network", func() {
		// restartPolicy None: only the reconciler could change m1's membership.
		m1 := fixture.OrgValidator(ns, "m1", 0, fixture.WithRestartPolicy(stellarv1alpha1.PeerRestartNone))
		Expect(k8sClient.Create(ctx, m1)).To(Succeed())
		Eventually(getSTS(ns, "m1"), timeout, interval).Should(Not(BeNil()))
		Expect(k8sClient.Create(ctx, fixture.OrgValidator(ns, "m2", 1))).To(Succeed())
		Eventually(func(g Gomega) string {
			return getSTS(ns, "m2")(g).Spec.Template.Annotations[peers.AnnotationMembership]
		}, timeout, interval).Should(Equal(peers.MembershipHash([]peers.Member{peers.MemberOf(m1)})))
		Expect(getSTS(ns, "m1")(Default).Spec.Template.Annotations[peers.AnnotationMembership]).
			To(Equal(peers.MembershipHash(nil)), "the reconciler never changes an existing validator's membership")
	})

	It("checks a validator's configuration again when its network's members change", func() {
		checked := func(g Gomega) string {
			node := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, key(ns, "c1"), node)).To(Succeed())
			return node.Status.ConfigChecked
		}
		Expect(k8sClient.Create(ctx, fixture.OrgValidator(ns, "c1", 0))).To(Succeed())
		Eventually(checked, timeout, interval).ShouldNot(BeEmpty())
		alone := checked(Default)
		// c2 joins c1's quorum: c1's configuration is not the one checked any more.
		c2 := fixture.OrgValidator(ns, "c2", 1)
		Expect(k8sClient.Create(ctx, c2)).To(Succeed())
		Eventually(checked, timeout, interval).ShouldNot(Or(Equal(alone), BeEmpty()))
		// c2 leaves: the inputs are c1's alone again, and so is what was checked.
		Expect(k8sClient.Delete(ctx, c2)).To(Succeed())
		Eventually(checked, timeout, interval).Should(Equal(alone))
	})

	It("marks an unparsable quorumSet Degraded and touches nothing", func() {
		node := validator(ns, "broken")
		node.Spec.ValidatorConfig.QuorumSet = "[QUORUM_SET\nTHRESHOLD_PERCENT = 67"
		Expect(k8sClient.Create(ctx, node)).To(Succeed())
		Eventually(condition(ns, "broken", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", "InvalidConfig"),
			HaveField("Message", ContainSubstring("invalid quorumSet"))))
		Eventually(eventsFor(ns, "broken"), timeout, interval).Should(ContainElement(ContainSubstring("InvalidConfig: invalid quorumSet")))
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "broken"), &appsv1.StatefulSet{}))
		}, time.Second, interval).Should(BeTrue())

		// Fixing it lets the validator be created.
		updateNode(ns, "broken", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.QuorumSet = fixture.SafeQuorumSet
		})
		Eventually(getSTS(ns, "broken"), timeout, interval).Should(Not(BeNil()))
		Eventually(condition(ns, "broken", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(HaveField("Status", metav1.ConditionFalse))
	})

	DescribeTable("refuses a quorum stellar-core would refuse: Degraded, no StatefulSet for a new validator, a running one untouched",
		func(reason, message string, change func(*stellarv1alpha1.StellarNode)) {
			// A new validator never gets a StatefulSet.
			fresh := validator(ns, "fresh")
			change(fresh)
			Expect(k8sClient.Create(ctx, fresh)).To(Succeed())
			Eventually(condition(ns, "fresh", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
				HaveField("Status", metav1.ConditionTrue), HaveField("Reason", reason), HaveField("Message", ContainSubstring(message)),
				HaveField("Message", ContainSubstring("fix spec.validatorConfig."))))
			Eventually(eventsFor(ns, "fresh"), timeout, interval).Should(ContainElement(HavePrefix(reason + ": ")))
			Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "fresh"), &appsv1.StatefulSet{}))).To(BeTrue())

			// A running validator keeps its StatefulSet as it was.
			Expect(k8sClient.Create(ctx, validator(ns, "running"))).To(Succeed())
			before := &appsv1.StatefulSet{}
			Eventually(func() error { return k8sClient.Get(ctx, key(ns, "running"), before) }, timeout, interval).Should(Succeed())
			updateNode(ns, "running", change)
			Eventually(condition(ns, "running", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(HaveField("Reason", reason))
			after := getSTS(ns, "running")(Default)
			Expect(after.Generation).To(Equal(before.Generation), "the running validator's StatefulSet is untouched: %v -> %v", before.Spec.Template.Annotations, after.Spec.Template.Annotations)
			cm := &corev1.ConfigMap{}
			Expect(k8sClient.Get(ctx, key(ns, "running-config"), cm)).To(Succeed())
			Expect(cm.Data["stellar-core.cfg"]).To(ContainSubstring("GCYKZEUA6S5TU7CSMUEJNH7NGUQKKLHVCFK6W32GCUR6VB324MSCIKNS"), "its configuration is kept")
		},
		Entry("THRESHOLD_PERCENT = 150", "InvalidQuorumSet", "invalid THRESHOLD_PERCENT", quorumSetTo(150, sdf1, sdf2, sdf3, other)),
		Entry("THRESHOLD_PERCENT = 0", "InvalidQuorumSet", "invalid THRESHOLD_PERCENT", quorumSetTo(0, sdf1, sdf2, sdf3, other)),
		Entry("a key that is not one", "InvalidQuorumSet", `bad public key "GNOTAKEY"`, quorumSetTo(67, "GNOTAKEY", sdf2, sdf3, other)),
		Entry("one key twice", "InvalidQuorumSet", "Duplicate node", quorumSetTo(67, sdf1, sdf1, sdf3, other)),
		Entry("an empty VALIDATORS", "InvalidQuorumSet", "lists no validator", quorumSetTo(67)),
		Entry("a stray key inside [QUORUM_SET]", "InvalidQuorumSet", "should be a group", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.QuorumSet = fixture.SafeQuorumSet + "CATCHUP_COMPLETE = true\n"
		}),
		Entry("a quorum that needs UNSAFE_QUORUM", "UnsafeQuorum", "stops when any one of them fails", quorumSetTo(67, sdf1, sdf2, sdf3)),
		// Each validator its own organisation (its own home domain): an organisation of one.
		Entry("an organisation of one without an archive", "ArchivesNotBlocking", "Quorum can be reached without validators with an archive",
			func(n *stellarv1alpha1.StellarNode) { fixture.InOrganisation(n.Name+".example.org", "", nil)(n) }),
		Entry("a quorum of LOW validators only on v22.1", "LowQualityQuorum", "At least one validator must have a quality level higher than LOW",
			func(n *stellarv1alpha1.StellarNode) {
				n.Spec.Version = "22.1.0"
				fixture.InOrganisation(n.Name+".example.org", "", &stellarv1alpha1.QuorumSpec{Quality: stellarv1alpha1.QualityLow})(n)
				fixture.AllowingUnsafeQuorum()(n)
			}),
		Entry("ntpServer on v27.0, which has no NTP_DRIFT_CHECK_SERVER", "UnknownConfigKey", "NTP_DRIFT_CHECK_SERVER",
			func(n *stellarv1alpha1.StellarNode) {
				n.Spec.Version = "27.0.0"
				n.Spec.ValidatorConfig.NTPServer = new("time.example.org")
			}),
	)

	It("refuses a second validator of a network with the same publicKey", func() {
		first := validator(ns, "first")
		fixture.InOrganisation("example.org", other, nil)(first)
		fixture.AllowingUnsafeQuorum()(first)
		Expect(k8sClient.Create(ctx, first)).To(Succeed())
		Eventually(getSTS(ns, "first"), timeout, interval).Should(Not(BeNil()))
		second := validator(ns, "second")
		fixture.InOrganisation("example.org", other, nil)(second)
		fixture.AllowingUnsafeQuorum()(second)
		Expect(k8sClient.Create(ctx, second)).To(Succeed())
		Eventually(condition(ns, "second", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Reason", "DuplicateKey"), HaveField("Message", ContainSubstring("validator first"))))
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "second"), &appsv1.StatefulSet{}))
		}, time.Second, interval).Should(BeTrue(), "one key on two pods is one node twice: the second never starts")
		Expect(condition(ns, "first", stellarv1alpha1.ConditionDegraded)(Default).Status).To(Equal(metav1.ConditionFalse))
	})

	It("reports render-config's refusal from the pod", func() {
		Expect(k8sClient.Create(ctx, validator(ns, "refused"))).To(Succeed())
		var sts *appsv1.StatefulSet
		Eventually(func(g Gomega) { sts = getSTS(ns, "refused")(g) }, timeout, interval).Should(Succeed())
		pod := testutil.PodFor(sts)
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{
			Name: "render-config", Image: testOperatorImage,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1,
				Message: "render-config: the seed's public key GBE53... is not the StellarNode's publicKey GCYKZ...\n"}},
		}}
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		Eventually(condition(ns, "refused", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Reason", "RenderConfigFailed"), HaveField("Message", ContainSubstring("is not the StellarNode's publicKey"))))
	})

	It("marks a pod that cannot find its seed Secret Degraded", func() {
		Expect(k8sClient.Create(ctx, validator(ns, "noseed"))).To(Succeed())
		sts := &appsv1.StatefulSet{}
		Eventually(func(g Gomega) { g.Expect(k8sClient.Get(ctx, key(ns, "noseed"), sts)).To(Succeed()) }, timeout, interval).Should(Succeed())
		// The kubelet reports the missing Secret on the pod; envtest has no kubelet, so the test writes it.
		pod := testutil.PodFor(sts)
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{
			Name: "render-config", Image: testOperatorImage,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "CreateContainerConfigError", Message: `secret "noseed-seed" not found`,
			}},
		}}
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		Eventually(condition(ns, "noseed", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Reason", "PodCannotStart"), HaveField("Message", ContainSubstring(`secret "noseed-seed" not found`))))
		Eventually(eventsFor(ns, "noseed"), timeout, interval).Should(ContainElement(ContainSubstring(`secret "noseed-seed" not found`)))
	})

	It("spreads a network's validators across nodes and zones by default, softly", func() {
		Expect(k8sClient.Create(ctx, validator(ns, "spread"))).To(Succeed())
		Eventually(func(g Gomega) []string {
			var keys []string
			for _, c := range getSTS(ns, "spread")(g).Spec.Template.Spec.TopologySpreadConstraints {
				g.Expect(c.WhenUnsatisfiable).To(Equal(corev1.ScheduleAnyway))
				g.Expect(c.LabelSelector.MatchLabels).To(HaveKey(resources.LabelNetworkID))
				keys = append(keys, c.TopologyKey)
			}
			return keys
		}, timeout, interval).Should(ConsistOf("kubernetes.io/hostname", "topology.kubernetes.io/zone"))
	})

	It("says why a pod does not run (an image that cannot be pulled), and clears it when the pod recovers", func() {
		Expect(k8sClient.Create(ctx, validator(ns, "unpulled"))).To(Succeed())
		sts := &appsv1.StatefulSet{}
		Eventually(func(g Gomega) { g.Expect(k8sClient.Get(ctx, key(ns, "unpulled"), sts)).To(Succeed()) }, timeout, interval).Should(Succeed())
		pod := testutil.PodFor(sts)
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "stellar-core", Image: "stellar/stellar-core:27.1.0",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff",
				Message: `Back-off pulling image "stellar/stellar-core:27.1.0"`}}}}
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		Eventually(condition(ns, "unpulled", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", stellarv1alpha1.ReasonImagePullFailed),
			HaveField("Message", ContainSubstring("cannot pull the image stellar/stellar-core:27.1.0"))))
		Eventually(eventsFor(ns, "unpulled"), timeout, interval).Should(ContainElement(HavePrefix(stellarv1alpha1.ReasonImagePullFailed + ": ")))

		pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		Eventually(condition(ns, "unpulled", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", stellarv1alpha1.ReasonAsExpected)))
	})

	It("runs Horizon and Soroban RPC as Deployments with their own images", func() {
		horizon := fixture.Horizon(ns, "horizon")
		rpc := fixture.SorobanRPC(ns, "rpc")
		Expect(k8sClient.Create(ctx, horizon)).To(Succeed())
		Expect(k8sClient.Create(ctx, rpc)).To(Succeed())

		dep := &appsv1.Deployment{}
		Eventually(func(g Gomega) { g.Expect(k8sClient.Get(ctx, key(ns, "horizon"), dep)).To(Succeed()) }, timeout, interval).Should(Succeed())
		expectControlledBy(dep, horizon)
		c := dep.Spec.Template.Spec.Containers[0]
		Expect(c.Image).To(Equal("stellar/stellar-horizon:27.0.0"))
		Expect(c.ReadinessProbe.HTTPGet.Path).To(Equal("/health"))
		Expect(c.Env).To(ContainElement(HaveField("ValueFrom.SecretKeyRef.Name", "horizon-db")))
		Expect(c.Env).To(ContainElement(corev1.EnvVar{Name: "NETWORK", Value: "testnet"}))
		svc := &corev1.Service{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "horizon"), svc) }, timeout, interval).Should(Succeed())
		Expect(svc.Spec.Ports[0].Port).To(Equal(int32(8000)))

		Eventually(func(g Gomega) { g.Expect(k8sClient.Get(ctx, key(ns, "rpc"), dep)).To(Succeed()) }, timeout, interval).Should(Succeed())
		c = dep.Spec.Template.Spec.Containers[0]
		Expect(c.Image).To(Equal("stellar/stellar-rpc:27.0.0"))
		Expect(strings.Join(c.ReadinessProbe.Exec.Command, " ")).To(ContainSubstring("getHealth"))
		Expect(k8sClient.Get(ctx, key(ns, "rpc"), &appsv1.StatefulSet{})).NotTo(Succeed(), "Soroban RPC is no validator")
	})
})

// Keys for quorum sets: SDF's three Testnet validators and one more.
const (
	sdf1  = "GDKXE2OZMJIPOSLNA6N6F2BVCI3O777I2OOC4BV7VOYUEHYX7RTRYA7Y"
	sdf2  = "GCUCJTIYXSOXKBSNFGNFWW5MUQ54HKRPGJUTQFJ5RQXZXNOLNXYDHRAP"
	sdf3  = "GC2V2EFSXN6SQTWVYA5EPJPBWWIMSD2XQNKUOHGEKB535AQE2I6IXV2Z"
	other = "GCYKZEUA6S5TU7CSMUEJNH7NGUQKKLHVCFK6W32GCUR6VB324MSCIKNS"
)

// quorumSetTo sets a raw quorum set of these keys at this threshold.
func quorumSetTo(percent int, keys ...string) func(*stellarv1alpha1.StellarNode) {
	return func(n *stellarv1alpha1.StellarNode) {
		quoted := make([]string, len(keys))
		for i, k := range keys {
			quoted[i] = fmt.Sprintf("%q", k)
		}
		n.Spec.ValidatorConfig.QuorumSet = fmt.Sprintf("[QUORUM_SET]\nTHRESHOLD_PERCENT = %d\nVALIDATORS = [%s]\n", percent, strings.Join(quoted, ", "))
	}
}

// touch changes an annotation of a StellarNode, which triggers a reconcile without changing its spec.
func touch(ns, name string) {
	updateNode(ns, name, func(n *stellarv1alpha1.StellarNode) {
		if n.Annotations == nil {
			n.Annotations = map[string]string{}
		}
		n.Annotations["example.org/touched"] = time.Now().Format(time.RFC3339Nano)
	})
}

// reconciles counts the StellarNode reconciles that ended without error, from controller-runtime's metrics.
func reconciles() float64 {
	families, err := ctrlmetrics.Registry.Gather()
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	var total float64
	for _, f := range families {
		if f.GetName() != "controller_runtime_reconcile_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["controller"] == "stellarnode" && labels["result"] == "success" {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

// updateNode changes a StellarNode, retrying when the reconciler wrote its status in between.
func updateNode(ns, name string, mutate func(*stellarv1alpha1.StellarNode)) {
	ExpectWithOffset(1, testutil.UpdateNode(ctx, k8sClient, ns, name, mutate)).To(Succeed())
}
