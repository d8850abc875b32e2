package service

import (
	"math"
	"testing"
)

// TestPayloadShapes reads the JSON shapes sensor stacks publish: flat,
// Telegraf's metrics, Tasmota's nested objects, a device field, and
// millisecond timestamps, each to the same reading.
func TestPayloadShapes(t *testing.T) {
	names := []string{"temp", "AM2301.Humidity"}
	for _, c := range []struct {
		what, payload, device string
		temp, hum             float32
		ts                    float64
	}{
		{"flat", `{"ts": 1700000000, "temp": 21.5, "AM2301.Humidity": 40}`, "", 21.5, 40, 1700000000},
		{"ms timestamp", `{"ts": 1700000000250, "temp": 21.5, "AM2301.Humidity": 40}`, "", 21.5, 40, 1700000000.25},
		{"telegraf", `{"fields": {"temp": 21.5, "AM2301.Humidity": 40}, "name": "env", "tags": {"host": "gw1", "device": "esp-7"}, "timestamp": 1700000000}`, "esp-7", 21.5, 40, 1700000000},
		{"tasmota", `{"Time": "2023-11-14T22:13:20", "temp": 21.5, "AM2301": {"Temperature": 19.9, "Humidity": 40}}`, "", 21.5, 40, math.NaN()},
		{"device field", `{"device": "pump-3", "timestamp": "2023-11-14T22:13:20Z", "values": [21.5, 40]}`, "pump-3", 21.5, 40, 1700000000},
	} {
		r, err := ParseJSON([]byte(c.payload), "g", names)
		if err != nil {
			t.Errorf("%s: %v", c.what, err)
			continue
		}
		if r.Values[0] != c.temp || r.Values[1] != c.hum || r.Device != c.device {
			t.Errorf("%s: values %v, device %q; want [%v %v], %q", c.what, r.Values, r.Device, c.temp, c.hum, c.device)
		}
		if !math.IsNaN(c.ts) && (!r.HasTime || math.Abs(r.Time-c.ts) > 1e-6) {
			t.Errorf("%s: time %v (has %v), want %v", c.what, r.Time, r.HasTime, c.ts)
		}
	}
	for _, bad := range []string{
		`{"fields": {"other": 1}}`,                       // none of the channels
		`{"fields": {"temp": "hot"}}`,                    // text for a number
		`{"tags": {"device": 3}, "fields": {"temp": 1}}`, // a tag that is not text
		`{"device": 5, "temp": 1}`,
		`{"AM2301": {"Humidity": {"deeper": 1}}, "temp": 1}`,
	} {
		if _, err := ParseJSON([]byte(bad), "g", names); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}
