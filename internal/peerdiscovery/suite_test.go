package peerdiscovery

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/controller"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
)

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	discovery *PeerDiscovery
	// reads counts the manager's GET and LIST requests (watches excluded).
	reads = &requestCounter{}
)

func TestPeerDiscovery(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "PeerDiscovery Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(stellarv1alpha1.AddToScheme(scheme)).To(Succeed())
	Expect(os.Getenv("KUBEBUILDER_ASSETS")).NotTo(BeEmpty(), "run the tests with `make test`, which builds the control plane")

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	Expect(err).NotTo(HaveOccurred())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgrCfg := rest.CopyConfig(cfg)
	mgrCfg.Wrap(reads.wrap)
	mgr := newManager(mgrCfg, false)
	Expect((&controller.StellarNodeReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("stellarnode-controller"),
		Options:  resources.Options{OperatorImage: "example.org/stellar-operator:test", ClusterDomain: "cluster.local"},
	}).SetupWithManager(mgr)).To(Succeed())
	discovery = New(mgr, Config{Interval: 30 * time.Second, ClusterDomain: "cluster.local"})
	Expect(mgr.Add(discovery)).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	cancel()
	Expect(testEnv.Stop()).To(Succeed())
})

// newManager builds a manager configured as cmd/main.go does.
func newManager(c *rest.Config, leaderElection bool) manager.Manager {
	mgr, err := ctrl.NewManager(c, ctrl.Options{
		Scheme:                  scheme,
		Metrics:                 metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:  "0",
		LeaderElection:          leaderElection,
		LeaderElectionID:        "stellar-operator.stellar.org",
		LeaderElectionNamespace: "default",
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {Label: labels.SelectorFromSet(labels.Set{resources.LabelName: resources.AppName})},
		}},
		Client: client.Options{Cache: &client.CacheOptions{DisableFor: []client.Object{&corev1.Secret{}}}},
	})
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return mgr
}

// requestCounter counts requests by method and path, so tests can prove what reaches the API server.
type requestCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *requestCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		if req.URL.Query().Get("watch") != "true" {
			c.mu.Lock()
			if c.counts == nil {
				c.counts = map[string]int{}
			}
			k := req.Method + " " + req.URL.Path
			if fm := req.URL.Query().Get("fieldManager"); fm != "" {
				k += "?fieldManager=" + fm
			}
			c.counts[k]++
			c.mu.Unlock()
		}
		return rt.RoundTrip(req)
	})
}

func (c *requestCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.counts = map[string]int{}
}

// byDiscovery returns the counted writes made with peer discovery's field manager.
func (c *requestCounter) byDiscovery() map[string]int {
	out := map[string]int{}
	for k, n := range c.matching("POST", "PUT", "PATCH", "DELETE") {
		if strings.HasSuffix(k, "?fieldManager="+FieldOwner) {
			out[k] = n
		}
	}
	return out
}

// matching returns the counted requests whose method is one of methods, leaving out leader election.
func (c *requestCounter) matching(methods ...string) map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]int{}
	for k, n := range c.counts {
		method, path, _ := strings.Cut(k, " ")
		if strings.Contains(path, "/leases/") {
			continue
		}
		for _, m := range methods {
			if m == method {
				out[k] = n
			}
		}
	}
	return out
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
