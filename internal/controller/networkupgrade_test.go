package controller_test

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
	"github.com/stellar-k8s/stellar-operator/internal/testutil/fixture"
	"github.com/stellar-k8s/stellar-operator/internal/votes"
)

var _ = Describe("Network upgrade votes", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	upgrade := func(name string, at time.Time, mutate func(*stellarv1alpha1.StellarNetworkUpgradeSpec)) *stellarv1alpha1.StellarNetworkUpgrade {
		u := &stellarv1alpha1.StellarNetworkUpgrade{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: stellarv1alpha1.StellarNetworkUpgradeSpec{Network: stellarv1alpha1.NetworkTestnet, UpgradeTime: metav1.NewTime(at)}}
		mutate(&u.Spec)
		return u
	}
	fees := func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) {
		s.BaseFee, s.BaseReserve = new(int64(200)), new(int64(20000000))
	}
	status := func(name string) func(g Gomega) stellarv1alpha1.StellarNetworkUpgradeStatus {
		return func(g Gomega) stellarv1alpha1.StellarNetworkUpgradeStatus {
			u := &stellarv1alpha1.StellarNetworkUpgrade{}
			g.Expect(k8sClient.Get(ctx, key(ns, name), u)).To(Succeed())
			return u.Status
		}
	}
	document := func(g Gomega) votes.Document {
		cm := &corev1.ConfigMap{}
		g.Expect(k8sClient.Get(ctx, key(ns, votes.ConfigMapName), cm)).To(Succeed())
		doc, err := votes.Decode([]byte(cm.Data[votes.KeyVotesJSON]))
		g.Expect(err).NotTo(HaveOccurred())
		return doc
	}
	// reportCore writes status.core as the operator's poller does from a validator's agent.
	reportCore := func(name string, core stellarv1alpha1.CoreStatus) {
		Eventually(func(g Gomega) {
			n := &stellarv1alpha1.StellarNode{}
			g.Expect(k8sClient.Get(ctx, key(ns, name), n)).To(Succeed())
			patch := client.MergeFrom(n.DeepCopy())
			n.Status.Core = &core
			g.Expect(k8sClient.Status().Patch(ctx, n, patch)).To(Succeed())
		}, timeout, interval).Should(Succeed())
	}
	ledger := func(fee, reserve int64, vote *stellarv1alpha1.CoreVote) stellarv1alpha1.CoreStatus {
		return stellarv1alpha1.CoreStatus{State: "Synced!", Ledger: 5000, ProtocolVersion: 27, BaseFee: fee, BaseReserve: reserve,
			MaxTxSetSize: 100, Vote: vote}
	}

	It("arms a vote on every validator of the network, shows it armed, then applied, and withdraws it", func() {
		for _, name := range []string{"v1", "v2", "v3"} {
			Expect(k8sClient.Create(ctx, validator(ns, name))).To(Succeed())
		}
		Expect(k8sClient.Create(ctx, validator(ns, "elsewhere", fixture.OnNetwork(stellarv1alpha1.NetworkMainnet)))).To(Succeed())
		Expect(k8sClient.Create(ctx, upgrade("fees", time.Now().Add(time.Hour), fees))).To(Succeed())

		Eventually(document, timeout, interval).Should(HaveField("Votes", HaveLen(3)))
		doc := document(Default)
		for i, name := range []string{"v1", "v2", "v3"} {
			v := doc.Votes[i]
			Expect(v.Validator).To(Equal(name))
			Expect(v.Key()).To(Equal("fees/1"))
			Expect(v.Params).To(Equal(votes.Params{"basefee": "200", "basereserve": "20000000"}))
			// v27.1 expires a vote after 15 minutes unless told: it is told the 12 hours of earlier lines.
			Expect(*v.ExpirationMinutes).To(Equal(uint32(720)))
		}
		Eventually(status("fees"), timeout, interval).Should(And(HaveField("Phase", stellarv1alpha1.VotePending),
			HaveField("Message", "armed on 0 of 3 voters"), HaveField("Validators", HaveLen(3)),
			HaveField("Conditions", ContainElement(And(HaveField("Type", stellarv1alpha1.ConditionArmed),
				HaveField("Status", metav1.ConditionFalse), HaveField("Reason", stellarv1alpha1.ReasonArming))))))

		// Each validator's agent reads the votes where the pod mounts them.
		Eventually(getSTS(ns, "v1"), timeout, interval).Should(And(
			HaveField("Spec.Template.Spec.Containers", ContainElement(HaveField("Args",
				ContainElements("--votes=/etc/stellar/votes/votes.json", "--self=v1")))),
			HaveField("Spec.Template.Spec.Volumes", ContainElement(And(HaveField("Name", "votes"),
				HaveField("ConfigMap.Name", votes.ConfigMapName), HaveField("ConfigMap.Optional", HaveValue(BeTrue())))))))

		confirmed := metav1.NewTime(time.Now().Truncate(time.Second))
		for _, name := range []string{"v1", "v2", "v3"} {
			reportCore(name, ledger(100, 5000000, &stellarv1alpha1.CoreVote{Vote: "fees/1", Armed: true, ConfirmedAt: &confirmed}))
		}
		Eventually(status("fees"), timeout, interval).Should(And(HaveField("Phase", stellarv1alpha1.VoteArmed),
			HaveField("Validators", HaveEach(And(HaveField("Armed", true), HaveField("ReleaseLine", "v27.1")))),
			HaveField("Network.BaseFee", int64(100))))
		Expect(armedMetric(ns, "fees")).To(Equal(3.0))
		Eventually(eventsFor(ns, "fees"), timeout, interval).Should(ContainElement(HavePrefix(stellarv1alpha1.ReasonArmed + ": ")))

		for _, name := range []string{"v1", "v2", "v3"} {
			reportCore(name, ledger(200, 20000000, nil))
		}
		Eventually(status("fees"), timeout, interval).Should(And(HaveField("Phase", stellarv1alpha1.VoteApplied),
			HaveField("Network.BaseReserve", int64(20000000)),
			HaveField("Conditions", ContainElement(And(HaveField("Type", stellarv1alpha1.ConditionApplied), HaveField("Status", metav1.ConditionTrue))))))
		Eventually(document, timeout, interval).Should(HaveField("Votes", BeEmpty()))
		Eventually(eventsFor(ns, "fees"), timeout, interval).Should(ContainElement(HavePrefix(stellarv1alpha1.ReasonApplied + ": ")))
	})

	It("refuses what a voter's release line cannot do, and arms nothing", func() {
		old := validator(ns, "old")
		old.Spec.Version = "19.14.0"
		Expect(k8sClient.Create(ctx, old)).To(Succeed())
		Expect(k8sClient.Create(ctx, validator(ns, "new"))).To(Succeed())
		Expect(k8sClient.Create(ctx, upgrade("soroban", time.Now().Add(time.Hour), func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) {
			s.ConfigUpgradeSetKey = strings.Repeat("A", 86) + "=="
		}))).To(Succeed())
		Eventually(status("soroban"), timeout, interval).Should(And(HaveField("Phase", stellarv1alpha1.VoteRefused),
			HaveField("Message", ContainSubstring("old (v19.14) does not take configupgradesetkey")),
			HaveField("Conditions", ContainElement(And(HaveField("Type", stellarv1alpha1.ConditionDegraded),
				HaveField("Status", metav1.ConditionTrue), HaveField("Reason", stellarv1alpha1.ReasonUnknownParameter))))))
		Eventually(eventsFor(ns, "soroban"), timeout, interval).Should(ContainElement(HavePrefix(stellarv1alpha1.ReasonUnknownParameter + ": ")))

		Expect(k8sClient.Create(ctx, upgrade("protocol", time.Now().Add(time.Hour), func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) {
			s.ProtocolVersion = new(int64(20))
		}))).To(Succeed())
		Eventually(status("protocol"), timeout, interval).Should(And(HaveField("Phase", stellarv1alpha1.VoteRefused),
			HaveField("Message", Equal("protocol 20 needs stellar-core v20 or later on every voter; upgrade these first: old (v19.14, up to protocol 19)"))))
		Consistently(document, "1s", interval).Should(HaveField("Votes", BeEmpty()))

		// The API server refuses a vote without a value, and a key outside the grammar.
		Expect(k8sClient.Create(ctx, upgrade("empty", time.Now(), func(*stellarv1alpha1.StellarNetworkUpgradeSpec) {}))).To(
			MatchError(ContainSubstring("a vote needs at least one of")))
		Expect(k8sClient.Create(ctx, upgrade("key", time.Now(), func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) {
			s.ConfigUpgradeSetKey = strings.Repeat("A", 85) + "\v=="
		}))).To(MatchError(ContainSubstring("spec.configUpgradeSetKey")))
	})

	It("says a protocol jump and a vote the network did not take by its expiry", func() {
		Expect(k8sClient.Create(ctx, validator(ns, "v1"))).To(Succeed())
		reportCore("v1", stellarv1alpha1.CoreStatus{State: "Synced!", Ledger: 5000, ProtocolVersion: 25, BaseFee: 100, BaseReserve: 5000000, MaxTxSetSize: 100})
		Expect(k8sClient.Create(ctx, upgrade("jump", time.Now().Add(time.Hour), func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) {
			s.ProtocolVersion = new(int64(27))
		}))).To(Succeed())
		Eventually(status("jump"), timeout, interval).Should(And(HaveField("Phase", stellarv1alpha1.VoteRefused),
			HaveField("Message", "the network is at protocol 25: a vote moves it one protocol at a time, to 26"),
			HaveField("Conditions", ContainElement(HaveField("Reason", stellarv1alpha1.ReasonProtocolJump)))))

		Expect(k8sClient.Create(ctx, upgrade("late", time.Now().Add(-48*time.Hour), fees))).To(Succeed())
		Eventually(status("late"), timeout, interval).Should(And(HaveField("Phase", stellarv1alpha1.VoteExpired),
			HaveField("Message", ContainSubstring("without the network taking it; ledger 5000 has protocol 25, base fee 100"))))
		Eventually(eventsFor(ns, "late"), timeout, interval).Should(ContainElement(HavePrefix(stellarv1alpha1.ReasonExpired + ": ")))
		Consistently(document, "1s", interval).Should(HaveField("Votes", BeEmpty()))
	})

	It("gives the older of two votes its voters", func() {
		Expect(k8sClient.Create(ctx, validator(ns, "v1"))).To(Succeed())
		Expect(k8sClient.Create(ctx, upgrade("first", time.Now().Add(time.Hour), fees))).To(Succeed())
		Eventually(status("first"), timeout, interval).Should(HaveField("Phase", stellarv1alpha1.VotePending))
		Expect(k8sClient.Create(ctx, upgrade("second", time.Now().Add(time.Hour), func(s *stellarv1alpha1.StellarNetworkUpgradeSpec) {
			s.MaxTxSetSize = new(int64(1000))
		}))).To(Succeed())
		Eventually(status("second"), timeout, interval).Should(And(HaveField("Phase", stellarv1alpha1.VoteRefused),
			HaveField("Message", ContainSubstring("v1 already votes for first"))))
		// Deleting the first gives the second its turn.
		Expect(k8sClient.Delete(ctx, &stellarv1alpha1.StellarNetworkUpgrade{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "first"}})).To(Succeed())
		Eventually(document, timeout, interval).Should(HaveField("Votes", ConsistOf(HaveField("Upgrade", "second"))))
	})

	It("never writes over a stellar-votes ConfigMap it did not create", func() {
		foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: votes.ConfigMapName}, Data: map[string]string{"x": "y"}}
		Expect(k8sClient.Create(ctx, foreign)).To(Succeed())
		Expect(k8sClient.Create(ctx, validator(ns, "v1"))).To(Succeed())
		Expect(k8sClient.Create(ctx, upgrade("fees", time.Now().Add(time.Hour), fees))).To(Succeed())
		Eventually(status("fees"), timeout, interval).Should(And(HaveField("Phase", stellarv1alpha1.VoteRefused),
			HaveField("Message", ContainSubstring("is not the operator's"))))
		Consistently(func(g Gomega) map[string]string {
			cm := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, votes.ConfigMapName), cm)).To(Succeed())
			return cm.Data
		}, "1s", interval).Should(Equal(map[string]string{"x": "y"}))
	})

	It("votes a Custom network's protocol through the agents, not through COMMANDS", func() {
		custom := validator(ns, "private", fixture.OnNetwork(stellarv1alpha1.NetworkCustom))
		custom.Spec.CustomNetworkPassphrase = "private ; 2026"
		custom.Spec.ValidatorConfig.ProtocolVersion = new(int32(27))
		custom.Spec.ValidatorConfig.AllowUnsafeQuorum = true
		custom.Spec.ValidatorConfig.HistoryArchiveURLs = []string{"http://archive.example.org:9/archive"}
		Expect(k8sClient.Create(ctx, custom)).To(Succeed())
		Eventually(document, timeout, interval).Should(HaveField("Votes", ConsistOf(And(HaveField("Upgrade", votes.InitialProtocol),
			HaveField("Params", votes.Params{"protocolversion": "27"})))))
		Eventually(func(g Gomega) string {
			cm := &corev1.ConfigMap{}
			g.Expect(k8sClient.Get(ctx, key(ns, "private-config"), cm)).To(Succeed())
			return cm.Data["stellar-core.cfg"]
		}, timeout, interval).Should(And(ContainSubstring("NETWORK_PASSPHRASE"), Not(ContainSubstring("COMMANDS"))))
		// Once its ledger is at 27, the vote is withdrawn.
		reportCore("private", stellarv1alpha1.CoreStatus{State: "Synced!", Ledger: 10, ProtocolVersion: 27})
		Eventually(document, timeout, interval).Should(HaveField("Votes", BeEmpty()))
	})
})

// armedMetric sums stellar_network_upgrade_armed of one upgrade.
func armedMetric(ns, upgrade string) float64 {
	families, err := ctrlmetrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	sum := 0.0
	for _, f := range families {
		if f.GetName() != "stellar_network_upgrade_armed" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["upgrade"] == upgrade {
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}
