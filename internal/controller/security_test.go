package controller_test

import (
	"fmt"
	"maps"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

var _ = Describe("A validator's NetworkPolicy", func() {
	It("opens the peer port to all, the archive port to validators, the operator and monitoring, the agent's to the operator and monitoring", func() {
		ns := newNamespace()
		n := validator(ns, "guarded")
		n.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Publish: new(true)}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		np := &networkingv1.NetworkPolicy{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "guarded"), np) }, timeout, interval).Should(Succeed())
		Expect(np.Spec.PodSelector.MatchLabels).To(Equal(map[string]string{resources.LabelName: resources.AppName, resources.LabelInstance: "guarded"}))
		Expect(np.Spec.PolicyTypes).To(ConsistOf(networkingv1.PolicyTypeIngress))
		from := map[int32][]networkingv1.NetworkPolicyPeer{}
		for _, rule := range np.Spec.Ingress {
			Expect(rule.Ports).To(HaveLen(1))
			from[rule.Ports[0].Port.IntVal] = rule.From
		}
		Expect(from).To(HaveKeyWithValue(int32(11625), BeEmpty()), "the peer port admits everyone")
		nsOf := func(peers []networkingv1.NetworkPolicyPeer) []string {
			var out []string
			for _, p := range peers {
				if p.NamespaceSelector != nil {
					out = append(out, p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])
				}
			}
			return out
		}
		Expect(nsOf(from[resources.AgentPort])).To(ConsistOf(testOperatorNamespace, testMonitoringNamespace))
		Expect(from[resources.AgentPort]).To(HaveLen(2), "nothing but the two namespaces reaches the agent")
		Expect(nsOf(from[11627])).To(ConsistOf(testOperatorNamespace, testMonitoringNamespace))
		Expect(from[11627]).To(ContainElement(HaveField("PodSelector.MatchLabels", HaveKeyWithValue(resources.LabelComponent, "validator"))))
		Expect(from).NotTo(HaveKey(int32(11626)), "the admin port is reachable from nowhere")
		Expect(metav1.GetControllerOf(np)).NotTo(BeNil())
	})
})

var _ = Describe("Objects that are not the operator's", func() {
	It("are never adopted: a Service and a ConfigMap of the same names keep their spec and owners", func() {
		ns := newNamespace()
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-config"}, Data: map[string]string{"index.html": "hello"}}
		svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
		Expect(k8sClient.Create(ctx, cm)).To(Succeed())
		Expect(k8sClient.Create(ctx, svc)).To(Succeed())
		Expect(k8sClient.Create(ctx, validator(ns, "web"))).To(Succeed())

		Eventually(condition(ns, "web", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", stellarv1alpha1.ReasonNameConflict),
			HaveField("Message", ContainSubstring("does not belong to this StellarNode"))))
		Eventually(eventsFor(ns, "web"), timeout, interval).Should(ContainElement(HavePrefix(stellarv1alpha1.ReasonNameConflict + ": ")))
		Consistently(func(g Gomega) {
			gotCM, gotSvc := &corev1.ConfigMap{}, &corev1.Service{}
			g.Expect(k8sClient.Get(ctx, key(ns, "web-config"), gotCM)).To(Succeed())
			g.Expect(gotCM.Data).To(Equal(map[string]string{"index.html": "hello"}))
			g.Expect(gotCM.OwnerReferences).To(BeEmpty())
			g.Expect(k8sClient.Get(ctx, key(ns, "web"), gotSvc)).To(Succeed())
			g.Expect(gotSvc.Spec.Selector).To(Equal(map[string]string{"app": "web"}))
			g.Expect(gotSvc.OwnerReferences).To(BeEmpty())
		}, "2s", interval).Should(Succeed())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "web"), &appsv1.StatefulSet{}))).To(BeTrue())
	})
})

var _ = Describe("The administrator's policy", func() {
	It("refuses an image from another registry and an archive program not allowed, and applies nothing", func() {
		ns := newNamespace()
		img := validator(ns, "elsewhere")
		img.Spec.Image = "evil.example.com/stellar-core:27.1.0"
		prog := validator(ns, "curler")
		prog.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Publish: new(true), ObjectStorage: &stellarv1alpha1.ObjectStorageArchive{
			Put: "gsutil cp {0} gs://b/{1}", URL: "https://b.example.org"}}
		Expect(k8sClient.Create(ctx, img)).To(Succeed())
		Expect(k8sClient.Create(ctx, prog)).To(Succeed())
		for name, msg := range map[string]string{"elsewhere": "not from an allowed registry", "curler": `runs "gsutil"`} {
			Eventually(condition(ns, name, stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
				HaveField("Status", metav1.ConditionTrue), HaveField("Reason", stellarv1alpha1.ReasonNotAllowed), HaveField("Message", ContainSubstring(msg))))
			Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, name), &appsv1.StatefulSet{}))).To(BeTrue())
			Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, name+"-config"), &corev1.ConfigMap{}))).To(BeTrue())
		}
	})
})

var _ = Describe("A race with an object that is not the operator's", func() {
	It("never adopts it: a ConfigMap or Service created a moment after the StellarNode keeps its data, spec and owners", func() {
		ns := newNamespace()
		const rounds = 30
		foreignCM := func(name string) *corev1.ConfigMap {
			return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-config"}, Data: map[string]string{"index.html": "hello"}}
		}
		foreignSvc := func(name string) *corev1.Service {
			return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.ServiceSpec{
				Selector: map[string]string{"app": "web"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
		}
		// Which foreign objects were created: the others lost the race to the operator.
		var won []client.Object
		for i := range rounds {
			name := fmt.Sprintf("race-%d", i)
			Expect(k8sClient.Create(ctx, validator(ns, name))).To(Succeed())
			for _, obj := range []client.Object{foreignCM(name), foreignSvc(name)} {
				if err := k8sClient.Create(ctx, obj); err == nil {
					won = append(won, obj)
				} else {
					Expect(apierrors.IsAlreadyExists(err)).To(BeTrue(), "%v", err)
				}
			}
		}
		GinkgoWriter.Printf("%d of %d foreign objects were created before the operator's\n", len(won), 2*rounds)
		for _, obj := range won {
			Eventually(condition(ns, strings.TrimSuffix(obj.GetName(), "-config"), stellarv1alpha1.ConditionDegraded), timeout, interval).Should(
				HaveField("Reason", stellarv1alpha1.ReasonNameConflict))
		}
		adopted := func(g Gomega) []string {
			var out []string
			for _, obj := range won {
				switch want := obj.(type) {
				case *corev1.ConfigMap:
					got := &corev1.ConfigMap{}
					g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(want), got)).To(Succeed())
					if len(got.OwnerReferences) > 0 || !maps.Equal(got.Data, want.Data) || len(got.Labels) > 0 {
						out = append(out, "ConfigMap "+got.Name)
					}
				case *corev1.Service:
					got := &corev1.Service{}
					g.Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(want), got)).To(Succeed())
					if len(got.OwnerReferences) > 0 || !maps.Equal(got.Spec.Selector, want.Spec.Selector) || len(got.Labels) > 0 {
						out = append(out, "Service "+got.Name)
					}
				}
			}
			return out
		}
		Consistently(adopted, "2s", interval).Should(BeEmpty())
	})

	It("drops a field it stops setting on a child it created (its create's fields are its applies' too)", func() {
		ns := newNamespace()
		n := validator(ns, "archiver")
		n.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Publish: new(true)}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		ports := func(g Gomega) []string {
			svc := &corev1.Service{}
			g.Expect(k8sClient.Get(ctx, key(ns, resources.HeadlessServiceName(n)), svc)).To(Succeed())
			var out []string
			for _, p := range svc.Spec.Ports {
				out = append(out, p.Name)
			}
			return out
		}
		Eventually(ports, timeout, interval).Should(ContainElement("history"))
		Expect(testutil.UpdateNode(ctx, k8sClient, ns, "archiver", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.History.Publish = new(false)
		})).To(Succeed())
		Eventually(ports, timeout, interval).ShouldNot(ContainElement("history"))
	})
})

var _ = Describe("A stellar-peers ConfigMap that is not the operator's", func() {
	It("keeps its data and owners, its validators say NameConflict and start nothing, and removing it lets the operator write its own", func() {
		ns := newNamespace()
		foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: peers.ConfigMapName, Labels: map[string]string{"app": "mine"}},
			Data: map[string]string{peers.KeyKnownPeers: "203.0.113.9:11625\n"}}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		Expect(k8sClient.Create(ctx, validator(ns, "tenant"))).To(Succeed())
		Eventually(condition(ns, "tenant", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Reason", stellarv1alpha1.ReasonNameConflict), HaveField("Message", ContainSubstring("stellar-peers"))))
		Consistently(func(g Gomega) {
			got := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, peers.ConfigMapName), got)).To(Succeed())
			g.Expect(got.Data).To(Equal(foreign.Data))
			g.Expect(got.Labels).To(Equal(foreign.Labels))
			g.Expect(got.OwnerReferences).To(BeEmpty())
		}, "2s", interval).Should(Succeed())
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "tenant"), &appsv1.StatefulSet{}))).To(BeTrue(),
			"no pod may start reading someone else's peers")

		Expect(k8sClient.Delete(ctx, foreign)).To(Succeed())
		Eventually(func(g Gomega) map[string]string {
			got := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, peers.ConfigMapName), got)).To(Succeed())
			return got.Labels
		}, timeout, interval).Should(HaveKeyWithValue(resources.LabelManagedBy, resources.ManagedBy))
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "tenant"), &appsv1.StatefulSet{}) }, 3*timeout, interval).Should(Succeed())
	})
})

var _ = Describe("A stellar.toml fragment's name taken by a ConfigMap that is not the operator's", func() {
	It("keeps its data and owners, tells the domain's validators once and holds nothing that runs, and removing it lets the operator write the fragment", func() {
		ns := newNamespace()
		owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}}
		Expect(k8sClient.Create(ctx, owner)).To(Succeed())
		name := resources.StellarTOMLConfigMapName("example.org")
		foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": "web"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}},
			Data: map[string]string{resources.StellarTOMLKey: "# served by the web team\n"}}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		Expect(k8sClient.Create(ctx, validator(ns, "v1", fixture.WithHomeDomain("example.org")))).To(Succeed())
		Expect(k8sClient.Create(ctx, validator(ns, "v2", fixture.WithHomeDomain("example.org")))).To(Succeed())
		for _, v := range []string{"v1", "v2"} {
			Eventually(eventsFor(ns, v), timeout, interval).Should(ContainElement(And(
				HavePrefix(stellarv1alpha1.ReasonNameConflict+": the stellar.toml fragment of example.org is not written"), ContainSubstring(name))))
			// The fragment is for the user to serve: a name taken there holds nothing that runs.
			Eventually(getSTS(ns, v), timeout, interval).ShouldNot(BeNil())
		}
		Consistently(func(g Gomega) {
			got := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, name), got)).To(Succeed())
			g.Expect(got.Data).To(Equal(foreign.Data))
			g.Expect(got.Labels).To(Equal(foreign.Labels))
			g.Expect(got.OwnerReferences).To(Equal(foreign.OwnerReferences))
		}, "2s", interval).Should(Succeed())
		said := func(g Gomega) int {
			n := 0
			for _, e := range eventsFor(ns, "v1")(g) {
				if strings.HasPrefix(e, stellarv1alpha1.ReasonNameConflict+": the stellar.toml fragment") {
					n++
				}
			}
			return n
		}
		Expect(said(Default)).To(Equal(1), "said once, however often the fragments are reconciled")
		Expect(condition(ns, "v1", stellarv1alpha1.ConditionDegraded)(Default)).To(HaveField("Reason", Not(Equal(stellarv1alpha1.ReasonNameConflict))))

		Expect(k8sClient.Delete(ctx, foreign)).To(Succeed())
		Eventually(func(g Gomega) {
			got := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, name), got)).To(Succeed())
			g.Expect(got.Labels).To(HaveKeyWithValue(resources.LabelManagedBy, resources.ManagedBy))
			g.Expect(got.Data[resources.StellarTOMLKey]).To(And(ContainSubstring(`ALIAS = "v1"`), ContainSubstring(`ALIAS = "v2"`)))
		}, timeout, interval).Should(Succeed())
	})
})

var _ = Describe("Hostile neighbours and look-alike names", func() {
	It("give three look-alike home domains three fragments, and write nothing once settled", func() {
		ns := newNamespace()
		domains := []string{"a-b.org", "a.b-org", "A.B-ORG"}
		for i, domain := range domains {
			Expect(k8sClient.Create(ctx, validator(ns, fmt.Sprintf("twin-%d", i), fixture.WithHomeDomain(domain)))).To(Succeed())
		}
		// A foreign stellar-peers in a second namespace: its validator waits, nobody writes it.
		other := newNamespace()
		Expect(k8sClient.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: other, Name: peers.ConfigMapName},
			Data: map[string]string{"x": "y"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, validator(other, "tenant"))).To(Succeed())

		for i, domain := range domains {
			Eventually(func(g Gomega) string {
				cm := &corev1.ConfigMap{}
				g.Expect(k8sClient.Get(ctx, key(ns, resources.StellarTOMLConfigMapName(domain)), cm)).To(Succeed())
				return cm.Data[resources.StellarTOMLKey]
			}, timeout, interval).Should(ContainSubstring(fmt.Sprintf(`ALIAS = "twin-%d"`, i)))
		}
		Eventually(condition(other, "tenant", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(
			HaveField("Reason", stellarv1alpha1.ReasonNameConflict))
		Eventually(condition(ns, "twin-2", stellarv1alpha1.ConditionReady), timeout, interval).ShouldNot(BeNil())

		// Settled: no object of either namespace is written again, whatever the loops wake for.
		inThese := func(r testutil.Request) bool {
			return r.IsWrite() && !strings.Contains(r.Path, "/events") &&
				(strings.Contains(r.Path, "/namespaces/"+ns+"/") || strings.Contains(r.Path, "/namespaces/"+other+"/"))
		}
		Eventually(func() map[string]int {
			requests.Reset()
			time.Sleep(time.Second)
			return requests.Count(inThese)
		}, timeout, interval).Should(BeEmpty())
		requests.Reset()
		Consistently(func() map[string]int { return requests.Count(inThese) }, "5s", interval).Should(BeEmpty())
	})
})
