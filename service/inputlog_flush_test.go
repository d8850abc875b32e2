package service

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"context"

	"github.com/eclipse/paho.golang/paho"
)

// TestInputLogFlushesSilentDevice: a device that stops sending keeps its
// last readings (held by its centred denoiser) in the input log, and the
// log grows with the other devices' messages; past half of input_bytes,
// edge flushes the silent device's stream (its held rows come out, as at
// device_idle) and the log lets go of them.
func TestInputLogFlushesSilentDevice(t *testing.T) {
	port := freePort(t)
	broker := startMochi(t, port)
	defer broker.Close()
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "centred", Topic: "sensors/{device}/readings"}},
		MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "edge-flush", KeepAlive: 5, SessionExpiry: 3600, QueueDir: t.TempDir(), InputBytes: 64 << 10},
		Output:  OutputConfig{CleanTopic: "edge/{group}/{device}/clean"},
		Metrics: MetricsConfig{Listen: "off"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	rows := map[string]int{}
	testClient(t, port, "flush-collector", 5, []string{"edge/site/+/clean"}, func(topic string, _ []byte) {
		mu.Lock()
		rows[strings.Split(topic, "/")[2]]++
		mu.Unlock()
	})
	svc, _, stop := runInProcess(t, cfg)
	defer stop()
	time.Sleep(300 * time.Millisecond) // edge subscribes
	pub := testClient(t, port, "flush-publisher", 5, nil, nil)
	send := func(dev string, r []byte) {
		if _, err := pub.Publish(context.Background(), &paho.Publish{Topic: "sensors/" + dev + "/readings", QoS: 1, Payload: r}); err != nil {
			t.Fatal(err)
		}
	}
	rs := readings(1200, 1100)
	for _, r := range rs[:100] {
		send("quiet", r)
	}
	for _, r := range rs[100:] { // about 110 KB of the other device's messages
		send("busy", r)
		time.Sleep(2 * time.Millisecond)
	}
	waitFor(t, 20*time.Second, "the silent device flushed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return svc().M.LogFlushes.Value() >= 1 && rows["quiet"] == 100
	})
	waitFor(t, 10*time.Second, "the log under half its bound", func() bool { return svc().M.LogBytes.Value() < float64(cfg.MQTT.InputBytes)/2 })
}
