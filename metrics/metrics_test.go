package metrics

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestExposition(t *testing.T) {
	r := New()
	c := r.Counter("edge_readings_total", "readings accepted")
	g := r.Gauge("edge_queue_length", "queued results")
	h := r.Histogram("edge_inference_seconds", "latency", []float64{0.001, 0.01})
	c.Add(3)
	g.Set(2.5)
	for _, v := range []float64{0.0005, 0.005, 0.5} {
		h.Observe(v)
	}
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	out := rec.Body.String()
	for _, want := range []string{
		"# TYPE edge_readings_total counter\nedge_readings_total 3\n",
		"edge_queue_length 2.5\n",
		`edge_inference_seconds_bucket{le="0.001"} 1`,
		`edge_inference_seconds_bucket{le="0.01"} 2`,
		`edge_inference_seconds_bucket{le="+Inf"} 3`,
		"edge_inference_seconds_count 3\n",
		"edge_inference_seconds_sum 0.5055\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "edge_inference") > strings.Index(out, "edge_queue") {
		t.Error("metrics are not sorted by name")
	}
	if a := testing.AllocsPerRun(100, func() { h.Observe(0.002); c.Inc() }); a != 0 {
		t.Errorf("Observe and Inc allocate %v times", a)
	}
}

// TestLabelled checks the labelled families: one series per label set in
// the exposition, escaped values, an empty value as no label, histogram
// buckets with their labels, totals, and Inc without allocation.
func TestLabelled(t *testing.T) {
	r := New()
	c := r.CounterVec("edge_readings_total", "readings", "group", "device")
	a, b := c.With("pump", "d1"), c.With("pump", `d"2`)
	a.Add(2)
	b.Inc()
	c.With("fan", "").Inc()
	if c.With("pump", "d1") != a {
		t.Error("With returned a new counter for a known label set")
	}
	h := r.HistogramVec("edge_latency_seconds", "latency", []float64{1}, "group")
	h.With("pump").Observe(0.5)
	r.GaugeVec("edge_score", "score", "group").With("pump").Set(0.25)
	r.Info("edge_build_info", "build", []string{"version"}, []string{"v1.2.3"})
	r.RegisterProcess()
	var sb strings.Builder
	if _, err := r.WriteTo(&sb); err != nil {
		t.Fatal(err)
	}
	out := sb.String()
	for _, want := range []string{
		`edge_readings_total{group="pump",device="d1"} 2` + "\n",
		`edge_readings_total{group="pump",device="d\"2"} 1` + "\n",
		`edge_readings_total{group="fan"} 1` + "\n",
		`edge_latency_seconds_bucket{group="pump",le="1"} 1` + "\n",
		`edge_latency_seconds_bucket{group="pump",le="+Inf"} 1` + "\n",
		`edge_latency_seconds_count{group="pump"} 1` + "\n",
		`edge_score{group="pump"} 0.25` + "\n",
		`edge_build_info{version="v1.2.3"} 1` + "\n",
		"# TYPE process_cpu_seconds_total counter\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %q:\n%s", want, out)
		}
	}
	if c.Total() != 4 || h.Count() != 1 {
		t.Errorf("totals %d and %d, want 4 and 1", c.Total(), h.Count())
	}
	if rss := metricValue(out, "process_resident_memory_bytes"); rss <= 0 {
		t.Errorf("resident memory %v: /proc not read", rss)
	}
	if al := testing.AllocsPerRun(100, func() { a.Inc() }); al != 0 {
		t.Errorf("Inc of a labelled counter allocates %v times", al)
	}
}

// metricValue returns the value of the unlabelled series name in out.
func metricValue(out, name string) float64 {
	for _, l := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return -1
}
