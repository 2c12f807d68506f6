package operator_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	"github.com/stellar-k8s/stellar-operator/internal/agent"
	"github.com/stellar-k8s/stellar-operator/internal/archive"
	"github.com/stellar-k8s/stellar-operator/internal/metrics"
	"github.com/stellar-k8s/stellar-operator/internal/testutil"

	// The operator links in every package that declares a metric.
	_ "github.com/stellar-k8s/stellar-operator/internal/operator"
)

// prometheusOwn are series Prometheus itself writes for every target.
var prometheusOwn = map[string]bool{"up": true}

// exportedNames are the metric names the agent (against a stellar-core answering as v19.14.0 does, for
// a Full validator) and the manager (discovery, rollouts, votes, other clusters) export.
func exportedNames(t *testing.T) map[string]bool {
	t.Helper()
	core := testutil.StartFakeCore()
	defer core.Close()
	dir := t.TempDir()
	ag := agent.New(agent.Args{Port: 1, ArchiveDir: dir, ArchivePort: 2, PublishQueue: dir}, agent.NewAdmin(core.URL), io.Discard)
	ag.Archive.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/"+archive.StateFile, nil))
	rec := httptest.NewRecorder()
	ag.Metrics.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	names := map[string]bool{}
	for line := range strings.SplitSeq(rec.Body.String(), "\n") {
		if f := strings.Fields(line); len(f) >= 3 && f[0] == "#" && f[1] == "TYPE" {
			names[f[2]] = true
		}
	}
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	for _, c := range metrics.All() {
		descs := make(chan *prometheus.Desc, 16)
		c.Describe(descs)
		close(descs)
		for d := range descs {
			if m := fqName.FindStringSubmatch(d.String()); m != nil {
				names[m[1]] = true
			}
		}
	}
	for _, must := range []string{"stellar_core_quorum_fail_at", "stellar_core_synced", "stellar_history_archive_requests_total",
		"stellar_peer_discovery_errors_total", "stellar_rollout_blocked", "stellar_network_upgrade_armed", "stellar_remote_cluster_stale",
		"stellar_core_up", "stellar_node_degraded", "stellar_quorum_intersection", "stellar_quorum_failure_tolerance", "stellar_quorum_organisation_failure_tolerance"} {
		if !names[must] {
			t.Fatalf("%s is not exported; exported: %v", must, names)
		}
	}
	return names
}

// usedNames are the metric names an expression reads; a histogram's or summary's series name their family.
func usedNames(t *testing.T, expr string) []string {
	t.Helper()
	node, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
	if err != nil {
		t.Fatalf("%q does not parse: %v", expr, err)
	}
	var out []string
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok {
			out = append(out, vs.Name)
		}
		return nil
	})
	return out
}

func checkNames(t *testing.T, where, expr string, exported map[string]bool) {
	t.Helper()
	for _, name := range usedNames(t, expr) {
		family := strings.TrimSuffix(strings.TrimSuffix(name, "_count"), "_sum")
		if !exported[name] && !exported[family] && !prometheusOwn[name] {
			t.Errorf("%s reads %s, which neither the agent nor the manager exports", where, name)
		}
	}
}

func TestAlertRulesParseAndNameExportedMetrics(t *testing.T) {
	exported := exportedNames(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "prometheus", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var rule struct {
		Kind string          `json:"kind"`
		Spec json.RawMessage `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &rule); err != nil || rule.Kind != "PrometheusRule" {
		t.Fatalf("not a PrometheusRule: %v", err)
	}
	groupsYAML, err := yaml.JSONToYAML(rule.Spec)
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(groupsYAML, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.Default())
	for _, e := range errs {
		t.Errorf("rule file: %v", e)
	}
	if groups == nil {
		t.Fatal("no rule groups")
	}
	alerts := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			alerts[r.Alert] = true
			checkNames(t, "alert "+r.Alert, r.Expr, exported)
			if r.Labels["severity"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s needs a severity and a description", r.Alert)
			}
		}
	}
	// SDF's validator alerts, history publishing and the operator's own.
	for _, want := range []string{"StellarCoreNodeQuorumFailAt", "StellarCoreClusterQuorumFailAt", "StellarCoreQuorumIntersectionLost",
		"StellarCoreNodeLedgerAge", "StellarCoreClusterLedgerAge", "StellarCoreNodeOutOfSync", "StellarCoreClusterOutOfSync",
		"StellarCoreHistoryPublishFailures", "StellarOperatorPeerDiscoveryErrors", "StellarOperatorRolloutBlocked",
		"StellarOperatorValidatorRestarts", "StellarNetworkUpgradeNotArmed", "StellarCoreDown", "StellarNodeDegraded", "StellarCoreAgentDown", "StellarQuorumSplit", "StellarQuorumToleranceLow", "StellarQuorumOrganisationToleranceLow", "StellarQuorumCriticalGroup"} {
		if !alerts[want] {
			t.Errorf("alert %s is missing", want)
		}
	}
}

func TestDashboardQueriesParseAndNameExportedMetrics(t *testing.T) {
	exported := exportedNames(t)
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "grafana", "stellar-validators-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	queries := 0
	// Grafana replaces its variables before Prometheus sees the query.
	variables := strings.NewReplacer(`"$namespace"`, `".*"`, `$namespace`, `.*`)
	for _, p := range dash.Panels {
		for _, target := range p.Targets {
			queries++
			checkNames(t, "panel "+p.Title, variables.Replace(target.Expr), exported)
		}
	}
	if queries < 10 {
		t.Errorf("only %d queries: has the dashboard's format changed?", queries)
	}
}
