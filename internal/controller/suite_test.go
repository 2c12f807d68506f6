package controller_test

import (
	"context"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/stellar-k8s/stellar-operator/internal/operator"
	"github.com/stellar-k8s/stellar-operator/internal/quorum"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	// requests records what the operator sends to the API server.
	requests = &testutil.RequestCounter{}
)

const testOperatorImage = "example.org/stellar-operator:test"

// The namespaces a validator's NetworkPolicy trusts in this suite.
const (
	testOperatorNamespace   = "stellar-operator-system"
	testMonitoringNamespace = "monitoring"
)

func TestController(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Controller Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	var err error
	testEnv, cfg, k8sClient, err = testutil.StartEnv()
	Expect(err).NotTo(HaveOccurred())

	// The operator as it ships: reconciler and peer discovery, through the one set-up path.
	c := testutil.TestConfig()
	c.OperatorImage = testOperatorImage
	c.OperatorNamespace, c.MonitoringNamespace = testOperatorNamespace, testMonitoringNamespace
	c.AllowedImageRegistries, c.AllowedArchivePrograms = []string{"registry.example.org/"}, []string{"aws"}
	_, stop, err := testutil.RunOperator(ctx, cfg, requests, c, func(err error) { Fail(err.Error()) },
		func(op *operator.Operator) { op.Quorum.Decide = decideUnlessUnproven })
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		stop()
		cancel()
		Expect(testEnv.Stop()).To(Succeed())
	})
})

// unprovenKeys are validators' keys whose network's intersection this suite's gate finds not proven
// within its limit, as a network too large to decide in time would be; the others are checked.
var unprovenKeys sync.Map

func decideUnlessUnproven(m quorum.Map, limit time.Duration) (quorum.Result, error) {
	for k := range m {
		if _, ok := unprovenKeys.Load(k); ok {
			return quorum.Result{Verdict: quorum.Unknown}, nil
		}
	}
	return quorum.Check(m, limit)
}

func newNamespace() string {
	ns, err := testutil.NewNamespace(ctx, k8sClient, "test")
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return ns
}
