package agent

import (
	"cmp"
	"context"
	"errors"
	"math"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// coreCollector converts stellar-core's /metrics and /info into Prometheus metrics at each scrape,
// under the names stellar-core-prometheus-exporter gives them, so SDF's alert rules and dashboards
// work unchanged: every metric is stellar_core_<name, lower case, . - and spaces as _>, labelled with
// ver_major, ver_minor, ver_patch, build and network.
type coreCollector struct {
	admin *Admin
	// publishQueue, for a Full validator, is counted as stellar_operator_agent_publish_backlog.
	publishQueue string
	// errors counts reads of stellar-core's admin API that got no answer.
	errors prometheus.Counter

	// stellar-core is read at most once per ttl, one read at a time, whoever scrapes and however
	// often: scrapes never turn into load on the validator's admin API.
	mu      sync.Mutex
	ttl     time.Duration
	now     func() time.Time
	readAt  time.Time
	info    Info
	metrics map[string]Metric
	cursors map[string]float64
	readErr error
}

// last is what the last read got.
func (c *coreCollector) last() (Info, map[string]Metric, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.readAt.IsZero() {
		return Info{}, nil, errNotRead
	}
	return c.info, c.metrics, c.readErr
}

var errNotRead = errors.New("stellar-core not read yet")

// read is stellar-core's /info and /metrics, from the cache while it is fresh.
func (c *coreCollector) read() (Info, map[string]Metric, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); !c.readAt.IsZero() && now.Sub(c.readAt) < c.ttl {
		return c.info, c.metrics, c.readErr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.info, c.readErr = c.admin.Info(ctx)
	if c.readErr == nil {
		c.metrics, c.readErr = c.admin.Metrics(ctx)
	}
	if c.readErr == nil {
		c.cursors, c.readErr = c.admin.Cursors(ctx)
	}
	if c.readErr != nil {
		c.errors.Inc()
	}
	c.readAt = c.now()
	return c.info, c.metrics, c.readErr
}

const (
	unknown  = "unknown"
	quantile = "quantile"
)

var coreUpDesc = prometheus.NewDesc("stellar_core_up",
	"1 when the agent's last read of stellar-core's admin API was answered, 0 when it was not.", nil, nil)

// coreMetricsHandler answers a scrape 504 when stellar-core does not answer, as
// stellar-core-prometheus-exporter does, so the scrape fails (up is 0) instead of every stellar_core_
// series vanishing from a scrape that looks fine. The body still holds the agent's own series and
// stellar_core_up 0, for whoever reads it.
type coreMetricsHandler struct {
	core *coreCollector
	next http.Handler
}

func (h coreMetricsHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, _, err := h.core.read(); err != nil {
		w = &statusWriter{ResponseWriter: w, code: http.StatusGatewayTimeout}
	}
	h.next.ServeHTTP(w, r)
}

// statusWriter answers with code whatever status the handler it wraps writes.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusWriter) WriteHeader(int) {
	if !s.wrote {
		s.wrote = true
		s.ResponseWriter.WriteHeader(s.code)
	}
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.WriteHeader(s.code)
	return s.ResponseWriter.Write(b)
}

var publishBacklogDesc = prometheus.NewDesc("stellar_operator_agent_publish_backlog",
	"Checkpoints a Full validator has queued and not published yet (files in <BUCKET_DIR>/publishqueue).", nil, nil)

var labelNames = []string{"ver_major", "ver_minor", "ver_patch", "build", "network"}

// buildVersion reads "v19.14.0-dirty" or "stellar-core 19.14.0 (hash)".
var buildVersion = regexp.MustCompile(`(stellar-core|v) ?(\d+)\.(\d+)\.(\d+).*$`)

var (
	notName    = regexp.MustCompile(`[.\-\s]`)
	whitespace = regexp.MustCompile(`\s`)
)

func coreLabels(info Info) []string {
	build := strings.ToLower(whitespace.ReplaceAllString(info.Build, "_"))
	build = strings.NewReplacer("(", "", ")", "").Replace(build)
	m := buildVersion.FindStringSubmatch(info.Build)
	if m == nil {
		return []string{unknown, unknown, unknown, build, info.Network}
	}
	return []string{m[2], m[3], m[4], build, info.Network}
}

// metricName is the exporter's name of a libmedida metric.
func metricName(core string) string {
	return "stellar_core_" + strings.ToLower(notName.ReplaceAllString(core, "_"))
}

// toSeconds converts a libmedida duration to seconds.
func toSeconds(v float64, unit string) float64 {
	switch unit {
	case "d":
		return v * 86400
	case "h":
		return v * 3600
	case "m":
		return v * 60
	case "ms":
		return v / 1e3
	case "us":
		return v / 1e6
	case "ns":
		return v / 1e9
	default:
		return v
	}
}

// states are stellar-core's states as the exporter names its gauges.
var states = []string{"booting", "joining scp", "connected", "catching up", "synced", "stopping"}

var phases = []string{unknown, "prepare", "confirm", "externalize"}

func (c *coreCollector) Describe(chan<- *prometheus.Desc) {} // unchecked: the names come from stellar-core

func (c *coreCollector) Collect(ch chan<- prometheus.Metric) {
	if c.publishQueue != "" {
		ch <- prometheus.MustNewConstMetric(publishBacklogDesc, prometheus.GaugeValue, float64(*publishBacklog(c.publishQueue)))
	}
	// The scrape's read, made by coreMetricsHandler before gathering: one read per scrape.
	info, metrics, err := c.last()
	ch <- prometheus.MustNewConstMetric(coreUpDesc, prometheus.GaugeValue, boolValue(err == nil))
	if err != nil {
		return
	}
	e := emitter{ch: ch, labels: coreLabels(info), seen: map[string]bool{}}
	for name, m := range metrics {
		e.libmedida(metricName(name), m)
	}
	e.info(info)
	c.mu.Lock()
	cursors := c.cursors
	c.mu.Unlock()
	for id, v := range cursors {
		if len(id) <= maxCursorID {
			e.emit("stellar_core_active_cursors", "Stellar core active cursors", prometheus.GaugeValue, v, [2]string{"cursor_name", id})
		}
	}
}

// maxCursorID bounds a cursor's id as a label value (stellar-core's are short names such as HORIZON).
const maxCursorID = 64

// emitter writes const metrics once each: a name stellar-core would give twice is kept the first time.
type emitter struct {
	ch     chan<- prometheus.Metric
	labels []string
	seen   map[string]bool
}

func (e emitter) emit(name, help string, kind prometheus.ValueType, v float64, extra ...[2]string) {
	names, values := labelNames, e.labels
	if len(extra) > 0 {
		names, values = append([]string{}, labelNames...), append([]string{}, e.labels...)
		for _, kv := range extra {
			names, values = append(names, kv[0]), append(values, kv[1])
		}
	}
	key := name + "|" + strings.Join(values, "|")
	if e.seen[key] {
		return
	}
	e.seen[key] = true
	e.ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, help, names, nil), kind, v, values...)
}

func (e emitter) libmedida(name string, m Metric) {
	help := "libmedida metric type: " + m.Type
	switch m.Type {
	case "timer":
		name += "_seconds"
		sum := m.Mean * m.Count
		if m.Sum != nil {
			sum = *m.Sum
		}
		e.emit(name+"_count", help, prometheus.CounterValue, m.Count)
		e.emit(name+"_sum", help, prometheus.CounterValue, toSeconds(sum, m.DurationUnit))
		e.emit(name, help, prometheus.GaugeValue, toSeconds(m.P75, m.DurationUnit), [2]string{quantile, "0.75"})
		e.emit(name, help, prometheus.GaugeValue, toSeconds(m.P99, m.DurationUnit), [2]string{quantile, "0.99"})
		if m.P100 != nil {
			// The largest sample of the recent window, as the exporter's quantile 1.0.
			e.emit(name, help, prometheus.GaugeValue, toSeconds(*m.P100, m.DurationUnit), [2]string{quantile, "1.0"})
		}
	case "histogram":
		sum := 0.0
		if m.Sum != nil {
			sum = *m.Sum
		}
		e.emit(name+"_count", help, prometheus.CounterValue, m.Count)
		e.emit(name+"_sum", help, prometheus.CounterValue, sum)
		e.emit(name, help, prometheus.GaugeValue, m.P75, [2]string{quantile, "0.75"})
		e.emit(name, help, prometheus.GaugeValue, m.P99, [2]string{quantile, "0.99"})
		if m.P100 != nil {
			e.emit(name, help, prometheus.GaugeValue, *m.P100, [2]string{quantile, "1.0"})
		}
	case "buckets":
		e.buckets(name, help, m)
	case "counter":
		e.emit(name, help, prometheus.GaugeValue, m.Count)
	case "meter":
		e.emit(name, help, prometheus.CounterValue, m.Count)
	}
}

// overflowBoundary: a bucket bounded above this many seconds (30 days) is the overflow, +Inf, as the
// exporter takes it.
const overflowBoundary = 30 * 86400

// buckets writes a libmedida "buckets" metric as a Prometheus histogram: boundaries in seconds, counts
// made cumulative, the overflow bucket as +Inf. A bucket that is not numbers drops the metric, never
// the scrape.
func (e emitter) buckets(name, help string, m Metric) {
	type bucket struct{ le, count, sum float64 }
	var bs []bucket
	for _, b := range m.Buckets {
		le, errB := strconv.ParseFloat(string(b.Boundary), 64)
		count, errC := strconv.ParseFloat(string(b.Count), 64)
		sum, errS := strconv.ParseFloat(string(b.Sum), 64)
		if errC != nil || errS != nil || (errB != nil && !math.IsInf(le, 1)) {
			return
		}
		bs = append(bs, bucket{toSeconds(le, m.BoundaryUnit), count, toSeconds(sum, m.BoundaryUnit)})
	}
	slices.SortFunc(bs, func(a, b bucket) int { return cmp.Compare(a.le, b.le) })
	cumulative := map[float64]uint64{}
	var count, sum float64
	for _, b := range bs {
		count, sum = count+b.count, sum+b.sum
		if b.le <= overflowBoundary {
			cumulative[b.le] = uint64(count)
		}
	}
	key := name + "|buckets"
	if e.seen[key] {
		return
	}
	e.seen[key] = true
	e.ch <- prometheus.MustNewConstHistogram(prometheus.NewDesc(name, help, labelNames, nil), uint64(count), sum, cumulative, e.labels...)
}

func (e emitter) info(info Info) {
	gauge := func(name, help string, v float64, extra ...[2]string) {
		e.emit(name, help, prometheus.GaugeValue, v, extra...)
	}
	l := info.Ledger
	for name, v := range map[string]int64{"age": l.Age, "base_fee": l.BaseFee, "base_reserve": l.BaseReserve,
		"close_time": l.CloseTime, "max_tx_set_size": l.MaxTxSetSize, "num": l.Num, "version": l.Version} {
		gauge("stellar_core_ledger_"+name, "Stellar core ledger metric name: "+name, float64(v))
	}
	q := info.Quorum.QSet
	for name, v := range map[string]*int64{"agree": q.Agree, "delayed": q.Delayed, "disagree": q.Disagree, "fail_at": q.FailAt, "missing": q.Missing} {
		if v != nil {
			gauge("stellar_core_quorum_"+name, "Stellar core quorum metric: "+name, float64(*v))
		}
	}
	for _, p := range phases {
		gauge("stellar_core_quorum_phase_"+p, "Stellar core quorum phase "+p, boolValue(strings.EqualFold(q.Phase, p)))
	}
	if t := info.Quorum.Transitive; t != nil {
		gauge("stellar_core_quorum_transitive_intersection", "Stellar core quorum transitive intersection", boolValue(t.Intersection))
		gauge("stellar_core_quorum_transitive_last_check_ledger", "Stellar core quorum transitive last_check_ledger", float64(t.LastCheckLedger))
		gauge("stellar_core_quorum_transitive_node_count", "Stellar core quorum transitive node_count", float64(t.NodeCount))
		if len(t.Critical) == 0 {
			// The exporter's label when no group is critical.
			gauge("stellar_core_quorum_transitive_critical", "Stellar core quorum transitive critical", 0, [2]string{"critical_validators", "null"})
		}
		for _, group := range t.Critical {
			sorted := append([]string{}, group...)
			slices.Sort(sorted)
			gauge("stellar_core_quorum_transitive_critical", "Stellar core quorum transitive critical", 1,
				[2]string{"critical_validators", strings.Join(sorted, ",")})
		}
	}
	gauge("stellar_core_peers_authenticated_count", "Stellar core authenticated_count count", float64(info.Peers.Authenticated))
	gauge("stellar_core_peers_pending_count", "Stellar core pending_count count", float64(info.Peers.Pending))
	gauge("stellar_core_protocol_version", "Stellar core protocol_version", float64(info.ProtocolVersion))
	for _, s := range states {
		gauge("stellar_core_"+strings.ReplaceAll(s, " ", "_"), "Stellar core state "+s, boolValue(strings.HasPrefix(strings.ToLower(info.State), s)))
	}
	if started, err := time.Parse("2006-01-02T15:04:05Z", info.StartedOn); err == nil {
		gauge("stellar_core_started_on", "Stellar core start time in epoch", float64(started.Unix()))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
