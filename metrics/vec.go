package metrics

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// family is a set of series of one metric told apart by label values.
type family[M any] struct {
	labels []string
	mu     sync.Mutex
	series map[string]*M // by rendered label set
	make   func() *M
}

func (f *family[M]) with(values []string) *M {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %d label values for labels %v", len(values), f.labels)) // a programming error
	}
	key := labelSet(f.labels, values, "")
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.series[key]
	if !ok {
		m = f.make()
		f.series[key] = m
	}
	return m
}

func (f *family[M]) delete(values []string) {
	key := labelSet(f.labels, values, "")
	f.mu.Lock()
	delete(f.series, key)
	f.mu.Unlock()
}

// each visits the series in the order of their label sets.
func (f *family[M]) each(visit func(labels string, m *M)) {
	f.mu.Lock()
	keys := make([]string, 0, len(f.series))
	for k := range f.series {
		keys = append(keys, k)
	}
	ms := make([]*M, len(keys))
	sort.Strings(keys)
	for i, k := range keys {
		ms[i] = f.series[k]
	}
	f.mu.Unlock()
	for i, k := range keys {
		visit(k, ms[i])
	}
}

// labelSet renders names and values as the exposition format's
// {name="value",...}, with extra (already rendered, e.g. le="1") last.
func labelSet(names, values []string, extra string) string {
	var b strings.Builder
	for i, n := range names {
		if values[i] == "" {
			continue // an empty value is the same as no label
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(n)
		b.WriteString(`="`)
		b.WriteString(escapeLabel(values[i]))
		b.WriteByte('"')
	}
	if extra != "" {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(extra)
	}
	if b.Len() == 0 {
		return ""
	}
	return "{" + b.String() + "}"
}

// escapeLabel escapes a label value: backslash, double quote, newline.
func escapeLabel(v string) string {
	if !strings.ContainsAny(v, "\\\"\n") {
		return v
	}
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(v)
}

// CounterVec is a counter per label set (e.g. per group and device).
type CounterVec struct {
	f    family[Counter]
	desc string
}

// CounterVec registers a counter with the given label names.
func (r *Registry) CounterVec(name, help string, labels ...string) *CounterVec {
	v := &CounterVec{desc: help, f: family[Counter]{labels: labels, series: map[string]*Counter{}, make: func() *Counter { return &Counter{} }}}
	r.add(name, v)
	return v
}

// With returns the counter of one label set (values in the labels'
// order), creating it at zero. Look it up once and keep it: With locks
// and allocates, the counter's Inc does neither.
func (v *CounterVec) With(values ...string) *Counter { return v.f.with(values) }

// Delete removes the counter of one label set.
func (v *CounterVec) Delete(values ...string) { v.f.delete(values) }

// Total returns the sum over every label set.
func (v *CounterVec) Total() uint64 {
	var n uint64
	v.f.each(func(_ string, c *Counter) { n += c.Value() })
	return n
}

func (v *CounterVec) write(w io.Writer, name string) {
	v.f.each(func(l string, c *Counter) { fmt.Fprintf(w, "%s%s %d\n", name, l, c.Value()) })
}
func (v *CounterVec) help() (string, string) { return v.desc, "counter" }

// GaugeVec is a gauge per label set.
type GaugeVec struct {
	f    family[Gauge]
	desc string
}

// GaugeVec registers a gauge with the given label names.
func (r *Registry) GaugeVec(name, help string, labels ...string) *GaugeVec {
	v := &GaugeVec{desc: help, f: family[Gauge]{labels: labels, series: map[string]*Gauge{}, make: func() *Gauge { return &Gauge{} }}}
	r.add(name, v)
	return v
}

// With returns the gauge of one label set, creating it at zero.
func (v *GaugeVec) With(values ...string) *Gauge { return v.f.with(values) }

// Delete removes the gauge of one label set (e.g. a device gone).
func (v *GaugeVec) Delete(values ...string) { v.f.delete(values) }

func (v *GaugeVec) write(w io.Writer, name string) {
	v.f.each(func(l string, g *Gauge) { fmt.Fprintf(w, "%s%s %g\n", name, l, g.Value()) })
}
func (v *GaugeVec) help() (string, string) { return v.desc, "gauge" }

// HistogramVec is a histogram per label set, all with the same buckets.
type HistogramVec struct {
	f    family[Histogram]
	desc string
}

// HistogramVec registers a histogram with the given bounds and labels.
func (r *Registry) HistogramVec(name, help string, bounds []float64, labels ...string) *HistogramVec {
	b := append([]float64(nil), bounds...)
	sort.Float64s(b)
	v := &HistogramVec{desc: help, f: family[Histogram]{labels: labels, series: map[string]*Histogram{},
		make: func() *Histogram { return &Histogram{bounds: b, counts: make([]atomic.Uint64, len(b)+1)} }}}
	r.add(name, v)
	return v
}

// With returns the histogram of one label set.
func (v *HistogramVec) With(values ...string) *Histogram { return v.f.with(values) }

// Count returns the observations over every label set.
func (v *HistogramVec) Count() uint64 {
	var n uint64
	v.f.each(func(_ string, h *Histogram) { n += h.Count() })
	return n
}

func (v *HistogramVec) write(w io.Writer, name string) {
	v.f.each(func(l string, h *Histogram) { h.writeLabelled(w, name, l) })
}
func (v *HistogramVec) help() (string, string) { return v.desc, "histogram" }

// GaugeFunc is a gauge whose value a function returns at each scrape.
type GaugeFunc struct {
	fn   func() float64
	desc string
}

// GaugeFunc registers a gauge read from fn when the metrics are written
// (fn must be safe to call from the HTTP server's goroutine).
func (r *Registry) GaugeFunc(name, help string, fn func() float64) {
	r.add(name, &GaugeFunc{fn: fn, desc: help})
}

func (g *GaugeFunc) write(w io.Writer, name string) { fmt.Fprintf(w, "%s %g\n", name, g.fn()) }
func (g *GaugeFunc) help() (string, string)         { return g.desc, "gauge" }

// CounterFunc is a counter whose value a function returns at each scrape.
type CounterFunc struct {
	fn   func() float64
	desc string
}

// CounterFunc registers a counter read from fn when the metrics are
// written (e.g. CPU seconds from /proc).
func (r *Registry) CounterFunc(name, help string, fn func() float64) {
	r.add(name, &CounterFunc{fn: fn, desc: help})
}

func (c *CounterFunc) write(w io.Writer, name string) { fmt.Fprintf(w, "%s %g\n", name, c.fn()) }
func (c *CounterFunc) help() (string, string)         { return c.desc, "counter" }

// Info registers a gauge of value 1 whose labels carry information (the
// _info convention, e.g. edge_build_info{version="..."}).
func (r *Registry) Info(name, help string, labels, values []string) {
	v := r.GaugeVec(name, help, labels...)
	v.With(values...).Set(1)
}
