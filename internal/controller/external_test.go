package controller_test

import (
	"github.com/BurntSushi/toml"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/intstr"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

var _ = Describe("Public peer endpoints and the SEP-1 fragments", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	service := func(name string) func(g Gomega) *corev1.Service {
		return func(g Gomega) *corev1.Service {
			svc := &corev1.Service{}
			g.Expect(k8sClient.Get(ctx, key(ns, name), svc)).To(Succeed())
			return svc
		}
	}
	externalAddress := func(name string) func(g Gomega) string {
		return func(g Gomega) string {
			n := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, key(ns, name), n)).To(Succeed())
			return n.Status.ExternalAddress
		}
	}

	It("exposes the peer port only, says the address to dial, and removes the exposure with the spec", func() {
		advertised := validator(ns, "public")
		advertised.Spec.ValidatorConfig.ExternalPeer = &stellarv1alpha1.ExternalPeer{AdvertisedAddress: "core1.example.org:11625",
			Annotations: map[string]stellarv1alpha1.AnnotationValue{"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}}
		Expect(k8sClient.Create(ctx, advertised)).To(Succeed())
		Eventually(service("public-peer"), timeout, interval).Should(And(
			HaveField("Spec.Type", corev1.ServiceTypeLoadBalancer),
			HaveField("Spec.ExternalTrafficPolicy", corev1.ServiceExternalTrafficPolicyLocal),
			HaveField("Spec.Ports", ConsistOf(And(HaveField("Name", "peer"), HaveField("Port", int32(11625)),
				HaveField("TargetPort", intstr.FromString("peer"))))),
			HaveField("Annotations", HaveKeyWithValue("service.beta.kubernetes.io/aws-load-balancer-type", "nlb")),
			HaveField("Spec.Selector", HaveKeyWithValue("app.kubernetes.io/instance", "public"))))
		Eventually(externalAddress("public"), timeout, interval).Should(Equal("core1.example.org:11625"))

		By("a LoadBalancer without an advertised address: its address once the cloud gives one")
		lb := validator(ns, "lb")
		lb.Spec.ValidatorConfig.ExternalPeer = &stellarv1alpha1.ExternalPeer{}
		Expect(k8sClient.Create(ctx, lb)).To(Succeed())
		Eventually(service("lb-peer"), timeout, interval).Should(HaveField("Spec.Type", corev1.ServiceTypeLoadBalancer))
		Consistently(externalAddress("lb"), "500ms", interval).Should(BeEmpty())
		svc := service("lb-peer")(Default)
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{Hostname: "lb-1234.elb.example.com"}}
		Expect(k8sClient.Status().Update(ctx, svc)).To(Succeed())
		Eventually(externalAddress("lb"), timeout, interval).Should(Equal("lb-1234.elb.example.com:11625"))

		By("a NodePort")
		np := validator(ns, "np")
		np.Spec.ValidatorConfig.ExternalPeer = &stellarv1alpha1.ExternalPeer{ServiceType: corev1.ServiceTypeNodePort, AdvertisedAddress: "203.0.113.7:31625"}
		Expect(k8sClient.Create(ctx, np)).To(Succeed())
		Eventually(service("np-peer"), timeout, interval).Should(HaveField("Spec.Type", corev1.ServiceTypeNodePort))
		Eventually(externalAddress("np"), timeout, interval).Should(Equal("203.0.113.7:31625"))

		By("externalPeer removed: the Service goes, and so does the address")
		Expect(testutil.UpdateNode(ctx, k8sClient, ns, "public", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.ExternalPeer = nil
		})).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "public-peer"), &corev1.Service{}))
		}, timeout, interval).Should(BeTrue())
		Eventually(externalAddress("public"), timeout, interval).Should(BeEmpty())

		By("an advertised address outside the grammar is refused by the API server")
		bad := validator(ns, "bad")
		bad.Spec.ValidatorConfig.ExternalPeer = &stellarv1alpha1.ExternalPeer{AdvertisedAddress: "core1.example.org:11625\v--x"}
		Expect(k8sClient.Create(ctx, bad)).To(MatchError(ContainSubstring("advertisedAddress")))
	})

	It("publishes each home domain's [[VALIDATORS]], each validator once, and drops a domain with none left", func() {
		for i, name := range []string{"org-1", "org-2", "org-3"} {
			n := validator(ns, name)
			n.Spec.ValidatorConfig.HomeDomain, n.Spec.ValidatorConfig.PublicKey = "example.org", fixture.OrgKeys[i]
			if i == 0 {
				n.Spec.ValidatorConfig.ExternalPeer = &stellarv1alpha1.ExternalPeer{AdvertisedAddress: "core1.example.org:11625"}
				n.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{PublicURL: "https://history.example.org/core1"}
			}
			Expect(k8sClient.Create(ctx, n)).To(Succeed())
		}
		other := validator(ns, "other-1")
		other.Spec.ValidatorConfig.HomeDomain, other.Spec.ValidatorConfig.PublicKey = "other.org", fixture.OrgKeys[3]
		Expect(k8sClient.Create(ctx, other)).To(Succeed())
		Expect(k8sClient.Create(ctx, validator(ns, "anonymous", fixture.WithHomeDomain("")))).To(Succeed())

		type entry struct{ ALIAS, DISPLAY_NAME, PUBLIC_KEY, HOST, HISTORY string }
		fragment := func(domain string) func(g Gomega) []entry {
			return func(g Gomega) []entry {
				cm := &corev1.ConfigMap{}
				g.Expect(k8sClient.Get(ctx, key(ns, resources.StellarTOMLConfigMapName(domain)), cm)).To(Succeed())
				var doc struct{ VALIDATORS []entry }
				_, err := toml.Decode(cm.Data[resources.StellarTOMLKey], &doc)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(cm.Annotations).To(HaveKeyWithValue(resources.AnnotationHomeDomain, domain))
				return doc.VALIDATORS
			}
		}
		Eventually(fragment("example.org"), timeout, interval).Should(Equal([]entry{
			{ALIAS: "org-1", DISPLAY_NAME: "org-1", PUBLIC_KEY: fixture.OrgKeys[0], HOST: "core1.example.org:11625", HISTORY: "https://history.example.org/core1"},
			{ALIAS: "org-2", DISPLAY_NAME: "org-2", PUBLIC_KEY: fixture.OrgKeys[1]},
			{ALIAS: "org-3", DISPLAY_NAME: "org-3", PUBLIC_KEY: fixture.OrgKeys[2]},
		}))
		Eventually(fragment("other.org"), timeout, interval).Should(ConsistOf(HaveField("PUBLIC_KEY", fixture.OrgKeys[3])))

		Expect(k8sClient.Delete(ctx, other)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, resources.StellarTOMLConfigMapName("other.org")), &corev1.ConfigMap{}))
		}, timeout, interval).Should(BeTrue())
	})
})
