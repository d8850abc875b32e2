package main

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"
)

func TestRunCommandStdin(t *testing.T) {
	_, qm, _ := models(t)
	old := stdin
	defer func() { stdin = old }()
	text := csvText(300)
	stdin = strings.NewReader(text + "not,a,row\n")
	code, out, errOut := runEdge("run", "--model", qm, "--denoise", "causal", "--score", "--format", "csv", "--columns", "ts,temp,load", "--metrics", "off", "--log-level", "warn")
	if code != 0 {
		t.Fatalf("edge run: exit %d: %s", code, errOut)
	}
	clean := 0
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var r struct {
			Topic   string          `json:"topic"`
			Payload json.RawMessage `json:"payload"`
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("output %q: %v", sc.Text(), err)
		}
		if strings.HasSuffix(r.Topic, "/clean") {
			clean++
		}
	}
	if clean != 300 {
		t.Errorf("%d cleaned rows for 300 readings", clean)
	}
	if !strings.Contains(errOut, "malformed reading rejected") || !strings.Contains(errOut, "line=302") {
		t.Errorf("the bad line is not reported with its line: %s", errOut)
	}
	// A semicolon file in epoch milliseconds, with a far-future row.
	var b strings.Builder
	for i, l := range lines(dialect(300, "semicolon")) {
		if i > 0 {
			l = strings.Replace(l, ";", "000;", 1) // seconds to milliseconds
		}
		if i == 150 {
			b.WriteString("4070908800000;1;1\n")
		}
		b.WriteString(l + "\n")
	}
	stdin = strings.NewReader(b.String())
	code, out, errOut = runEdge("run", "--model", qm, "--denoise", "centred", "--format", "csv", "--columns", "ts,temp,load", "--metrics", "off", "--log-level", "warn")
	if n := strings.Count(out, "/clean"); code != 0 || n != 300 || !strings.Contains(errOut, "reading dropped: a far-future timestamp") || strings.Contains(errOut, "malformed") {
		t.Errorf("a semicolon file in epoch ms: exit %d, %d cleaned rows: %s", code, n, errOut)
	}
	if code, _, e := runEdge("run", "--model", qm, "--denoise", "causal", "--time-unit", "h"); code != 2 || !strings.Contains(e, "time_unit") {
		t.Errorf("bad --time-unit: exit %d: %s", code, e)
	}
	if code, _, _ := runEdge("run"); code != 2 {
		t.Errorf("edge run without --config or --model: exit %d", code)
	}
	if code, _, e := runEdge("run", "--config", "/nonexistent/edge.json"); code != 1 || !strings.Contains(e, "edge.json") {
		t.Errorf("missing config: exit %d: %s", code, e)
	}
	if code, _, _ := runEdge("run", "--model", qm, "--denoise", "sideways"); code != 2 {
		t.Errorf("bad --denoise: exit %d", code)
	}
}
