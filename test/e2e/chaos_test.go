//go:build e2e

package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
)

// chaosBed is the Tier-1 organisation of two clusters the chaos schedule works on: a1 and a2 in A,
// b1 and b2 in B, one operator each.
type chaosBed struct {
	a, b                 client.Client
	operatorA, operatorB *operatorProcess
	trackerA, trackerB   *podTracker
}

// Keys of StellarNodes that must never run: a twin of a1 (its key) and a validator whose names are
// taken by foreign objects.
const (
	twinKey    = 0
	foreignKey = 5
	memberKey  = 4
)

// chaosVersions are the releases a version fault moves a cluster's validators between.
var chaosVersions = []string{"27.1.0", "26.0.1"}

// runChaos applies a seeded random schedule of faults (CHAOS_SEED, CHAOS_STEPS), waits after each for
// both clusters to settle, and checks the promises after each and, where they can break at any moment,
// continuously: never two validators of the network down at once (across both clusters), no generated
// quorum losing a member while that member's cluster is unreachable, a StellarNode that must not run
// (a twin key, foreign names) never getting a StatefulSet nor entering a quorum, no foreign object
// changed, and no write to any object of the namespace once the schedule is over.
func runChaos(bed chaosBed) {
	// A fixed schedule unless one is asked for: CI runs the same one every time; make test-chaos a new one.
	seed := int64(20261207)
	if s := os.Getenv("CHAOS_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseInt(s, 10, 64)
		Expect(err).NotTo(HaveOccurred(), "CHAOS_SEED")
	}
	steps := 6
	if s := os.Getenv("CHAOS_STEPS"); s != "" {
		var err error
		steps, err = strconv.Atoi(s)
		Expect(err).NotTo(HaveOccurred(), "CHAOS_STEPS")
	}
	GinkgoWriter.Printf("chaos: seed %d, %d steps (again: CHAOS_SEED=%d CHAOS_STEPS=%d make test-chaos)\n", seed, steps, seed, steps)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	s := &chaos{chaosBed: bed, rng: rng, versions: map[client.Client]int{}}
	// An operator that loses its lease during an outage longer than its renew deadline exits, by design;
	// a kubelet would start it again, and so does this.
	stopSupervising := testutil.Every(time.Second, s.superviseOperators)
	defer stopSupervising()
	s.superviseOperators()
	tier1Settled(bed.b)
	bed.trackerA.establish("a1", "a2")
	bed.trackerB.establish("b1", "b2")
	stop := testutil.Every(500*time.Millisecond, s.watch)
	defer stop()

	faults := []struct {
		name string
		do   func() string
	}{
		{"operator killed", s.killOperator},
		{"API server outage", s.outage},
		{"versions changed at once", s.versionsAtOnce},
		{"resources changed", s.resources},
		{"member joins or leaves", s.member},
		{"twin StellarNode", s.twin},
		{"foreign objects under a new StellarNode's names", s.foreign},
	}
	counts := map[string]int{}
	for i := range steps {
		f := faults[rng.IntN(len(faults))]
		counts[f.name]++
		GinkgoWriter.Printf("chaos step %d/%d: %s: %s\n", i+1, steps, f.name, f.do())
		tier1Settled(bed.b)
		s.checkAfterStep()
	}
	s.checkQuiet()
	GinkgoWriter.Printf("chaos: seed %d, %d steps, faults %v, invariant violations: %d\n", seed, steps, counts, len(s.violationsSoFar()))
	Expect(s.violationsSoFar()).To(BeEmpty())
}

type chaos struct {
	chaosBed
	rng      *rand.Rand
	versions map[client.Client]int

	// operators is held while a fault kills and starts an operator, and while the supervisor looks.
	operators sync.Mutex

	mu         sync.Mutex
	violations []string
	// foreignVersion is the resourceVersion of the foreign ConfigMap while it exists.
	foreignVersion string
}

func (s *chaos) violate(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := fmt.Sprintf(format, args...)
	GinkgoWriter.Println("chaos: VIOLATION: " + msg)
	s.violations = append(s.violations, msg)
}

func (s *chaos) violationsSoFar() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

// watch checks, twice a second, what may break at any moment: the StellarNodes that must never run
// have no StatefulSet, and the foreign object keeps its version.
func (s *chaos) watch() {
	for _, c := range []client.Client{s.a, s.b} {
		for _, name := range []string{"twin", "x"} {
			if err := c.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: name}, &appsv1.StatefulSet{}); err == nil {
				s.violate("%s has a StatefulSet", name)
			}
		}
	}
	s.mu.Lock()
	want := s.foreignVersion
	s.mu.Unlock()
	if want == "" {
		return
	}
	cm := &corev1.ConfigMap{}
	if err := s.a.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: "x-config"}, cm); err == nil && cm.ResourceVersion != want {
		s.violate("the foreign ConfigMap x-config was changed (resourceVersion %s -> %s)", want, cm.ResourceVersion)
	}
}

// checkAfterStep: no two validators of the network were down at once, in either cluster.
func (s *chaos) checkAfterStep() {
	downs := append(s.trackerA.downtimes(), s.trackerB.downtimes()...)
	if both := testutil.Overlapping(downs); both != "" {
		s.violate("%s were down at once: %v", both, downs)
	}
}

// checkQuiet: once the schedule is over and both clusters settled, nothing of the namespace is
// written for 20 s in either cluster: no write loop.
func (s *chaos) checkQuiet() {
	versions := func() map[string]string {
		out := map[string]string{}
		for cluster, c := range map[string]client.Client{"A": s.a, "B": s.b} {
			lists := map[string]client.ObjectList{"ConfigMap": &corev1.ConfigMapList{}, "Service": &corev1.ServiceList{},
				"StatefulSet": &appsv1.StatefulSetList{}, "StellarNode": &stellarv1alpha1.StellarNodeList{}}
			for kind, list := range lists {
				Expect(c.List(ctx, list, client.InNamespace(tier1NS))).To(Succeed())
				Expect(meta.EachListItem(list, func(o runtime.Object) error {
					m, err := meta.Accessor(o)
					if err == nil {
						out[cluster+" "+kind+" "+m.GetName()] = m.GetResourceVersion()
					}
					return err
				})).To(Succeed())
			}
		}
		return out
	}
	before := versions()
	time.Sleep(20 * time.Second)
	after := versions()
	for key, v := range after {
		if before[key] != v {
			s.violate("%s was written in the quiet window after the schedule (%s -> %s)", key, before[key], v)
		}
	}
}

func (s *chaos) pick() (string, client.Client, *operatorProcess) {
	if s.rng.IntN(2) == 0 {
		return "A", s.a, s.operatorA
	}
	return "B", s.b, s.operatorB
}

func (s *chaos) killOperator() string {
	cluster, _, op := s.pick()
	pause := time.Duration(s.rng.IntN(3000)) * time.Millisecond
	s.operators.Lock()
	defer s.operators.Unlock()
	op.kill()
	time.Sleep(pause)
	op.start()
	return fmt.Sprintf("cluster %s's operator SIGKILLed, started again %s later", cluster, pause)
}

// superviseOperators starts again an operator process that exited.
func (s *chaos) superviseOperators() {
	s.operators.Lock()
	defer s.operators.Unlock()
	for name, op := range map[string]*operatorProcess{"A": s.operatorA, "B": s.operatorB} {
		if !op.running() {
			GinkgoWriter.Printf("chaos: cluster %s's operator had exited (a lease lost in an outage); started again, as a kubelet would\n", name)
			op.start()
		}
	}
}

// outage stops one cluster's API server for 8-20 s. Meanwhile the other cluster's validators keep
// every member of the stopped one in their quorum, checked each second.
func (s *chaos) outage() string {
	cluster, c, _ := s.pick()
	name, other, watched := clusterName, s.b, "b1"
	if cluster == "B" {
		name, other, watched = clusterB, s.a, "a1"
	}
	before := tier1Quorum(Default, other, watched)
	d := time.Duration(8+s.rng.IntN(13)) * time.Second
	restore := stopAPIServer(name)
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(time.Second) {
		keys, err := testutil.RenderedQuorum(ctx, other, tier1NS, watched)
		if err == nil && len(keys) < len(before) {
			s.violate("%s's quorum shrank from %v to %v while cluster %s was unreachable", watched, before, keys, cluster)
		}
	}
	restore(c)
	return fmt.Sprintf("cluster %s's API server stopped for %s", cluster, d)
}

func (s *chaos) validatorsOf(c client.Client) []string {
	var nodes stellarv1alpha1.StellarNodeList
	Expect(c.List(ctx, &nodes, client.InNamespace(tier1NS))).To(Succeed())
	var out []string
	for _, n := range nodes.Items {
		if n.Name != "twin" && n.Name != "x" {
			out = append(out, n.Name)
		}
	}
	return out
}

func (s *chaos) versionsAtOnce() string {
	cluster, c, _ := s.pick()
	s.versions[c] = (s.versions[c] + 1) % len(chaosVersions)
	version := chaosVersions[s.versions[c]]
	names := s.validatorsOf(c)
	for _, name := range names {
		updateIn(c, name, func(n *stellarv1alpha1.StellarNode) { n.Spec.Version = version })
	}
	return fmt.Sprintf("cluster %s's %v to %s at once", cluster, names, version)
}

func (s *chaos) resources() string {
	cluster, c, _ := s.pick()
	names := s.validatorsOf(c)
	name := names[s.rng.IntN(len(names))]
	cpu := resource.MustParse(fmt.Sprintf("%dm", 100+100*s.rng.IntN(4)))
	updateIn(c, name, func(n *stellarv1alpha1.StellarNode) {
		n.Spec.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: cpu}
	})
	return fmt.Sprintf("cluster %s's %s requests %s CPU", cluster, name, cpu.String())
}

// member adds b3 to cluster B, or removes it: every other validator's quorum changes.
func (s *chaos) member() string {
	err := s.b.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: "b3"}, &stellarv1alpha1.StellarNode{})
	if apierrors.IsNotFound(err) {
		createTier1(s.b, "b3", memberKey)
		// A new validator is out of consensus until it first runs; it counts once it has.
		tier1Settled(s.b)
		s.trackerB.add("b3")
		return "b3 joins in cluster B"
	}
	Expect(err).NotTo(HaveOccurred())
	s.trackerB.forget("b3")
	Expect(s.b.Delete(ctx, &stellarv1alpha1.StellarNode{ObjectMeta: metav1.ObjectMeta{Namespace: tier1NS, Name: "b3"}})).To(Succeed())
	Expect(s.b.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tier1NS, Name: "b3-seed"}})).To(Succeed())
	Eventually(func() bool {
		return apierrors.IsNotFound(s.b.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: "b3"}, &stellarv1alpha1.StellarNode{}))
	}, wait, poll).Should(BeTrue())
	return "b3 leaves cluster B"
}

// twin declares a1's key again, in a random cluster: held with DuplicateKey (same cluster) or
// DuplicateKeyElsewhere (the other), never started (watch), then deleted.
func (s *chaos) twin() string {
	cluster, c, _ := s.pick()
	// From a settled network: the step before may still be rolling (a member that just left).
	tier1Settled(s.b)
	before := s.quorums()
	createTier1(c, "twin", twinKey)
	Eventually(func(g Gomega) string {
		n := &stellarv1alpha1.StellarNode{}
		g.Expect(c.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: "twin"}, n)).To(Succeed())
		d := meta.FindStatusCondition(n.Status.Conditions, stellarv1alpha1.ConditionDegraded)
		g.Expect(d).NotTo(BeNil())
		return d.Reason
	}, wait, poll).Should(BeElementOf(stellarv1alpha1.ReasonDuplicateKey, stellarv1alpha1.ReasonDuplicateKeyElsewhere))
	// Held, it changes nobody's quorum.
	tier1Settled(s.b)
	if after := s.quorums(); !equality.Semantic.DeepEqual(after, before) {
		s.violate("a held twin changed the quorums: %v -> %v", before, after)
	}
	deleteNode(c, "twin")
	return "a twin of a1 (its key) declared in cluster " + cluster + ", held, deleted"
}

// foreign creates a ConfigMap x-config nobody of the operator made, then the validator x whose
// configuration would have that name: x is NameConflict, the ConfigMap untouched (watch), and stays
// when x is deleted.
func (s *chaos) foreign() string {
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: tier1NS, Name: "x-config"}, Data: map[string]string{"owner": "someone else"}}
	Expect(s.a.Create(ctx, cm)).To(Succeed())
	s.mu.Lock()
	s.foreignVersion = cm.ResourceVersion
	s.mu.Unlock()
	createTier1(s.a, "x", foreignKey)
	Eventually(func(g Gomega) string {
		n := &stellarv1alpha1.StellarNode{}
		g.Expect(s.a.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: "x"}, n)).To(Succeed())
		d := meta.FindStatusCondition(n.Status.Conditions, stellarv1alpha1.ConditionDegraded)
		g.Expect(d).NotTo(BeNil())
		return d.Reason
	}, wait, poll).Should(Equal(stellarv1alpha1.ReasonNameConflict))
	// x cannot run: once everything has settled, no generated quorum names it.
	tier1Settled(s.b)
	for c, names := range map[client.Client][]string{s.a: {"a1", "a2"}, s.b: {"b1", "b2"}} {
		for _, name := range names {
			if slices.Contains(tier1Quorum(Default, c, name), fixture.OrgKeys[foreignKey]) {
				s.violate("%s's quorum names x, a validator that cannot run", name)
			}
		}
	}
	deleteNode(s.a, "x")
	got := &corev1.ConfigMap{}
	Expect(s.a.Get(ctx, client.ObjectKeyFromObject(cm), got)).To(Succeed(), "deleting x deleted the foreign ConfigMap")
	if got.ResourceVersion != cm.ResourceVersion || !strings.EqualFold(got.Data["owner"], "someone else") {
		s.violate("the foreign ConfigMap x-config was changed")
	}
	s.mu.Lock()
	s.foreignVersion = ""
	s.mu.Unlock()
	Expect(s.a.Delete(ctx, cm)).To(Succeed())
	return "a foreign ConfigMap x-config, then the validator x: NameConflict, untouched, kept"
}

// quorums are the keys each validator's rendered configuration names, by cluster and name.
func (s *chaos) quorums() map[string][]string {
	out := map[string][]string{}
	for cluster, c := range map[string]client.Client{"A": s.a, "B": s.b} {
		for _, name := range s.validatorsOf(c) {
			out[cluster+"/"+name] = tier1Quorum(Default, c, name)
		}
	}
	return out
}

func updateIn(c client.Client, name string, change func(*stellarv1alpha1.StellarNode)) {
	EventuallyWithOffset(1, func() error {
		n := &stellarv1alpha1.StellarNode{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: name}, n); err != nil {
			return err
		}
		change(n)
		return c.Update(ctx, n)
	}, wait, poll).Should(Succeed())
}

func deleteNode(c client.Client, name string) {
	ExpectWithOffset(1, c.Delete(ctx, &stellarv1alpha1.StellarNode{ObjectMeta: metav1.ObjectMeta{Namespace: tier1NS, Name: name}})).To(Succeed())
	ExpectWithOffset(1, c.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: tier1NS, Name: name + "-seed"}})).To(Succeed())
	EventuallyWithOffset(1, func() bool {
		return apierrors.IsNotFound(c.Get(ctx, client.ObjectKey{Namespace: tier1NS, Name: name}, &stellarv1alpha1.StellarNode{}))
	}, wait, poll).Should(BeTrue())
}
