//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// exampleSeeds are the seeds of the example's Secrets, by validator: the test renders each validator's
// configuration with its own seed, as its pod would.
func exampleSeeds(file string) map[string]string {
	data, err := os.ReadFile(file)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	out := map[string]string{}
	for doc := range strings.SplitSeq(string(data), "\n---\n") {
		var secret corev1.Secret
		if yaml.Unmarshal([]byte(doc), &secret) == nil && secret.Kind == "Secret" {
			out[strings.TrimSuffix(secret.Name, "-seed")] = secret.StringData["STELLAR_CORE_SEED"]
		}
	}
	return out
}

var _ = Describe("A private network from examples/ on a simulated cluster", Ordered, func() {
	const ns = "stellar-private-e2e"
	file := filepath.Join("..", "..", "examples", "custom-network-validators.yaml")
	names := []string{"private-1", "private-2", "private-3"}

	It("gets its pods, their archive servers and ports, and configurations stellar-core accepts, each reading the others' archives", func() {
		Expect(k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
		Expect(run(filepath.Join(bin, "kubectl"), "--kubeconfig", kubeconfig, "apply", "-n", ns, "-f", file)).To(Succeed())
		settledWith(ns, names...)

		seeds := exampleSeeds(file)
		for _, name := range names {
			sts := &appsv1.StatefulSet{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sts)).To(Succeed())
			pod := &corev1.Pod{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-0"}, pod)).To(Succeed())
			Expect(pod.Spec.Containers).To(ContainElement(And(HaveField("Name", resources.AgentContainer),
				HaveField("Ports", ContainElement(HaveField("ContainerPort", int32(stellarv1alpha1.DefaultHistoryPort)))))))
			svc := &corev1.Service{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-headless"}, svc)).To(Succeed())
			Expect(svc.Spec.Ports).To(ContainElement(HaveField("Name", "history")))

			Eventually(func(g Gomega) {
				cfg := renderWithSeed(g, ns, name, seeds[name])
				g.Expect(cfg).NotTo(HaveKey("UNSAFE_QUORUM"), "three Full validators at HIGH quality need nothing unsafe")
				g.Expect(cfg).NotTo(HaveKey("COMMANDS"), "the protocol is voted by the agent, not armed at start")
				votesCM := &corev1.ConfigMap{}
				g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: votes.ConfigMapName}, votesCM)).To(Succeed())
				doc, err := votes.Decode([]byte(votesCM.Data[votes.KeyVotesJSON]))
				g.Expect(err).NotTo(HaveOccurred())
				vote := doc.For(name)
				g.Expect(vote).NotTo(BeNil(), "the example's stellar-core 26.0 votes for the protocol of its own line")
				g.Expect(vote.Params).To(Equal(votes.Params{votes.ParamProtocolVersion: "26"}))
				g.Expect(vote.ExpirationMinutes).To(HaveValue(Equal(uint32(720))), "kept armed past the 15-minute default")
				history, _ := cfg["HISTORY"].(map[string]any)
				g.Expect(history).To(HaveKey(name), "its own archive")
				validators, _ := cfg["VALIDATORS"].([]map[string]any)
				g.Expect(validators).To(HaveLen(2))
				for _, v := range validators {
					g.Expect(v["NAME"]).NotTo(Equal(name))
					g.Expect(v["HISTORY"]).To(And(HavePrefix("curl -sf http://"+v["NAME"].(string)+"-0."+v["NAME"].(string)+"-headless."+ns),
						ContainSubstring(":11627/{0}")))
				}
			}, wait, poll).Should(Succeed())

			node := &stellarv1alpha1.StellarNode{}
			Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, node)).To(Succeed())
			Expect(node.Status.HistoryArchive).To(HaveSuffix(":11627"))
		}
	})
})
