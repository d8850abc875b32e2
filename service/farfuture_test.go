package service

import (
	"context"
	"strings"
	"testing"
)

// TestFarFutureReading is a row of issue 14's fault table: a reading
// stamped far in the future ({"ts": 1e300}, or the year 2100) among
// normal ones loses no other reading: the two are dropped and counted,
// every other reading is cleaned, in order, in both modes.
func TestFarFutureReading(t *testing.T) {
	for _, mode := range []string{"causal", "centred"} {
		cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: mode}}}
		if err := cfg.Check(); err != nil {
			t.Fatal(err)
		}
		sink := &scoreLog{}
		svc, err := New(cfg, sink, discardLogger())
		if err != nil {
			t.Fatal(err)
		}
		rs := readings(300, 100)
		for i, raw := range rs {
			p := string(raw)
			switch i {
			case 20:
				p = strings.Replace(p, `{"ts":`, `{"ts":1e300,"was":`, 1)
			case 150:
				p = strings.Replace(p, `{"ts":`, `{"ts":4102444800,"was":`, 1)
			}
			r, err := ParseJSON([]byte(p), "site", svc.Group("site"))
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Accept(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
		svc.Close()
		if n := len(sink.lines); n != len(rs)-2 {
			t.Errorf("%s: %d cleaned rows for %d readings, two of them far-future", mode, n, len(rs))
		}
		if d := svc.M.Dropped.Total(); d != 2 {
			t.Errorf("%s: %d dropped, want the 2 far-future readings", mode, d)
		}
		for i := 1; i < len(sink.lines); i++ {
			if sink.lines[i] <= sink.lines[i-1] {
				t.Fatalf("%s: rows out of order at %d", mode, i)
			}
		}
	}
}
