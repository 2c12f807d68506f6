//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

// A turn takes a pod's replacement, the tracker's 5 s hold and the StatefulSet's minReadySeconds.
const rolloutWait = 4 * time.Minute

// applyVersion sets the version of every named validator with one `kubectl apply`, as a user would.
func applyVersion(ns, version string, names ...string) {
	var docs []string
	for _, n := range names {
		node := orgValidator(ns, n)
		node.Spec.Version = version
		node.TypeMeta = metav1.TypeMeta{APIVersion: stellarv1alpha1.GroupVersion.String(), Kind: "StellarNode"}
		data, err := yaml.Marshal(node)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		docs = append(docs, string(data))
	}
	file := filepath.Join(GinkgoT().TempDir(), "validators.yaml")
	ExpectWithOffset(1, os.WriteFile(file, []byte(strings.Join(docs, "---\n")), 0o600)).To(Succeed())
	ExpectWithOffset(1, run(filepath.Join(bin, "kubectl"), "--kubeconfig", kubeconfig, "apply", "--server-side",
		"--force-conflicts", "-f", file)).To(Succeed())
}

// rolloutEvents lists the namespace's rollout and restart events, for a failure's message.
func rolloutEvents(ns string) string {
	var list eventsv1.EventList
	if err := k8sClient.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return err.Error()
	}
	var out []string
	for _, e := range list.Items {
		switch e.Reason {
		case "RolloutStarted", "RolloutFinished", "RestartingForPeers", "Updated":
			out = append(out, e.EventTime.Format("15:04:05.000")+" "+e.Regarding.Name+" "+e.Reason+": "+e.Note)
		}
	}
	slices.Sort(out)
	return "events:\n" + strings.Join(out, "\n") + "\n"
}

func imageOf(g Gomega, ns, name string) string {
	sts := &appsv1.StatefulSet{}
	g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sts)).To(Succeed())
	return sts.Spec.Template.Spec.Containers[0].Image
}

var _ = Describe("Rollouts on a simulated cluster", Ordered, func() {
	const pacedHold = 5 * time.Second
	var (
		ns      string
		tracker *podTracker
		four    = []string{"r1", "r2", "r3", "r4"}
	)
	BeforeAll(func() {
		n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "stellar-rollout-e2e"}}
		Expect(k8sClient.Create(ctx, n)).To(Succeed())
		ns = n.Name
		tracker = startTracker(ns, pacedHold)
		createValidators(ns, four...)
		settledWith(ns, four...)
	})

	expectEachReplacedOnceOneAtATime := func(version string) {
		Eventually(func(g Gomega) {
			for _, n := range four {
				g.Expect(imageOf(g, ns, n)).To(Equal("stellar/stellar-core:"+version), n)
			}
			g.Expect(tracker.restartCounts()).To(Equal(map[string]int{"r1": 1, "r2": 1, "r3": 1, "r4": 1}))
		}, rolloutWait, poll).Should(Succeed(), func() string { return rolloutEvents(ns) + operatorLog() })
		settledWith(ns, four...)
		down, log := tracker.mostDown()
		Expect(down).To(Equal(1), "validators down at once: %v", log)
		Expect(tracker.restartCounts()).To(Equal(map[string]int{"r1": 1, "r2": 1, "r3": 1, "r4": 1}))
	}

	It("replaces four validators one at a time, each once, after one kubectl apply of a new version", func() {
		tracker.establish(four...)
		applyVersion(ns, "22.3.0", four...)
		expectEachReplacedOnceOneAtATime("22.3.0")
	})

	It("finishes a rollout after the operator is SIGKILLed in the middle of it, replacing nobody twice or two at once", func() {
		tracker.establish(four...)
		applyVersion(ns, "22.4.0", four...)
		killOperatorMidway(tracker, rolloutWait)
		expectEachReplacedOnceOneAtATime("22.4.0")
	})

	It("has a PodDisruptionBudget over the network's validators: the API server refuses a second eviction while one is down", func() {
		node := &stellarv1alpha1.StellarNode{}
		Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "r1"}, node)).To(Succeed())
		pdbKey := client.ObjectKey{Namespace: ns, Name: resources.NetworkDisruptionBudgetName(node.NetworkID())}
		// kube-controller-manager's disruption controller computes what may go.
		Eventually(func(g Gomega) {
			pdb := &policyv1.PodDisruptionBudget{}
			g.Expect(k8sClient.Get(ctx, pdbKey, pdb)).To(Succeed())
			g.Expect(pdb.Status.ObservedGeneration).To(Equal(pdb.Generation))
			g.Expect(pdb.Status.ExpectedPods).To(Equal(int32(4)))
			g.Expect(pdb.Status.DisruptionsAllowed).To(Equal(int32(1)))
		}, wait, poll).Should(Succeed())

		// kwok marks a pod Ready again whenever it is not, so a pod held NotReady by the tracker flickers,
		// and the budget lets a pod that is not Ready go at once (AlwaysAllow: it is out of consensus
		// already). This spec holds nothing NotReady: a validator is "down" by having no node to run on.
		tracker.setHold(0)
		tracker.release()
		DeferCleanup(func() { tracker.setHold(pacedHold) })
		settledWith(ns, four...)
		tracker.establish(four...)
		// Each eviction holds the version of the pod seen Ready (a precondition), so it evicts that Ready
		// pod or nothing (409 when the pod changed in between).
		readyPod := func(g Gomega, name string) *corev1.Pod {
			pod := &corev1.Pod{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pod)).To(Succeed())
			g.Expect(testutil.IsReady(pod)).To(BeTrue(), name)
			return pod
		}
		evictReady := func(pod *corev1.Pod) error {
			return k8sClient.SubResource("eviction").Create(ctx, pod, &policyv1.Eviction{
				ObjectMeta:    metav1.ObjectMeta{Name: pod.Name, Namespace: ns},
				DeleteOptions: &metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &pod.UID, ResourceVersion: &pod.ResourceVersion}},
			})
		}
		cordonAll := func(unschedulable bool) {
			var nodes corev1.NodeList
			Expect(k8sClient.List(ctx, &nodes)).To(Succeed())
			for i := range nodes.Items {
				patched := nodes.Items[i].DeepCopy()
				patched.Spec.Unschedulable = unschedulable
				Expect(k8sClient.Patch(ctx, patched, client.MergeFrom(&nodes.Items[i]))).To(Succeed())
			}
		}

		By("r1 evicted with no node to go to: the others are refused while it is down")
		cordonAll(true)
		DeferCleanup(func() { cordonAll(false) })
		old := readyPod(Default, "r1-0")
		Expect(evictReady(old)).To(Succeed(), "one validator may be evicted")
		Eventually(func(g Gomega) {
			pod := &corev1.Pod{}
			g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "r1-0"}, pod)).To(Succeed())
			g.Expect(pod.UID).NotTo(Equal(old.UID))
			g.Expect(pod.Spec.NodeName).To(BeEmpty())
			pdb := &policyv1.PodDisruptionBudget{}
			g.Expect(k8sClient.Get(ctx, pdbKey, pdb)).To(Succeed())
			g.Expect(pdb.Status.CurrentHealthy).To(Equal(int32(3)))
			g.Expect(pdb.Status.DisruptionsAllowed).To(BeZero())
		}, wait, poll).Should(Succeed())
		for _, n := range []string{"r2-0", "r3-0", "r4-0"} {
			var err error
			Eventually(func(g Gomega) {
				err = evictReady(readyPod(g, n))
				g.Expect(apierrors.IsConflict(err)).To(BeFalse(), "%s changed after it was read: read it again", n)
			}, wait, poll).Should(Succeed())
			Expect(apierrors.IsTooManyRequests(err)).To(BeTrue(), "evicting %s while r1 is down is refused: %v", n, err)
		}
		cordonAll(false)
		settledWith(ns, four...)

		By("twenty rounds of two evictions of Ready validators sent at once: one goes, the other is refused")
		// kube-apiserver retries an eviction whose budget update conflicted for up to 10 s (EvictionsRetry,
		// 20 x 500 ms, pkg/registry/core/pod/storage/eviction.go v1.37.2): a simulated pod back Ready within
		// that time would let the second through, rightly. A validator's new pod takes minutes to be back
		// in consensus; here it has no node to run on until the round is decided.
		for round := range 20 {
			pair := []string{four[round%4] + "-0", four[(round+1+round/4%3)%4] + "-0"}
			pods := make([]*corev1.Pod, 2)
			Eventually(func(g Gomega) {
				pdb := &policyv1.PodDisruptionBudget{}
				g.Expect(k8sClient.Get(ctx, pdbKey, pdb)).To(Succeed())
				g.Expect(pdb.Status.CurrentHealthy).To(Equal(int32(4)))
				g.Expect(pdb.Status.DisruptionsAllowed).To(Equal(int32(1)))
				for i, name := range pair {
					pods[i] = readyPod(g, name)
				}
			}, wait, poll).Should(Succeed())
			cordonAll(true)
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range pods {
				wg.Go(func() { errs[i] = evictReady(pods[i]) })
			}
			wg.Wait()
			var evicted []string
			for i, err := range errs {
				if err == nil {
					evicted = append(evicted, pair[i])
				} else {
					Expect(apierrors.IsTooManyRequests(err)).To(BeTrue(), "round %d, %s: %v", round, pair[i], err)
				}
			}
			Expect(evicted).To(HaveLen(1), "round %d: %v sent at once, evicted %v", round, pair, evicted)
			cordonAll(false)
			settledWith(ns, four...)
		}
	})
})
