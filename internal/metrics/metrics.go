// Package metrics declares the operator's own metrics on the manager's registry, served on /metrics
// beside controller-runtime's: one constructor a kind, each metric registered as it is declared, and
// All listing them for the test that holds the alert rules against what is exported.
package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

var (
	mu       sync.Mutex
	declared []prometheus.Collector
)

func register[C prometheus.Collector](c C) C {
	ctrlmetrics.Registry.MustRegister(c)
	mu.Lock()
	defer mu.Unlock()
	declared = append(declared, c)
	return c
}

// Counter declares a counter.
func Counter(name, help string) prometheus.Counter {
	return register(prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help}))
}

// CounterVec declares a counter with labels.
func CounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return register(prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels))
}

// Gauge declares a gauge.
func Gauge(name, help string) prometheus.Gauge {
	return register(prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help}))
}

// GaugeVec declares a gauge with labels.
func GaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	return register(prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels))
}

// Histogram declares a histogram with its buckets.
func Histogram(name, help string, buckets []float64) prometheus.Histogram {
	return register(prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}))
}

// All are the metrics declared so far: those of every package of the operator linked in.
func All() []prometheus.Collector {
	mu.Lock()
	defer mu.Unlock()
	return append([]prometheus.Collector(nil), declared...)
}
