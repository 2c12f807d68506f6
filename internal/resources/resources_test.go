package resources

import (
	"maps"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	stellarv1alpha1 "github.com/stellar-k8s/stellar-operator/api/v1alpha1"
)

var opts = Options{OperatorImage: "example.org/stellar-operator:v1", ClusterDomain: "cluster.local"}

func validator(mutate ...func(*stellarv1alpha1.StellarNode)) *stellarv1alpha1.StellarNode {
	n := &stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Namespace: "stellar", Name: "alpha"},
		Spec: stellarv1alpha1.StellarNodeSpec{
			NodeType: stellarv1alpha1.NodeTypeValidator, Network: stellarv1alpha1.NetworkMainnet, Version: "27.1.0",
			ValidatorConfig: &stellarv1alpha1.ValidatorConfig{SeedSecretRef: "alpha-seed", PeerPort: 11700, HTTPPort: 11701},
		},
	}
	for _, m := range mutate {
		m(n)
	}
	return n
}

func TestValidatorStatefulSet(t *testing.T) {
	cases := []struct {
		name  string
		node  *stellarv1alpha1.StellarNode
		check func(t *testing.T, sts *appsv1.StatefulSet)
	}{
		{"defaults", validator(), checkDefaultStatefulSet},
		{"suspended", validator(func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = true }), func(t *testing.T, sts *appsv1.StatefulSet) {
			if *sts.Spec.Replicas != 0 {
				t.Error("a suspended validator has no pod")
			}
		}},
		{"delete volumes, own image", validator(func(n *stellarv1alpha1.StellarNode) {
			n.Spec.Storage.RetentionPolicy = stellarv1alpha1.RetentionDelete
			n.Spec.Image = "registry.example.org/core:custom"
		}), func(t *testing.T, sts *appsv1.StatefulSet) {
			if sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.DeletePersistentVolumeClaimRetentionPolicyType {
				t.Error("retentionPolicy Delete")
			}
			if sts.Spec.Template.Spec.Containers[0].Image != "registry.example.org/core:custom" {
				t.Error("image overrides the whole reference")
			}
		}},
		{"discovery off", validator(func(n *stellarv1alpha1.StellarNode) {
			n.Spec.ValidatorConfig.PeerDiscovery.Enabled = new(false)
		}), func(t *testing.T, sts *appsv1.StatefulSet) {
			for _, a := range sts.Spec.Template.Spec.InitContainers[0].Args {
				if strings.HasPrefix(a, "--peers") {
					t.Errorf("discovery off must not read peers: %v", a)
				}
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.check(t, ValidatorStatefulSet(c.node, "BASE", opts)) })
	}
}

// checkDefaultStatefulSet checks a validator StatefulSet built from defaults.
func checkDefaultStatefulSet(t *testing.T, sts *appsv1.StatefulSet) {
	if *sts.Spec.Replicas != 1 || sts.Spec.ServiceName != "alpha-headless" || sts.Spec.MinReadySeconds != MinReadySeconds {
		t.Errorf("spec = %+v", sts.Spec)
	}
	if sts.Spec.PersistentVolumeClaimRetentionPolicy.WhenDeleted != appsv1.RetainPersistentVolumeClaimRetentionPolicyType {
		t.Error("Retain is the default")
	}
	if got := sts.Spec.Template.Spec.Containers[0].Image; got != "stellar/stellar-core:27.1.0" {
		t.Errorf("image = %s", got)
	}
	if sts.Labels[LabelNetwork] != "mainnet" || sts.Spec.Selector.MatchLabels[LabelInstance] != "alpha" || len(sts.Spec.Selector.MatchLabels) != 2 {
		t.Errorf("labels = %v, selector = %v", sts.Labels, sts.Spec.Selector.MatchLabels)
	}
	init := sts.Spec.Template.Spec.InitContainers[0]
	if !slices.Contains(init.Args, "--peers=/etc/stellar/peers/peers.json") {
		t.Errorf("discovery is on by default: args = %v", init.Args)
	}
	ports := sts.Spec.Template.Spec.Containers[0].Ports
	if ports[0].ContainerPort != 11700 || ports[1].ContainerPort != 11701 {
		t.Errorf("ports = %v", ports)
	}
	probe := strings.Join(sts.Spec.Template.Spec.Containers[0].ReadinessProbe.Exec.Command, " ")
	if !strings.Contains(probe, "/opt/stellar-operator/manager ready --port=11701") {
		t.Errorf("probe = %s", probe)
	}
	for _, v := range sts.Spec.Template.Spec.Volumes {
		if v.Name == "rendered" && v.EmptyDir.Medium != corev1.StorageMediumMemory {
			t.Error("the rendered config holds the seed: it must live in memory")
		}
	}

}

func TestConfigHashFollowsTheConfig(t *testing.T) {
	a := ValidatorStatefulSet(validator(), "one", opts).Spec.Template.Annotations[AnnotationConfigHash]
	b := ValidatorStatefulSet(validator(), "two", opts).Spec.Template.Annotations[AnnotationConfigHash]
	if a == b || a != ValidatorStatefulSet(validator(), "one", opts).Spec.Template.Annotations[AnnotationConfigHash] {
		t.Error("the config hash must change with the config and only with it")
	}
}

func TestAPIServers(t *testing.T) {
	horizon := &stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Namespace: "stellar", Name: "h"},
		Spec: stellarv1alpha1.StellarNodeSpec{NodeType: stellarv1alpha1.NodeTypeHorizon, Network: stellarv1alpha1.NetworkCustom,
			CustomNetworkPassphrase: "Private ; 2026", Version: "2.32.0",
			HorizonConfig: &stellarv1alpha1.HorizonConfig{DatabaseSecretRef: "db", Ingest: new(false),
				HistoryArchiveURLs: []string{"https://a.example.org", "https://b.example.org"}}},
	}
	env := map[string]corev1.EnvVar{}
	for _, e := range HorizonDeployment(horizon).Spec.Template.Spec.Containers[0].Env {
		env[e.Name] = e
	}
	if env["NETWORK_PASSPHRASE"].Value != "Private ; 2026" || env["INGEST"].Value != "false" ||
		env["HISTORY_ARCHIVE_URLS"].Value != "https://a.example.org,https://b.example.org" ||
		env["DATABASE_URL"].ValueFrom.SecretKeyRef.Name != "db" {
		t.Errorf("horizon env = %v", env)
	}

	rpc := &stellarv1alpha1.StellarNode{
		ObjectMeta: metav1.ObjectMeta{Namespace: "stellar", Name: "r"},
		Spec: stellarv1alpha1.StellarNodeSpec{NodeType: stellarv1alpha1.NodeTypeSorobanRPC, Network: stellarv1alpha1.NetworkTestnet,
			Version: "22.1.0", SorobanConfig: &stellarv1alpha1.SorobanConfig{LogLevel: "warn", HistoryRetentionWindow: new(int32(100))}},
	}
	d := SorobanDeployment(rpc)
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "stellar/stellar-rpc:22.1.0" || d.Labels[LabelComponent] != "soroban-rpc" {
		t.Errorf("image %s, labels %v", c.Image, d.Labels)
	}
	if !slices.Contains(c.Env, corev1.EnvVar{Name: "LOG_LEVEL", Value: "warn"}) ||
		!slices.Contains(c.Env, corev1.EnvVar{Name: "HISTORY_RETENTION_WINDOW", Value: "100"}) {
		t.Errorf("rpc env = %v", c.Env)
	}
	if !slices.Contains(c.Env, corev1.EnvVar{Name: "NETWORK", Value: "testnet"}) {
		t.Errorf("a public network is named: %v", c.Env)
	}
	if APIService(rpc).Spec.Ports[0].Port != 8000 {
		t.Error("port 8000")
	}
}

// The CRD's CEL rules name the agent's port as a literal: they refuse peer, admin and archive ports
// that would collide with it.
func TestAgentPortIsTheCRDs(t *testing.T) {
	if AgentPort != 11628 {
		t.Errorf("AgentPort is %d: change the CEL rules of ValidatorConfig that name 11628", AgentPort)
	}
}

// Without a trusted namespace the agent's port gets no rule, so it admits nobody; a validator that
// publishes no local archive opens no archive port.
func TestValidatorNetworkPolicyAdmitsOnlyWhatItNames(t *testing.T) {
	n := validator()
	np := ValidatorNetworkPolicy(n, Options{})
	if len(np.Spec.Ingress) != 1 || np.Spec.Ingress[0].Ports[0].Port.IntVal != n.PeerPort() || len(np.Spec.Ingress[0].From) != 0 {
		t.Fatalf("only the peer port, open to all: %+v", np.Spec.Ingress)
	}
	np = ValidatorNetworkPolicy(n, Options{OperatorNamespace: "ops"})
	if len(np.Spec.Ingress) != 2 || np.Spec.Ingress[1].Ports[0].Port.IntVal != AgentPort || len(np.Spec.Ingress[1].From) != 1 {
		t.Fatalf("the agent's port from the operator's namespace: %+v", np.Spec.Ingress)
	}
}

// Every container of a validator's pod runs on a read-only root filesystem; stellar-core writes only to
// its data volume and a scratch /tmp that is also its HOME.
func TestValidatorContainersHaveReadOnlyRoots(t *testing.T) {
	sts := ValidatorStatefulSet(validator(), "base", opts)
	spec := sts.Spec.Template.Spec
	for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			t.Errorf("container %s has a writable root filesystem", c.Name)
		}
	}
	core := spec.Containers[0]
	if !slices.ContainsFunc(core.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == "/tmp" && !m.ReadOnly }) ||
		!slices.Contains(core.Env, corev1.EnvVar{Name: "HOME", Value: "/tmp"}) {
		t.Errorf("stellar-core needs a writable /tmp as HOME: %+v %+v", core.VolumeMounts, core.Env)
	}
}

// A network's budget asks all its running validators but one to stay: a number, so a pod deleted and
// not yet created again counts as missing (see NetworkDisruptionBudget).
func TestNetworkDisruptionBudgetCountsRunningValidators(t *testing.T) {
	named := func(name string, more ...func(*stellarv1alpha1.StellarNode)) *stellarv1alpha1.StellarNode {
		return validator(append([]func(*stellarv1alpha1.StellarNode){func(n *stellarv1alpha1.StellarNode) { n.Name = name }}, more...)...)
	}
	nodes := []*stellarv1alpha1.StellarNode{named("a"), named("b"), named("c"),
		named("suspended", func(n *stellarv1alpha1.StellarNode) { n.Spec.Suspended = true }),
		named("deleting", func(n *stellarv1alpha1.StellarNode) { n.DeletionTimestamp = &metav1.Time{} }),
		named("test", func(n *stellarv1alpha1.StellarNode) { n.Spec.Network = stellarv1alpha1.NetworkTestnet }),
	}
	pdb := NetworkDisruptionBudget("stellar", nodes[0].NetworkID(), nodes)
	if pdb.Spec.MaxUnavailable != nil || pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() != 2 ||
		pdb.Spec.MinAvailable.Type != intstr.Int {
		t.Errorf("three running validators: %+v", pdb.Spec)
	}
	if len(pdb.OwnerReferences) != 4 {
		t.Errorf("owners %v: every validator of the network but the one being deleted", pdb.OwnerReferences)
	}
	if got := NetworkDisruptionBudget("stellar", nodes[5].NetworkID(), nodes).Spec.MinAvailable.IntValue(); got != 0 {
		t.Errorf("a network of one: minAvailable %d, a drain could never move it", got)
	}
}

// Distinct home domains get distinct fragments, however alike they read, and every name is a valid,
// bounded object name; a validator outside the grammar leaves the others' fragments alone.
func TestStellarTOMLFragmentNames(t *testing.T) {
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 61)
	names := map[string]string{}
	for _, domain := range []string{"a-b.org", "a.b-org", "A.B-ORG", "example.org", long} {
		name := StellarTOMLConfigMapName(domain)
		if other, taken := names[name]; taken {
			t.Errorf("%q and %q share the fragment %s", domain, other, name)
		}
		names[name] = domain
		if err := stellarv1alpha1.ValidName("fragment", name); err != nil || len(name) > 63 {
			t.Errorf("%q: fragment name %q (%d characters): %v", domain, name, len(name), err)
		}
	}
	if name := StellarTOMLConfigMapName("example.org"); !strings.HasPrefix(name, "stellar-toml-example-org-") {
		t.Errorf("the fragment of example.org is %s: the domain should stay readable", name)
	}
	keyed := func(name, domain, key string) *stellarv1alpha1.StellarNode {
		return validator(func(n *stellarv1alpha1.StellarNode) {
			n.Name, n.Spec.ValidatorConfig.HomeDomain, n.Spec.ValidatorConfig.PublicKey = name, domain, key
		})
	}
	good := keyed("good", "a-b.org", "GCGB2S2KGYARPVIA37HYZXVRM2YZUEXA6S33ZU5BUDC6THSB62LZSTYH")
	bad := keyed("bad", "a.b-org", "GCGB2S2KGYARPVIA37HYZXVRM2YZUEXA6S33ZU5BUDC6THSB62LZSTYH")
	bad.Status.ExternalAddress = "169.254.169.254:80 x"
	cms, skipped, err := StellarTOMLConfigMaps("stellar", []*stellarv1alpha1.StellarNode{good, bad})
	if err != nil || len(cms) != 1 || cms[0].Name != StellarTOMLConfigMapName("a-b.org") || len(skipped) != 1 {
		t.Errorf("fragments %v, skipped %v, error %v", cms, skipped, err)
	}
}

// By default a validator's pod keeps away from its network's other validators, softly: on another
// node, in another zone where nodes carry one. The user makes it hard or turns it off, and adds the
// pod's own scheduling fields, which never replace the operator's labels.
func TestValidatorScheduling(t *testing.T) {
	spreadOf := func(n *stellarv1alpha1.StellarNode) map[string]corev1.UnsatisfiableConstraintAction {
		out := map[string]corev1.UnsatisfiableConstraintAction{}
		for _, c := range ValidatorStatefulSet(n, "", opts).Spec.Template.Spec.TopologySpreadConstraints {
			if c.LabelSelector == nil || c.LabelSelector.MatchLabels[LabelNetworkID] != n.NetworkID() ||
				c.LabelSelector.MatchLabels[LabelComponent] != "validator" || c.MaxSkew != 1 {
				t.Errorf("constraint %+v does not select the validators of the network", c)
			}
			out[c.TopologyKey] = c.WhenUnsatisfiable
		}
		return out
	}
	with := func(s stellarv1alpha1.SchedulingSpec) *stellarv1alpha1.StellarNode {
		return validator(func(n *stellarv1alpha1.StellarNode) { n.Spec.Scheduling = &s })
	}
	soft := map[string]corev1.UnsatisfiableConstraintAction{TopologyHostname: corev1.ScheduleAnyway, TopologyZone: corev1.ScheduleAnyway}
	for name, c := range map[string]struct {
		node *stellarv1alpha1.StellarNode
		want map[string]corev1.UnsatisfiableConstraintAction
	}{
		"by default": {validator(), soft},
		"soft":       {with(stellarv1alpha1.SchedulingSpec{Spread: stellarv1alpha1.SpreadSoft}), soft},
		"hard": {with(stellarv1alpha1.SchedulingSpec{Spread: stellarv1alpha1.SpreadHard}),
			map[string]corev1.UnsatisfiableConstraintAction{TopologyHostname: corev1.DoNotSchedule, TopologyZone: corev1.ScheduleAnyway}},
		"off": {with(stellarv1alpha1.SchedulingSpec{Spread: stellarv1alpha1.SpreadNone}), map[string]corev1.UnsatisfiableConstraintAction{}},
	} {
		if got := spreadOf(c.node); !maps.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", name, got, c.want)
		}
	}
	n := with(stellarv1alpha1.SchedulingSpec{
		NodeSelector:      map[string]stellarv1alpha1.LabelValue{"disk": "nvme"},
		Tolerations:       []corev1.Toleration{{Key: "dedicated", Value: "stellar", Effect: corev1.TaintEffectNoSchedule}},
		PriorityClassName: "validators", ServiceAccountName: "core", ImagePullSecrets: []corev1.LocalObjectReference{{Name: "mirror"}},
		TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{MaxSkew: 1, TopologyKey: "rack", WhenUnsatisfiable: corev1.ScheduleAnyway}},
		PodLabels:                 map[string]stellarv1alpha1.LabelValue{"team": "core", LabelInstance: "other"},
		PodAnnotations:            map[string]stellarv1alpha1.AnnotationValue{"note": "hello"},
	})
	pod := ValidatorStatefulSet(n, "", opts).Spec.Template
	if pod.Spec.NodeSelector["disk"] != "nvme" || len(pod.Spec.Tolerations) != 1 || pod.Spec.PriorityClassName != "validators" ||
		pod.Spec.ServiceAccountName != "core" || len(pod.Spec.ImagePullSecrets) != 1 || len(pod.Spec.TopologySpreadConstraints) != 3 ||
		pod.Labels["team"] != "core" || pod.Annotations["note"] != "hello" {
		t.Errorf("the user's scheduling fields are not all on the pod: %+v %+v", pod.ObjectMeta, pod.Spec)
	}
	if pod.Labels[LabelInstance] != n.Name || *pod.Spec.AutomountServiceAccountToken {
		t.Error("a user's label replaced the operator's, or the service account's token is mounted")
	}
	horizon := &stellarv1alpha1.StellarNode{ObjectMeta: metav1.ObjectMeta{Namespace: "stellar", Name: "h"},
		Spec: stellarv1alpha1.StellarNodeSpec{NodeType: stellarv1alpha1.NodeTypeHorizon, Network: stellarv1alpha1.NetworkTestnet,
			Version: "27.0.0", HorizonConfig: &stellarv1alpha1.HorizonConfig{DatabaseSecretRef: "db"},
			Scheduling: &stellarv1alpha1.SchedulingSpec{NodeSelector: map[string]stellarv1alpha1.LabelValue{"pool": "api"}}}}
	if d := HorizonDeployment(horizon).Spec.Template.Spec; len(d.TopologySpreadConstraints) != 0 || d.NodeSelector["pool"] != "api" {
		t.Errorf("Horizon: a validators' spread, or not its own node selector: %+v", d)
	}
}
