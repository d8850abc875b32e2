package service

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

const testChannels = 4

var (
	modelOnce sync.Once
	modelPath string
	modelErr  error
)

// testModel learns a small int8 model with a calibrated threshold from
// generated readings, once per test binary.
func testModel(t testing.TB) string {
	t.Helper()
	modelOnce.Do(func() {
		g, _ := synth.New(synth.Config{Channels: testChannels, Seed: 5, Linear: true})
		b, err := learn.NewBuffer(g.Names(), 4000, 0)
		if err != nil {
			modelErr = err
			return
		}
		clean, obs := make([]float32, testChannels), make([]float32, testChannels)
		for !b.Full() {
			g.Next(clean, obs)
			b.Add(stream.Row{Values: obs})
		}
		m, _, err := b.Fit(learn.Options{Window: 32, Train: train.Config{Epochs: 3, Seed: 1}})
		if err != nil {
			modelErr = err
			return
		}
		dir, err := os.MkdirTemp("", "edge-service-test")
		if err != nil {
			modelErr = err
			return
		}
		modelPath = filepath.Join(dir, "site.edge")
		modelErr = m.Save(modelPath)
	})
	if modelErr != nil {
		t.Fatal(modelErr)
	}
	return modelPath
}

// readings returns n JSON readings of the test installation (continuing
// after the learning rows), a sensor frozen from row freezeAt for 200 rows.
func readings(n, freezeAt int) [][]byte {
	return readingsWith(n, synth.Anomaly{Kind: synth.Frozen, Start: 4000 + freezeAt, Len: 200, Channel: 1})
}

// readingsWith returns n JSON readings of the test installation after
// the learning rows, with an anomaly (Start counts the learning rows).
func readingsWith(n int, a synth.Anomaly) [][]byte {
	g, _ := synth.New(synth.Config{Channels: testChannels, Seed: 5, Linear: true, Anomalies: []synth.Anomaly{a}})
	clean, obs := make([]float32, testChannels), make([]float32, testChannels)
	for i := 0; i < 4000; i++ {
		g.Next(clean, obs)
	}
	names := g.Names()
	out := make([][]byte, n)
	for i := range out {
		g.Next(clean, obs)
		var b strings.Builder
		fmt.Fprintf(&b, `{"ts":%d`, 1_700_000_000+300*i)
		for c, v := range obs {
			if v != v {
				fmt.Fprintf(&b, `,%q:null`, names[c])
			} else {
				fmt.Fprintf(&b, `,%q:%g`, names[c], v)
			}
		}
		b.WriteString("}")
		out[i] = []byte(b.String())
	}
	return out
}

type result struct {
	Topic   string          `json:"topic"`
	Payload json.RawMessage `json:"payload"`
}

func TestStdinEndToEnd(t *testing.T) {
	path := testModel(t)
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: path, Denoise: "causal", Score: true}}, Metrics: MetricsConfig{Listen: "off"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	rs := readings(800, 500)
	var in bytes.Buffer
	for i, r := range rs {
		in.Write(r)
		in.WriteByte('\n')
		if i == 100 {
			in.WriteString("this is not json\n")
			in.WriteString(`{"ts":1,"temp_1":"warm"}` + "\n")
			in.WriteString(`{"group":"elsewhere","ts":1,"temp_1":1}` + "\n")
		}
	}
	var out bytes.Buffer
	var svc *Service
	err := Run(context.Background(), cfg, Options{Stdin: &in, Stdout: &out, Ready: func(s *Service, _ string) { svc = s }})
	if err != nil {
		t.Fatal(err)
	}
	clean, events := 0, 0
	lines := map[int]bool{}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output line %q: %v", sc.Text(), err)
		}
		switch r.Topic {
		case "edge/site/clean":
			clean++
			var c struct {
				Line   int                 `json:"line"`
				Values map[string]*float64 `json:"values"`
			}
			json.Unmarshal(r.Payload, &c)
			lines[c.Line] = true
			if len(c.Values) != testChannels {
				t.Fatalf("cleaned row with %d values: %s", len(c.Values), r.Payload)
			}
		case "edge/site/events":
			events++
			var e Event
			json.Unmarshal(r.Payload, &e)
			if e.Event == "start" && (len(e.Top) == 0 || e.Top[0].Name != "humidity_1") {
				t.Errorf("the frozen humidity sensor is not blamed: %s", r.Payload)
			}
		default:
			t.Fatalf("unexpected topic %q", r.Topic)
		}
	}
	if clean != len(rs) || len(lines) != len(rs) {
		t.Errorf("%d cleaned rows (%d distinct lines) for %d readings", clean, len(lines), len(rs))
	}
	if events == 0 {
		t.Error("no anomaly event for the frozen sensor")
	}
	if got := svc.M.Invalid.Total(); got != 3 {
		t.Errorf("%d invalid readings counted, want 3", got)
	}
	if svc.M.In.Total() != uint64(len(rs)) || svc.M.Cleaned.Total() != uint64(len(rs)) {
		t.Errorf("metrics: in %d, out %d, want %d", svc.M.In.Total(), svc.M.Cleaned.Total(), len(rs))
	}
	if svc.M.Latency.Count() == 0 {
		t.Error("no inference latency observed")
	}
}

// TestNewLevelEvent: a sensor that steps to another level and stays
// there starts an anomaly; once it has lasted the model's Settle rows, a
// new_level event says the level is now taken as normal, and the flag
// ends.
func TestNewLevelEvent(t *testing.T) {
	m, err := model.Load(testModel(t))
	if err != nil {
		t.Fatal(err)
	}
	set, err := anomaly.Load(m)
	if err != nil {
		t.Fatal(err)
	}
	if set.Settle != 2*4000 {
		t.Errorf("learning 4000 rows stored settle %d, want twice the rows", set.Settle)
	}
	set.Settle = 150 // to keep the test short
	if err := anomaly.Store(m, set); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "settle.edge")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: path, Score: true}}, Metrics: MetricsConfig{Listen: "off"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	var in, out bytes.Buffer
	for _, r := range readingsWith(700, synth.Anomaly{Kind: synth.LevelShift, Start: 4100, Len: 1 << 20, Channel: 2, Size: 40}) {
		in.Write(r)
		in.WriteByte('\n')
	}
	if err := Run(context.Background(), cfg, Options{Stdin: &in, Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var level Event
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		var r result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.Topic != "edge/site/events" {
			continue
		}
		var e Event
		if err := json.Unmarshal(r.Payload, &e); err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, e.Event)
		if e.Event == "new_level" {
			level = e
		}
	}
	if !slices.Contains(kinds, "start") || level.Kind != anomaly.KindNewLevel {
		t.Fatalf("events %v: want an anomaly start and a new_level", kinds)
	}
	if level.StartLine < 95 || level.StartLine > 140 || level.Line < level.StartLine+150-1 {
		t.Errorf("new_level at line %d for an anomaly from line %d (the step at 101, settle 150)", level.Line, level.StartLine)
	}
	if kinds[len(kinds)-1] != "end" {
		t.Errorf("events %v: the flag should end after the new level", kinds)
	}
}

// TestStdinCSVDialect: CSV lines from a spreadsheet (a byte-order mark,
// semicolons, decimal commas, epoch milliseconds) with a far-future
// reading and gaps: one reading dropped, every other one cleaned, the
// gaps bridged.
func TestStdinCSVDialect(t *testing.T) {
	path := testModel(t)
	cols := []string{"ts", "temp_1", "humidity_1", "pressure_1", "current_1"}
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: path, Denoise: "centred"}}, Metrics: MetricsConfig{Listen: "off"},
		Input: InputConfig{Format: "csv", Columns: cols}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	in.WriteString("\uFEFF" + strings.Join(cols, ";") + "\n")
	ms := int64(1_700_000_000_000)
	for i := 0; i < 300; i++ {
		if i == 150 {
			in.WriteString("4070908800000;1;1;1;1\n") // the year 2099
		}
		fmt.Fprintf(&in, "%d;%s;%s;1013,25;0,5\n", ms, strings.Replace(fmt.Sprint(20+float64(i%10)/10), ".", ",", 1), "45,5")
		ms += 300_000
		if i%30 == 29 {
			ms += 600_000 // three periods between two rows
		}
	}
	var out bytes.Buffer
	var svc *Service
	if err := Run(context.Background(), cfg, Options{Stdin: &in, Stdout: &out, Ready: func(s *Service, _ string) { svc = s }}); err != nil {
		t.Fatal(err)
	}
	clean := strings.Count(out.String(), `"topic":"edge/site/clean"`)
	if clean != 300 || svc.M.Invalid.Total() != 0 || svc.M.Dropped.Total() != 1 || svc.M.Bridged.Total() != 9 || svc.M.Restarts.Total() != 0 {
		t.Errorf("%d cleaned, %d invalid, %d dropped, %d bridged, %d restarts", clean, svc.M.Invalid.Total(), svc.M.Dropped.Total(), svc.M.Bridged.Total(), svc.M.Restarts.Total())
	}
	if !strings.Contains(out.String(), `"ts":1700000000,`) {
		t.Errorf("epoch milliseconds misread: %.300s", out.String())
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{`{"groups": []}`, "groups"},
		{`{"groups": [{"name": "a", "model": "m.edge"}]}`, "neither denoise nor score"},
		{`{"groups": [{"name": "a/b", "model": "m.edge", "score": true}]}`, "groups[0].name"},
		{`{"groups": [{"name": "a", "model": "m.edge", "score": true}], "input": {"source": "serial"}}`, "input.port"},
		{`{"groups": [{"name": "a", "model": "m.edge", "score": true}], "input": {"source": "mqtt"}}`, "mqtt section"},
		{`{"groups": [{"name": "a", "model": "m.edge", "score": true}], "mqtt": {"url": "http://x"}}`, "mqtt.url"},
		{`{"groups": [{"name": "a", "model": "m.edge", "score": true, "colour": 1}]}`, "unknown field"},
		{"{\n  \"groups\": [\n    {\"name\": 5}\n  ]\n}", "line 3"},
		{`{"groups": [{"name": "a", "model": "m.edge", "score": true}], "input": {"time_unit": "h"}}`, "input.time_unit"},
		{`{"groups": [{"name": "a", "model": "m.edge", "score": true}], "input": {"delimiter": "ab"}}`, "input.delimiter"},
	} {
		p := filepath.Join(dir, "c.json")
		os.WriteFile(p, []byte(c.text), 0o644)
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "c.json") {
			t.Errorf("%s: %v, want an error naming the file and %q", c.text, err, c.want)
		}
	}
}

func TestParse(t *testing.T) {
	names := []string{"a", "b"}
	r, err := ParseJSON([]byte(`{"time":"2026-01-01T00:00:00Z","a":1.5,"b":null,"other":"x"}`), "g", names)
	if err != nil || !r.HasTime || r.Time != 1767225600 || r.Values[0] != 1.5 || r.Values[1] == r.Values[1] {
		t.Errorf("object: %+v, %v", r, err)
	}
	if r, err := ParseJSON([]byte(`{"values":[1,2]}`), "g", names); err != nil || r.Values[1] != 2 {
		t.Errorf("values array: %+v, %v", r, err)
	}
	for _, bad := range []string{`[1,2]`, `{"c":1}`, `{"a":"1"}`, `{"a":1e300}`, `{"values":[1]}`, `{"ts":"yesterday","a":1}`, `null`} {
		if _, err := ParseJSON([]byte(bad), "g", names); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	p, err := newCSVParser([]string{"ts", "b", "a"}, names, "g")
	if err != nil {
		t.Fatal(err)
	}
	if r, err := p.parse("1700000000,2,1"); err != nil || r.Time != 1700000000 || r.Values[0] != 1 || r.Values[1] != 2 {
		t.Errorf("csv: %+v, %v", r, err)
	}
	for _, bad := range []string{"1,2", "1,x,2", "noon,1,2"} {
		if _, err := p.parse(bad); err == nil {
			t.Errorf("csv %q accepted", bad)
		}
	}
	if !isHeader("timestamp,b,a", []string{"ts", "b", "a"}, ',') || isHeader("1,2,x", []string{"ts", "b", "a"}, ',') {
		t.Error("csv header detection")
	}
	// Timestamps: epoch units by magnitude, dates with offsets, null.
	for in, want := range map[string]float64{
		`{"ts":1700000000123,"a":1}`:                 1700000000.123,
		`{"ts":"1700000000","a":1}`:                  1700000000,
		`{"ts":1700000000000000000,"a":1}`:           1700000000,
		`{"time":"2023-11-14 22:13:20+00:00","a":1}`: 1700000000,
		`{"time":"2023-11-14T23:13:20+0100","a":1}`:  1700000000,
	} {
		if r, err := ParseJSON([]byte(in), "g", names); err != nil || !r.HasTime || math.Abs(r.Time-want) > 1e-6 {
			t.Errorf("%s: time %v, %v; want %v", in, r.Time, err, want)
		}
	}
	if r, err := ParseJSON([]byte(`{"ts":null,"a":1}`), "g", names); err != nil || !r.HasTime || !math.IsNaN(r.Time) {
		t.Errorf("a null time: %+v, %v (want NaN, for the policy to drop)", r, err)
	}
	if r, err := parseJSON([]byte(`{"ts":1500,"a":1}`), "g", names, dataset.Milliseconds); err != nil || r.Time != 1.5 {
		t.Errorf("time_unit ms: %+v, %v", r, err)
	}
	// CSV lines: the delimiter from the first line, decimal commas with ;.
	for _, c := range []struct {
		lines []string
		a, b  float32
	}{
		{[]string{"ts;b;a", "1700000000000;2,5;1,5"}, 1.5, 2.5},
		{[]string{"2023-11-14 22:13:20+00:00\t2\t1"}, 1, 2},
		{[]string{`1700000000|"2"|1`}, 1, 2},
	} {
		p, _ := newCSVParser([]string{"ts", "b", "a"}, names, "g")
		var r Reading
		var err error
		for _, l := range c.lines {
			r, err = p.parse(l)
		}
		if err != nil || r.Time != 1700000000 || r.Values[0] != c.a || r.Values[1] != c.b {
			t.Errorf("csv %q: %+v, %v", c.lines, r, err)
		}
	}
}

// TestDeviceOf: which device a topic belongs to under a group's topic
// template, and which topics the template does not match.
func TestDeviceOf(t *testing.T) {
	for _, c := range []struct {
		template, topic, device string
		ok                      bool
	}{
		{"sensors/pump/in", "sensors/pump/in", "", true},
		{"sensors/pump/in", "sensors/pump/out", "", false},
		{"sensors/+/in", "sensors/pump/in", "pump", true},
		{"sensors/+/in", "sensors/pump/out", "", false},
		{"sensors/{device}/readings", "sensors/esp-01/readings", "esp-01", true},
		{"sensors/{device}/readings", "sensors//readings", "", false},
		{"sensors/{device}/readings", "sensors/esp-01/readings/x", "", false},
		{"site/+/{device}/in", "site/hall/esp-01/in", "esp-01", true},
		{"a/#", "a/b/c", "b/c", true},
		{"a/#", "a", "", true},
		{"a/+/#", "a/b/c/d", "b/c/d", true},
		{"tele/{device}/#", "tele/plug-3/SENSOR", "plug-3", true},
	} {
		d, _, ok := matchTemplate(c.template, c.topic)
		if d != c.device || ok != c.ok {
			t.Errorf("matchTemplate(%q, %q) = %q, %v; want %q, %v", c.template, c.topic, d, ok, c.device, c.ok)
		}
	}
	for _, bad := range []string{"a/{device}x/b", "a/{device}/{device}", "a/#/b", "a/b+"} {
		if _, err := filterOf(bad); err == nil {
			t.Errorf("filterOf(%q) accepted", bad)
		}
	}
	if f, _ := filterOf("sensors/{device}/readings"); f != "sensors/+/readings" {
		t.Errorf("filterOf: %q", f)
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"ts":1,"a":1,"b":2}`))
	f.Add([]byte(`{"values":[1,null]}`))
	f.Add([]byte(`{"fields":{"a":1,"b":2},"tags":{"device":"d1"},"name":"m","timestamp":1700000000}`))
	f.Add([]byte(`{"device":"x","a":{"b":{"c":1}},"b":2}`))
	f.Add([]byte(`{"ts":1700000000123,"a":1,"b":2}`))
	f.Add([]byte(`{"ts":null,"a":1}`))
	f.Add([]byte(`{"time":"2023-11-14 22:13:20+00:00","a":1}`))
	f.Add([]byte(`{"timestamp":"14.11.2023 22:13:20","b":1e-3}`))
	f.Add([]byte(`{"ts":1e300,"a":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseJSON(data, "g", []string{"a", "b", "a.b.c"})
		if err == nil && len(r.Values) != 3 {
			t.Fatal("accepted with the wrong number of values")
		}
		if err == nil && r.HasTime && !math.IsNaN(r.Time) && !stream.ValidTime(r.Time) {
			t.Fatalf("time %v accepted", r.Time)
		}
	})
}

// FuzzCSVLine: any pair of lines gives readings or errors, never a panic,
// in every dialect.
func FuzzCSVLine(f *testing.F) {
	for _, s := range []string{
		"ts,b,a\n1700000000,2,1",
		"ts;b;a\n1700000000000;2,5;1,5",
		"ts\tb\ta\n2023-11-14 22:13:20+00:00\t2\t",
		"1700000000|\"2\"|1\n1700000001|3|null",
		"1;2;3\n1;2,5,5;3",
		"\"ts\",b,a\n1,\"2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		p, err := newCSVParser([]string{"ts", "b", "a"}, []string{"a", "b"}, "g")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(text, "\n") {
			if r, err := p.parse(line); err == nil && len(r.Values) != 2 {
				t.Fatalf("%q: %d values", line, len(r.Values))
			}
		}
	})
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func discardLogger() *slog.Logger {
	if testing.Verbose() && os.Getenv("EDGE_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
