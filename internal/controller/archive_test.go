package controller_test

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// fullValidator is a validator of a Custom network, where publishing an archive is the default.
func fullValidator(ns, name string, opts ...fixture.Option) *stellarv1alpha1.StellarNode {
	n := validator(ns, name, append([]fixture.Option{fixture.OnNetwork(stellarv1alpha1.NetworkCustom)}, opts...)...)
	n.Spec.CustomNetworkPassphrase = "Archive Test Network ; 2026"
	n.Spec.ValidatorConfig.ProtocolVersion = new(int32(22))
	return n
}

func objectStorage(bucket string) fixture.Option {
	return func(n *stellarv1alpha1.StellarNode) {
		n.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{ObjectStorage: &stellarv1alpha1.ObjectStorageArchive{
			Put: "aws s3 cp {0} s3://" + bucket + "/{1}", URL: "https://" + bucket + ".s3.example.org",
			CredentialsSecretRef: "archive-credentials", CredentialKeys: []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
		}}
	}
}

func container(sts *appsv1.StatefulSet, name string) *corev1.Container {
	for i, c := range sts.Spec.Template.Spec.Containers {
		if c.Name == name {
			return &sts.Spec.Template.Spec.Containers[i]
		}
	}
	return nil
}

var _ = Describe("Full validators (history archives)", func() {
	var ns string
	BeforeEach(func() {
		var err error
		ns, err = testutil.NewNamespace(ctx, k8sClient, "archive")
		Expect(err).NotTo(HaveOccurred())
	})

	It("serves a local archive from a sidecar on the headless Service's history port, and creates it once", func() {
		Expect(k8sClient.Create(ctx, fullValidator(ns, "full"))).To(Succeed())
		sts := &appsv1.StatefulSet{}
		Eventually(func(g Gomega) { sts = getSTS(ns, "full")(g) }, timeout, interval).Should(Succeed())

		server := container(sts, resources.AgentContainer)
		Expect(server).NotTo(BeNil(), "the agent sidecar serves the archive")
		Expect(server.Image).To(Equal(testOperatorImage), "the operator's own image")
		Expect(server.Args).To(ContainElements("--archive-dir=/data/history", "--archive-port=11627", "--publish-queue=/data/buckets/publishqueue"))
		Expect(server.Ports).To(ContainElement(And(HaveField("Name", "history"), HaveField("ContainerPort", int32(11627)))))
		Expect(server.VolumeMounts).To(ContainElement(And(HaveField("MountPath", "/data"), HaveField("ReadOnly", true))), "read-only")
		Expect(server.VolumeMounts).NotTo(ContainElement(HaveField("MountPath", "/etc/stellar/rendered")), "never the seed")
		Expect(server.Resources.Limits.Memory().IsZero()).To(BeFalse(), "bounded")

		script := strings.Join(container(sts, "stellar-core").Command, " ")
		newDB, newHist, run := strings.Index(script, "new-db"), strings.Index(script, "new-hist full"), strings.Index(script, "exec stellar-core run")
		Expect(newDB).To(BeNumerically(">", 0))
		Expect(newHist).To(BeNumerically(">", newDB), "new-hist after new-db")
		Expect(run).To(BeNumerically(">", newHist))
		Expect(script).To(ContainSubstring("if [ ! -f /data/.history-initialized ]"), "once per volume")
		Expect(script).To(ContainSubstring("if ! [ -f /data/history/.well-known/stellar-history.json ]"), "never on a published archive")

		svc := &corev1.Service{}
		Eventually(func() error { return k8sClient.Get(ctx, key(ns, "full-headless"), svc) }, timeout, interval).Should(Succeed())
		Expect(svc.Spec.Ports).To(ContainElement(And(HaveField("Name", "history"), HaveField("Port", int32(11627)))))
		Expect(svc.Spec.PublishNotReadyAddresses).To(BeTrue(), "reachable while the validator catches up")

		Eventually(func(g Gomega) string {
			node := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, key(ns, "full"), node)).To(Succeed())
			return node.Status.HistoryArchive
		}, timeout, interval).Should(Equal("http://full-0.full-headless." + ns + ".svc.cluster.local:11627"))
		cfg := &corev1.ConfigMap{}
		Expect(k8sClient.Get(ctx, key(ns, "full-config"), cfg)).To(Succeed())
		Expect(cfg.Data[resources.ConfigKey]).To(ContainSubstring(`put = "cp {0} /data/history/{1}"`))
	})

	It("passes object-storage credentials from the user's Secret by reference, without a sidecar", func() {
		Expect(k8sClient.Create(ctx, fullValidator(ns, "s3", objectStorage("bucket-a")))).To(Succeed())
		sts := &appsv1.StatefulSet{}
		Eventually(func(g Gomega) { sts = getSTS(ns, "s3")(g) }, timeout, interval).Should(Succeed())
		core := container(sts, "stellar-core")
		Expect(core.Env).To(ConsistOf(
			corev1.EnvVar{Name: "HOME", Value: "/tmp"},
			corev1.EnvVar{Name: "AWS_ACCESS_KEY_ID", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "archive-credentials"}, Key: "AWS_ACCESS_KEY_ID"}}},
			corev1.EnvVar{Name: "AWS_SECRET_ACCESS_KEY", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: "archive-credentials"}, Key: "AWS_SECRET_ACCESS_KEY"}}},
		))
		Expect(container(sts, resources.AgentContainer).Args).NotTo(ContainElement(HavePrefix("--archive-dir")), "object storage serves itself")
		Expect(container(sts, resources.AgentContainer).Ports).NotTo(ContainElement(HaveField("Name", "history")))
		Expect(strings.Join(core.Command, " ")).To(ContainSubstring("curl -sf https://bucket-a.s3.example.org/.well-known/stellar-history.json"),
			"new-hist never runs on an archive the bucket already holds")
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "archive-credentials"), &corev1.Secret{}))).To(BeTrue(),
			"the Secret does not even exist: the operator never needs it")
	})

	It("marks a second validator writing the same object-storage archive Degraded and never starts it", func() {
		Expect(k8sClient.Create(ctx, fullValidator(ns, "owner", objectStorage("shared")))).To(Succeed())
		Eventually(getSTS(ns, "owner"), timeout, interval).Should(Not(BeNil()))
		// Created later, or in the same second and later by name: owner keeps the archive either way.
		Expect(k8sClient.Create(ctx, fullValidator(ns, "zz-copy", objectStorage("shared")))).To(Succeed())
		Eventually(condition(ns, "zz-copy", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", stellarv1alpha1.ReasonSharedArchive),
			HaveField("Message", ContainSubstring("validator owner"))))
		Expect(apierrors.IsNotFound(k8sClient.Get(ctx, key(ns, "zz-copy"), &appsv1.StatefulSet{}))).To(BeTrue())
		Expect(condition(ns, "owner", stellarv1alpha1.ConditionDegraded)(Default).Status).To(Equal(metav1.ConditionFalse))

		By("once the owner is gone, the other starts: nothing else about it changed, so it asks again by itself")
		owner := &stellarv1alpha1.StellarNode{}
		Expect(k8sClient.Get(ctx, key(ns, "owner"), owner)).To(Succeed())
		Expect(k8sClient.Delete(ctx, owner)).To(Succeed())
		Eventually(getSTS(ns, "zz-copy"), 3*timeout, interval).Should(Not(BeNil()))
		Eventually(condition(ns, "zz-copy", stellarv1alpha1.ConditionDegraded), timeout, interval).Should(HaveField("Status", metav1.ConditionFalse))
	})

	It("requires protocolVersion on a Custom network and refuses it on a public one", func() {
		custom := fullValidator(ns, "noproto")
		custom.Spec.ValidatorConfig.ProtocolVersion = nil
		err := k8sClient.Create(ctx, custom)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("protocolVersion is required on a Custom network"))
		public := validator(ns, "public")
		public.Spec.ValidatorConfig.ProtocolVersion = new(int32(22))
		err = k8sClient.Create(ctx, public)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
	})

	It("refuses a HIGH-quality validator that publishes no archive", func() {
		high := validator(ns, "high", fixture.InOrganisation("example.org", "", &stellarv1alpha1.QuorumSpec{Quality: stellarv1alpha1.QualityHigh}))
		err := k8sClient.Create(ctx, high)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
		Expect(err.Error()).To(ContainSubstring("must publish a history archive"))
		high.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Publish: new(true)}
		Expect(k8sClient.Create(ctx, high)).To(Succeed(), "a Testnet validator may publish")
	})
})
