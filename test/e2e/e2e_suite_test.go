//go:build e2e

// Package e2e runs the operator as a separate process against a simulated cluster: the real
// kube-apiserver, etcd, kube-controller-manager (StatefulSet controller) and kube-scheduler, with kwok's
// fake nodes, which run pods as Ready with IPs.
package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

const (
	clusterName = "stellar-e2e"
	metricsAddr = "127.0.0.1:28080"
	probeAddr   = "127.0.0.1:28081"
)

var (
	ctx        = context.Background()
	root       string
	bin        string
	workDir    string
	kubeconfig string
	k8sClient  client.Client
	scheme     = runtime.NewScheme()
	operator   *operatorProcess
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "e2e suite")
}

var _ = BeforeSuite(func() {
	var err error
	root, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	workDir = GinkgoT().TempDir()
	kubeconfig = filepath.Join(workDir, "kubeconfig")

	By("building the simulated cluster's binaries (cached)")
	out, err := exec.Command(filepath.Join(root, "hack", "build-controlplane.sh"), "all").Output()
	Expect(err).NotTo(HaveOccurred())
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	bin = lines[len(lines)-1]

	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(stellarv1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(apiextensionsv1.AddToScheme(scheme)).To(Succeed())
	k8sClient = startKwokCluster(clusterName, kubeconfig)

	By("building and starting the operator as its own process")
	Expect(runIn(root, "go", "build", "-o", filepath.Join(workDir, "manager"), "./cmd")).To(Succeed())
	operator = &operatorProcess{path: filepath.Join(workDir, "manager"), logPath: filepath.Join(workDir, "operator.log"),
		kubeconfig: kubeconfig, metricsAddr: metricsAddr, probeAddr: probeAddr}
	operator.start()
})

var _ = AfterSuite(func() {
	if operator != nil {
		operator.kill()
		if CurrentSpecReport().Failed() || os.Getenv("E2E_SHOW_LOG") != "" {
			log, _ := os.ReadFile(operator.logPath)
			GinkgoWriter.Printf("operator log:\n%s\n", tail(string(log), 80))
		}
	}
	if bin != "" {
		_ = run(filepath.Join(bin, "kwokctl"), "delete", "cluster", "--name", clusterName)
	}
})

// startKwokCluster creates a simulated cluster of three nodes, writes its kubeconfig, installs the
// CRDs and volumes the validators' claims can bind to, and returns a client for it.
func startKwokCluster(name, kubeconfig string) client.Client {
	By("starting the simulated cluster " + name)
	kwokctl := filepath.Join(bin, "kwokctl")
	_ = run(kwokctl, "delete", "cluster", "--name", name)
	Expect(run(kwokctl, "create", "cluster", "--name", name, "--runtime", "binary",
		"--etcd-binary", filepath.Join(bin, "etcd"), "--kube-apiserver-binary", filepath.Join(bin, "kube-apiserver"),
		"--kube-controller-manager-binary", filepath.Join(bin, "kube-controller-manager"),
		"--kube-scheduler-binary", filepath.Join(bin, "kube-scheduler"), "--kwok-controller-binary", filepath.Join(bin, "kwok"),
		"--kubeconfig", kubeconfig, "--wait", "60s")).To(Succeed())
	Expect(run(kwokctl, "scale", "node", "--name", name, "--replicas", "3")).To(Succeed())

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	Expect(err).NotTo(HaveOccurred())
	cfg.QPS, cfg.Burst = 100, 200
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	By("installing the CRDs and volumes the validators' claims can bind to")
	crdFiles, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, file := range crdFiles {
		data, err := os.ReadFile(file)
		Expect(err).NotTo(HaveOccurred())
		crd := &apiextensionsv1.CustomResourceDefinition{}
		Expect(yaml.Unmarshal(data, crd)).To(Succeed())
		Expect(c.Create(ctx, crd)).To(Succeed())
		crds = append(crds, crd)
	}
	for i := range 16 {
		Expect(c.Create(ctx, &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("e2e-pv-%d", i)},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("20Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete,
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: fmt.Sprintf("/tmp/%s-pv-%d", name, i)}},
			},
		})).To(Succeed())
	}
	for _, crd := range crds {
		Eventually(func(g Gomega) {
			established := false
			got := &apiextensionsv1.CustomResourceDefinition{}
			g.Expect(c.Get(ctx, client.ObjectKey{Name: crd.Name}, got)).To(Succeed())
			for _, cond := range got.Status.Conditions {
				established = established || (cond.Type == apiextensionsv1.Established && cond.Status == apiextensionsv1.ConditionTrue)
			}
			g.Expect(established).To(BeTrue())
		}, 30*time.Second, 200*time.Millisecond).Should(Succeed())
	}
	return c
}

// operatorProcess is the operator binary running against a simulated cluster.
type operatorProcess struct {
	path, logPath                      string
	kubeconfig, metricsAddr, probeAddr string
	// extraArgs are added to the command line at the next start.
	extraArgs []string
	cmd       *exec.Cmd
	exited    chan struct{}
}

func (o *operatorProcess) start() {
	log, err := os.OpenFile(o.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	Expect(err).NotTo(HaveOccurred())
	args := append([]string{"--watch-namespaces=all", "--metrics-bind-address=" + o.metricsAddr,
		"--leader-elect", "--leader-election-namespace=kube-system",
		"--health-probe-bind-address=" + o.probeAddr, "--operator-image=stellar-operator:e2e", "--log-format=console",
		// kwok's pod IPs are private addresses with nothing behind them: the agents are never read here.
		"--core-status-interval=0", "--loopback-only-dials"}, o.extraArgs...)
	o.cmd = exec.Command(o.path, args...)
	o.cmd.Env = append(os.Environ(), "KUBECONFIG="+o.kubeconfig)
	o.cmd.Stdout, o.cmd.Stderr = log, log
	Expect(o.cmd.Start()).To(Succeed())
	o.exited = make(chan struct{})
	go func() { _ = o.cmd.Wait(); _ = log.Close(); close(o.exited) }()
}

// kill ends the operator at once, as a crash or an evicted pod would.
func (o *operatorProcess) kill() {
	if o.cmd == nil || o.cmd.Process == nil {
		return
	}
	_ = o.cmd.Process.Signal(syscall.SIGKILL)
	<-o.exited
}

func (o *operatorProcess) running() bool {
	select {
	case <-o.exited:
		return false
	default:
		return true
	}
}

func run(name string, args ...string) error { return runIn("", name, args...) }

func runIn(dir, name string, args ...string) error {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w\n%s", name, strings.Join(args, " "), err, tail(string(out), 20))
	}
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
