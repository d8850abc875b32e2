package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// recorder is a Sink that keeps every result.
type recorder struct {
	mu  sync.Mutex
	got map[string][][]byte // topic -> payloads
}

func (r *recorder) Publish(topic string, payload []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string][][]byte{}
	}
	r.got[topic] = append(r.got[topic], append([]byte(nil), payload...))
	return nil
}

func (r *recorder) count(topic string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got[topic])
}

// TestDevicesOverMQTT is the case: three devices publishing 20
// readings each on sensors/+/readings. Each device gets its own stream:
// 20 cleaned rows each, on its own topic and naming it, none merged or
// dropped, and the series of each in the metrics.
func TestDevicesOverMQTT(t *testing.T) {
	port := freePort(t)
	broker := startMochi(t, port)
	defer broker.Close()
	cfg := &Config{
		Groups:  []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "centred", Topic: "sensors/+/readings"}},
		MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "edge-devices", KeepAlive: 5, SessionExpiry: 3600},
		Output:  OutputConfig{CleanTopic: "edge/{group}/{device}/clean"},
		Metrics: MetricsConfig{Listen: "off"},
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var svc *Service
	var mu sync.Mutex
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Options{Log: discardLogger(), Ready: func(s *Service, _ string) { mu.Lock(); svc = s; mu.Unlock() }})
	}()
	waitFor(t, 10*time.Second, "the service", func() bool { mu.Lock(); defer mu.Unlock(); return svc != nil })
	got := map[string]map[float64]int{} // device -> ts -> rows
	var gmu sync.Mutex
	u, _ := url.Parse(fmt.Sprintf("mqtt://127.0.0.1:%d", port))
	cm, err := autopaho.NewConnection(context.Background(), autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 5,
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go cm.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "edge/site/+/clean", QoS: 1}}})
		},
		ClientConfig: paho.ClientConfig{ClientID: "devices-collector", OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				var v struct {
					Device string  `json:"device"`
					TS     float64 `json:"ts"`
				}
				json.Unmarshal(pr.Packet.Payload, &v)
				topicDev := strings.Split(pr.Packet.Topic, "/")[2]
				gmu.Lock()
				defer gmu.Unlock()
				if v.Device != topicDev {
					t.Errorf("a row of device %q on %s", v.Device, pr.Packet.Topic)
				}
				if got[v.Device] == nil {
					got[v.Device] = map[float64]int{}
				}
				got[v.Device][v.TS]++
				return true, nil
			}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Disconnect(context.Background())
	if err := cm.AwaitConnection(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	devices := []string{"esp-a", "esp-b", "esp-c"}
	rs := readings(20, 5)
	for i, r := range rs { // interleaved, as devices publish
		for _, d := range devices {
			if _, err := cm.Publish(ctx, &paho.Publish{Topic: "sensors/" + d + "/readings", QoS: 1, Payload: r}); err != nil {
				t.Fatalf("reading %d of %s: %v", i, d, err)
			}
		}
	}
	waitFor(t, 20*time.Second, "every reading", func() bool { return svc.M.In.Total() == 60 })
	if n := svc.M.Devices.With("site").Value(); n != 3 {
		t.Errorf("edge_devices %v, want 3", n)
	}
	for _, d := range devices {
		if v := svc.M.In.With("site", d).Value(); v != 20 {
			t.Errorf("edge_readings_in_total for %s: %d", d, v)
		}
	}
	cancel() // the drain flushes the rows centred denoising holds back
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 20*time.Second, "every device's cleaned rows", func() bool {
		gmu.Lock()
		defer gmu.Unlock()
		n := 0
		for _, m := range got {
			n += len(m)
		}
		return n == 60
	})
	gmu.Lock()
	for _, d := range devices {
		if len(got[d]) != 20 {
			t.Errorf("device %s: %d cleaned rows, want 20", d, len(got[d]))
		}
	}
	if len(got) != 3 {
		t.Errorf("rows for devices %v, want the three", got)
	}
	gmu.Unlock()
}

// TestDeviceLimitsAndExpiry: a group refuses readings of devices beyond
// max_devices (counted), and ends the stream of a device idle for
// device_idle, flushing its last rows (centred mode holds some back).
func TestDeviceLimitsAndExpiry(t *testing.T) {
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "centred", MaxDevices: 3, DeviceIdle: 0.3}}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	svc, err := New(cfg, rec, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	rs := readings(40, 5)
	for _, d := range []string{"a", "b", "c", "d"} { // "" is the third stream
		for _, raw := range rs {
			r, err := ParseJSON(raw, "site", svc.Group("site"))
			if err != nil {
				t.Fatal(err)
			}
			r.Device = d
			if err := svc.Accept(context.Background(), r); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, 10*time.Second, "the idle devices to expire", func() bool { return svc.M.Expired.With("site").Value() >= 2 })
	if n := rec.count("edge/site/clean"); n != 80 {
		t.Errorf("%d cleaned rows after the two admitted devices expired, want 80 (40 each, the held-back tail flushed)", n)
	}
	if v := svc.M.Refused.With("site").Value(); v != 80 {
		t.Errorf("edge_devices_refused_total %d, want 80 (devices c and d)", v)
	}
	svc.Close()
}
