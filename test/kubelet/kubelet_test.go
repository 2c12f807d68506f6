//go:build kubelet

package kubelet

import (
	"bufio"
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
	"github.com/stellar-k8s/stellar-operator/internal/strkey"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

// The example's three validators, as a user applies them.
const example = "../../examples/custom-network-validators.yaml"

// renderedFile is where the init step writes the configuration with the seed (resources/validator.go).
var renderedFile = "/etc/stellar/rendered/" + resources.ConfigKey

var validators = []string{"private-1", "private-2", "private-3"}

var _ = Describe("validators on a real kubelet", Ordered, func() {
	AfterEach(func() {
		if CurrentSpecReport().Failed() {
			out, _ := run(kubectl, "-n", operatorNamespace, "get", "stellarnodes,pods,events", "-o", "wide")
			GinkgoWriter.Println(out)
		}
	})
	BeforeAll(func() {
		By("applying " + example + " with the test bed's image and storage class")
		for _, obj := range exampleObjects() {
			Expect(k8s.Create(ctx, obj)).To(Succeed())
		}
	})

	It("runs three validators: every container started, as no root, read-only, Ready through the agent", func() {
		pods := waitReady(validators, nil)

		var ns corev1.Namespace
		Expect(k8s.Get(ctx, client.ObjectKey{Name: operatorNamespace}, &ns)).To(Succeed())
		Expect(ns.Labels).To(HaveKeyWithValue("pod-security.kubernetes.io/enforce", "restricted"),
			"the pods above were admitted under the restricted Pod Security Standard")

		for _, pod := range pods {
			By(pod.Name + ": the rendered configuration is on the memory volume, mode 0600")
			out, err := run(kubectl, "-n", operatorNamespace, "exec", pod.Name, "-c", "stellar-core", "--",
				"stat", "-c", "%a %u", renderedFile)
			Expect(err).NotTo(HaveOccurred())
			Expect(strings.Fields(out)).To(Equal([]string{"600", "10001"}))
			mounts, err := run(kubectl, "-n", operatorNamespace, "exec", pod.Name, "-c", "stellar-core", "--", "cat", "/proc/mounts")
			Expect(err).NotTo(HaveOccurred())
			Expect(mountOf(mounts, filepath.Dir(renderedFile))).To(HavePrefix("tmpfs "), "the seed's file is on a disk")

			By(pod.Name + ": each running container, read off its process on the node")
			Expect(pod.Status.ContainerStatuses).To(HaveLen(2))
			Expect(pod.Status.InitContainerStatuses).To(HaveLen(1))
			Expect(pod.Status.InitContainerStatuses[0].State.Terminated).NotTo(BeNil())
			Expect(pod.Status.InitContainerStatuses[0].State.Terminated.ExitCode).To(BeZero())
			for _, cs := range pod.Status.ContainerStatuses {
				Expect(cs.Started).To(HaveValue(BeTrue()), cs.Name)
				Expect(cs.Ready).To(BeTrue(), cs.Name)
				pid := taskPID(cs.ContainerID)
				Expect(uidOf(pid)).NotTo(Equal("0"), "%s of %s runs as root", cs.Name, pod.Name)
				Expect(rootMountOptions(pid)).To(ContainElement("ro"), "%s of %s has a writable root filesystem", cs.Name, pod.Name)
			}
		}

		By("stellar-peers lists the three pods' addresses")
		Eventually(func(g Gomega) {
			var cm corev1.ConfigMap
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: peers.ConfigMapName}, &cm)).To(Succeed())
			var doc struct {
				Peers []struct{ Name, PodIP string }
			}
			g.Expect(json.Unmarshal([]byte(cm.Data[peers.KeyPeersJSON]), &doc)).To(Succeed())
			want := map[string]string{}
			for _, p := range pods {
				want[strings.TrimSuffix(p.Name, "-0")] = p.Status.PodIP
			}
			got := map[string]string{}
			for _, p := range doc.Peers {
				got[p.Name] = p.PodIP
			}
			g.Expect(got).To(Equal(want))
		}).WithTimeout(time.Minute).Should(Succeed())

		By("the operator reads each validator through its agent: the ledger it reports moves")
		first := ledgers()
		Eventually(func(g Gomega) {
			now := ledgers()
			for _, name := range validators {
				g.Expect(now[name]).To(BeNumerically(">", first[name]), name)
			}
		}).WithTimeout(2 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
	})

	It("restarts a killed stellar-core in place; the operator notices and restarts nothing else", func() {
		before := map[string]*corev1.Pod{}
		for _, name := range validators {
			before[name] = pod(name)
		}
		templates := templateAnnotations()
		victim := validators[0]
		cs := containerStatus(before[victim], "stellar-core")

		seen := watchReady(victim)
		By("SIGKILL to " + victim + "'s stellar-core, from the node")
		_, err := run(ctr(), "--address", containerdSocket, "-n", "k8s.io", "tasks", "kill", "-s", "SIGKILL", containerID(cs.ContainerID))
		Expect(err).NotTo(HaveOccurred())

		Eventually(func(g Gomega) {
			now := containerStatus(pod(victim), "stellar-core")
			g.Expect(now.RestartCount).To(Equal(cs.RestartCount + 1))
			g.Expect(now.Ready).To(BeTrue())
			g.Expect(readyOf(victim)).To(Equal(metav1.ConditionTrue))
		}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Succeed())
		states := seen()
		GinkgoWriter.Printf("%s's Ready condition as the operator wrote it: %v\n", victim, states)
		Expect(states).To(ContainElement(metav1.ConditionFalse), "the operator never said the validator was not ready")

		for _, name := range validators {
			now := pod(name)
			Expect(now.UID).To(Equal(before[name].UID), "%s was replaced", name)
			if name != victim {
				for _, c := range now.Status.ContainerStatuses {
					Expect(c.RestartCount).To(Equal(containerStatus(before[name], c.Name).RestartCount), "%s/%s restarted", name, c.Name)
				}
			}
		}
		Expect(templateAnnotations()).To(Equal(templates), "a StatefulSet template changed: a rollout was started")
	})

	It("changes the version of all three at once with at most one validator not Ready at any moment", func() {
		before := map[string]types.UID{}
		for _, name := range validators {
			before[name] = pod(name).UID
		}
		sample := sampleNotReady(validators)
		for _, name := range validators {
			var node stellarv1alpha1.StellarNode
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, &node)).To(Succeed())
			node.Spec.Version = otherVersion(node.Spec.Version)
			Expect(k8s.Update(ctx, &node)).To(Succeed())
		}
		By("every validator replaced and Ready again")
		waitReady(validators, before)
		worst, samples := sample()
		GinkgoWriter.Printf("%d samples 200 ms apart during the rollout; at most %d validator(s) not Ready at once\n", samples, worst)
		Expect(samples).To(BeNumerically(">", 10))
		Expect(worst).To(Equal(1), "more than one validator was out at once, or none ever was (no rollout seen)")
	})

	It("upgrades the operator with make deploy and replaces no validator's pod", func() {
		before := map[string]types.UID{}
		generations := map[string]int64{}
		for _, name := range validators {
			before[name] = pod(name).UID
			var sts appsv1.StatefulSet
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, &sts)).To(Succeed())
			generations[name] = sts.Generation
		}
		next := os.Getenv("KUBELET_TEST_MANAGER_IMAGE_NEXT")
		By("make deploy IMG=" + next)
		_, err := run("make", "-C", "../..", "--no-print-directory", "deploy", "IMG="+next, "KUBECTL="+kubectl)
		Expect(err).NotTo(HaveOccurred())
		// make deploy puts back the install's own arguments: the test bed's widening goes on again.
		widenForTestBed()
		By("the new manager leads")
		Eventually(func(g Gomega) {
			var pods corev1.PodList
			g.Expect(k8s.List(ctx, &pods, client.InNamespace(operatorNamespace), client.MatchingLabels{"control-plane": "controller-manager"})).To(Succeed())
			var lease coordinationv1.Lease
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: leaderLease}, &lease)).To(Succeed())
			g.Expect(lease.Spec.HolderIdentity).NotTo(BeNil())
			leader := slices.IndexFunc(pods.Items, func(p corev1.Pod) bool { return strings.HasPrefix(*lease.Spec.HolderIdentity, p.Name+"_") })
			g.Expect(leader).To(BeNumerically(">=", 0), "the lease's holder is not a running manager pod")
			g.Expect(pods.Items[leader].Spec.Containers[0].Image).To(Equal(next))
		}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Succeed())
		By("for 40 s after (its first reconcile of every validator, and a discovery pass), no validator's pod is replaced")
		Consistently(func(g Gomega) {
			for _, name := range validators {
				g.Expect(pod(name).UID).To(Equal(before[name]), name)
				var sts appsv1.StatefulSet
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, &sts)).To(Succeed())
				g.Expect(sts.Generation).To(Equal(generations[name]), "%s's StatefulSet changed", name)
			}
		}).WithTimeout(40 * time.Second).WithPolling(time.Second).Should(Succeed())
		for _, name := range validators {
			Expect(readyOf(name)).To(Equal(metav1.ConditionTrue), name)
		}
	})

	It("says why a pod cannot start: an image that is not there, a binary of another release", func() {
		missing := lonelyValidator("missing-image", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.Image = testImages + "not-there:1"
		})
		// The pod starts, and the binary's own answer (`stellar-core version`) stops it, again and again.
		crashing := lonelyValidator("other-release", func(n *stellarv1alpha1.StellarNode) {
			n.Spec.Version = "25.0.0"
			n.Spec.ValidatorConfig.ProtocolVersion = new(int32(25))
		})
		for _, c := range []struct {
			node    *stellarv1alpha1.StellarNode
			reasons []string
			says    string
		}{
			{missing, []string{stellarv1alpha1.ReasonImagePullFailed}, "not-there:1"},
			{crashing, []string{stellarv1alpha1.ReasonCrashLoop, stellarv1alpha1.ReasonReleaseLineMismatch}, "release line"},
		} {
			var said string
			var after time.Duration
			Eventually(func(g Gomega) {
				var node stellarv1alpha1.StellarNode
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(c.node), &node)).To(Succeed())
				degraded := meta.FindStatusCondition(node.Status.Conditions, stellarv1alpha1.ConditionDegraded)
				g.Expect(degraded).NotTo(BeNil())
				g.Expect(degraded.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(c.reasons).To(ContainElement(degraded.Reason))
				g.Expect(degraded.Message).To(ContainSubstring(c.says))
				said = degraded.Reason + ": " + degraded.Message
				after = degraded.LastTransitionTime.Sub(node.CreationTimestamp.Time)
			}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Succeed())
			// The operator's own times, to the second: when it said so, against when the node was made.
			GinkgoWriter.Printf("%s: said %.0f s after it was created: %s\n", c.node.Name, after.Seconds(), said)
		}
		By("the crashing one did start under the kubelet, and exited")
		// The status can say so at the first exit, before the kubelet has counted a restart.
		Eventually(func() *corev1.ContainerStateTerminated {
			cs := containerStatus(pod(crashing.Name), "stellar-core")
			return cmp.Or(cs.State.Terminated, cs.LastTerminationState.Terminated)
		}).WithTimeout(time.Minute).WithPolling(time.Second).Should(And(Not(BeNil()), HaveField("ExitCode", Not(BeZero()))))
		By("the three validators were left alone")
		for _, name := range validators {
			Expect(readyOf(name)).To(Equal(metav1.ConditionTrue), name)
		}
	})

	It("with a real stellar-core, closes ledgers and turns not Ready when stellar-core stops", func() {
		if realCore == "" {
			Skip("no real stellar-core given (STELLAR_CORE): the fake cannot reach consensus")
		}
		By("the three validators are Synced! and their ledger moves")
		first := ledgers()
		Eventually(func(g Gomega) {
			now := ledgers()
			for _, name := range validators {
				var node stellarv1alpha1.StellarNode
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, &node)).To(Succeed())
				g.Expect(node.Status.Core).NotTo(BeNil())
				g.Expect(node.Status.Core.State).To(Equal("Synced!"))
				g.Expect(now[name]).To(BeNumerically(">", first[name]+2), name)
			}
		}).WithTimeout(10 * time.Minute).WithPolling(5 * time.Second).Should(Succeed())

		By("stopping stellar-core (SIGSTOP) turns the validator's readiness false")
		victim := pod(validators[1])
		id := containerID(containerStatus(victim, "stellar-core").ContainerID)
		_, err := run(ctr(), "--address", containerdSocket, "-n", "k8s.io", "tasks", "pause", id)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _, _ = run(ctr(), "--address", containerdSocket, "-n", "k8s.io", "tasks", "resume", id) })
		Eventually(func() metav1.ConditionStatus { return readyOf(validators[1]) }).
			WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Equal(metav1.ConditionFalse))
	})

	It("make undeploy removes the operator and leaves every validator running", func() {
		before := map[string]types.UID{}
		for _, name := range validators {
			before[name] = pod(name).UID
		}
		_, err := run("make", "-C", "../..", "--no-print-directory", "undeploy", "KUBECTL="+kubectl)
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			var pods corev1.PodList
			g.Expect(k8s.List(ctx, &pods, client.InNamespace(operatorNamespace), client.MatchingLabels{"control-plane": "controller-manager"})).To(Succeed())
			g.Expect(pods.Items).To(BeEmpty())
		}).WithTimeout(2 * time.Minute).WithPolling(time.Second).Should(Succeed())
		Consistently(func(g Gomega) {
			for _, name := range validators {
				var node stellarv1alpha1.StellarNode
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, &node)).To(Succeed())
				p := pod(name)
				g.Expect(p.UID).To(Equal(before[name]), name)
				g.Expect(podReady(p)).To(BeTrue(), name)
			}
		}).WithTimeout(20 * time.Second).WithPolling(time.Second).Should(Succeed())
	})
})

// exampleObjects are the example's Secrets and StellarNodes in the operator's namespace, on the test
// bed's image and storage. With a real stellar-core, its version and the highest protocol it votes.
func exampleObjects() []client.Object {
	data, err := os.ReadFile(example)
	Expect(err).NotTo(HaveOccurred())
	decode := serializer.NewCodecFactory(k8s.Scheme()).UniversalDeserializer()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(string(data))))
	var objs []client.Object
	for {
		doc, err := reader.Read()
		if err != nil {
			break
		}
		if strings.TrimSpace(string(doc)) == "" {
			continue
		}
		obj, _, err := decode.Decode(doc, nil, nil)
		Expect(err).NotTo(HaveOccurred())
		o := obj.(client.Object)
		o.SetNamespace(operatorNamespace)
		if node, ok := o.(*stellarv1alpha1.StellarNode); ok {
			onTestBed(node)
		}
		objs = append(objs, o)
	}
	Expect(objs).To(HaveLen(6))
	return objs
}

func onTestBed(node *stellarv1alpha1.StellarNode) {
	node.Spec.Image = coreImage
	node.Spec.Storage.StorageClassName = new(storageClass)
	if realCore != "" {
		node.Spec.Version = os.Getenv("KUBELET_TEST_CORE_VERSION")
		profile, err := stellarcore.ProfileFor(node.Spec.Version)
		Expect(err).NotTo(HaveOccurred())
		node.Spec.ValidatorConfig.ProtocolVersion = new(profile.MaxProtocol())
	}
}

// lonelyValidator is a validator of a Custom network of its own (so no quorum here changes), with a
// key of its own, changed by edit, created.
func lonelyValidator(name string, edit func(*stellarv1alpha1.StellarNode)) *stellarv1alpha1.StellarNode {
	sum := sha256.Sum256([]byte("stellar-operator kubelet test " + name))
	key := ed25519.NewKeyFromSeed(sum[:])
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: name + "-seed"},
		StringData: map[string]string{resources.SeedSecretKey: strkey.Encode(strkey.VersionSeed, sum[:])},
	}
	Expect(k8s.Create(ctx, secret)).To(Succeed())
	objs := exampleObjects()
	node := objs[3].(*stellarv1alpha1.StellarNode)
	node.ObjectMeta = metav1.ObjectMeta{Namespace: operatorNamespace, Name: name}
	node.Spec.CustomNetworkPassphrase = "Lonely " + name + " ; December 2026"
	node.Spec.ValidatorConfig.SeedSecretRef = secret.Name
	node.Spec.ValidatorConfig.PublicKey = strkey.Encode(strkey.VersionPublicKey, key.Public().(ed25519.PublicKey))
	node.Spec.ValidatorConfig.HomeDomain = name + ".example.org"
	// An organisation of one validator: HIGH quality needs three (stellar-core's rule), and a network of
	// one cannot tolerate a failure, which the operator refuses unless told.
	node.Spec.ValidatorConfig.Quorum.Quality = stellarv1alpha1.QualityMedium
	node.Spec.ValidatorConfig.AllowUnsafeQuorum = true
	edit(node)
	Expect(k8s.Create(ctx, node)).To(Succeed())
	return node
}

// waitReady waits until each validator's pod is Ready with every container started, and, when
// before is given, is another pod than before's; it returns the pods.
func waitReady(names []string, before map[string]types.UID) []*corev1.Pod {
	var pods []*corev1.Pod
	Eventually(func(g Gomega) {
		pods = nil
		for _, name := range names {
			var p corev1.Pod
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name + "-0"}, &p)).To(Succeed())
			g.Expect(p.Status.Phase).To(Equal(corev1.PodRunning), p.Name)
			g.Expect(podReady(&p)).To(BeTrue(), p.Name)
			if before != nil {
				g.Expect(p.UID).NotTo(Equal(before[name]), "%s not replaced yet", p.Name)
			}
			pods = append(pods, &p)
		}
	}).WithTimeout(5 * time.Minute).WithPolling(time.Second).Should(Succeed())
	return pods
}

func pod(name string) *corev1.Pod {
	var p corev1.Pod
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name + "-0"}, &p)).To(Succeed())
	return &p
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func containerStatus(p *corev1.Pod, name string) corev1.ContainerStatus {
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Name == name {
			return cs
		}
	}
	Fail("no container " + name + " in " + p.Name)
	return corev1.ContainerStatus{}
}

func readyOf(name string) metav1.ConditionStatus {
	var node stellarv1alpha1.StellarNode
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, &node)).To(Succeed())
	if c := meta.FindStatusCondition(node.Status.Conditions, stellarv1alpha1.ConditionReady); c != nil {
		return c.Status
	}
	return metav1.ConditionUnknown
}

// watchReady records each Ready status the operator writes for a validator, read every 100 ms, until
// the returned function is called; it returns them in order, repeats dropped.
func watchReady(name string) func() []metav1.ConditionStatus {
	var mu sync.Mutex
	var seen []metav1.ConditionStatus
	stop := testutil.Every(100*time.Millisecond, func() {
		var node stellarv1alpha1.StellarNode
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, &node); err != nil {
			return
		}
		status := metav1.ConditionUnknown
		if c := meta.FindStatusCondition(node.Status.Conditions, stellarv1alpha1.ConditionReady); c != nil {
			status = c.Status
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 || seen[len(seen)-1] != status {
			seen = append(seen, status)
		}
	})
	return func() []metav1.ConditionStatus {
		stop()
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(seen)
	}
}

// sampleNotReady counts, every 200 ms from outside, the validators whose pod is missing or not
// Ready, until the returned function is called; it returns the largest count and the samples taken.
func sampleNotReady(names []string) func() (worst, samples int) {
	var mu sync.Mutex
	var worst, samples int
	stop := testutil.Every(200*time.Millisecond, func() {
		out := 0
		for _, name := range names {
			var p corev1.Pod
			err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name + "-0"}, &p)
			if apierrors.IsNotFound(err) || (err == nil && !podReady(&p)) {
				out++
			}
		}
		mu.Lock()
		defer mu.Unlock()
		worst, samples = max(worst, out), samples+1
	})
	return func() (int, int) {
		stop()
		mu.Lock()
		defer mu.Unlock()
		return worst, samples
	}
}

// otherVersion is the same release as another tag: the Debian-package form's leading version, or
// that version as a package of its own.
func otherVersion(v string) string {
	base := regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+`).FindString(v)
	if base != v {
		return base
	}
	return v + "-1.kubelet.test"
}

func ledgers() map[string]int64 {
	out := map[string]int64{}
	for _, name := range validators {
		var node stellarv1alpha1.StellarNode
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, &node)).To(Succeed())
		if node.Status.Core != nil {
			out[name] = node.Status.Core.Ledger
		}
	}
	return out
}

func templateAnnotations() map[string]map[string]string {
	out := map[string]map[string]string{}
	for _, name := range validators {
		var sts appsv1.StatefulSet
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: name}, &sts)).To(Succeed())
		out[name] = sts.Spec.Template.Annotations
	}
	return out
}

// The node's containerd (hack/kubelet-cluster.sh) and its ctr, beside kubectl.
const containerdSocket = "/run/stellar-test-bed/containerd.sock"

func ctr() string { return filepath.Join(filepath.Dir(kubectl), "ctr") }

func containerID(statusID string) string { return strings.TrimPrefix(statusID, "containerd://") }

// taskPID is the node's process id of a running container.
func taskPID(statusID string) string {
	out, err := run(ctr(), "--address", containerdSocket, "-n", "k8s.io", "tasks", "ls")
	Expect(err).NotTo(HaveOccurred())
	for line := range strings.SplitSeq(out, "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == containerID(statusID) && f[2] == "RUNNING" {
			return f[1]
		}
	}
	Fail("no running task " + statusID)
	return ""
}

// uidOf is the real user id of a process on the node.
func uidOf(pid string) string {
	data, err := os.ReadFile("/proc/" + pid + "/status")
	Expect(err).NotTo(HaveOccurred())
	for line := range strings.SplitSeq(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			return f[1]
		}
	}
	return ""
}

// rootMountOptions are the mount options of a process's root filesystem.
func rootMountOptions(pid string) []string {
	data, err := os.ReadFile("/proc/" + pid + "/mountinfo")
	Expect(err).NotTo(HaveOccurred())
	for line := range strings.SplitSeq(string(data), "\n") {
		// id parent major:minor root mountpoint options ...
		if f := strings.Fields(line); len(f) >= 6 && f[4] == "/" {
			return strings.Split(f[5], ",")
		}
	}
	return nil
}

// mountOf is the /proc/mounts line of a mount point: "type options...".
func mountOf(mounts, point string) string {
	for line := range strings.SplitSeq(mounts, "\n") {
		if f := strings.Fields(line); len(f) >= 4 && f[1] == point {
			return f[2] + " " + f[3]
		}
	}
	return ""
}
