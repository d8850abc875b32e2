package service

import (
	"math"
	"testing"
	"time"
)

// TestAssembler: plain values make rows per device: complete rows at
// once, incomplete ones after the window with the rest missing, a channel
// that comes again starts a new row; ON/OFF and "unavailable" read as 1,
// 0 and missing.
func TestAssembler(t *testing.T) {
	var got []Reading
	a := newAssembler(time.Second, func(r Reading) { got = append(got, r) })
	names := []string{"temp", "hum", "door"}
	t0 := time.Unix(1700000000, 0)
	for _, m := range []struct{ dev, ch, v string }{
		{"a", "temp", "21.5"}, {"b", "temp", "19"}, {"a", "hum", "40"}, {"a", "door", "ON"}, // a complete
		{"b", "temp", "19.5"}, // b: temp again, a new row
		{"b", "hum", "unavailable"},
	} {
		if err := a.add("g", m.dev, names, m.ch, []byte(m.v), t0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 || got[0].Device != "a" || got[0].Values[2] != 1 || got[1].Device != "b" || got[1].Values[0] != 19 || !math.IsNaN(float64(got[1].Values[1])) {
		t.Fatalf("rows %+v", got)
	}
	a.flush(t0.Add(500 * time.Millisecond))
	if len(got) != 2 {
		t.Fatal("a row released before its window")
	}
	a.flush(t0.Add(time.Second))
	if len(got) != 3 || got[2].Values[0] != 19.5 || !math.IsNaN(float64(got[2].Values[1])) || !math.IsNaN(float64(got[2].Values[2])) || got[2].Time != 1700000000 {
		t.Fatalf("the window's row: %+v", got[2:])
	}
	for _, bad := range [][2]string{{"temp", "hot"}, {"other", "1"}, {"temp", "1e999"}} {
		if err := a.add("g", "a", names, bad[0], []byte(bad[1]), t0, 0); err == nil {
			t.Errorf("%s=%s accepted", bad[0], bad[1])
		}
	}
}

// TestRouterValues: ESPHome-style state topics through the router: each
// device's values assembled into its own rows.
func TestRouterValues(t *testing.T) {
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "causal", Topic: "esphome/{device}/sensor/{channel}/state"}},
		MQTT: &MQTTConfig{URL: "mqtt://127.0.0.1:1"}, Input: InputConfig{Format: "value", Assemble: 0.5}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	svc, err := New(cfg, &recorder{}, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	rt := newRouter(cfg, discardLogger())
	rt.start(svc)
	names := svc.Group("site")
	for i := 0; i < 5; i++ {
		for _, dev := range []string{"node-1", "node-2"} {
			for _, n := range names {
				rt.handle(Message{Topic: "esphome/" + dev + "/sensor/" + n + "/state", Payload: []byte("1.25")})
			}
		}
		time.Sleep(5 * time.Millisecond) // rows a sampling period apart; a row is whole long before the window ends
	}
	rt.handle(Message{Topic: "esphome/node-1/sensor/" + names[0] + "/state", Payload: []byte("2")}) // an incomplete row: released by the window
	waitFor(t, 5*time.Second, "the incomplete row", func() bool { return svc.M.In.With("site", "node-1").Value() == 6 })
	rt.handle(Message{Topic: "esphome/node-1/sensor/" + names[1] + "/state", Payload: []byte("3")}) // held when the input stops
	rt.stop()
	svc.Close()
	if n := svc.M.In.With("site", "node-1").Value(); n != 7 {
		t.Errorf("node-1: %d rows, want 7: the row held at shutdown was dropped", n)
	}
	if n := svc.M.In.With("site", "node-2").Value(); n != 5 {
		t.Errorf("node-2: %d rows, want 5", n)
	}
}
