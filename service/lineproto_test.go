package service

import (
	"bytes"
	"context"
	"math"
	"strings"
	"testing"
)

// TestLineProtocol reads the line protocol's forms: tags, escapes, quoted
// strings with commas and spaces, integers, unsigned, booleans, missing
// timestamps, nanosecond and second timestamps; and refuses the broken.
func TestLineProtocol(t *testing.T) {
	names := []string{"temp", "hum", "on"}
	for _, c := range []struct {
		line   string
		vals   [3]float32
		device string
		ts     float64 // NaN: no timestamp
	}{
		{`env,host=gw1,device=esp-7 temp=21.5,hum=40i,on=t 1700000000000000000`, [3]float32{21.5, 40, 1}, "esp-7", 1700000000},
		{`env temp=21.5,hum=40u,on=false`, [3]float32{21.5, 40, 0}, "", math.NaN()},
		{`my\ env,site=hall\,2 note="a, b c",temp=-1e1,hum=3,on=T 1700000000`, [3]float32{-10, 3, 1}, "", 1700000000},
		{`env,device=a\=b temp=1,other="x \" y" 1700000000123`, [3]float32{1, float32(math.NaN()), float32(math.NaN())}, "a=b", 1700000000.123},
	} {
		m, err := parseLine(c.line)
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		r, err := m.reading("g", names, 0)
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		for i, v := range c.vals {
			if r.Values[i] != v && !(math.IsNaN(float64(v)) && math.IsNaN(float64(r.Values[i]))) {
				t.Errorf("%s: values %v, want %v", c.line, r.Values, c.vals)
				break
			}
		}
		if r.Device != c.device {
			t.Errorf("%s: device %q, want %q", c.line, r.Device, c.device)
		}
		if math.IsNaN(c.ts) != !r.HasTime || (r.HasTime && math.Abs(r.Time-c.ts) > 1e-6) {
			t.Errorf("%s: time %v (has %v), want %v", c.line, r.Time, r.HasTime, c.ts)
		}
	}
	for _, bad := range []string{
		``, `env`, `env `, `env temp`, `env temp=`, `,tag=1 temp=1`, `env,tag temp=1`,
		`env temp="unterminated`, `env temp="text"`, `env temp=1.5i`, `env temp=1iu`, `env temp=abc`,
		`env other=1`, `env temp=1 17000000000x`, `env temp=1e999`,
	} {
		m, err := parseLine(bad)
		if err == nil {
			_, err = m.reading("g", names, 0)
		}
		if err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// TestInfluxInput runs the service on line protocol from stdin, as
// Telegraf's outputs.file or execd would write it: every line a reading
// of the device its tag names.
func TestInfluxInput(t *testing.T) {
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "causal"}},
		Input: InputConfig{Format: "influx"}, Metrics: MetricsConfig{Listen: "off"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	rs := readings(30, 5)
	for i, raw := range rs {
		// the JSON readings as line protocol: channels are fields
		line := strings.NewReplacer(`{"ts":`, "", `"`, "", ":", "=").Replace(string(raw))
		ts, fields, _ := strings.Cut(strings.TrimSuffix(line, "}"), ",")
		dev := []string{"a", "b"}[i%2]
		in.WriteString("sensors,device=" + dev + " " + fields + " " + ts + "000000000\n")
	}
	in.WriteString("sensors,device=a broken\n")
	var out bytes.Buffer
	if err := Run(context.Background(), cfg, Options{Stdin: &in, Stdout: &out, Log: discardLogger()}); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		for _, d := range []string{"a", "b"} {
			if strings.Contains(l, `"device":"`+d+`"`) {
				got[d]++
			}
		}
	}
	if got["a"] != 15 || got["b"] != 15 {
		t.Errorf("cleaned rows per device %v, want 15 each:\n%.600s", got, out.String())
	}
}

func FuzzLineProtocol(f *testing.F) {
	for _, s := range []string{
		`env,host=gw1,device=esp-7 temp=21.5,hum=40i,on=t 1700000000000000000`,
		`my\ env,site=hall\,2 note="a, b c",temp=-1e1 1700000000`,
		`env temp=1,other="x \" y"`,
		`env temp="unterminated`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		m, err := parseLine(line)
		if err != nil {
			return
		}
		if m.name == "" || len(m.fields) == 0 {
			t.Fatalf("%q parsed without a name or fields: %+v", line, m)
		}
		r, err := m.reading("g", []string{"temp", "hum"}, 0)
		if err == nil && len(r.Values) != 2 {
			t.Fatal("wrong number of values")
		}
	})
}

// TestRouterInflux: an MQTT message of line protocol (a batch from
// Telegraf's outputs.mqtt) gives one reading per line, of the device the
// topic names (over the lines' device tag); a message with one bad line
// is rejected whole and counted.
func TestRouterInflux(t *testing.T) {
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "causal", Topic: "sensors/{device}/env"}},
		MQTT: &MQTTConfig{URL: "mqtt://127.0.0.1:1"}, Input: InputConfig{Format: "influx"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, &recorder{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	rt := newRouter(cfg, discardLogger())
	rt.start(svc)
	rt.handle(Message{Topic: "sensors/esp-1/env", Payload: []byte("env,device=other temp_1=1,humidity_1=2 1700000000000000000\nenv temp_1=1.5,humidity_1=2 1700000001000000000\n")})
	rt.handle(Message{Topic: "sensors/esp-1/env", Payload: []byte("env temp_1=1 1700000002000000000\nenv temp_1=oops 1700000003000000000")})
	rt.handle(Message{Topic: "elsewhere/esp-1/env", Payload: []byte("env temp_1=1")})
	svc.Close()
	if n := svc.M.In.With("site", "esp-1").Value(); n != 2 {
		t.Errorf("esp-1: %d readings, want 2", n)
	}
	if n := svc.M.In.With("site", "other").Value(); n != 0 {
		t.Errorf("the tag's device got %d readings: the topic's should win", n)
	}
	if n := svc.M.Invalid.Total(); n != 2 {
		t.Errorf("%d invalid messages, want 2 (a bad line, an unknown topic)", n)
	}
}
