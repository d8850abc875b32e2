package service

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// BenchmarkMQTTRoundTrip: readings published to an in-process broker as
// fast as QoS 1 allows, through edge (causal), to a collector: ns per
// reading end to end, with the memory queue (no queue_dir) and with the
// disk queue and the input log (queue_dir set), where results go one at
// a time (each waits for its acknowledgement: at most 1/RTT a second).
func BenchmarkMQTTRoundTrip(b *testing.B) {
	for _, durable := range []bool{false, true} {
		for _, protocol := range []string{"5", "3.1.1"} {
			b.Run(fmt.Sprintf("mqtt%s/durable=%v", protocol, durable), func(b *testing.B) { benchRoundTrip(b, protocol, durable) })
		}
	}
}

func benchRoundTrip(b *testing.B, protocol string, durable bool) {
	port := freePort(b)
	broker := startMochi(b, port)
	defer broker.Close()
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(b), Denoise: "causal"}},
		MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "edge-bench", KeepAlive: 5, SessionExpiry: 3600, Protocol: protocol},
		Metrics: MetricsConfig{Listen: "off"}}
	if durable {
		cfg.MQTT.QueueDir = b.TempDir()
	}
	if err := cfg.Check(); err != nil {
		b.Fatal(err)
	}
	col := newCollector(b, port, "bench-collector")
	_, _, stop := runInProcess(b, cfg)
	time.Sleep(500 * time.Millisecond) // edge subscribes
	rs := readings(b.N+200, b.N+300)   // 200 more: the stream holds its last rows
	pubs := make(chan []byte, 1024)
	go func() {
		for r := range pubs {
			col.publishAsync(r)
		}
	}()
	b.ResetTimer()
	for _, r := range rs {
		pubs <- r
	}
	close(pubs)
	waitFor(b, 120*time.Second, "the rows", func() bool { n, _, _ := col.distinct(); return n >= b.N })
	b.StopTimer()
	stop()
}

// publishAsync queues a reading with QoS 1 without waiting for the
// broker.
func (c *collector) publishAsync(payload []byte) {
	_ = c.cm.PublishViaQueue(context.Background(), &autopaho.QueuePublish{Publish: &paho.Publish{Topic: "edge/site/in", QoS: 1, Payload: payload}})
}
