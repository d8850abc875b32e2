package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var (
	modelsOnce            sync.Once
	floatModel, int8Model string
	modelsDir, goodCSV    string
	modelsErr             error
)

// models trains (once) a small two-channel model on writeCSV data, with a
// threshold, and its int8 version.
func models(t *testing.T) (fm, qm, data string) {
	t.Helper()
	modelsOnce.Do(func() {
		dir, err := os.MkdirTemp("", "edge-cmd-test")
		if err != nil {
			modelsErr = err
			return
		}
		modelsDir = dir
		goodCSV = filepath.Join(dir, "sensors.csv")
		os.WriteFile(goodCSV, []byte(csvText(1200)), 0o644)
		floatModel, int8Model = filepath.Join(dir, "m.edge"), filepath.Join(dir, "m.int8.edge")
		if code, _, e := runEdge("train", "-q", "--data", goodCSV, "-o", floatModel, "--window", "16", "--epochs", "4", "--latent", "3", "--hidden", "16"); code != 0 {
			modelsErr = fmt.Errorf("train: %s", e)
			return
		}
		if code, _, e := runEdge("quantize", floatModel, "--calib", goodCSV); code != 0 {
			modelsErr = fmt.Errorf("quantize: %s", e)
		}
	})
	if modelsErr != nil {
		t.Fatal(modelsErr)
	}
	return floatModel, int8Model, goodCSV
}

func TestMain(m *testing.M) {
	code := m.Run()
	if modelsDir != "" {
		os.RemoveAll(modelsDir)
	}
	os.Exit(code)
}

// csvText is writeCSV's content: timestamp, temp, load.
func sin(x float64) float64 { return math.Sin(x) }
func abs(x float64) float64 { return math.Abs(x) }
func noiseAt(i int) float64 {
	n := math.Sin(float64(i)*12.9898) * 43758.5453
	return (n - math.Floor(n) - 0.5) * 0.1
}

func csvText(rows int) string {
	var b strings.Builder
	b.WriteString("timestamp,temp,load\n")
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&b, "%d,%.4f,%.4f\n", 1700000000+60*i, 20+3*sin(float64(i)/15.3)+noiseAt(i), abs(sin(float64(i)/3.66))-noiseAt(i))
	}
	return b.String()
}

func write(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func lines(s string) []string { return strings.Split(strings.TrimRight(s, "\n"), "\n") }

func TestDenoiseCommand(t *testing.T) {
	_, qm, data := models(t)
	code, out, errOut := runEdge("denoise", qm, data)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ls := lines(out)
	if len(ls) != 1201 || ls[0] != "timestamp,temp,load,imputed" {
		t.Fatalf("%d lines, header %q", len(ls), ls[0])
	}
	if !strings.HasPrefix(ls[1], "1700000000,") || !strings.HasSuffix(ls[1], ",0") {
		t.Errorf("first row %q", ls[1])
	}
	// JSON lines, causal, with the input.
	code, out, errOut = runEdge("denoise", qm, data, "--format", "jsonl", "--mode", "causal", "--with-input")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	sc := bufio.NewScanner(strings.NewReader(out))
	n := 0
	for sc.Scan() {
		var v struct {
			Line    int       `json:"line"`
			Time    float64   `json:"time"`
			Clean   []float64 `json:"clean"`
			Input   []float64 `json:"input"`
			Imputed int       `json:"imputed"`
		}
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v: %s", n+1, err, sc.Text())
		}
		if v.Line != n+2 || len(v.Clean) != 2 || len(v.Input) != 2 || v.Time != float64(1700000000+60*n) {
			t.Fatalf("record %d: %+v", n, v)
		}
		n++
	}
	if n != 1200 {
		t.Errorf("%d records for 1200 rows", n)
	}
}

func TestScoreCommand(t *testing.T) {
	_, qm, data := models(t)
	code, out, errOut := runEdge("score", qm, data)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ls := lines(out)
	if ls[0] != "timestamp,line,score,p,flag,onset,event,event_line,top,spe,peak,range,smooth,change,share_temp,share_load" {
		t.Fatalf("header %q", ls[0])
	}
	// One line per input row, in order, with the input's line.
	if len(ls)-1 != 1200 || !strings.Contains(errOut, "1200 rows scored") {
		t.Errorf("%d lines for 1200 rows; stderr %s", len(ls)-1, errOut)
	}
	for i, l := range ls[1:] {
		if f := strings.Split(l, ","); f[1] != strconv.Itoa(i+2) {
			t.Fatalf("output row %d is for line %s", i+1, f[1])
		}
	}
	// Per window: the model's scoring hop is 1, so as many lines; with
	// --hop 4, the windows' newest rows only.
	code, out, _ = runEdge("score", qm, data, "--per", "window", "--hop", "4")
	if n := len(lines(out)) - 1; code != 0 || n != (1200-16)/4+1 {
		t.Errorf("--per window --hop 4: exit %d, %d lines", code, n)
	}
	// An injected fault on load is flagged and blamed on load.
	text := csvText(1200)
	rows := lines(text)
	for i := 600; i < 680; i++ {
		f := strings.Split(rows[i], ",")
		f[2] = "3.5"
		rows[i] = strings.Join(f, ",")
	}
	faulty := write(t, "faulty.csv", strings.Join(rows, "\n")+"\n")
	code, out, errOut = runEdge("score", qm, faulty, "--events", "--format", "jsonl")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"onset":true`) || !strings.Contains(out, `"top":"load"`) {
		t.Errorf("the fault was not flagged on load:\n%s", out)
	}
	// Row by row: the change score is up where the fault begins and back
	// down while it lasts; the flag stays up.
	code, out, _ = runEdge("score", qm, faulty)
	ls = lines(out)
	col := slices.Index(strings.Split(ls[0], ","), "change")
	if code != 0 || col < 0 {
		t.Fatalf("exit %d, change column %d", code, col)
	}
	var onsetChange float64
	lateFlagged, lateChanged := 0, 0
	for _, l := range ls[1:] {
		f := strings.Split(l, ",")
		line, _ := strconv.Atoi(f[1])
		ch, err := strconv.ParseFloat(f[col], 64)
		if err != nil {
			t.Fatalf("change %q: %v", f[col], err)
		}
		switch {
		case line >= 601 && line < 620:
			onsetChange = max(onsetChange, ch)
		case line >= 640 && line < 680:
			lateFlagged += int(f[4][0] - '0')
			if ch >= 0.5 {
				lateChanged++
			}
		}
	}
	if onsetChange < 0.5 || lateFlagged < 30 || lateChanged > 2 {
		t.Errorf("a lasting fault: change %.3f at its start; of its last 40 rows %d flagged, %d with change >= 0.5", onsetChange, lateFlagged, lateChanged)
	}
	// Settings from the command line: a false-alarm rate of 40% flags a
	// good share of normal rows.
	code, out, _ = runEdge("score", qm, data, "--rate", "0.4")
	flagged := 0
	for _, l := range lines(out)[1:] {
		if strings.Split(l, ",")[4] == "1" {
			flagged++
		}
	}
	if code != 0 || flagged < 100 {
		t.Errorf("--rate 0.4: exit %d, %d of 1200 rows flagged", code, flagged)
	}
}

func TestCalibrateCommand(t *testing.T) {
	fm, _, data := models(t)
	out := filepath.Join(t.TempDir(), "cal.edge")
	// The training rows: their scores are too low, so the model's learned
	// thresholds are kept.
	code, stdout, errOut := runEdge("calibrate", fm, "--data", data, "--rate", "0.001", "-o", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "false-alarm rate of 0.001") || !strings.Contains(stdout, "kept the model's higher learned tail") || !strings.Contains(stdout, "wrote "+out) {
		t.Errorf("output: %s", stdout)
	}
	code, stdout, errOut = runEdge("calibrate", fm, "--data", data, "--replace", "-o", out)
	if code != 0 || strings.Contains(stdout, "kept") {
		t.Errorf("--replace: exit %d: %s %s", code, stdout, errOut)
	}
	code, _, errOut = runEdge("info", out)
	if code != 0 || false {
		t.Errorf("edge info: %s", errOut)
	}
}

func TestWatchCommand(t *testing.T) {
	data := write(t, "long.csv", csvText(3000))
	saved := filepath.Join(t.TempDir(), "w.edge")
	code, out, errOut := runEdge("watch", "--learn", "1500", data, "--epochs", "3", "-o", saved)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"collected 1500 rows", "threshold", "saved the model", "scoring from line 1502"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if ls := lines(out); len(ls) < 50 || !strings.HasPrefix(ls[0], "timestamp,line") {
		t.Errorf("%d score lines", len(ls))
	}
	if _, err := os.Stat(saved); err != nil {
		t.Error(err)
	}
	// A duration: 12 hours of one-minute rows.
	code, _, errOut = runEdge("watch", "--learn", "12h", data, "--epochs", "2")
	if code != 0 || !strings.Contains(errOut, "collected 721 rows") {
		t.Errorf("--learn 12h: exit %d\n%s", code, errOut)
	}
	code, _, errOut = runEdge("watch", "--learn", "5000", data)
	if code != 1 || !strings.Contains(errOut, "ended after 3000 rows") {
		t.Errorf("learning period longer than the input: exit %d, %s", code, errOut)
	}
	noTime := write(t, "nt.csv", "a,b\n1,2\n")
	if code, _, errOut = runEdge("watch", "--learn", "2h", noTime); code != 2 || !strings.Contains(errOut, "no time column") {
		t.Errorf("a duration without timestamps: exit %d, %s", code, errOut)
	}
}

func TestPlotCommand(t *testing.T) {
	_, qm, data := models(t)
	dir := t.TempDir()
	png, svg := filepath.Join(dir, "p.png"), filepath.Join(dir, "p.svg")
	code, out, errOut := runEdge("plot", qm, data, "-o", png+","+svg)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, p := range []string{png, svg} {
		st, err := os.Stat(p)
		if err != nil || st.Size() < 1000 || !strings.Contains(out, "wrote "+p) {
			t.Errorf("%s: %v", p, err)
		}
	}
	svgText, _ := os.ReadFile(svg)
	for _, want := range []string{"temp", "load", "anomaly score", "change", "latent space"} {
		if !strings.Contains(string(svgText), want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if code, _, errOut = runEdge("plot", qm, data, "-o", filepath.Join(dir, "p.gif")); code != 2 || !strings.Contains(errOut, ".png or .svg") {
		t.Errorf("a .gif: exit %d, %s", code, errOut)
	}
	if code, _, errOut = runEdge("plot", qm, data, "-o", png, "--show", "pressure"); code != 2 || !strings.Contains(errOut, "pressure") {
		t.Errorf("an unknown channel: exit %d, %s", code, errOut)
	}
}

// TestBadInputEveryCommand feeds each input-reading command the classic
// bad files: each gets an error naming the place, a non-zero exit, and
// keeps the output for the valid rows before it.
func TestBadInputEveryCommand(t *testing.T) {
	_, qm, _ := models(t)
	good := lines(csvText(60))
	withRow := func(at int, row string) string {
		r := append(append(append([]string{}, good[:at]...), row), good[at:]...)
		return strings.Join(r, "\n") + "\n"
	}
	cases := []struct {
		name, text string
		code       int
		want       string
		keep       int // rows of output (denoise) that must survive
	}{
		{"empty", "", 1, "empty file", 0},
		{"header only", "timestamp,temp,load\n", 1, "no data rows", 0},
		{"ragged", withRow(41, "1700009999,1"), 1, ":42: 2 fields, the header has 3", 40},
		{"text", withRow(41, "1700009999,warm,1"), 1, `:42: column 2 (temp): "warm" is not a number`, 40},
		{"nan and inf", withRow(41, "1700002400,NaN,inf"), 3, ":42: column 2 (temp)", 60},
		{"missing column", "timestamp,temp,pressure\n1,2,3\n", 1, `:1: no column "load"`, 0},
	}
	for _, c := range cases {
		path := write(t, "bad.csv", c.text)
		for _, cmd := range [][]string{{"denoise", qm, path}, {"score", qm, path}, {"plot", qm, path, "-o", filepath.Join(t.TempDir(), "x.png")}, {"calibrate", qm, "--data", path, "-o", filepath.Join(t.TempDir(), "c.edge")}} {
			code, out, errOut := runEdge(cmd...)
			// calibrate and plot gather the whole file: missing values are
			// imputed and reported, but not an error for them.
			wantCode := c.code
			if c.code == 3 && cmd[0] != "denoise" && cmd[0] != "score" {
				wantCode = 0
			}
			if code != wantCode || (wantCode != 0 && !strings.Contains(errOut, c.want)) {
				t.Errorf("%s on %s: exit %d (want %d), stderr %q (want %q)", cmd[0], c.name, code, wantCode, errOut, c.want)
			}
			if cmd[0] == "denoise" && c.keep > 0 {
				if got := len(lines(out)) - 1; got != c.keep {
					t.Errorf("denoise on %s: %d rows written, want the %d valid ones", c.name, got, c.keep)
				}
			}
		}
		code, _, errOut := runEdge("watch", "--learn", "20", path)
		if code == 0 && c.code == 1 {
			t.Errorf("watch on %s: exit 0, stderr %s", c.name, errOut)
		}
	}
	// A model whose channel count differs from the file's columns.
	three := write(t, "three.csv", "a,b,c\n1,2,3\n")
	code, _, errOut := runEdge("denoise", qm, three, "--channels", "a,b,c")
	if code != 1 || !strings.Contains(errOut, "the model takes 2 channels") {
		t.Errorf("3 columns for a 2-channel model: exit %d, %s", code, errOut)
	}
	// --lenient accepts the gaps.
	path := write(t, "gaps.csv", withRow(41, "1700002400,,inf"))
	if code, _, errOut := runEdge("denoise", qm, path, "--lenient"); code != 0 {
		t.Errorf("--lenient: exit %d, %s", code, errOut)
	}
	// Out-of-order and duplicate timestamps are dropped and counted.
	path = write(t, "order.csv", withRow(41, good[10])+"")
	code, out, errOut := runEdge("denoise", qm, path)
	if code != 3 || !strings.Contains(errOut, "1 rows dropped for a timestamp going back") || len(lines(out))-1 != 60 {
		t.Errorf("an out-of-order row: exit %d, %d rows, %s", code, len(lines(out))-1, errOut)
	}
}

func TestSynthCommand(t *testing.T) {
	dir := t.TempDir()
	out, labels := filepath.Join(dir, "s.csv"), filepath.Join(dir, "l.csv")
	code, _, errOut := runEdge("synth", "-channels", "3", "-days", "2", "-anomalies", "2", "-o", out, "-labels", labels)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	text, _ := os.ReadFile(out)
	ls := lines(string(text))
	if len(ls) != 577 || ls[0] != "time,temp_1,humidity_1,pressure_1" || !strings.HasPrefix(ls[1], "2026-01-01T00:00:00Z,") {
		t.Errorf("%d lines, header %q, first %q", len(ls), ls[0], ls[1])
	}
	lab, _ := os.ReadFile(labels)
	if n := len(lines(string(lab))); n != 5 {
		t.Errorf("%d label lines for 4 anomalies", n)
	}
	// Skipping days continues the same installation.
	code, a, _ := runEdge("synth", "-channels", "2", "-days", "2")
	code2, b, _ := runEdge("synth", "-channels", "2", "-days", "1", "-skip-days", "1")
	if code != 0 || code2 != 0 || lines(a)[289] != lines(b)[1] {
		t.Errorf("skip-days does not continue the readings: %q vs %q", lines(a)[289], lines(b)[1])
	}
}

func TestDemoAndEvalCommands(t *testing.T) {
	dir := t.TempDir()
	small := []string{"-channels", "3", "-train-days", "4", "-test-days", "2", "-epochs", "2", "-latent", "3", "-window", "32", "-hop", "8"}
	code, out, errOut := runEdge(append([]string{"demo", "-q", "-out", dir}, small...)...)
	if code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"denoising", "anomalies", "µs per window", "done in"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"demo.png", "demo.svg", "demo.edge", "demo.int8.edge", "test.csv", "labels.csv"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("demo did not write %s", f)
		}
	}
	// The demo's files work with the other commands.
	if code, _, errOut := runEdge("score", filepath.Join(dir, "demo.int8.edge"), filepath.Join(dir, "test.csv"), "--lenient"); code != 0 {
		t.Errorf("score on the demo's files: exit %d, %s", code, errOut)
	}
	code, out, errOut = runEdge(append([]string{"eval"}, small...)...)
	if code != 0 || !strings.Contains(out, "Savitzky") && !strings.Contains(out, "savitzky-golay") {
		t.Errorf("eval: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = runEdge(append([]string{"eval", "-seeds", "2"}, small...)...)
	if code != 0 || !strings.Contains(out, "worst over 2 seeds") || strings.Count(out, "\n") < 4 {
		t.Errorf("eval -seeds 2: exit %d\n%s\n%s", code, out, errOut)
	}
	if code, _, _ := runEdge("eval", "-seeds", "0"); code != 2 {
		t.Errorf("eval -seeds 0: exit %d", code)
	}
	if code, _, _ := runEdge("demo", "-hop", "0"); code != 2 {
		t.Errorf("demo -hop 0: exit %d", code)
	}
}
