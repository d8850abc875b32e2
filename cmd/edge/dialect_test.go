package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeml/edge/model"
)

// dialect rewrites csvText(rows) (timestamp,temp,load; one row a minute
// from 1700000000) in the style of a real file.
func dialect(rows int, kind string) string {
	ls := lines(csvText(rows))
	var b strings.Builder
	for i, l := range ls {
		f := strings.Split(l, ",")
		if i > 0 {
			switch kind {
			case "ms":
				f[0] += "000"
			case "offset":
				var sec int64
				fmt.Sscan(f[0], &sec)
				f[0] = time.Unix(sec, 0).In(time.FixedZone("", 3600)).Format("2006-01-02 15:04:05") + "+01:00"
			case "semicolon":
				f[1], f[2] = strings.Replace(f[1], ".", ",", 1), strings.Replace(f[2], ".", ",", 1)
			}
		}
		sep := ","
		switch kind {
		case "semicolon":
			sep = ";"
		case "tab":
			sep = "\t"
		}
		b.WriteString(strings.Join(f, sep) + "\n")
	}
	switch kind {
	case "bom":
		return "\uFEFF" + b.String()
	case "preamble":
		return "Logger XT-200 export\nsite;north;serial 42\n" + b.String()
	case "label":
		return strings.Replace(strings.ReplaceAll(b.String(), "\n", ",0\n"), "load,0\n", "load,label\n", 1)
	}
	return b.String()
}

// TestTrainDialects: edge train reads each dialect into the same two
// channels, with one note per guess and nothing misread.
func TestTrainDialects(t *testing.T) {
	cases := []struct {
		kind  string
		args  []string
		notes []string
	}{
		{"plain", nil, []string{"time column timestamp: seconds (guessed from 1700000000"}},
		{"bom", nil, []string{"time column timestamp"}},
		{"semicolon", nil, []string{"fields separated by ';' (detected", "decimal commas read as decimal points"}},
		{"tab", nil, []string{"fields separated by tabs"}},
		{"preamble", []string{"--skip-rows", "2"}, nil},
		{"offset", nil, nil},
		{"ms", nil, []string{"time column timestamp: epoch milliseconds (guessed from 1700000000000; --time-unit to set)"}},
		{"label", nil, []string{"left out the label-like column label"}},
		{"semicolon", []string{"--delimiter", ";", "--time-unit", "s"}, nil},
	}
	for _, c := range cases {
		data := write(t, c.kind+".csv", dialect(300, c.kind))
		out := filepath.Join(t.TempDir(), "m.edge")
		args := append([]string{"train", "-q", "--data", data, "-o", out, "--window", "16", "--epochs", "1", "--hidden", "8", "--latent", "2"}, c.args...)
		code, stdout, stderr := runEdge(args...)
		if code != 0 {
			t.Errorf("%s %v: exit %d: %s", c.kind, c.args, code, stderr)
			continue
		}
		m, err := model.Load(out)
		if err != nil || strings.Join(m.ChannelNames, ",") != "temp,load" || m.Provenance["rows"] != "300" {
			t.Errorf("%s: channels %v, rows %s, %v", c.kind, m.ChannelNames, m.Provenance["rows"], err)
		}
		for _, want := range c.notes {
			if !strings.Contains(stderr, "edge train: ") || !strings.Contains(stderr, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", c.kind, want, stderr)
			}
		}
		if strings.Contains(stderr, "dropped") || !strings.Contains(stdout, "300 rows x 2 channels") && !strings.Contains(stderr, "300 rows x 2 channels") {
			t.Errorf("%s: rows dropped or not all read:\n%s\n%s", c.kind, stdout, stderr)
		}
	}
}

// withRows returns csvText(n) with extra rows inserted before data row at.
func withRows(n, at int, rows ...string) string {
	ls := lines(csvText(n))
	out := append(append(append([]string{}, ls[:at+1]...), rows...), ls[at+1:]...)
	return strings.Join(out, "\n") + "\n"
}

// TestTrainTimestampPolicy: a row going back, a far-future one and a
// missing time no longer stop edge train or edge quantize: they are
// dropped and counted.
func TestTrainTimestampPolicy(t *testing.T) {
	data := write(t, "back.csv", withRows(300, 150, "1700000060,99,99", "4070908800,99,99", ",99,99"))
	out := filepath.Join(t.TempDir(), "m.edge")
	code, _, stderr := runEdge("train", "-q", "--data", data, "-o", out, "--window", "16", "--epochs", "1", "--hidden", "8", "--latent", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{"300 rows kept", "1 rows dropped for a timestamp going back", "1 rows dropped for a far-future timestamp",
		"1 rows dropped for a missing or impossible timestamp; the first dropped at line 152"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	m, _ := model.Load(out)
	if m == nil || m.Provenance["rows"] != "300" {
		t.Fatalf("model trained on %v rows", m)
	}
	code, _, stderr = runEdge("quantize", out, "--calib", data)
	if code != 0 || !strings.Contains(stderr, "edge quantize: ") || !strings.Contains(stderr, "1 rows dropped for a timestamp going back") {
		t.Errorf("quantize: exit %d: %s", code, stderr)
	}
	fm, _, _ := models(t)
	code, _, stderr = runEdge("calibrate", fm, "--data", data, "-o", filepath.Join(t.TempDir(), "c.edge"))
	if code != 0 || !strings.Contains(stderr, "edge calibrate: ") || !strings.Contains(stderr, "far-future") {
		t.Errorf("calibrate: exit %d: %s", code, stderr)
	}
}

// TestStreamDialects: edge score and edge denoise read the dialects and
// write times back in the input's format.
func TestStreamDialects(t *testing.T) {
	_, qm, _ := models(t)
	for _, kind := range []string{"bom", "semicolon", "tab", "ms", "offset", "label"} {
		path := write(t, kind+".csv", dialect(200, kind))
		code, out, errOut := runEdge("denoise", qm, path)
		if code != 0 {
			t.Errorf("denoise %s: exit %d: %s", kind, code, errOut)
			continue
		}
		ls := lines(out)
		first := map[string]string{"ms": "1700000000000,", "offset": "2023-11-14 23:13:20+01:00,"}[kind]
		if first == "" {
			first = "1700000000,"
		}
		if len(ls) != 201 || ls[0] != "timestamp,temp,load,imputed" || !strings.HasPrefix(ls[1], first) {
			t.Errorf("denoise %s: %d lines, header %q, first row %q (want it to start %q)", kind, len(ls), ls[0], ls[1], first)
		}
		code, out, errOut = runEdge("score", qm, path)
		if ls = lines(out); code != 0 || len(ls)-1 != 200 || !strings.HasPrefix(ls[len(ls)-1], strings.Split(lines(dialect(200, kind))[200], delimiterOf(kind))[0]+",") {
			t.Errorf("score %s: exit %d, %d rows, last %q: %s", kind, code, len(ls)-1, ls[len(ls)-1], errOut)
		}
	}
	// A forced unit: relative milliseconds, which the guess reads as seconds.
	rel := "timestamp,temp,load\n"
	for i := 0; i < 100; i++ {
		rel += fmt.Sprintf("%d,%g,%g\n", 60000*i, 20+sin(float64(i)/15.3), abs(sin(float64(i)/3.66)))
	}
	path := write(t, "rel.csv", rel)
	code, out, errOut := runEdge("denoise", qm, path, "--time-unit", "ms", "--format", "jsonl")
	if code != 0 || !strings.Contains(lines(out)[1], `"time":60000,`) || strings.Contains(errOut, "guessed") {
		t.Errorf("--time-unit ms: exit %d, %q, %s", code, lines(out)[1], errOut)
	}
	for _, bad := range [][]string{{"--time-unit", "h"}, {"--delimiter", "ab"}, {"--skip-rows", "-1"}} {
		if code, _, errOut := runEdge(append([]string{"score", qm, path}, bad...)...); code != 2 || !strings.Contains(errOut, bad[0]) {
			t.Errorf("%v: exit %d, %s", bad, code, errOut)
		}
	}
}

// TestStreamTimestampPolicy: a far-future row in the middle costs only
// itself, and 200 small gaps are bridged without a restart.
func TestStreamTimestampPolicy(t *testing.T) {
	_, qm, _ := models(t)
	far := write(t, "far.csv", withRows(300, 150, "4070908800,20,0.5"))
	code, out, errOut := runEdge("denoise", qm, far)
	if code != 3 || len(lines(out))-1 != 300 || !strings.Contains(errOut, "1 rows dropped for a far-future timestamp (the next row went back before it); the first dropped at line 152") {
		t.Errorf("a far-future row: exit %d, %d rows, %s", code, len(lines(out))-1, errOut)
	}
	if code, _, _ := runEdge("denoise", qm, far, "--lenient"); code != 0 {
		t.Errorf("--lenient: exit %d", code)
	}
	code, _, errOut = runEdge("plot", qm, far, "-o", filepath.Join(t.TempDir(), "far.svg"))
	if code != 0 || !strings.Contains(errOut, "edge plot: ") || !strings.Contains(errOut, "1 rows dropped for a far-future timestamp") {
		t.Errorf("plot: exit %d, %s", code, errOut)
	}
	// One row a minute, with 200 gaps of 3 or 5 minutes.
	var b strings.Builder
	b.WriteString("timestamp,temp,load\n")
	tm := 1700000000
	for i := 0; i < 2000; i++ {
		fmt.Fprintf(&b, "%d,%.4f,%.4f\n", tm, 20+3*sin(float64(i)/15.3)+noiseAt(i), abs(sin(float64(i)/3.66))-noiseAt(i))
		tm += 60
		if i%10 == 5 {
			tm += 60 * (1 + i%4)
		}
	}
	irregular := write(t, "irregular.csv", b.String())
	code, out, errOut = runEdge("score", qm, irregular)
	if code != 0 || len(lines(out))-1 != 2000 || !strings.Contains(errOut, "200 time gaps bridged") || strings.Contains(errOut, "restarted") {
		t.Errorf("irregular sampling: exit %d, %d rows, %s", code, len(lines(out))-1, errOut)
	}
	code, _, errOut = runEdge("score", qm, irregular, "--max-gap", "3")
	if code != 0 || !strings.Contains(errOut, "100 time gaps bridged") || !strings.Contains(errOut, "100 outages longer than 3 sampling periods (the stream restarted after each)") {
		t.Errorf("--max-gap 3: exit %d, %s", code, errOut)
	}
}

// TestWatchDialects: edge watch leaves label columns out and learns a
// duration of epoch-millisecond rows as a duration.
func TestWatchDialects(t *testing.T) {
	path := write(t, "label.csv", dialect(600, "label"))
	code, out, errOut := runEdge("watch", "--learn", "400", path, "--epochs", "1")
	if code != 0 || !strings.Contains(errOut, "left out the label-like column label") || !strings.Contains(errOut, "(temp, load) to learn from") {
		t.Errorf("labels: exit %d: %s", code, errOut)
	}
	if ls := lines(out); ls[0] != "timestamp,line,score,p,flag,onset,event,event_line,top,spe,peak,range,smooth,change,share_temp,share_load" {
		t.Errorf("header %q", ls[0])
	}
	ms := write(t, "ms.csv", dialect(600, "ms"))
	code, _, errOut = runEdge("watch", "--learn", "3h", ms, "--epochs", "1")
	if code != 0 || !strings.Contains(errOut, "collected 181 rows") || !strings.Contains(errOut, "epoch milliseconds (guessed") {
		t.Errorf("--learn 3h on epoch milliseconds: exit %d: %s", code, errOut)
	}
	// A row going back in the learning period is dropped and counted.
	back := write(t, "back.csv", withRows(600, 100, "1700000060,99,99"))
	code, _, errOut = runEdge("watch", "--learn", "300", back, "--epochs", "1")
	if code != 3 || !strings.Contains(errOut, "1 rows dropped for a timestamp going back") {
		t.Errorf("a row going back while learning: exit %d: %s", code, errOut)
	}
}

// TestModelMaxGap: a model trained across a 250-period outage bridges a
// 200-period one; the default (100 periods) would restart after it.
func TestModelMaxGap(t *testing.T) {
	outage := func(n, at int, periods int) string {
		ls := lines(csvText(n))
		for i := at + 1; i < len(ls); i++ {
			f := strings.SplitN(ls[i], ",", 2)
			var sec int
			fmt.Sscan(f[0], &sec)
			ls[i] = fmt.Sprintf("%d,%s", sec+60*(periods-1), f[1])
		}
		return strings.Join(ls, "\n") + "\n"
	}
	data := write(t, "outage.csv", outage(400, 200, 250))
	out := filepath.Join(t.TempDir(), "m.edge")
	if code, _, stderr := runEdge("train", "-q", "--data", data, "-o", out, "--window", "16", "--epochs", "1", "--hidden", "8", "--latent", "2"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	m, err := model.Load(out)
	tr, _, terr := model.TrainingSection.Get(m)
	if err != nil || terr != nil || tr.Period != 60 || tr.MaxGap != 250 {
		t.Fatalf("training settings %+v, %v, %v", tr, err, terr)
	}
	test := write(t, "test.csv", outage(300, 100, 200))
	code, _, errOut := runEdge("score", out, test)
	if code != 0 || !strings.Contains(errOut, "1 time gaps bridged") || strings.Contains(errOut, "restarted") {
		t.Errorf("a model that saw 250-period gaps: exit %d, %s", code, errOut)
	}
	_, qm, _ := models(t) // trained on regular rows: the default applies
	code, _, errOut = runEdge("score", qm, test)
	if code != 0 || !strings.Contains(errOut, "1 outages longer than 100 sampling periods") {
		t.Errorf("a model that saw no gaps: exit %d, %s", code, errOut)
	}
}

// delimiterOf returns the delimiter dialect(…, kind) writes.
func delimiterOf(kind string) string {
	switch kind {
	case "semicolon":
		return ";"
	case "tab":
		return "\t"
	}
	return ","
}
