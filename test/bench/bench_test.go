//go:build bench

package bench

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/operator"
	"github.com/stellar-k8s/stellar-operator/internal/peers"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/stellarcore"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

var (
	sizesFlag   = flag.String("sizes", "10,100,1000", "numbers of validators to measure")
	steadyFlag  = flag.Duration("steady", 30*time.Second, "length of the steady window with no change")
	changesFlag = flag.Int("changes", 10, "changes whose detection latency is measured")
	pollFlag    = flag.Duration("baseline-interval", 30*time.Second, "polling interval of the baseline (the seed's is 30s)")
	outFlag     = flag.String("out", "", "write the results as JSON to this file")
	heapFlag    = flag.String("heap-profile", "", "write the restarted manager's heap profile (go tool pprof) at each N into this directory")
	cpuFlag     = flag.String("cpu-profile", "", "write the restarted manager's CPU profile over its first 15 s at each N into this directory")
	changeFlag  = flag.String("change-profile", "", "write this process's CPU profile over the timed changes of our discovery at each N into this directory")
	phasesFlag  = flag.String("phases", "discovery,baseline,coldstart,handoff", "the parts to run: discovery (ours), baseline, coldstart, handoff")
	turnsFlag   = flag.Int("handoffs", 10, "rollout hand-offs timed in the handoff phase")
)

// phase says whether the named part of the bench runs.
func phase(name string) bool { return slices.Contains(strings.Split(*phasesFlag, ","), name) }

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
	turns := *turnsFlag

	ctrl.SetLogger(logr.Discard())
	scheme := operator.NewScheme()
	env, cfg, _, err := testutil.StartEnv()
	must(t, err)
	defer func() { _ = env.Stop() }()
	cfg.QPS, cfg.Burst = 500, 1000
	direct, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
	must(t, err)
	managerBin := buildManager(t)
	kubeconfig := writeKubeconfig(t, cfg)

	var results []Result
	for _, n := range sizes {
		ours, base := measure(t, cfg, scheme, direct, n, steady, changes, interval)
		ours.Implementation, ours.Validators = "ours", n
		if phase("coldstart") {
			ours.ManagerRSS, ours.ManagerPeakRSS, ours.ManagerHeapInUse, ours.ColdStart = coldStart(t, direct, managerBin, kubeconfig, n)
		}
		if phase("handoff") {
			ours.Handoff = handoff(t, cfg, direct, n, turns)
		}
		results = append(results, ours)
		if phase("baseline") {
			results = append(results, base)
		}
	}
	table := markdown(results)
	fmt.Println(table)
	if *outFlag != "" {
		data, _ := json.MarshalIndent(results, "", "  ")
		must(t, os.WriteFile(*outFlag, data, 0o644))
		must(t, os.WriteFile(strings.TrimSuffix(*outFlag, ".json")+".md", []byte(table), 0o644))
	}
	for _, r := range results {
		if r.Implementation == "ours" && r.LatencyMax == 0 && phase("discovery") {
			t.Errorf("no latency measured for ours at N=%d", r.Validators)
		}
	}
}

func measure(t *testing.T, cfg *rest.Config, scheme *k8sruntime.Scheme, direct client.WithWatch, n int,
	steady time.Duration, changes int, interval time.Duration) (Result, Result) {
	// One after the other, each on an API server nobody else loads: measured side by side, the
	// baseline's thousands of requests per change slowed the API server ours waits on too.
	var ours, base Result
	if phase("discovery") {
		ours = measureOurs(t, cfg, direct, n, steady, changes)
	}
	if phase("baseline") {
		base = measureBaseline(t, cfg, scheme, direct, n, steady, changes, interval)
	}
	return ours, base
}

// measureOurs runs the operator in this process over N validators and measures its discovery.
func measureOurs(t *testing.T, cfg *rest.Config, direct client.WithWatch, n int, steady time.Duration, changes int) Result {
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	defer func() { cancel(); <-stopped }()
	ns := fmt.Sprintf("ours-%d", n)
	t.Logf("N=%d: creating validators", n)
	ips := createValidators(t, direct, ns, n)

	// The manager's discovery runnable, its requests counted.
	count := &testutil.RequestCounter{}
	oursCfg := rest.CopyConfig(cfg)
	oursCfg.Wrap(count.Wrap)
	opCfg := testutil.TestConfig()
	opCfg.Namespaces = []string{ns}
	op, err := operator.New(oursCfg, opCfg)
	must(t, err)
	go func() { _ = op.Manager.Start(ctx); close(stopped) }()
	waitFor(t, direct, ns, n, 2*time.Minute)
	waitPeersStatus(t, direct, ns, n, 3*time.Minute)
	waitReconciled(t, direct, ns, n, 3*time.Minute)

	r := detection(t, direct, "ours", ns, ips, count, steady, changes, 2*time.Minute)
	r.PassCPU, r.PassAllocBytes = perPass(20, func() { must(t, op.Discovery.Pass(ctx)) })
	r.Notes = map[string]string{"interval": "30s timer + events (passes at least 10 ms apart)"}
	return r
}

// measureBaseline runs the seed's polling design over N validators of its own namespace.
func measureBaseline(t *testing.T, cfg *rest.Config, scheme *k8sruntime.Scheme, direct client.WithWatch, n int,
	steady time.Duration, changes int, interval time.Duration) Result {
	ns := fmt.Sprintf("baseline-%d", n)
	ips := createValidators(t, direct, ns, n)
	count := &testutil.RequestCounter{}
	baseCfg := rest.CopyConfig(cfg)
	baseCfg.Wrap(count.Wrap)
	baseClient, err := client.New(baseCfg, client.Options{Scheme: scheme})
	must(t, err)
	baseline := &Baseline{Client: baseClient, Namespace: ns, Interval: interval}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { baseline.Run(ctx); close(stopped) }()
	stop := sync.OnceFunc(func() { cancel(); <-stopped })
	defer stop()
	waitFor(t, direct, ns, n, 2*time.Minute+interval)

	r := detection(t, direct, "seed baseline", ns, ips, count, steady, changes, 2*interval+time.Minute)
	stop() // its passes are timed with no poll of its own running beside them
	r.PassCPU, r.PassAllocBytes = perPass(3, func() { must(t, baseline.Pass(context.Background())) })
	r.Notes = map[string]string{"interval": interval.String() + " polling"}
	return r
}

// detection counts an implementation's requests in a steady window with no change, then times the
// changes, each a pod going NotReady, then Ready again, until stellar-peers shows it (at most limit):
// from the pod's status written to the API server delivering, on a watch, the stellar-peers that
// shows it. A watch, not polling: a GET of stellar-peers every few milliseconds at N=1000 loads the
// API server the implementation writes to and adds its own interval to every figure.
func detection(t *testing.T, direct client.WithWatch, impl, ns string, ips []string, count *testutil.RequestCounter,
	steady time.Duration, changes int, limit time.Duration) Result {
	n := len(ips)
	t.Logf("N=%d: %s, steady window of %s", n, impl, steady)
	count.Reset()
	time.Sleep(steady)
	steadyReqs := count.All()

	t.Logf("N=%d: %s, %d changes", n, impl, changes)
	count.Reset()
	if *changeFlag != "" && impl == "ours" {
		stop := profileCPU(t, filepath.Join(*changeFlag, fmt.Sprintf("changes-cpu-%d.pprof", n)))
		defer stop()
	}
	var lat []time.Duration
	for k := range changes {
		i, nowReady := (k/2)%n, k%2 == 1
		lat = append(lat, timeToShow(t, direct, ns, ips[i], nowReady, limit, func() {
			setReady(t, direct, ns, validatorName(i), nowReady)
		}))
	}
	ms := make([]string, len(lat))
	for i, l := range lat {
		ms[i] = fmt.Sprint(l.Milliseconds())
	}
	t.Logf("N=%d: %s, detection times in ms, in order: %s", n, impl, strings.Join(ms, " "))
	return summarize(impl, n, lat, steady, steadyReqs, count.All(), changes)
}

// profileCPU profiles this process's CPU into path until the returned stop is called.
func profileCPU(t *testing.T, path string) (stop func()) {
	f, err := os.Create(path)
	must(t, err)
	must(t, pprof.StartCPUProfile(f))
	return func() { pprof.StopCPUProfile(); must(t, f.Close()) }
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

// coldStart runs the real operator binary, reconciler and discovery, over N validators that already
// run (their StatefulSets and pods as it would have them), twice. The first start meets them with no
// status: it is done when every StellarNode is reconciled, has status.peers and stellar-peers lists
// them all. The second start is an operator restarted (upgraded, rescheduled) over validators it
// manages already: it is done when it has reconciled each of them once, its queue is empty and
// discovery has passed. For each: the time, the API requests it sent (its own client metrics, on
// loopback) and the StatefulSets it wrote a new pod template to (pods replaced: none is right). RSS
// is read at the end of the second.
func coldStart(t *testing.T, direct client.Client, bin, kubeconfig string, n int) (rss, peak, heap uint64, cold *ColdStart) {
	ns := fmt.Sprintf("rss-%d", n)
	createValidators(t, direct, ns, n)
	cold = &ColdStart{}
	first := startManager(t, bin, kubeconfig, ns)
	waitFor(t, direct, ns, n, 15*time.Minute)
	waitReconciled(t, direct, ns, n, 15*time.Minute)
	waitPeersStatus(t, direct, ns, n, 15*time.Minute)
	cold.First, cold.FirstRequests = time.Since(first.start), first.requests(t)
	first.stop()

	second := startManager(t, bin, kubeconfig, ns)
	defer second.stop()
	profiled := make(chan struct{})
	go func() {
		defer close(profiled)
		if *cpuFlag != "" {
			// Its window starts with the process and outlasts a restart that meets the target.
			saveProfile(t, "profile?seconds=15", filepath.Join(*cpuFlag, fmt.Sprintf("manager-restart-cpu-%d.pprof", n)))
		}
	}()
	defer func() { <-profiled }() // before the manager is stopped
	deadline := time.Now().Add(15 * time.Minute)
	for !second.caughtUp(n) {
		if time.Now().After(deadline) {
			t.Fatalf("the restarted operator did not reconcile %d validators of %s within 15 minutes", n, ns)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cold.Restart, cold.RestartRequests = time.Since(second.start), second.requests(t)
	var sets appsv1.StatefulSetList
	must(t, direct.List(context.Background(), &sets, client.InNamespace(ns)))
	for _, s := range sets.Items {
		if s.Generation != 1 {
			cold.Replaced++
		}
	}
	time.Sleep(5 * time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", second.cmd.Process.Pid))
	must(t, err)
	// The Go heap in use, from the process's own metrics, says how much of its RSS is live objects.
	heap = uint64(sum(second.metrics()["go_memstats_heap_inuse_bytes"], "", ""))
	t.Logf("manager memory: RssAnon %d kB, RssFile %d kB", procField(string(status), "RssAnon:")/1024, procField(string(status), "RssFile:")/1024)
	if *heapFlag != "" {
		saveProfile(t, "heap", filepath.Join(*heapFlag, fmt.Sprintf("manager-heap-%d.pprof", n)))
	}
	return procField(string(status), "VmRSS:"), procField(string(status), "VmHWM:"), heap, cold
}

// manager is the operator binary running over one namespace, its metrics on loopback.
type manager struct {
	cmd   *exec.Cmd
	start time.Time
}

const (
	managerMetrics = "http://127.0.0.1:28180/metrics"
	managerPprof   = "127.0.0.1:28181"
)

// saveProfile writes one of the running manager's profiles (pprof's path after /debug/pprof/) to path.
func saveProfile(t *testing.T, profile, path string) {
	var resp *http.Response
	var err error
	for range 50 { // the manager may not listen yet
		if resp, err = http.Get("http://" + managerPprof + "/debug/pprof/" + profile); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("profile %s: %v", profile, err)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	out, err := os.Create(path)
	if err == nil {
		_, err = io.Copy(out, resp.Body)
		err = errors.Join(err, out.Close())
	}
	if err != nil {
		t.Errorf("profile %s: %v", profile, err)
	}
}

func startManager(t *testing.T, bin, kubeconfig, ns string) *manager {
	// The core-status poller is off: it would dial every simulated pod's agent at its pod IP, and a
	// benchmark sends traffic to loopback only.
	// The validators' StatefulSets were built with the test configuration's operator image: the same
	// one here, or every pod template would differ and the start would be a rollout of all of them.
	cmd := exec.Command(bin, "--watch-namespaces="+ns, "--metrics-bind-address=127.0.0.1:28180", "--health-probe-bind-address=0",
		"--pprof-bind-address="+managerPprof,
		"--core-status-interval=0", "--loopback-only-dials", "--operator-image="+testutil.TestConfig().OperatorImage)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	log, err := os.Create(filepath.Join(t.TempDir(), "manager.log"))
	must(t, err)
	cmd.Stdout, cmd.Stderr = log, log
	m := &manager{cmd: cmd, start: time.Now()}
	must(t, cmd.Start())
	return m
}

func (m *manager) stop() { _ = m.cmd.Process.Kill(); _ = m.cmd.Wait() }

// metrics are the manager's metric families, or nil while it does not answer.
func (m *manager) metrics() map[string]*dto.MetricFamily {
	resp, err := http.Get(managerMetrics)
	if err != nil {
		return nil
	}
	defer func() { _ = resp.Body.Close() }()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil
	}
	return families
}

// caughtUp says whether the manager has reconciled n StellarNodes, has none queued and discovery has
// passed since.
func (m *manager) caughtUp(n int) bool {
	f := m.metrics()
	return f != nil && sum(f["controller_runtime_reconcile_total"], "controller", "stellarnode") >= float64(n) &&
		sum(f["workqueue_depth"], "name", "stellarnode") == 0 && sum(f["stellar_peer_discovery_passes_total"], "", "") >= 1
}

// requests sums the manager's rest_client_requests_total by method.
func (m *manager) requests(t *testing.T) map[string]int {
	f := m.metrics()
	if f == nil {
		t.Fatal("the manager's metrics do not answer")
	}
	out := map[string]int{}
	if family := f["rest_client_requests_total"]; family != nil {
		for _, metric := range family.GetMetric() {
			for _, l := range metric.GetLabel() {
				if l.GetName() == "method" {
					out[strings.ToLower(l.GetValue())] += int(metric.GetCounter().GetValue())
				}
			}
		}
	}
	return out
}

// sum adds a family's counter or gauge values whose label has that value ("" label: all of them).
func sum(f *dto.MetricFamily, label, value string) float64 {
	total := 0.0
	for _, metric := range f.GetMetric() {
		match := label == ""
		for _, l := range metric.GetLabel() {
			match = match || (l.GetName() == label && l.GetValue() == value)
		}
		if match {
			total += metric.GetCounter().GetValue() + metric.GetGauge().GetValue()
		}
	}
	return total
}

func procField(status, field string) uint64 {
	for line := range strings.SplitSeq(status, "\n") {
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
	nodes := make([]*stellarv1alpha1.StellarNode, n)
	for i := range n {
		nodes[i] = fixture.Validator(ns, validatorName(i))
	}
	// Every validator already runs with its current membership: nothing is due for a restart.
	index := peers.NewIndex(nodes, nil)
	work := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range 16 {
		wg.Go(func() {
			for i := range work {
				ip, err := createValidator(ctx, c, nodes[i], i, index)
				mu.Lock()
				ips[i] = ip
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	must(t, firstErr)
	return ips
}

func createValidator(ctx context.Context, c client.Client, node *stellarv1alpha1.StellarNode, i int, index peers.Index) (string, error) {
	if err := c.Create(ctx, node); err != nil {
		return "", err
	}
	// The StatefulSet the reconciler itself would build, so it has nothing to change.
	profile, err := stellarcore.ProfileFor(node.Spec.Version)
	if err != nil {
		return "", err
	}
	base, err := stellarcore.BaseConfig(node, profile)
	if err != nil {
		return "", err
	}
	opCfg := testutil.TestConfig()
	sts := resources.ValidatorStatefulSet(node, base, resources.Options{OperatorImage: opCfg.OperatorImage, ClusterDomain: opCfg.ClusterDomain})
	sts.Spec.Template.Annotations[peers.AnnotationMembership], _ = index.Membership(node)
	if err := controllerutil.SetControllerReference(node, sts, c.Scheme()); err != nil {
		return "", err
	}
	if err := c.Create(ctx, sts); err != nil {
		return "", err
	}
	sts.Status = appsv1.StatefulSetStatus{ObservedGeneration: sts.Generation, Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		UpdatedReplicas: 1, CurrentReplicas: 1}
	if err := c.Status().Update(ctx, sts); err != nil {
		return "", err
	}
	pod := testutil.PodFor(sts)
	if err := c.Create(ctx, pod); err != nil {
		return "", err
	}
	ip := fmt.Sprintf("10.%d.%d.%d", 1+i/65536, (i/256)%256, i%256)
	testutil.Assign(pod, ip, true)
	if err := c.Status().Update(ctx, pod); err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d", ip, stellarv1alpha1.DefaultPeerPort), nil
}

func setReady(t *testing.T, c client.Client, ns, name string, isReady bool) {
	pod := &corev1.Pod{}
	must(t, c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name + "-0"}, pod))
	testutil.SetReady(pod, isReady)
	must(t, c.Status().Update(context.Background(), pod))
}

// timeToShow watches stellar-peers from the API server's current version, makes the change, and returns
// the time from the change written until the watch delivers a stellar-peers whose KNOWN_PEERS has (or
// lacks) addr; limit if none does in time. The watch starts at the list's version, not the ConfigMap's:
// one written minutes ago may be older than the API server keeps events for, and the watch refused.
func timeToShow(t *testing.T, c client.WithWatch, ns, addr string, present bool, limit time.Duration, change func()) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	byName := fields.OneTermEqualSelector("metadata.name", peers.ConfigMapName)
	current := &corev1.ConfigMapList{}
	must(t, c.List(ctx, current, client.InNamespace(ns), client.MatchingFieldsSelector{Selector: byName}))
	w, err := c.Watch(ctx, &corev1.ConfigMapList{}, client.InNamespace(ns), &client.ListOptions{
		FieldSelector: byName,
		Raw:           &metav1.ListOptions{ResourceVersion: current.ResourceVersion},
	})
	must(t, err)
	defer w.Stop()
	change()
	start := time.Now()
	for ev := range w.ResultChan() {
		if ev.Type == watch.Error {
			t.Fatalf("the watch of %s/%s failed: %v", ns, peers.ConfigMapName, ev.Object)
		}
		if cm, ok := ev.Object.(*corev1.ConfigMap); ok && ev.Type == watch.Modified &&
			slices.Contains(strings.Split(cm.Data[peers.KeyKnownPeers], "\n"), addr) == present {
			return time.Since(start)
		}
	}
	if ctx.Err() == nil {
		t.Fatalf("the API server closed the watch of %s/%s before it showed the change", ns, peers.ConfigMapName)
	}
	return limit
}

// waitPeersStatus waits until discovery has written status.peers on every validator, the end of its start-up.
func waitPeersStatus(t *testing.T, c client.Client, ns string, n int, limit time.Duration) {
	waitAllNodes(t, c, ns, n, limit, "status.peers written", func(node *stellarv1alpha1.StellarNode) bool {
		return int(node.Status.Peers) == n-1
	})
}

// waitReconciled waits until the reconciler has written the status of every validator's generation.
func waitReconciled(t *testing.T, c client.Client, ns string, n int, limit time.Duration) {
	waitAllNodes(t, c, ns, n, limit, "reconciled", func(node *stellarv1alpha1.StellarNode) bool {
		return node.Status.ObservedGeneration == node.Generation
	})
}

// waitAllNodes waits until done holds for all n StellarNodes of a namespace.
func waitAllNodes(t *testing.T, c client.Client, ns string, n int, limit time.Duration, what string, done func(*stellarv1alpha1.StellarNode) bool) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var nodes stellarv1alpha1.StellarNodeList
		if err := c.List(context.Background(), &nodes, client.InNamespace(ns)); err == nil {
			count := 0
			for i := range nodes.Items {
				if done(&nodes.Items[i]) {
					count++
				}
			}
			if count == n {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("not all %d validators of %s %s within %s", n, ns, what, limit)
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
	return Result{
		Implementation: impl, Validators: n, Changes: len(lat), SteadyWindow: steady,
		LatencyP50: quantile(lat, 0.50), LatencyP99: quantile(lat, 0.99), LatencyMax: quantile(lat, 1),
		SteadyRequests: steadyReq, ChangeRequests: changeReq,
		CMWritesPer:   float64(changeReq["update configmaps"]+changeReq["create configmaps"]) / float64(changes),
		STSPatchesPer: float64(changeReq["patch statefulsets"]) / float64(changes),
	}
}

// quantile is the q-quantile of sorted durations (nearest rank), 0 for none.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	idx := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(idx, len(sorted)-1))]
}

// buildManager builds the manager as the Dockerfile does (static, no symbol table), so its memory is
// that of the binary that ships.
func buildManager(t *testing.T) string {
	out := filepath.Join(t.TempDir(), "manager")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", out, "./cmd")
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
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
	for f := range strings.SplitSeq(s, ",") {
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
