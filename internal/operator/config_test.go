package operator

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestWatchedNamespaces(t *testing.T) {
	for in, want := range map[string][]string{
		"":               nil,
		"all":            nil,
		"stellar":        {"stellar"},
		" a, b ,,c ":     {"a", "b", "c"},
		"stellar,public": {"stellar", "public"},
	} {
		if got := WatchedNamespaces(in); !slices.Equal(got, want) {
			t.Errorf("WatchedNamespaces(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParseConfigDefaultsAndFallbacks(t *testing.T) {
	c, err := ParseConfig(nil, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DiscoveryInterval != 30*time.Second || c.MetricsAddr != ":8080" || c.Namespaces != nil || c.LeaderElect {
		t.Errorf("defaults: %+v", c)
	}
	c, err = ParseConfig(nil, envOf(map[string]string{"PEER_DISCOVERY_INTERVAL": "5s", "POD_NAMESPACE": "stellar", "LEADER_ELECT": "yes"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DiscoveryInterval != 5*time.Second || !slices.Equal(c.Namespaces, []string{"stellar"}) ||
		c.LeaderElectionNamespace != "stellar" || !c.LeaderElect {
		t.Errorf("environment fallbacks: %+v", c)
	}
	c, err = ParseConfig([]string{"--peer-discovery-interval=1m", "--watch-namespaces=all"}, envOf(map[string]string{"PEER_DISCOVERY_INTERVAL": "5s", "POD_NAMESPACE": "stellar"}))
	if err != nil || c.DiscoveryInterval != time.Minute || c.Namespaces != nil {
		t.Errorf("flags win over the environment: %+v, %v", c, err)
	}
}

func TestParseConfigReportsEveryBadValue(t *testing.T) {
	_, err := ParseConfig(nil, envOf(map[string]string{"PEER_DISCOVERY_INTERVAL": "soon", "LEADER_ELECT": "maybe"}))
	if err == nil || !strings.Contains(err.Error(), `PEER_DISCOVERY_INTERVAL="soon"`) || !strings.Contains(err.Error(), `LEADER_ELECT="maybe"`) {
		t.Errorf("both bad variables must be named: %v", err)
	}
	if _, err := ParseConfig([]string{"--peer-discovery-interval=0s"}, envOf(nil)); err == nil {
		t.Error("a zero interval must be refused")
	}
}

func TestRemoteClustersNeedAClusterName(t *testing.T) {
	none := func(string) string { return "" }
	for _, args := range [][]string{
		{"--remote-clusters-dir=/etc/remote"},
		{"--remote-clusters-dir=/etc/remote", "--cluster-name=cluster.a"},
		{"--remote-clusters-dir=/etc/remote", "--cluster-name=Cluster-A"},
	} {
		if _, err := ParseConfig(args, none); err == nil || !strings.Contains(err.Error(), "--cluster-name") {
			t.Errorf("%v: %v, want an error naming --cluster-name", args, err)
		}
	}
	c, err := ParseConfig([]string{"--remote-clusters-dir=/etc/remote"}, func(k string) string {
		return map[string]string{"CLUSTER_NAME": "cluster-a"}[k]
	})
	if err != nil || c.ClusterName != "cluster-a" || c.RemoteClustersDir != "/etc/remote" || c.RemoteReadInterval != 30*time.Second {
		t.Errorf("CLUSTER_NAME from the environment: %+v, %v", c, err)
	}
}

func TestDiscoveryScopes(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	c, err := ParseConfig([]string{"--discovery-scope=a,b", "--discovery-scope", "x,y,z"}, env(nil))
	if err != nil || !slices.Equal(c.DiscoveryScopes.Others("b"), []string{"a"}) || !slices.Equal(c.DiscoveryScopes.Others("x"), []string{"y", "z"}) {
		t.Errorf("two flags: %v, %v", c.DiscoveryScopes.Namespaces(), err)
	}
	c, err = ParseConfig(nil, env(map[string]string{"DISCOVERY_SCOPES": "a,b; c,d"}))
	if err != nil || !slices.Equal(c.DiscoveryScopes.Others("d"), []string{"c"}) {
		t.Errorf("DISCOVERY_SCOPES: %v, %v", c.DiscoveryScopes.Namespaces(), err)
	}
	for _, args := range [][]string{
		{"--discovery-scope=a"},
		{"--discovery-scope=a,b", "--discovery-scope=b,c"},
		{"--discovery-scope=a,b", "--watch-namespaces=a"}, // b is not watched: its validators are unseen
	} {
		if _, err := ParseConfig(args, env(nil)); err == nil || !strings.Contains(err.Error(), "--discovery-scope") {
			t.Errorf("%v: %v, want an error naming --discovery-scope", args, err)
		}
	}
	if _, err := ParseConfig([]string{"--discovery-scope=a,b", "--watch-namespaces=a,b,c"}, env(nil)); err != nil {
		t.Errorf("a scope of watched namespaces: %v", err)
	}
}

func TestTestBedRangeWidensTheLoopbackGuardOnly(t *testing.T) {
	none := func(string) string { return "" }
	c, err := ParseConfig([]string{"--loopback-only-dials", "--test-bed-range=198.18.0.0/15"}, none)
	if err != nil || len(c.TestBedRanges) != 1 || c.TestBedRanges[0].String() != "198.18.0.0/15" {
		t.Errorf("a test bed range: %v, %v", c.TestBedRanges, err)
	}
	for _, args := range [][]string{
		{"--test-bed-range=198.18.0.0/15"}, // no guard to widen: every address is dialled anyway
		{"--loopback-only-dials", "--test-bed-range=10.0.0.0/8"},
	} {
		if _, err := ParseConfig(args, none); err == nil || !strings.Contains(err.Error(), "--test-bed-range") {
			t.Errorf("%v: %v, want an error naming --test-bed-range", args, err)
		}
	}
}
