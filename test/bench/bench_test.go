package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/peerdiscovery"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

var (
	sizesFlag   = flag.String("sizes", "10,100,1000", "numbers of validators to measure")
	steadyFlag  = flag.Duration("steady", 5*time.Minute, "length of the steady window with no change")
	changesFlag = flag.Int("changes", 20, "changes whose detection latency is measured")
	pollFlag    = flag.Duration("baseline-interval", 30*time.Second, "polling interval of the baseline (the seed's is 30s)")
	outFlag     = flag.String("out", "", "write the results as JSON to this file")
)

// Result is one implementation measured at one size.
type Result struct {
	Implementation string             `json:"implementation"`
	Validators     int                `json:"validators"`
	LatencyP50     time.Duration      `json:"latencyP50"`
	LatencyP99     time.Duration      `json:"latencyP99"`
	LatencyMax     time.Duration      `json:"latencyMax"`
	Changes        int                `json:"changes"`
	SteadyWindow   time.Duration      `json:"steadyWindow"`
	SteadyRequests map[string]int     `json:"steadyRequests"`
	ChangeRequests map[string]int     `json:"changeRequests"`
	CMWritesPer    float64            `json:"configMapWritesPerChange"`
	STSPatchesPer  float64            `json:"statefulSetPatchesPerChange"`
	PassCPU        time.Duration      `json:"passCPU"`
	PassAllocBytes uint64             `json:"passAllocatedBytes"`
	ManagerRSS     uint64             `json:"managerRSSBytes,omitempty"`
	ManagerPeakRSS uint64             `json:"managerPeakRSSBytes,omitempty"`
	Notes          map[string]string  `json:"notes,omitempty"`
	Extra          map[string]float64 `json:"extra,omitempty"`
}

func TestBench(t *testing.T) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("run with make bench or make test, which build the control plane")
	}
	sizes := parseSizes(*sizesFlag)
	steady, changes, interval := *steadyFlag, *changesFlag, *pollFlag
	if testing.Short() {
		// Keeps the harness working in CI; the numbers worth reading come from make bench.
		sizes, steady, changes, interval = []int{10}, 10*time.Second, 4, 2*time.Second
	}

	ctrl.SetLogger(logr.Discard())
	scheme := k8sruntime.NewScheme()
	must(t, clientgoscheme.AddToScheme(scheme))
	must(t, stellarv1alpha1.AddToScheme(scheme))
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	must(t, err)
	defer func() { _ = env.Stop() }()
	cfg.QPS, cfg.Burst = 500, 1000
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	must(t, err)
	managerBin := buildManager(t)
	kubeconfig := writeKubeconfig(t, cfg)

	var results []Result
	for _, n := range sizes {
		ours, base := measure(t, cfg, scheme, direct, n, steady, changes, interval)
		ours.ManagerRSS, ours.ManagerPeakRSS = managerMemory(t, direct, managerBin, kubeconfig, n)
		results = append(results, ours, base)
	}
	table := markdown(results)
	fmt.Println(table)
	if *outFlag != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		must(t, os.WriteFile(*outFlag, data, 0o644))
		must(t, os.WriteFile(strings.TrimSuffix(*outFlag, ".json")+".md", []byte(table), 0o644))
	}
	for _, r := range results {
		if r.Implementation == "ours" && r.LatencyMax == 0 {
			t.Errorf("no latency measured for ours at N=%d", r.Validators)
		}
	}
}

func measure(t *testing.T, cfg *rest.Config, scheme *k8sruntime.Scheme, direct client.Client, n int,
	steady time.Duration, changes int, interval time.Duration) (Result, Result) {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	defer func() { cancel(); <-stopped }()
	oursNS, baseNS := fmt.Sprintf("ours-%d", n), fmt.Sprintf("baseline-%d", n)
	t.Logf("N=%d: creating validators", n)
	oursIPs := createValidators(t, direct, oursNS, n)
	baseIPs := createValidators(t, direct, baseNS, n)

	// Ours: the manager's discovery runnable, its requests counted.
	oursCount := &requestCounter{}
	oursCfg := rest.CopyConfig(cfg)
	oursCfg.Wrap(oursCount.wrap)
	mgr, err := ctrl.NewManager(oursCfg, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		Cache: cache.Options{
			DefaultNamespaces: map[string]cache.Config{oursNS: {}},
			ByObject: map[client.Object]cache.ByObject{
				&corev1.Pod{}: {Label: labels.SelectorFromSet(labels.Set{resources.LabelName: resources.AppName})},
			},
		},
	})
	must(t, err)
	discovery := peerdiscovery.New(mgr, peerdiscovery.Config{Interval: 30 * time.Second})
	must(t, mgr.Add(discovery))
	go func() { _ = mgr.Start(ctx); close(stopped) }()

	// The baseline, polling the same API server.
	baseCount := &requestCounter{}
	baseCfg := rest.CopyConfig(cfg)
	baseCfg.Wrap(baseCount.wrap)
	baseClient, err := client.New(baseCfg, client.Options{Scheme: scheme})
	must(t, err)
	baseline := &Baseline{Client: baseClient, Namespace: baseNS, Interval: interval}
	go baseline.Run(ctx)

	waitFor(t, direct, oursNS, n, 2*time.Minute)
	waitFor(t, direct, baseNS, n, 2*time.Minute+interval)
	waitPeersStatus(t, direct, oursNS, n, 3*time.Minute)

	t.Logf("N=%d: steady window of %s", n, steady)
	oursCount.reset()
	baseCount.reset()
	time.Sleep(steady)
	oursSteady, baseSteady := oursCount.snapshot(), baseCount.snapshot()

	t.Logf("N=%d: %d changes", n, changes)
	oursCount.reset()
	baseCount.reset()
	var oursLat, baseLat []time.Duration
	for k := range changes {
		i := (k / 2) % n // each pod goes NotReady, then Ready again
		nowReady := k%2 == 1
		name := fmt.Sprintf("v%04d", i)
		setReady(t, direct, oursNS, name, nowReady)
		oursStart := time.Now()
		setReady(t, direct, baseNS, name, nowReady)
		baseStart := time.Now()
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			oursLat = append(oursLat, waitShows(direct, oursNS, oursIPs[i], nowReady, oursStart, 2*time.Minute))
		}()
		go func() {
			defer wg.Done()
			baseLat = append(baseLat, waitShows(direct, baseNS, baseIPs[i], nowReady, baseStart, 2*interval+time.Minute))
		}()
		wg.Wait()
	}
	oursChange, baseChange := oursCount.snapshot(), baseCount.snapshot()

	ours := summarize("ours", n, oursLat, steady, oursSteady, oursChange, changes)
	base := summarize("seed baseline", n, baseLat, steady, baseSteady, baseChange, changes)
	ours.PassCPU, ours.PassAllocBytes = perPass(20, func() { must(t, discovery.Pass(ctx)) })
	base.PassCPU, base.PassAllocBytes = perPass(3, func() { must(t, baseline.Pass(ctx)) })
	ours.Notes = map[string]string{"interval": "30s timer + events (50 ms debounce)"}
	base.Notes = map[string]string{"interval": interval.String() + " polling"}
	return ours, base
}

// perPass measures CPU time (user + system, whole process) and bytes allocated per call.
func perPass(times int, pass func()) (time.Duration, uint64) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := cpuTime()
	for range times {
		pass()
	}
	cpu := cpuTime() - cpu0
	runtime.ReadMemStats(&after)
	return cpu / time.Duration(times), (after.TotalAlloc - before.TotalAlloc) / uint64(times)
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// managerMemory runs the real operator binary, reconciler and discovery, over N more validators and reads
// its resident memory once it has published them all.
func managerMemory(t *testing.T, direct client.Client, bin, kubeconfig string, n int) (uint64, uint64) {
	ns := fmt.Sprintf("rss-%d", n)
	createValidators(t, direct, ns, n)
	cmd := exec.Command(bin, "--watch-namespaces="+ns, "--metrics-bind-address=0", "--health-probe-bind-address=0")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	log, err := os.Create(filepath.Join(t.TempDir(), "manager.log"))
	must(t, err)
	cmd.Stdout, cmd.Stderr = log, log
	must(t, cmd.Start())
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	waitFor(t, direct, ns, n, 3*time.Minute)
	time.Sleep(5 * time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	must(t, err)
	return procField(string(status), "VmRSS:"), procField(string(status), "VmHWM:")
}

func procField(status, field string) uint64 {
	for _, line := range strings.Split(status, "\n") {
		if strings.HasPrefix(line, field) {
			f := strings.Fields(line)
			kb, _ := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// createValidators writes N validators as a running cluster would have them: StellarNodes, their
// StatefulSets with status, and Ready pods with IPs. It returns each pod's address.
func createValidators(t *testing.T, c client.Client, ns string, n int) []string {
	ctx := context.Background()
	must(t, c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))
	ips := make([]string, n)
	// Every validator already runs with its current membership: nothing is due for a restart.
	var network peers.SetHash
	for i := range n {
		network = network.Add(peers.Member{Name: fmt.Sprintf("v%04d", i), Port: stellarv1alpha1.DefaultPeerPort})
	}
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				ip, err := createValidator(ctx, c, ns, i, network)
				mu.Lock()
				ips[i] = ip
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	must(t, firstErr)
	return ips
}

func createValidator(ctx context.Context, c client.Client, ns string, i int, network peers.SetHash) (string, error) {
	name := fmt.Sprintf("v%04d", i)
	node := &stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: stellarv1alpha1.StellarNodeSpec{NodeType: stellarv1alpha1.NodeTypeValidator, Network: stellarv1alpha1.NetworkTestnet,
			Version: "22.1.0", ValidatorConfig: &stellarv1alpha1.ValidatorConfig{SeedSecretRef: name + "-seed"}},
	}
	if err := c.Create(ctx, node); err != nil {
		return "", err
	}
	base := "NETWORK_PASSPHRASE = \"x\"\n"
	sts := resources.ValidatorStatefulSet(node, base, resources.Options{OperatorImage: "stellar-operator:bench", ClusterDomain: "cluster.local"})
	sts.Spec.Template.Annotations[peers.AnnotationMembership] = network.Remove(peers.Member{Name: name, Port: node.PeerPort()}).String()
	sts.OwnerReferences = []metav1.OwnerReference{{APIVersion: "stellar.org/v1alpha1", Kind: "StellarNode", Name: name,
		UID: node.UID, Controller: ptr.To(true)}}
	if err := c.Create(ctx, sts); err != nil {
		return "", err
	}
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		UpdatedReplicas: 1, CurrentReplicas: 1}
	if err := c.Status().Update(ctx, sts); err != nil {
		return "", err
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-0", Labels: sts.Spec.Template.Labels},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "stellar-core", Image: "stellar/stellar-core:22.1.0"}}},
	}
	if err := c.Create(ctx, pod); err != nil {
		return "", err
	}
	ip := fmt.Sprintf("10.%d.%d.%d", 1+i/65536, (i/256)%256, i%256)
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}},
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}
	if err := c.Status().Update(ctx, pod); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d", ip, stellarv1alpha1.DefaultPeerPort), nil
}

func setReady(t *testing.T, c client.Client, ns, name string, isReady bool) {
	pod := &corev1.Pod{}
	must(t, c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name + "-0"}, pod))
	status := corev1.ConditionFalse
	if isReady {
		status = corev1.ConditionTrue
	}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: status}}
	must(t, c.Status().Update(context.Background(), pod))
}

// waitShows polls the ConfigMap until its KNOWN_PEERS has (or lacks) addr, and returns the time since start.
func waitShows(c client.Client, ns, addr string, present bool, start time.Time, limit time.Duration) time.Duration {
	for time.Since(start) < limit {
		cm := &corev1.ConfigMap{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: peers.ConfigMapName}, cm); err == nil {
			has := slices.Contains(strings.Split(cm.Data[peers.KeyKnownPeers], "\n"), addr)
			if has == present {
				return time.Since(start)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	return limit
}

// waitPeersStatus waits until discovery has written status.peers on every validator, the end of its start-up.
func waitPeersStatus(t *testing.T, c client.Client, ns string, n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var nodes stellarv1alpha1.StellarNodeList
		if err := c.List(context.Background(), &nodes, client.InNamespace(ns)); err == nil {
			done := 0
			for _, node := range nodes.Items {
				if int(node.Status.Peers) == n-1 {
					done++
				}
			}
			if done == n {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("status.peers not written on all %d validators of %s within %s", n, ns, limit)
}

func waitFor(t *testing.T, c client.Client, ns string, n int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		cm := &corev1.ConfigMap{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: peers.ConfigMapName}, cm); err == nil &&
			len(strings.Fields(cm.Data[peers.KeyKnownPeers])) == n {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("stellar-peers in %s did not list %d validators within %s", ns, n, limit)
}

func summarize(impl string, n int, lat []time.Duration, steady time.Duration, steadyReq, changeReq map[string]int, changes int) Result {
	slices.Sort(lat)
	pick := func(q float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		idx := int(q*float64(len(lat))+0.5) - 1
		return lat[max(0, min(idx, len(lat)-1))]
	}
	return Result{
		Implementation: impl, Validators: n, Changes: len(lat), SteadyWindow: steady,
		LatencyP50: pick(0.50), LatencyP99: pick(0.99), LatencyMax: pick(1),
		SteadyRequests: steadyReq, ChangeRequests: changeReq,
		CMWritesPer:   float64(changeReq["update configmaps"]+changeReq["create configmaps"]) / float64(changes),
		STSPatchesPer: float64(changeReq["patch statefulsets"]) / float64(changes),
	}
}

// requestCounter counts API requests by verb and resource.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		c.mu.Lock()
		if c.counts == nil {
			c.counts = map[string]int{}
		}
		c.counts[verbAndResource(req)]++
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

func (c *requestCounter) reset() { c.mu.Lock(); c.counts = map[string]int{}; c.mu.Unlock() }

func (c *requestCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

// verbAndResource names a request as Kubernetes audit logs do: "list pods", "get statefulsets", ...
func verbAndResource(req *http.Request) string {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	// /api/v1/namespaces/ns/pods/name/status or /apis/g/v/namespaces/ns/res/name
	skip := 2
	if parts[0] == "apis" {
		skip = 3
	}
	if len(parts) <= skip {
		return "discovery " + req.URL.Path
	}
	parts = parts[skip:]
	if len(parts) >= 2 && parts[0] == "namespaces" && len(parts) > 2 {
		parts = parts[2:]
	}
	resource, named := parts[0], len(parts) > 1
	if len(parts) > 2 {
		resource += "/" + parts[2]
	}
	verb := map[string]string{"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[req.Method]
	if req.Method == http.MethodGet {
		switch {
		case req.URL.Query().Get("watch") == "true":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	}
	return verb + " " + resource
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func buildManager(t *testing.T) string {
	out := filepath.Join(t.TempDir(), "manager")
	cmd := exec.Command("go", "build", "-o", out, "./cmd")
	cmd.Dir = filepath.Join("..", "..")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build manager: %v\n%s", err, b)
	}
	return out
}

func writeKubeconfig(t *testing.T, cfg *rest.Config) string {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	must(t, clientcmd.WriteToFile(*kc, path))
	return path
}

func parseSizes(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
