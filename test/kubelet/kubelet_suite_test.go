//go:build kubelet

// Package kubelet runs the operator, installed with `make deploy`, on a cluster whose kubelet starts
// real containers (hack/kubelet-cluster.sh), and checks what only real pods show: the init step's
// file, the security contexts, the probes through the agent, restarts by the kubelet, a paced version
// change and failures said in status. hack/test-kubelet.sh builds the images, starts the cluster,
// deploys the operator and runs this suite.
package kubelet

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

const (
	// operatorNamespace is where `make deploy` installs the operator, and the one namespace it watches.
	operatorNamespace = "stellar-operator-system"
	deployment        = "stellar-operator-controller-manager"
	// testBedRange is the test bed's own range (hack/kubelet-cluster.sh): the operator may dial its pods.
	testBedRange = "198.18.0.0/15"
	storageClass = "stellar-test-bed"
	testImages   = "localhost/stellar-operator-test/"
	// leaderLease is the manager's leader-election Lease (cmd: stellar-operator.stellar.org).
	leaderLease = "stellar-operator.stellar.org"
)

var (
	ctx       = context.Background()
	k8s       client.Client
	kubectl   string
	coreImage string
	// realCore is the stellar-core binary the validators' image was made of; empty: the fake.
	realCore string
)

func TestKubelet(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "real kubelet")
}

var _ = BeforeSuite(func() {
	kubectl = os.Getenv("KUBELET_TEST_KUBECTL")
	coreImage = os.Getenv("KUBELET_TEST_CORE_IMAGE")
	realCore = os.Getenv("KUBELET_TEST_REAL_CORE")
	if kubectl == "" || coreImage == "" || os.Getenv("KUBECONFIG") == "" {
		Fail("run through hack/test-kubelet.sh (make test-kubelet): it builds the images, starts the cluster and deploys the operator")
	}
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(stellarv1alpha1.AddToScheme(scheme)).To(Succeed())
	cfg, err := config.GetConfig()
	Expect(err).NotTo(HaveOccurred())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	var nodes corev1.NodeList
	Expect(k8s.List(ctx, &nodes)).To(Succeed())
	Expect(nodes.Items).To(HaveLen(1))
	info := nodes.Items[0].Status.NodeInfo
	GinkgoWriter.Printf("node %s: kubelet %s, runtime %s, kernel %s\n", nodes.Items[0].Name, info.KubeletVersion,
		info.ContainerRuntimeVersion, info.KernelVersion)
	GinkgoWriter.Printf("images: manager %s, validators %s (%s)\n", os.Getenv("KUBELET_TEST_MANAGER_IMAGE"), coreImage,
		map[bool]string{true: "real stellar-core from " + realCore, false: "the fake stellar-core: everything but consensus"}[realCore != ""])

	widenForTestBed()
})

// widenForTestBed lets the installed operator run the test images, and dial its own pods only: its
// guard exits it on any dial outside loopback and the test bed (no restart of the manager is the
// proof, checked after the suite).
func widenForTestBed() {
	By("widening the installed operator for the test bed: its images, and dials to its own pods only")
	Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: deployment}, &d)).To(Succeed())
		manager := &d.Spec.Template.Spec.Containers[0]
		args := slices.DeleteFunc(slices.Clone(manager.Args), func(a string) bool {
			return strings.HasPrefix(a, "--allowed-image-registries=") || strings.HasPrefix(a, "--test-bed-range=") || a == "--loopback-only-dials"
		})
		manager.Args = append(args, "--allowed-image-registries=stellar/,docker.io/stellar/,"+testImages,
			"--loopback-only-dials", "--test-bed-range="+testBedRange)
		g.Expect(k8s.Update(ctx, &d)).To(Succeed())
	}).WithTimeout(time.Minute).Should(Succeed())
	Eventually(func(g Gomega) {
		var d appsv1.Deployment
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: deployment}, &d)).To(Succeed())
		g.Expect(d.Status.ObservedGeneration).To(Equal(d.Generation))
		g.Expect(d.Status.UpdatedReplicas).To(Equal(*d.Spec.Replicas))
		g.Expect(d.Status.AvailableReplicas).To(Equal(*d.Spec.Replicas))
		g.Expect(d.Status.Replicas).To(Equal(*d.Spec.Replicas))
	}).WithTimeout(3 * time.Minute).WithPolling(time.Second).Should(Succeed())
}

var _ = AfterSuite(func() {
	// The operator never exited on a refused dial, and never restarted.
	var pods corev1.PodList
	Expect(k8s.List(ctx, &pods, client.InNamespace(operatorNamespace), client.MatchingLabels{"control-plane": "controller-manager"})).To(Succeed())
	for _, p := range pods.Items {
		for _, c := range p.Status.ContainerStatuses {
			Expect(c.RestartCount).To(BeZero(), "the manager in %s restarted: a refused dial exits it", p.Name)
		}
	}
})

// run runs a command and returns its standard output; the error carries its standard error.
func run(name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), nil
}
