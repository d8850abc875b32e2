package metrics

import (
	"net/http/httptest"
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
