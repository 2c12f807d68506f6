package peerdiscovery_test

import (
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/stellar-k8s/stellar-operator/internal/testutil"
)

type simulator = testutil.Simulator

// startSimulator plays the StatefulSet controller and the kubelet in ns until the spec ends.
func startSimulator(ns string, hold time.Duration) *simulator {
	s, stop := testutil.StartSimulator(ctx, k8sClient, ns, hold)
	DeferCleanup(stop)
	return s
}
