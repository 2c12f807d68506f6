//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/renderconfig"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

const (
	wait    = 90 * time.Second
	poll    = 200 * time.Millisecond
	holdFor = 3 * time.Second
	// Valid seed generated for these tests only.
	testSeed = "SAUDBIIVHB4RCC6VNUE6T6SPPVSZPUAJZ5BMW2U5ARZYZN3VMDIJSJDR"
)

// orgSeeds are the seeds (and public keys) of the validators createValidators makes, generated with
// stellar-core gen-seed for these tests only.
var orgSeeds = map[string][2]string{
	"v1": {"SCX7BMRH4WIHQW6IHPCF2XOJVZDUMUSA6A42MMMEH3MU7HNHAQZBFC75", "GAUKZYVZ33LL5FY3JVQR6SKXFI62LIZHC6VQXHGS6WH7J47NBXPH7IZ6"},
	"v2": {"SA7Z2M4FTRCED45E5FNJSR2DHTOAU5CRWLUNKE4ZZYIYRTDRJN6Y6TS5", "GC2L64KYVMCO3JCMWK5BMZK3WNID4UPHODGLKRRLMNU2RKLIWO6DBJLQ"},
	"v3": {"SDSGYWYEWDEIIDJLSHDGSCTPLVNN2OKWE3XOAMFRNKMNWARN376KFKMJ", "GCXRGLNVEWQXDKQPTRQMCMOW7VFWI6OZVHETTHGNQKPXBKMAC7IL6LXO"},
	"v4": {"SAMSOSY2JTHL3FQHUZFILX7RFFXEO6RGFE6OPF44TVFX4PFR65P7T4O5", "GD5HG2O7RVZ2PTOCVE34JVU2TYRWJCGM2EV2OBZAI65E4XRPSB3YKRQU"},
	"v5": {"SA6BST2IZMJVWNVS25T3XV57JVJTSWWKXFGCL5RGR3YL6WIZUI7XX2FD", "GCOCPGG2R4G2F3Z2Z4S7NWZN7PYKAFV3AZN7GT6AS2NJLJ6ZRJTFY3TI"},
	"v6": {"SAVDXTSVGHOVRQVJLYBRXMP3P5GDOA6IFEC5R3D4GB273CM34OYD6GKN", "GBZU77SSGSQGTE2HDDIINERZADGBJCZJTVQJI37KG47L7W2IPIVDNEBU"},
}

// createValidators makes validators of one organisation, each in the quorum the cluster generates
// for the others (so one joining restarts them), each with its own seed; r1..r4 reuse v1..v4's.
func createValidators(ns string, names ...string) {
	for _, n := range names {
		pair := orgSeeds["v"+n[1:]]
		ExpectWithOffset(1, k8sClient.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n + "-seed"},
			StringData: map[string]string{"STELLAR_CORE_SEED": pair[0]},
		})).To(Succeed())
		ExpectWithOffset(1, k8sClient.Create(ctx, orgValidator(ns, n))).To(Succeed())
	}
}

// orgValidator is the StellarNode createValidators makes.
func orgValidator(ns, name string) *stellarv1alpha1.StellarNode {
	return fixture.Validator(ns, name, fixture.InOrganisation("example.org", orgSeeds["v"+name[1:]][1], nil), fixture.AllowingUnsafeQuorum())
}

// createPeer makes a validator with a quorum set of its own: no generated quorum names it.
func createPeer(ns, name string) {
	ExpectWithOffset(1, k8sClient.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-seed"},
		StringData: map[string]string{"STELLAR_CORE_SEED": testSeed},
	})).To(Succeed())
	ExpectWithOffset(1, k8sClient.Create(ctx, fixture.Validator(ns, name))).To(Succeed())
}

func peerDocument(g Gomega, ns string) peers.Document {
	cm := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: peers.ConfigMapName}, cm)).To(Succeed())
	doc, err := peers.ParseDocument([]byte(cm.Data[peers.KeyPeersJSON]))
	g.Expect(err).NotTo(HaveOccurred())
	return doc
}

func readyNames(doc peers.Document) []string {
	var out []string
	for _, p := range doc.Peers {
		if p.Ready() {
			out = append(out, p.Name)
		}
	}
	return out
}

// report is what the operator's /peers endpoint says about one namespace.
func report(g Gomega, ns string) (pending []string, ok bool) { return reportAt(g, metricsAddr, ns) }

// reportAt reads the /peers of the operator whose metrics listen on addr.
func reportAt(g Gomega, addr, ns string) (pending []string, ok bool) {
	resp, err := http.Get("http://" + addr + "/peers")
	g.Expect(err).NotTo(HaveOccurred())
	defer func() { _ = resp.Body.Close() }()
	var body struct {
		Namespaces map[string]struct {
			PendingRestarts []string `json:"pendingRestarts"`
		} `json:"namespaces"`
	}
	g.Expect(json.NewDecoder(resp.Body).Decode(&body)).To(Succeed())
	r, ok := body.Namespaces[ns]
	return r.PendingRestarts, ok
}

// settledWith waits until exactly these validators are Ready in stellar-peers, no restart is pending,
// and every one of their StatefulSets has rolled out with its pod available (Ready for minReadySeconds).
func settledWith(ns string, names ...string) {
	EventuallyWithOffset(1, func(g Gomega) {
		doc := peerDocument(g, ns)
		g.Expect(readyNames(doc)).To(ConsistOf(names))
		pending, ok := report(g, ns)
		g.Expect(ok).To(BeTrue())
		g.Expect(pending).To(BeEmpty())
		for _, name := range names {
			sts := &appsv1.StatefulSet{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sts)).To(Succeed())
			g.Expect(sts.Status.ObservedGeneration).To(Equal(sts.Generation), name)
			g.Expect(sts.Status.UpdatedReplicas).To(Equal(*sts.Spec.Replicas), name)
			g.Expect(sts.Status.AvailableReplicas).To(Equal(*sts.Spec.Replicas), name)
			g.Expect(sts.Status.CurrentRevision).To(Equal(sts.Status.UpdateRevision), name)
		}
	}, wait, poll).Should(Succeed(), func() string { return operatorLog() })
}

func operatorLog() string {
	data, _ := os.ReadFile(operator.logPath)
	return "operator log:\n" + tail(string(data), 40)
}

// renderFor runs the validator's init step, the operator's render-config, against the live ConfigMaps.
func renderFor(g Gomega, ns, name string) map[string]any {
	return renderWithSeed(g, ns, name, orgSeeds[name][0])
}

// renderWithSeed is renderFor with the validator's own seed.
func renderWithSeed(g Gomega, ns, name, seed string) map[string]any {
	dir := GinkgoT().TempDir()
	base := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-config"}, base)).To(Succeed())
	cm := &corev1.ConfigMap{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: peers.ConfigMapName}, cm)).To(Succeed())
	pod := &corev1.Pod{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name + "-0"}, pod)).To(Succeed())
	node := &stellarv1alpha1.StellarNode{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, node)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(dir, "base.cfg"), []byte(base.Data["stellar-core.cfg"]), 0o600)).To(Succeed())
	g.Expect(os.WriteFile(filepath.Join(dir, "peers.json"), []byte(cm.Data[peers.KeyPeersJSON]), 0o600)).To(Succeed())

	// The pod's own arguments, with the paths moved to this test's directory.
	a, err := renderconfig.ParseArgs(pod.Spec.InitContainers[0].Args[1:])
	g.Expect(err).NotTo(HaveOccurred())
	a.Base, a.Peers, a.Out = filepath.Join(dir, "base.cfg"), filepath.Join(dir, "peers.json"), filepath.Join(dir, "stellar-core.cfg")
	a.Install = filepath.Join(dir, "manager")
	args := a.List()
	cmd := exec.Command(operator.path, args...)
	cmd.Env = []string{renderconfig.SeedEnv + "=" + seed, renderconfig.PodIPEnv + "=" + pod.Status.PodIP}
	out, err := cmd.CombinedOutput()
	g.Expect(err).NotTo(HaveOccurred(), string(out))
	g.Expect(string(out)).NotTo(ContainSubstring(seed))
	text, err := os.ReadFile(filepath.Join(dir, "stellar-core.cfg"))
	g.Expect(err).NotTo(HaveOccurred())
	profile, err := stellarcore.ProfileFor(a.StellarCoreVersion)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(stellarcore.Check(string(text), stellarcore.CheckOptions{Profile: profile})).To(Succeed(), "stellar-core would refuse %s's configuration", name)
	var cfg map[string]any
	_, err = toml.Decode(string(text), &cfg)
	g.Expect(err).NotTo(HaveOccurred())
	cfg["_podIP"] = pod.Status.PodIP
	return cfg
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

var _ = Describe("Peer discovery on a simulated cluster", Ordered, func() {
	var (
		ns      string
		tracker *podTracker
	)
	BeforeAll(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "stellar-e2e"}}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		ns = n.Name
		tracker = startTracker(ns, holdFor)
	})

	It("brings three validators up, each configured with the two others and not itself", func() {
		Expect(k8sClient.Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "horizon-db"},
			StringData: map[string]string{"DATABASE_URL": "postgres://h@db/h"}})).To(Succeed())
		Expect(k8sClient.Create(ctx, fixture.Horizon(ns, "horizon"))).To(Succeed())
		Expect(k8sClient.Create(ctx, fixture.SorobanRPC(ns, "rpc"))).To(Succeed())
		createValidators(ns, "v1", "v2", "v3")
		settledWith(ns, "v1", "v2", "v3")

		for _, self := range []string{"v1", "v2", "v3"} {
			Eventually(func(g Gomega) {
				cfg := renderFor(g, ns, self)
				preferred := strs(cfg["PREFERRED_PEERS"])
				g.Expect(preferred).To(HaveLen(2))
				for _, p := range preferred {
					g.Expect(p).NotTo(HavePrefix(self + "-0."))
					g.Expect(p).To(HaveSuffix(".svc.cluster.local:11625"))
				}
				known := strs(cfg["KNOWN_PEERS"])
				g.Expect(known).To(HaveLen(2))
				g.Expect(known).NotTo(ContainElement(cfg["_podIP"].(string) + ":11625"))
			}, wait, poll).Should(Succeed())
		}
		// Horizon and Soroban RPC run beside them and are never peers.
		Eventually(func(g Gomega) int {
			var pods corev1.PodList
			g.Expect(k8sClient.List(ctx, &pods, client.InNamespace(ns))).To(Succeed())
			return len(pods.Items)
		}, wait, poll).Should(Equal(5))
		doc := peerDocument(Default, ns)
		for _, p := range doc.Peers {
			Expect(p.Name).To(BeElementOf("v1", "v2", "v3"))
		}
	})

	It("restarts each of the first three once, never two at a time, when a fourth joins; then nothing restarts", func() {
		tracker.establish("v1", "v2", "v3")
		createValidators(ns, "v4")
		Eventually(tracker.restartCounts, wait, poll).Should(Equal(map[string]int{"v1": 1, "v2": 1, "v3": 1}), operatorLog)
		tracker.establish("v1", "v2", "v3", "v4")
		settledWith(ns, "v1", "v2", "v3", "v4")
		down, log := tracker.mostDown()
		Expect(down).To(BeNumerically("<=", 1), "validators down at once: %v", log)
		Consistently(tracker.restartCounts, 60*time.Second, time.Second).Should(BeEmpty())
	})

	It("finishes a restart wave after the operator is killed in the middle of it, restarting nobody twice", func() {
		tracker.establish("v1", "v2", "v3", "v4")
		createValidators(ns, "v5")
		killOperatorMidway(tracker, wait)
		Eventually(tracker.restartCounts, wait, poll).Should(Equal(map[string]int{"v1": 1, "v2": 1, "v3": 1, "v4": 1}), operatorLog)
		settledWith(ns, "v1", "v2", "v3", "v4", "v5")
		down, log := tracker.mostDown()
		Expect(down).To(BeNumerically("<=", 1), "validators down at once: %v", log)
		Consistently(tracker.restartCounts, 5*time.Second, time.Second).Should(Equal(map[string]int{"v1": 1, "v2": 1, "v3": 1, "v4": 1}))
	})

	It("takes a suspended, then deleted, validator out of stellar-peers, restarting the others at most once", func() {
		tracker.establish("v1", "v2", "v3", "v4")
		Expect(testutil.UpdateNode(ctx, k8sClient, ns, "v5", func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = true })).To(Succeed())
		Eventually(func(g Gomega) []peers.Peer { doc := peerDocument(g, ns); return doc.Peers }, wait, poll).Should(HaveLen(4))
		settledWith(ns, "v1", "v2", "v3", "v4")
		Expect(k8sClient.Delete(ctx, fixture.Validator(ns, "v5"))).To(Succeed())
		// The peers listed, Ready or not: a restart of the wave the suspension started may still be under
		// way (its pod not Ready), and v5 must never come back.
		Consistently(func(g Gomega) []string {
			var names []string
			for _, p := range peerDocument(g, ns).Peers {
				names = append(names, p.Name)
			}
			return names
		}, 5*time.Second, poll).Should(ConsistOf("v1", "v2", "v3", "v4"))
		settledWith(ns, "v1", "v2", "v3", "v4")
		for name, n := range tracker.restartCounts() {
			Expect(n).To(BeNumerically("<=", 1), "%s restarted %d times", name, n)
		}
		down, log := tracker.mostDown()
		Expect(down).To(BeNumerically("<=", 1), "validators down at once: %v", log)
	})

	It("recovers from kube-apiserver being stopped for 10 seconds without restarting itself", func() {
		pid := operator.cmd.Process.Pid
		stopAPIServerFor(clusterName, k8sClient, 10*time.Second)
		Expect(operator.running()).To(BeTrue(), "the operator exited while the API server was away")
		Expect(operator.cmd.Process.Pid).To(Equal(pid))

		tracker.establish("v1", "v2", "v3", "v4")
		createValidators(ns, "v6")
		settledWith(ns, "v1", "v2", "v3", "v4", "v6")
		for name, n := range tracker.restartCounts() {
			Expect(n).To(Equal(1), "%s restarted %d times", name, n)
		}
		Expect(operator.running()).To(BeTrue())
	})

	It("peers a validator no generated quorum names without restarting anyone", func() {
		tracker.establish("v1", "v2", "v3", "v4", "v6")
		createPeer(ns, "w1")
		settledWith(ns, "v1", "v2", "v3", "v4", "v6", "w1")
		Consistently(tracker.restartCounts, 20*time.Second, time.Second).Should(BeEmpty(), operatorLog)
		Eventually(func(g Gomega) {
			g.Expect(strs(renderFor(g, ns, "v1")["PREFERRED_PEERS"])).To(ContainElement(HavePrefix("w1-0.")), "its next start reads it")
		}, wait, poll).Should(Succeed())
	})
})

// stopAPIServerFor stops the cluster's kube-apiserver process and starts it again with the same command.
// kube-controller-manager and kube-scheduler exit when they cannot renew their leases; a kubelet would
// restart them, so this does too.
func stopAPIServerFor(cluster string, c client.Client, d time.Duration) {
	restore := stopAPIServer(cluster)
	time.Sleep(d)
	restore(c)
}

// stopAPIServer stops the cluster's kube-apiserver process; restore starts it again, waits until it
// answers through c, and brings back the components that exited meanwhile.
func stopAPIServer(cluster string) (restore func(c client.Client)) {
	apiserver := componentProcess(cluster, "kube-apiserver")
	others := []component{componentProcess(cluster, "kube-controller-manager"), componentProcess(cluster, "kube-scheduler")}

	proc, err := os.FindProcess(apiserver.pid)
	Expect(err).NotTo(HaveOccurred())
	Expect(proc.Kill()).To(Succeed())
	Eventually(func() bool { return !alive(apiserver.pid) }, 10*time.Second, 50*time.Millisecond).Should(BeTrue())
	return func(c client.Client) { restartAPIServer(apiserver, others, c) }
}

func restartAPIServer(apiserver component, others []component, c client.Client) {
	apiserver.restart()
	Eventually(func() error {
		return c.List(ctx, &corev1.NamespaceList{})
	}, 60*time.Second, 200*time.Millisecond).Should(Succeed())
	// Give the other components the time a kubelet would, then bring back any that exited.
	time.Sleep(15 * time.Second)
	for _, c := range others {
		if !alive(c.pid) {
			GinkgoWriter.Printf("%s exited while the API server was away; starting it again\n", c.name)
			c.restart()
		}
	}
}

// component is a control plane process started by kwokctl.
type component struct {
	name, pidFile, cwd string
	pid                int
	args               []string
}

func componentProcess(cluster, name string) component {
	home, err := os.UserHomeDir()
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	c := component{name: name, pidFile: filepath.Join(home, ".kwok", "clusters", cluster, "pids", name+".pid")}
	data, err := os.ReadFile(c.pidFile)
	ExpectWithOffset(1, err).NotTo(HaveOccurred(), "kwok's pid file for %s", name)
	_, err = fmt.Sscan(strings.TrimSpace(string(data)), &c.pid)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c.pid))
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	c.cwd, _ = os.Readlink(fmt.Sprintf("/proc/%d/cwd", c.pid))
	c.args = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	return c
}

func (c component) restart() {
	cmd := exec.Command(c.args[0], c.args[1:]...)
	cmd.Dir = c.cwd
	log, err := os.Create(filepath.Join(workDir, c.name+"-restarted.log"))
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	cmd.Stdout, cmd.Stderr = log, log
	ExpectWithOffset(1, cmd.Start()).To(Succeed())
	ExpectWithOffset(1, os.WriteFile(c.pidFile, []byte(fmt.Sprint(cmd.Process.Pid)), 0o644)).To(Succeed())
	go func() { _ = cmd.Wait() }()
}

func alive(pid int) bool {
	_, err := os.Stat(fmt.Sprintf("/proc/%d", pid))
	return err == nil
}
