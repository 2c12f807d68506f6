package corestatus_test

import (
	"context"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/stellar-k8s/stellar-operator/internal/corestatus"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

var (
	ctx       context.Context
	cancel    context.CancelFunc
	testEnv   *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	poller    *corestatus.Poller
	// refusedDials are the operator's dials outside loopback, which the guard stopped.
	refusedDials testutil.Tally
)

func TestCoreStatus(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Core status Suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	ctx, cancel = context.WithCancel(context.TODO())
	var err error
	testEnv, cfg, k8sClient, err = testutil.StartEnv()
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(func() {
		cancel()
		Expect(testEnv.Stop()).To(Succeed())
	})
	c := testutil.TestConfig()
	// Every pod of this suite is on 127.0.0.1, served by a fake agent of the test's own.
	c.CoreStatusInterval = 300 * time.Millisecond
	c.OnRefusedDial = refusedDials.Add
	op, stop, err := testutil.RunOperator(ctx, cfg, &testutil.RequestCounter{}, c, func(err error) { Fail(err.Error()) })
	Expect(err).NotTo(HaveOccurred())
	DeferCleanup(stop)
	poller = op.CoreStatus
	Expect(poller).NotTo(BeNil())
})
