package main

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// influxFields parses a line of line protocol without tags: measurement,
// fields (floats, i integers, booleans, quoted strings) and timestamp.
func influxFields(t *testing.T, line string) (string, map[string]string, int64) {
	t.Helper()
	name, rest, ok := strings.Cut(line, " ")
	i := strings.LastIndexByte(rest, ' ')
	if !ok || i < 0 {
		t.Fatalf("not name fields timestamp: %q", line)
	}
	ts, err := strconv.ParseInt(rest[i+1:], 10, 64)
	if err != nil {
		t.Fatalf("timestamp of %q: %v", line, err)
	}
	fields := map[string]string{}
	for _, f := range strings.Split(rest[:i], ",") {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("field %q of %q", f, line)
		}
		_, ferr := strconv.ParseFloat(strings.TrimSuffix(v, "i"), 64)
		if ferr != nil && v != "true" && v != "false" && !(strings.HasPrefix(v, `"`) && strings.HasSuffix(v, `"`)) {
			t.Fatalf("field value %q of %q", v, line)
		}
		fields[k] = v
	}
	return name, fields, ts
}

// TestFormatInflux: edge denoise and edge score write line protocol with
// --format influx: one line per row, the same values as their JSON lines,
// timestamps in nanoseconds.
func TestFormatInflux(t *testing.T) {
	_, qm, data := models(t)
	_, js, _ := runEdge("denoise", qm, data, "--format", "jsonl")
	code, out, errOut := runEdge("denoise", qm, data, "--format", "influx")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	jl, il := lines(js), lines(out)
	if len(jl) != len(il) || len(il) != 1200 {
		t.Fatalf("%d JSON lines, %d influx lines", len(jl), len(il))
	}
	for k, l := range il {
		name, f, ts := influxFields(t, l)
		var v struct {
			Time  float64   `json:"time"`
			Clean []float64 `json:"clean"`
		}
		json.Unmarshal([]byte(jl[k]), &v)
		temp, _ := strconv.ParseFloat(f["temp"], 32)
		if name != "edge_clean" || ts != int64(math.Round(v.Time*1e9)) || float32(temp) != float32(v.Clean[0]) || f["imputed"] == "" {
			t.Fatalf("line %d: %q against %q", k, l, jl[k])
		}
	}
	code, out, errOut = runEdge("score", qm, data, "--format", "influx")
	if code != 0 {
		t.Fatalf("score: exit %d: %s", code, errOut)
	}
	for _, l := range lines(out) {
		name, f, _ := influxFields(t, l)
		if name != "edge_score" || f["flag"] == "" || f["top"] == "" || f["score"] == "" {
			t.Fatalf("score line %q", l)
		}
	}
	if code, _, _ := runEdge("score", qm, data, "--format", "xml"); code != 2 {
		t.Errorf("--format xml: exit %d, want 2", code)
	}
}
