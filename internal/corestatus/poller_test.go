package corestatus_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/agent"
	"github.com/stellar-k8s/stellar-operator/internal/corestatus"
	"github.com/stellar-k8s/stellar-operator/internal/readiness"
	"github.com/stellar-k8s/stellar-operator/internal/resources"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

// fakeAgent serves a validator's status document and its quorum map on loopback.
type fakeAgent struct {
	*httptest.Server
	mu     sync.Mutex
	status agent.Status
	// quorum is the body of /quorum; without it, 502 as an agent whose stellar-core gives none.
	quorum string
}

// startFakeAgent is the agent of a synced validator at ledger.
func startFakeAgent(ledger int64) *fakeAgent {
	a := &fakeAgent{status: agent.Status{State: "Synced!", Ledger: agent.LedgerStatus{Num: ledger, Age: 3, Version: 19}, ProtocolVersion: 19,
		Peers: agent.PeerCounts{Authenticated: 2}, Quorum: agent.QuorumStatus{Agree: 3, FailAt: 1}}}
	a.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.mu.Lock()
		defer a.mu.Unlock()
		switch {
		case r.URL.Path == agent.QuorumPath && a.quorum != "":
			_, _ = w.Write([]byte(a.quorum))
		case r.URL.Path == agent.QuorumPath:
			http.Error(w, "no map", http.StatusBadGateway)
		default:
			Expect(r.URL.Path).To(Equal(agent.StatusPath))
			_ = json.NewEncoder(w).Encode(a.status)
		}
	}))
	DeferCleanup(a.Close)
	return a
}

func (a *fakeAgent) set(change func(*agent.Status)) {
	a.mu.Lock()
	defer a.mu.Unlock()
	change(&a.status)
}

// silentAgent accepts connections and never answers, as a hung sidecar would.
func silentAgent() *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	DeferCleanup(s.Close)
	return s
}

// podServedBy creates the validator's pod as the StatefulSet controller would, on 127.0.0.1, its agent
// port the one the test server listens on.
func podServedBy(ns, name string, srv *httptest.Server) {
	sts := &appsv1.StatefulSet{}
	EventuallyWithOffset(1, func() error { return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, sts) }).Should(Succeed())
	pod := testutil.PodFor(sts)
	u, err := url.Parse(srv.URL)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	port, _ := strconv.Atoi(u.Port())
	for i, c := range pod.Spec.Containers {
		if c.Name == resources.AgentContainer {
			pod.Spec.Containers[i].Ports[0].ContainerPort = int32(port)
		}
	}
	ExpectWithOffset(1, k8sClient.Create(ctx, pod)).To(Succeed())
	testutil.Assign(pod, "127.0.0.1", true)
	ExpectWithOffset(1, k8sClient.Status().Update(ctx, pod)).To(Succeed())
}

func core(ns, name string) func(g Gomega) *stellarv1alpha1.CoreStatus {
	return func(g Gomega) *stellarv1alpha1.CoreStatus {
		n := &stellarv1alpha1.StellarNode{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, n)).To(Succeed())
		g.Expect(n.Status.Core).NotTo(BeNil())
		return n.Status.Core
	}
}

func events(ns, name, reason string) func(g Gomega) int {
	return func(g Gomega) int {
		var list eventsv1.EventList
		g.Expect(k8sClient.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
		n := 0
		for _, e := range list.Items {
			if e.Regarding.Name == name && e.Reason == reason {
				n++
			}
		}
		return n
	}
}

var _ = Describe("Core status from the validators' agents", func() {
	It("fills status.core, reports a silent agent without holding the others back, and says once when sync is lost", func() {
		ns, err := testutil.NewNamespace(ctx, k8sClient, "core")
		Expect(err).NotTo(HaveOccurred())
		for _, n := range []string{"v1", "v2", "silent"} {
			Expect(k8sClient.Create(ctx, fixture.Validator(ns, n))).To(Succeed())
		}
		a1, a2 := startFakeAgent(100), startFakeAgent(101)
		podServedBy(ns, "v1", a1.Server)
		podServedBy(ns, "v2", a2.Server)
		podServedBy(ns, "silent", silentAgent())

		Eventually(core(ns, "v1")).Should(And(HaveField("State", "Synced!"), HaveField("Ledger", int64(100)),
			HaveField("LedgerAgeSeconds", int64(3)), HaveField("ProtocolVersion", int64(19)), HaveField("Peers", int64(2)),
			HaveField("QuorumFailAt", HaveValue(Equal(int64(1)))), HaveField("LastSeen", Not(BeNil())), HaveField("Error", "")))
		Eventually(core(ns, "v2")).Should(HaveField("Ledger", int64(101)))
		Eventually(core(ns, "silent")).Should(And(HaveField("Error", ContainSubstring("the agent did not answer")),
			HaveField("LastSeen", BeNil())))

		By("the others keep being read while the silent agent times out every round")
		a1.set(func(s *agent.Status) { s.Ledger.Num = 150 })
		Eventually(core(ns, "v1")).Should(HaveField("Ledger", int64(150)))

		By("a validator that loses sync gets one event, not one per poll")
		Eventually(events(ns, "v1", corestatus.ReasonSynced)).Should(Equal(1))
		a1.set(func(s *agent.Status) { s.State, s.Ledger.Age = "Catching up", 90 })
		Eventually(core(ns, "v1")).Should(HaveField("State", "Catching up"))
		Eventually(events(ns, "v1", corestatus.ReasonLostSync)).Should(Equal(1))
		rounds := poller.Rounds()
		Eventually(poller.Rounds).Should(BeNumerically(">=", rounds+3))
		Expect(events(ns, "v1", corestatus.ReasonLostSync)(Default)).To(Equal(1), "three more polls, still one event")
		a1.set(func(s *agent.Status) { s.State, s.Ledger.Age = "Synced!", 1 })
		Eventually(events(ns, "v1", corestatus.ReasonSynced)).Should(Equal(2))
		Expect(events(ns, "silent", corestatus.ReasonLostSync)(Default)).To(BeZero(), "a silent agent is not a loss of sync")

		By("a stellar-core that still says Synced! over a ledger 31 s old has lost sync, as its readiness probe says")
		a2.set(func(s *agent.Status) { s.Ledger.Age = 31 })
		Eventually(events(ns, "v2", corestatus.ReasonLostSync)).Should(Equal(1))
		Expect(core(ns, "v2")(Default)).To(HaveField("State", "Synced!"))
	})

	It("never dials a pod IP outside loopback when told so: the dial is refused before it leaves", func() {
		ns, err := testutil.NewNamespace(ctx, k8sClient, "core")
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, fixture.Validator(ns, "elsewhere"))).To(Succeed())
		sts := &appsv1.StatefulSet{}
		Eventually(func() error { return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "elsewhere"}, sts) }).Should(Succeed())
		pod := testutil.PodFor(sts)
		Expect(k8sClient.Create(ctx, pod)).To(Succeed())
		testutil.Assign(pod, "10.77.0.1", true)
		Expect(k8sClient.Status().Update(ctx, pod)).To(Succeed())
		target := fmt.Sprintf("10.77.0.1:%d", resources.AgentPort)
		Eventually(func() int { return refusedDials.Snapshot()[target] }).Should(BeNumerically(">=", 1))
		Eventually(core(ns, "elsewhere")).Should(HaveField("Error", ContainSubstring("refused: only 127.0.0.0/8")))
		for address := range refusedDials.Snapshot() {
			Expect(address).To(Equal(target), "no other dial outside loopback")
		}
	})

	It("shows the vote the agent keeps armed, and the ledger's fee, reserve and size", func() {
		ns, err := testutil.NewNamespace(ctx, k8sClient, "core")
		Expect(err).NotTo(HaveOccurred())
		Expect(k8sClient.Create(ctx, fixture.Validator(ns, "voter"))).To(Succeed())
		a := startFakeAgent(100)
		confirmed := testNow
		a.set(func(s *agent.Status) {
			s.Ledger.BaseFee, s.Ledger.BaseReserve, s.Ledger.MaxTxSetSize = 100, 5000000, 1000
			s.Vote = &votes.Report{Vote: "fees/1", Armed: true, ConfirmedAt: &confirmed}
		})
		podServedBy(ns, "voter", a.Server)
		Eventually(core(ns, "voter")).Should(And(HaveField("BaseFee", int64(100)), HaveField("BaseReserve", int64(5000000)),
			HaveField("MaxTxSetSize", int64(1000)), HaveField("Vote", HaveValue(And(HaveField("Vote", "fees/1"),
				HaveField("Armed", true), HaveField("ConfirmedAt", HaveValue(HaveField("Time", BeTemporally("==", testNow)))))))))
	})
})

// mapOf is a transitive quorum map as an agent serves it: each key trusting all of its own list.
func mapOf(sets map[string][]string) string {
	var nodes []string
	for k, trusted := range sets {
		quoted := make([]string, len(trusted))
		for i, t := range trusted {
			quoted[i] = strconv.Quote(t)
		}
		nodes = append(nodes, fmt.Sprintf(`{"node": %q, "qset": {"t": %d, "v": [%s]}}`, k, len(trusted), strings.Join(quoted, ", ")))
	}
	return `{"nodes": [` + strings.Join(nodes, ", ") + `]}`
}

var _ = Describe("The network's reported quorum map", func() {
	It("gives the quorum gate the sets of the validators outside: a split among them holds the network's changes", func() {
		ns, err := testutil.NewNamespace(ctx, k8sClient, "core")
		Expect(err).NotTo(HaveOccurred())
		x, y := fixture.KeyOf("outside", "x"), fixture.KeyOf("outside", "y")
		// v1 and v2 trust three of the four: themselves and two validators outside.
		trusting := func(name string) *stellarv1alpha1.StellarNode {
			return fixture.Validator(ns, name, fixture.AllowingUnsafeQuorum(), fixture.WithQuorumSet(fmt.Sprintf(
				"[QUORUM_SET]\nTHRESHOLD_PERCENT = 67\nVALIDATORS = [%q, %q, %q, %q]\n", fixture.KeyOf(ns, "v1"), fixture.KeyOf(ns, "v2"), x, y)))
		}
		Expect(k8sClient.Create(ctx, trusting("v1"))).To(Succeed())
		a := startFakeAgent(100)
		podServedBy(ns, "v1", a.Server)
		Eventually(quorumOf(ns, "v1")).Should(And(Not(BeNil()), HaveField("Intersection", stellarv1alpha1.QuorumIntersecting),
			HaveField("UnknownValidators", BeEquivalentTo(3)), HaveField("ReportedValidators", BeZero())), "v2, x and y are not known yet")

		By("the network reports x and y trusting only themselves: {x} and {y} are two quorums with nothing in common")
		a.mu.Lock()
		a.quorum = mapOf(map[string][]string{x: {x}, y: {y}})
		a.mu.Unlock()
		Eventually(quorumOf(ns, "v1")).Should(And(HaveField("Intersection", stellarv1alpha1.QuorumSplit),
			HaveField("UnknownValidators", BeEquivalentTo(1)), HaveField("ReportedValidators", BeEquivalentTo(2))))
		Eventually(degraded(ns, "v1")).Should(And(HaveField("Reason", stellarv1alpha1.ReasonQuorumSplit),
			HaveField("Message", And(ContainSubstring(x[:5]), ContainSubstring(y[:5]), ContainSubstring("as the network last reported")))))
		Expect(k8sClient.Create(ctx, trusting("v2"))).To(Succeed())
		Consistently(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "v2"}, &appsv1.StatefulSet{}))
		}, "2s").Should(BeTrue(), "a validator joining a network that can split never starts")

		By("x and y trust each other: one quorum, and the held validator starts")
		a.mu.Lock()
		a.quorum = mapOf(map[string][]string{x: {x, y}, y: {x, y}})
		a.mu.Unlock()
		Eventually(func() error {
			return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: "v2"}, &appsv1.StatefulSet{})
		}).Should(Succeed())
		Eventually(quorumOf(ns, "v1")).Should(HaveField("Intersection", stellarv1alpha1.QuorumIntersecting))
	})
})

func quorumOf(ns, name string) func(g Gomega) *stellarv1alpha1.QuorumStatus {
	return func(g Gomega) *stellarv1alpha1.QuorumStatus {
		n := &stellarv1alpha1.StellarNode{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, n)).To(Succeed())
		return n.Status.Quorum
	}
}

func degraded(ns, name string) func(g Gomega) *metav1.Condition {
	return func(g Gomega) *metav1.Condition {
		n := &stellarv1alpha1.StellarNode{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, n)).To(Succeed())
		return meta.FindStatusCondition(n.Status.Conditions, stellarv1alpha1.ConditionDegraded)
	}
}

var _ = Describe("Merge and Transition", func() {
	It("keeps the last answer when the agent is silent, and forgets the state when stellar-core does not answer", func() {
		synced := corestatus.Merge(nil, agent.Status{State: "Synced!", Ledger: agent.LedgerStatus{Num: 7}}, nil, testNow)
		Expect(corestatus.Transition(nil, synced)).To(Equal(corestatus.ReasonSynced))
		silent := corestatus.Merge(synced, agent.Status{}, errSilent, testNow)
		Expect(silent.State).To(Equal("Synced!"))
		Expect(silent.Error).To(ContainSubstring("silent"))
		Expect(corestatus.Transition(synced, silent)).To(BeEmpty())
		booting := corestatus.Merge(synced, agent.Status{Error: "stellar-core: Core is booting, try again later"}, nil, testNow)
		Expect(booting.State).To(BeEmpty())
		Expect(booting.Ledger).To(Equal(int64(7)))
		Expect(corestatus.Transition(synced, booting)).To(Equal(corestatus.ReasonLostSync))
	})

	It("calls a stellar-core that says Synced! over a stale ledger out of sync, as its readiness probe does", func() {
		fresh := corestatus.Merge(nil, agent.Status{State: "Synced!", Ledger: agent.LedgerStatus{Num: 7, Age: 4}}, nil, testNow)
		stale := corestatus.Merge(fresh, agent.Status{State: "Synced!", Ledger: agent.LedgerStatus{Num: 7, Age: 31}}, nil, testNow)
		Expect(corestatus.Transition(fresh, stale)).To(Equal(corestatus.ReasonLostSync))
		Expect(corestatus.Transition(stale, fresh)).To(Equal(corestatus.ReasonSynced))
		Expect(readiness.Decide([]byte(`{"info": {"state": "Synced!", "ledger": {"num": 7, "age": 31}}}`), readiness.DefaultMaxLedgerAge)).
			To(MatchError(ContainSubstring("closed 31 s ago")), "the probe agrees")
		Expect(agent.Status{State: "Synced!", Ledger: agent.LedgerStatus{Num: 7, Age: 31}}.InSync()).To(BeFalse(), "and the agent")
	})
})

var (
	testNow   = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	errSilent = errors.New("the agent did not answer: silent")
)

// apiPodServedBy creates a pod of the node's Deployment on 127.0.0.1, its http port the test server's.
func apiPodServedBy(ns, name string, srv *httptest.Server) {
	dep := &appsv1.Deployment{}
	EventuallyWithOffset(1, func() error { return k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, dep) }).Should(Succeed())
	u, err := url.Parse(srv.URL)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	port, _ := strconv.Atoi(u.Port())
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name + "-abc12", Labels: dep.Spec.Template.Labels},
		Spec: *dep.Spec.Template.Spec.DeepCopy()}
	pod.Spec.NodeName = "node-1"
	pod.Spec.Containers[0].Ports[0].ContainerPort = int32(port)
	ExpectWithOffset(1, k8sClient.Create(ctx, pod)).To(Succeed())
	testutil.Assign(pod, "127.0.0.1", true)
	ExpectWithOffset(1, k8sClient.Status().Update(ctx, pod)).To(Succeed())
}

func health(ns, name string) func(g Gomega) *stellarv1alpha1.APIHealth {
	return func(g Gomega) *stellarv1alpha1.APIHealth {
		n := &stellarv1alpha1.StellarNode{}
		g.Expect(k8sClient.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, n)).To(Succeed())
		g.Expect(n.Status.Health).NotTo(BeNil())
		return n.Status.Health
	}
}

var _ = Describe("Health of Horizon and Soroban RPC", func() {
	It("reports Horizon's /health and Soroban RPC's getHealth in status.health", func() {
		ns, err := testutil.NewNamespace(ctx, k8sClient, "health")
		Expect(err).NotTo(HaveOccurred())
		var mu sync.Mutex
		horizonSynced := true
		horizon := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			Expect(r.URL.Path).To(Equal("/health"))
			if !horizonSynced {
				w.WriteHeader(http.StatusServiceUnavailable)
			}
			_, _ = fmt.Fprintf(w, `{"database_connected": true, "core_up": true, "core_synced": %t}`, horizonSynced)
		}))
		DeferCleanup(horizon.Close)
		rpc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req struct {
				Method string `json:"method"`
			}
			Expect(json.NewDecoder(r.Body).Decode(&req)).To(Succeed())
			Expect(req.Method).To(Equal("getHealth"))
			_, _ = fmt.Fprint(w, `{"jsonrpc":"2.0","id":1,"result":{"status":"healthy","latestLedger":51034,"oldestLedger":50000,"ledgerRetentionWindow":17280}}`)
		}))
		DeferCleanup(rpc.Close)
		Expect(k8sClient.Create(ctx, fixture.Horizon(ns, "horizon"))).To(Succeed())
		Expect(k8sClient.Create(ctx, fixture.SorobanRPC(ns, "rpc"))).To(Succeed())
		apiPodServedBy(ns, "horizon", horizon)
		apiPodServedBy(ns, "rpc", rpc)

		Eventually(health(ns, "horizon")).Should(And(HaveField("Healthy", true), HaveField("Detail", ContainSubstring("core_synced=true"))))
		Eventually(health(ns, "rpc")).Should(And(HaveField("Healthy", true), HaveField("Detail", "status=healthy latestLedger=51034")))
		mu.Lock()
		horizonSynced = false
		mu.Unlock()
		Eventually(health(ns, "horizon")).Should(And(HaveField("Healthy", false), HaveField("Detail", ContainSubstring("core_synced=false"))))
		rpc.Close()
		Eventually(health(ns, "rpc")).Should(And(HaveField("Healthy", false), HaveField("Error", ContainSubstring("did not answer"))))
	})
})
