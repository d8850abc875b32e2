package service

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestExecdProcessor runs edge run as Telegraf's processors.execd runs a
// processor: line protocol on stdin, line protocol on stdout. Every
// metric comes back once, in order for each device, with its own
// measurement, tags, fields and timestamp, plus <channel>_clean,
// anomaly_score and anomaly_flag; a metric that is not a reading (another
// measurement's fields) comes back as it was.
func TestExecdProcessor(t *testing.T) {
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "centred", Score: true}},
		Input: InputConfig{Format: "influx"}, Output: OutputConfig{Format: "influx"}, Metrics: MetricsConfig{Listen: "off"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	var want []string
	for i, raw := range readings(120, 60) {
		line := strings.NewReplacer(`{"ts":`, "", `"`, "", ":", "=").Replace(string(raw))
		ts, fields, _ := strings.Cut(strings.TrimSuffix(line, "}"), ",")
		l := "sensors,device=esp-" + []string{"a", "b"}[i%2] + ",site=hall\\ 2 " + fields + " " + ts + "000000000"
		in.WriteString(l + "\n")
		want = append(want, l)
		if i == 50 {
			in.WriteString("cpu,host=gw usage_idle=97.5 1700015000000000000\n")
		}
	}
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, Options{Stdin: &in, Stdout: &out, Log: discardLogger()}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(want)+1 {
		t.Fatalf("%d lines out for %d in", len(lines), len(want)+1)
	}
	seen := map[string]bool{}
	for _, l := range lines {
		if l == "cpu,host=gw usage_idle=97.5 1700015000000000000" {
			seen["passed"] = true
			continue
		}
		m, err := parseLine(l)
		if err != nil {
			t.Fatalf("not line protocol: %q: %v", l, err)
		}
		var keys []string
		for _, f := range m.fields {
			keys = append(keys, f.key)
		}
		k := strings.Join(keys, ",")
		if !strings.Contains(k, "_clean") || !strings.Contains(k, "anomaly_score,anomaly_flag") || len(m.tags) != 2 || m.tags[1].value != "hall 2" {
			t.Fatalf("line %q: fields %s, tags %v", l, k, m.tags)
		}
		seen[m.tags[0].value+" "+m.ts] = true
	}
	if !seen["passed"] {
		t.Error("the cpu metric did not pass through")
	}
	for _, w := range want {
		m, _ := parseLine(w)
		if !seen[m.tags[0].value+" "+m.ts] {
			t.Errorf("no line out for %q", w)
			break
		}
	}
}
