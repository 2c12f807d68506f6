package controller_test

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
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
