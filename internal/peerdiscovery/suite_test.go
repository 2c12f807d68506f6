package peerdiscovery_test

import (
	"context"
	"net/http"
	"strings"
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
	"github.com/stellar-k8s/stellar-operator/internal/peerdiscovery"
	"github.com/stellar-k8s/stellar-operator/internal/scope"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	discovery *peerdiscovery.PeerDiscovery
	// rollouts serves /rollouts, the suite operator's planner.
	rollouts http.Handler
	// requests records what the operator sends to the API server.
	requests = &testutil.RequestCounter{}
)

func TestPeerDiscovery(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "PeerDiscovery Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancel = context.WithCancel(context.TODO())
	var err error
	testEnv, cfg, k8sClient, err = testutil.StartEnv()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		cancel()
		Expect(testEnv.Stop()).To(Succeed())
	})
	c := testutil.TestConfig()
	// Short, so the blocked-rollout spec sees Degraded without waiting half an hour.
	c.RolloutBlockedAfter = 3 * time.Second
	c.DiscoveryScopes, err = scope.Parse([]string{strings.Join(scopeNamespaces, ","), strings.Join(splitScope, ",")})
	Expect(err).NotTo(HaveOccurred())
	op := startOperator(requests, c)
	discovery, rollouts = op.Discovery, op.Planner
})

// startOperator runs the operator as it ships, its requests recorded by counter, until the test (or
// the suite) ends.
func startOperator(counter *testutil.RequestCounter, c operator.Config) *operator.Operator {
	op, stop, err := testutil.RunOperator(ctx, cfg, counter, c, func(err error) { Fail(err.Error()) })
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	DeferCleanup(stop)
	return op
}
