// Package metrics keeps counters, gauges and histograms and writes them in
// the Prometheus text exposition format, without a client library: a
// service on a small board needs a handful of numbers, not a dependency.
package metrics

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds a service's metrics.
type Registry struct {
	mu      sync.Mutex
	metrics map[string]metric
}

type metric interface {
	write(w io.Writer, name string)
	help() (string, string) // help text and type
}

// New returns an empty registry.
func New() *Registry { return &Registry{metrics: map[string]metric{}} }

func (r *Registry) add(name string, m metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.metrics[name]; dup {
		panic("metrics: " + name + " registered twice") // a programming error, found by any test
	}
	r.metrics[name] = m
}

// Counter is a monotonically increasing count.
type Counter struct {
	v    atomic.Uint64
	desc string
}

// Add adds n.
func (c *Counter) Add(n uint64) { c.v.Add(n) }

// Inc adds one.
func (c *Counter) Inc() { c.v.Add(1) }

// Value returns the count.
func (c *Counter) Value() uint64 { return c.v.Load() }

func (c *Counter) write(w io.Writer, name string) { fmt.Fprintf(w, "%s %d\n", name, c.v.Load()) }
func (c *Counter) help() (string, string)         { return c.desc, "counter" }

// Counter registers a counter.
func (r *Registry) Counter(name, help string) *Counter {
	c := &Counter{desc: help}
	r.add(name, c)
	return c
}

// Gauge is a value that goes up and down.
type Gauge struct {
	bits atomic.Uint64
	desc string
}

// Set sets the value.
func (g *Gauge) Set(v float64) { g.bits.Store(math.Float64bits(v)) }

// Value returns the value.
func (g *Gauge) Value() float64 { return math.Float64frombits(g.bits.Load()) }

func (g *Gauge) write(w io.Writer, name string) { fmt.Fprintf(w, "%s %g\n", name, g.Value()) }
func (g *Gauge) help() (string, string)         { return g.desc, "gauge" }

// Gauge registers a gauge.
func (r *Registry) Gauge(name, help string) *Gauge {
	g := &Gauge{desc: help}
	r.add(name, g)
	return g
}

// Histogram counts observations into cumulative buckets.
type Histogram struct {
	bounds []float64
	counts []atomic.Uint64 // one per bound, plus +Inf
	sum    atomic.Uint64   // float64 bits, updated by CAS
	desc   string
}

// Observe records one value. It allocates nothing.
func (h *Histogram) Observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v)
	h.counts[i].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 {
	var n uint64
	for i := range h.counts {
		n += h.counts[i].Load()
	}
	return n
}

func (h *Histogram) write(w io.Writer, name string) { h.writeLabelled(w, name, "") }

// writeLabelled writes the histogram's series with the rendered label set
// labels ({...} or empty) on each.
func (h *Histogram) writeLabelled(w io.Writer, name, labels string) {
	le := func(b string) string {
		if labels == "" {
			return `{le="` + b + `"}`
		}
		return labels[:len(labels)-1] + `,le="` + b + `"}`
	}
	var cum uint64
	for i, b := range h.bounds {
		cum += h.counts[i].Load()
		fmt.Fprintf(w, "%s_bucket%s %d\n", name, le(fmt.Sprintf("%g", b)), cum)
	}
	cum += h.counts[len(h.bounds)].Load()
	fmt.Fprintf(w, "%s_bucket%s %d\n%s_sum%s %g\n%s_count%s %d\n", name, le("+Inf"), cum, name, labels, math.Float64frombits(h.sum.Load()), name, labels, cum)
}
func (h *Histogram) help() (string, string) { return h.desc, "histogram" }

// Histogram registers a histogram with the given upper bounds (sorted).
func (r *Registry) Histogram(name, help string, bounds []float64) *Histogram {
	b := append([]float64(nil), bounds...)
	sort.Float64s(b)
	h := &Histogram{bounds: b, counts: make([]atomic.Uint64, len(b)+1), desc: help}
	r.add(name, h)
	return h
}

// ExponentialBuckets returns n bounds start, start*factor, ...
func ExponentialBuckets(start, factor float64, n int) []float64 {
	b := make([]float64, n)
	for i := range b {
		b[i] = start
		start *= factor
	}
	return b
}

// WriteTo writes every metric in the text exposition format, sorted by name.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	names := make([]string, 0, len(r.metrics))
	for n := range r.metrics {
		names = append(names, n)
	}
	ms := r.metrics
	r.mu.Unlock()
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		m := ms[n]
		help, typ := m.help()
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", n, help, n, typ)
		m.write(&b, n)
	}
	k, err := io.WriteString(w, b.String())
	return int64(k), err
}

// Handler serves the metrics over HTTP.
func (r *Registry) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = r.WriteTo(w)
	})
}
