package controller_test

import (
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/operator"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// installAdmissionPolicy creates the default install's ValidatingAdmissionPolicy and its binding,
// read from config/admission as kustomize ships them.
func installAdmissionPolicy() {
	dir := filepath.Join(testutil.RepoRoot(), "config", "admission")
	policy, binding := &admissionregistrationv1.ValidatingAdmissionPolicy{}, &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	for file, obj := range map[string]client.Object{"secret_references_policy.yaml": policy, "secret_references_binding.yaml": binding} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		Expect(err).NotTo(HaveOccurred())
		Expect(yaml.UnmarshalStrict(data, obj)).To(Succeed())
		if err := k8sClient.Create(ctx, obj); !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
}

var _ = Describe("The admission policy on Secret references", func() {
	It("admits a StellarNode only from a user who may read every Secret it names", func() {
		installAdmissionPolicy()
		ns := newNamespace()
		// alice may manage StellarNodes, and read one Secret only: her own validator's seed.
		Expect(k8sClient.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "stellarnodes"}, Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{stellarv1alpha1.GroupVersion.Group}, Resources: []string{"stellarnodes"}, Verbs: []string{"get", "list", "create", "update", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"alice-seed"}, Verbs: []string{"get"}},
		}})).To(Succeed())
		Expect(k8sClient.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "alice"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "stellarnodes"},
			Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "alice"}}})).To(Succeed())
		asAlice := rest.CopyConfig(cfg)
		asAlice.Impersonate = rest.ImpersonationConfig{UserName: "alice"}
		alice, err := client.New(asAlice, client.Options{Scheme: operator.NewScheme()})
		Expect(err).NotTo(HaveOccurred())

		withSeed := func(name, seed string) *stellarv1alpha1.StellarNode {
			n := validator(ns, name)
			n.Spec.ValidatorConfig.SeedSecretRef = seed
			return n
		}
		// The policy takes effect once the API server has loaded it: probes, removed if they got in.
		Eventually(func() error {
			probe := withSeed("", "victim-seed")
			probe.Name, probe.GenerateName = "", "probe-"
			err := alice.Create(ctx, probe)
			if err == nil {
				Expect(k8sClient.Delete(ctx, probe)).To(Succeed())
			}
			return err
		}, timeout, interval).Should(Satisfy(apierrors.IsForbidden))
		Expect(alice.Create(ctx, withSeed("thief", "victim-seed"))).To(
			And(Satisfy(apierrors.IsForbidden), MatchError(ContainSubstring("you may not get Secret victim-seed"))))
		Expect(alice.Create(ctx, withSeed("mine", "alice-seed"))).To(Succeed())

		// An update that points an admitted validator at another Secret is refused the same way.
		mine := &stellarv1alpha1.StellarNode{}
		Expect(alice.Get(ctx, key(ns, "mine"), mine)).To(Succeed())
		mine.Spec.ValidatorConfig.SeedSecretRef = "victim-seed"
		Expect(alice.Update(ctx, mine)).To(Satisfy(apierrors.IsForbidden))

		archive := withSeed("archiver", "alice-seed")
		archive.Spec.ValidatorConfig.History = &stellarv1alpha1.HistorySpec{Publish: new(true), ObjectStorage: &stellarv1alpha1.ObjectStorageArchive{
			Put: "aws s3 cp {0} s3://b/{1}", URL: "https://b.example.org", CredentialsSecretRef: "other-workload"}}
		Expect(alice.Create(ctx, archive)).To(And(Satisfy(apierrors.IsForbidden), MatchError(ContainSubstring("credentialsSecretRef"))))
		horizon := fixture.Horizon(ns, "web")
		Expect(alice.Create(ctx, horizon)).To(And(Satisfy(apierrors.IsForbidden), MatchError(ContainSubstring("databaseSecretRef"))))

		// Whoever may read the Secrets (the cluster's administrator here) is not held.
		Expect(k8sClient.Create(ctx, withSeed("admins", "victim-seed"))).To(Succeed())
		Expect(k8sClient.Get(ctx, key(ns, "thief"), &stellarv1alpha1.StellarNode{})).To(Satisfy(apierrors.IsNotFound))
	})
})
