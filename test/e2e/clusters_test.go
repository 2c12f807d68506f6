//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

const (
	clusterB = "stellar-e2e-b"
	// tier1Passphrase is a Custom network of this spec only: no other spec's validator is on it.
	tier1Passphrase = "Tier1 E2E Network ; December 2026"
	tier1NS         = "tier1"
)

// tier1Validator is a Full validator of example.org with key i, reachable from the other cluster at
// <name>.example.org:11625, its archive at https://<name>.example.org/history.
func tier1Validator(name string, key int) *stellarv1alpha1.StellarNode {
	n := fixture.Validator(tier1NS, name, fixture.OnNetwork(stellarv1alpha1.NetworkCustom),
		fixture.InOrganisation("example.org", fixture.OrgKeys[key], nil),
		fixture.WithAdvertisedAddress(name+".example.org:11625"), fixture.PublishingHistory("https://"+name+".example.org/history"))
	n.Spec.CustomNetworkPassphrase = tier1Passphrase
	n.Spec.ValidatorConfig.ProtocolVersion = new(int32(22))
	return n
}

func createTier1(c client.Client, name string, key int) {
	ExpectWithOffset(1, c.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: tier1NS, Name: name + "-seed"},
		StringData: map[string]string{"STELLAR_CORE_SEED": testSeed},
	})).To(Succeed())
	ExpectWithOffset(1, c.Create(ctx, tier1Validator(name, key))).To(Succeed())
}

// readerKubeconfig applies config/remote-access in the cluster c talks to and writes, to path, a
// kubeconfig for its ServiceAccount: what another cluster's operator is given.
func readerKubeconfig(c client.Client, adminKubeconfig, path string) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "stellar-operator-system"}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		Fail(err.Error())
	}
	for _, file := range []string{"role.yaml", "service_account.yaml"} {
		data, err := os.ReadFile(filepath.Join(root, "config", "remote-access", file))
		Expect(err).NotTo(HaveOccurred())
		for doc := range strings.SplitSeq(string(data), "\n---\n") {
			obj := &unstructured.Unstructured{}
			Expect(yaml.Unmarshal([]byte(doc), &obj.Object)).To(Succeed())
			if err := c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
				Fail(err.Error())
			}
		}
	}
	admin, err := clientcmd.BuildConfigFromFlags("", adminKubeconfig)
	Expect(err).NotTo(HaveOccurred())
	clientset, err := kubernetes.NewForConfig(admin)
	Expect(err).NotTo(HaveOccurred())
	hour := int64(3600)
	token, err := clientset.CoreV1().ServiceAccounts("stellar-operator-system").CreateToken(ctx, "stellar-operator-remote-reader",
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
	Expect(err).NotTo(HaveOccurred())

	kc, err := clientcmd.LoadFromFile(adminKubeconfig)
	Expect(err).NotTo(HaveOccurred())
	context := kc.Contexts[kc.CurrentContext]
	reader := clientcmdapi.NewConfig()
	reader.Clusters["remote"] = kc.Clusters[context.Cluster]
	reader.AuthInfos["reader"] = &clientcmdapi.AuthInfo{Token: token.Status.Token}
	reader.Contexts["remote"] = &clientcmdapi.Context{Cluster: "remote", AuthInfo: "reader"}
	reader.CurrentContext = "remote"
	Expect(clientcmd.WriteToFile(*reader, path)).To(Succeed())
}

func tier1Doc(g Gomega, c client.Client) peers.Document {
	cm := &corev1.ConfigMap{}
	g.Expect(c.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: peers.ConfigMapName}, cm)).To(Succeed())
	doc, err := peers.ParseDocument([]byte(cm.Data[peers.KeyPeersJSON]))
	g.Expect(err).NotTo(HaveOccurred())
	return doc
}

// tier1Quorum are the keys the validator's rendered, checked configuration names in [[VALIDATORS]].
func tier1Quorum(g Gomega, c client.Client, name string) []string {
	keys, err := testutil.RenderedQuorum(ctx, c, tier1NS, name)
	g.Expect(err).NotTo(HaveOccurred())
	return keys
}

func orgKeys(i ...int) []string {
	var out []string
	for _, k := range i {
		out = append(out, fixture.OrgKeys[k])
	}
	slices.Sort(out)
	return out
}

// tier1Settled waits until neither operator has a restart pending in tier1 and every validator there,
// in both clusters, has rolled out and is Ready.
func tier1Settled(clientB client.Client) {
	EventuallyWithOffset(1, func(g Gomega) {
		for addr, c := range map[string]client.Client{metricsAddr: k8sClient, "127.0.0.1:28090": clientB} {
			pending, ok := reportAt(g, addr, tier1NS)
			g.Expect(ok).To(BeTrue())
			g.Expect(pending).To(BeEmpty())
			// A change waiting for its turn is in no StatefulSet yet: the StellarNodes say it.
			var nodes stellarv1alpha1.StellarNodeList
			g.Expect(c.List(ctx, &nodes, client.InNamespace(tier1NS))).To(Succeed())
			for _, n := range nodes.Items {
				g.Expect(n.Status.ObservedGeneration).To(Equal(n.Generation), n.Name)
				g.Expect(n.Status.Rollout).To(BeNil(), n.Name)
				if p := meta.FindStatusCondition(n.Status.Conditions, stellarv1alpha1.ConditionProgressing); p != nil {
					g.Expect(p.Status).NotTo(Equal(metav1.ConditionTrue), "%s: %s", n.Name, p.Message)
				}
			}
			var sets appsv1.StatefulSetList
			g.Expect(c.List(ctx, &sets, client.InNamespace(tier1NS))).To(Succeed())
			for _, sts := range sets.Items {
				g.Expect(sts.Status.ObservedGeneration).To(Equal(sts.Generation), sts.Name)
				g.Expect(sts.Status.AvailableReplicas).To(Equal(*sts.Spec.Replicas), sts.Name)
				g.Expect(sts.Status.CurrentRevision).To(Equal(sts.Status.UpdateRevision), sts.Name)
			}
		}
	}, 2*wait, poll).Should(Succeed())
}

var _ = Describe("A Tier-1 organisation in two simulated clusters, one operator each", Ordered, func() {
	var (
		clientB            client.Client
		operatorB          *operatorProcess
		trackerA, trackerB *podTracker
	)

	BeforeAll(func() {
		kubeconfigB := filepath.Join(workDir, "kubeconfig-b")
		clientB = startKwokCluster(clusterB, kubeconfigB)
		DeferCleanup(func() { _ = run(filepath.Join(bin, "kwokctl"), "delete", "cluster", "--name", clusterB) })

		By("giving each operator the other cluster's kubeconfig, under the shipped read-only role")
		dirA, dirB := filepath.Join(workDir, "remote-a"), filepath.Join(workDir, "remote-b")
		Expect(os.MkdirAll(dirA, 0o700)).To(Succeed())
		Expect(os.MkdirAll(dirB, 0o700)).To(Succeed())
		readerKubeconfig(clientB, kubeconfigB, filepath.Join(dirA, "cluster-b"))
		readerKubeconfig(k8sClient, kubeconfig, filepath.Join(dirB, "cluster-a"))

		remoteArgs := func(self, dir string) []string {
			return []string{"--cluster-name=" + self, "--remote-clusters-dir=" + dir, "--remote-read-interval=1s"}
		}
		operator.kill()
		operator.extraArgs = remoteArgs("cluster-a", dirA)
		operator.start()
		DeferCleanup(func() {
			operator.kill()
			operator.extraArgs = nil
			operator.start()
		})
		operatorB = &operatorProcess{path: operator.path, logPath: filepath.Join(workDir, "operator-b.log"), kubeconfig: kubeconfigB,
			metricsAddr: "127.0.0.1:28090", probeAddr: "127.0.0.1:28091", extraArgs: remoteArgs("cluster-b", dirB)}
		operatorB.start()
		DeferCleanup(func() {
			operatorB.kill()
			if CurrentSpecReport().Failed() {
				log, _ := os.ReadFile(operatorB.logPath)
				GinkgoWriter.Printf("operator B log:\n%s\n", tail(string(log), 80))
			}
		})

		for _, c := range []client.Client{k8sClient, clientB} {
			Expect(c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tier1NS}})).To(Succeed())
		}
		trackerA, trackerB = startTrackerIn(k8sClient, tier1NS, holdFor), startTrackerIn(clientB, tier1NS, holdFor)
	})

	It("configures each validator with every other of both clusters, never itself, checked by stellar-core's rules", func() {
		createTier1(k8sClient, "a1", 0)
		createTier1(k8sClient, "a2", 1)
		createTier1(clientB, "b1", 2)
		Eventually(func(g Gomega) {
			g.Expect(tier1Quorum(g, k8sClient, "a1")).To(Equal(orgKeys(1, 2)))
			g.Expect(tier1Quorum(g, k8sClient, "a2")).To(Equal(orgKeys(0, 2)))
			g.Expect(tier1Quorum(g, clientB, "b1")).To(Equal(orgKeys(0, 1)))
			g.Expect(readyNames(tier1Doc(g, k8sClient))).To(ConsistOf("a1", "a2"))
			g.Expect(readyNames(tier1Doc(g, clientB))).To(ConsistOf("b1"))
		}, wait, poll).Should(Succeed())
	})

	It("restarts the three once each when a fourth joins in cluster B, never two of them down at once", func() {
		tier1Settled(clientB)
		trackerA.establish("a1", "a2")
		trackerB.establish("b1")

		createTier1(clientB, "b2", 3)
		Eventually(func(g Gomega) {
			g.Expect(trackerA.restartCounts()).To(Equal(map[string]int{"a1": 1, "a2": 1}))
			g.Expect(trackerB.restartCounts()).To(Equal(map[string]int{"b1": 1}))
			g.Expect(tier1Quorum(g, k8sClient, "a1")).To(Equal(orgKeys(1, 2, 3)))
			g.Expect(tier1Quorum(g, clientB, "b2")).To(Equal(orgKeys(0, 1, 2)))
			downs := append(trackerA.downtimes(), trackerB.downtimes()...)
			g.Expect(downs).To(HaveLen(3))
			for _, d := range downs {
				g.Expect(d.To.IsZero()).To(BeFalse(), "%s back", d.Name)
			}
		}, 2*wait, poll).Should(Succeed())
		downs := append(trackerA.downtimes(), trackerB.downtimes()...)
		Expect(testutil.Overlapping(downs)).To(BeEmpty(), "two validators of the network were down at once: %v", downs)
	})

	It("changes nothing in cluster A while cluster B's API server is stopped for 30 s, nor after it is back", func() {
		tier1Settled(clientB)
		trackerA.establish("a1", "a2")
		before := tier1Doc(Default, k8sClient)
		stale := func(g Gomega) bool {
			n := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: "a1"}, n)).To(Succeed())
			g.Expect(n.Status.RemoteClusters).To(HaveLen(1))
			g.Expect(n.Status.RemoteClusters[0].Members).To(Equal(int32(2)))
			return n.Status.RemoteClusters[0].Stale
		}
		restore := stopAPIServer(clusterB)
		Eventually(stale, wait, poll).Should(BeTrue())
		time.Sleep(30 * time.Second)
		Expect(tier1Doc(Default, k8sClient)).To(Equal(before), "a member of cluster B was dropped")
		Expect(trackerA.restartCounts()).To(BeEmpty())

		restore(clientB)
		Eventually(stale, wait, poll).Should(BeFalse())
		Expect(tier1Doc(Default, k8sClient)).To(Equal(before))
		Expect(trackerA.restartCounts()).To(BeEmpty())
	})

	It("keeps its promises through a seeded schedule of combined faults", Label("chaos"), func() {
		runChaos(chaosBed{a: k8sClient, b: clientB, operatorA: operator, operatorB: operatorB, trackerA: trackerA, trackerB: trackerB})
	})
})
