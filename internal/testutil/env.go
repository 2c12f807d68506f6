package testutil

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/operator"
)

// RepoRoot is the checkout's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// StartEnv starts a kube-apiserver and etcd with the StellarNode CRD installed, and a client for them.
func StartEnv() (*envtest.Environment, *rest.Config, client.Client, error) {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return nil, nil, nil, fmt.Errorf("KUBEBUILDER_ASSETS is not set: run the tests with `make test`, which builds the control plane")
	}
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	// Room for a ClusterIP Service per validator at the benchmark's 1000 (envtest's default is a /24).
	env.ControlPlane.GetAPIServer().Configure().Set("service-cluster-ip-range", "10.0.0.0/16")
	cfg, err := env.Start()
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := client.New(cfg, client.Options{Scheme: operator.NewScheme()})
	if err != nil {
		_ = env.Stop()
		return nil, nil, nil, err
	}
	return env, cfg, c, nil
}

// TestConfig is the operator's configuration for tests: its defaults, with no listening ports, and
// leader election (when turned on) in the default namespace.
func TestConfig() operator.Config {
	c, err := operator.ParseConfig(nil, func(string) string { return "" })
	if err != nil {
		panic(err)
	}
	c.MetricsAddr, c.ProbeAddr = "0", "0"
	// Pod IPs in tests lead nowhere: no test reads agents unless it serves them on loopback itself.
	c.CoreStatusInterval = 0
	// And should a suite turn polling on, nothing but loopback is dialled: a refused dial panics the run.
	c.LoopbackOnlyDials = true
	c.OnRefusedDial = func(address string) {
		panic("the operator dialled " + address + ": tests send traffic to loopback only")
	}
	c.LeaderElectionNamespace = "default"
	c.OperatorImage = "example.org/stellar-operator:test"
	return c
}

// NewNamespace creates a namespace with a generated name that starts with prefix.
func NewNamespace(ctx context.Context, c client.Client, prefix string) (string, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-"}}
	if err := c.Create(ctx, ns); err != nil {
		return "", err
	}
	return ns.Name, nil
}

// Tally counts events by name, safe for concurrent use.
type Tally struct {
	mu     sync.Mutex
	counts map[string]int
}

// Add counts one event for name.
func (t *Tally) Add(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.counts == nil {
		t.counts = map[string]int{}
	}
	t.counts[name]++
}

// Snapshot is a copy of the counts.
func (t *Tally) Snapshot() map[string]int {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := maps.Clone(t.counts)
	if out == nil {
		out = map[string]int{}
	}
	return out
}

// Reset forgets every count.
func (t *Tally) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.counts = map[string]int{}
}

// Every runs step every period until stop is called; stop returns once the last step is done.
func Every(period time.Duration, step func()) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-time.After(period):
			}
			step()
		}
	}()
	return func() { close(quit); <-done }
}

// RunOperator builds the operator as it ships against restConfig, its requests recorded by counter,
// and runs it until stop is called; stop returns once it has stopped. Start errors go to onError.
func RunOperator(ctx context.Context, restConfig *rest.Config, counter *RequestCounter, c operator.Config,
	onError func(error), prepare ...func(*operator.Operator)) (op *operator.Operator, stop func(), err error) {
	cfg := rest.CopyConfig(restConfig)
	cfg.Wrap(counter.Wrap)
	op, err = operator.New(cfg, c)
	if err != nil {
		return nil, nil, err
	}
	for _, p := range prepare {
		p(op)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := op.Manager.Start(runCtx); err != nil {
			onError(err)
		}
	}()
	return op, func() { cancel(); <-done }, nil
}

// UpdateNode changes a StellarNode, retrying when another writer (the reconciler's status) came between.
func UpdateNode(ctx context.Context, c client.Client, ns, name string, mutate func(*stellarv1alpha1.StellarNode)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n := &stellarv1alpha1.StellarNode{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, n); err != nil {
			return err
		}
		mutate(n)
		return c.Update(ctx, n)
	})
}
