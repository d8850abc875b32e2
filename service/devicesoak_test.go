package service

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// TestDeviceSoak is issue 14's fleet benchmark: 100 devices publish 8
// channels at 10 Hz each on sensors/{device}/readings, one wildcard
// group denoises (causal) and scores every device in its own stream, for
// EDGE_DEVICE_SOAK_SECONDS (default 600). Broker (embedded mochi),
// publishers, collector and edge share this process; run it on one core
// (taskset -c 0 go test -cpu 1, as bench/devicesoak.sh does). It reports
// readings/s, the publish-to-cleaned-row latency percentiles and the
// resident memory over time, and fails if a device's rows are missing,
// merged into another's stream, or memory grows after the first minute.
func TestDeviceSoak(t *testing.T) {
	if os.Getenv("EDGE_DEVICE_SOAK") == "" {
		t.Skip("SKIPPED: the 100-device soak benchmark runs with EDGE_DEVICE_SOAK=1 (bench/devicesoak.sh): 10 minutes")
	}
	secs := 600
	if v, err := strconv.Atoi(os.Getenv("EDGE_DEVICE_SOAK_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	const devices, hz = 100, 10
	port := freePort(t)
	broker := startMochi(t, port)
	defer broker.Close()
	model, names := soakModel(t)
	cfg := &Config{
		Groups:  []GroupConfig{{Name: "site", Model: model, Denoise: "causal", Score: true, Topic: "sensors/{device}/readings"}},
		MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "edge-soak", KeepAlive: 30, SessionExpiry: 3600},
		Output:  OutputConfig{CleanTopic: "edge/{group}/{device}/clean"},
		Metrics: MetricsConfig{Listen: "off"},
		Queue:   1 << 16,
	}
	if os.Getenv("EDGE_DEVICE_SOAK_DURABLE") != "" { // the input log and the disk queue, as under systemd
		cfg.MQTT.QueueDir = t.TempDir()
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var svc *Service
	var mu sync.Mutex
	go func() {
		done <- Run(ctx, cfg, Options{Log: discardLogger(), Ready: func(s *Service, _ string) { mu.Lock(); svc = s; mu.Unlock() }})
	}()
	waitFor(t, 10*time.Second, "the service", func() bool { mu.Lock(); defer mu.Unlock(); return svc != nil })
	col := newSoakCollector(t, port)
	pubs := make([]*autopaho.ConnectionManager, 10)
	for i := range pubs {
		pubs[i] = testClient(t, port, fmt.Sprintf("pub-%d", i), 30, nil, nil)
	}
	start := time.Now()
	var rss []int
	stopRSS := make(chan struct{})
	go func() {
		tk := time.NewTicker(10 * time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stopRSS:
				return
			case <-tk.C:
				mu.Lock()
				rss = append(rss, rssKB())
				mu.Unlock()
			}
		}
	}()
	sent := publishDevices(ctx, t, pubs, names, devices, hz, time.Duration(secs)*time.Second)
	elapsed := time.Since(start)
	waitFor(t, 60*time.Second, "every reading's cleaned row", func() bool { return col.rows() == sent })
	close(stopRSS)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	col.report(t, devices, sent, elapsed, rss)
}

// publishDevices publishes each device's readings at hz for d, spread
// over the clients, and returns how many it sent.
func publishDevices(ctx context.Context, t *testing.T, pubs []*autopaho.ConnectionManager, names []string, devices, hz int, d time.Duration) int {
	tick := time.NewTicker(time.Second / time.Duration(hz))
	defer tick.Stop()
	end := time.Now().Add(d)
	sent, step := 0, 0
	for now := range tick.C {
		if now.After(end) {
			break
		}
		for dev := 0; dev < devices; dev++ {
			var b strings.Builder
			fmt.Fprintf(&b, `{"ts":%.6f`, float64(time.Now().UnixNano())/1e9)
			for c, n := range names {
				fmt.Fprintf(&b, `,%q:%.4f`, n, float64((step+c*7+dev)%50)/50)
			}
			b.WriteByte('}')
			p := &paho.Publish{Topic: fmt.Sprintf("sensors/dev-%03d/readings", dev), QoS: 1, Payload: []byte(b.String())}
			if err := pubs[dev%len(pubs)].PublishViaQueue(ctx, &autopaho.QueuePublish{Publish: p}); err != nil {
				t.Fatalf("publish: %v", err)
			}
			sent++
		}
		step++
	}
	return sent
}

// soakCollector records, per device, the cleaned rows, and their latency
// in a fixed histogram (0.1 ms buckets up to 2 s), so that the harness's
// own memory does not grow with the run.
type soakCollector struct {
	mu      sync.Mutex
	perDev  map[string]int
	lat     [20000]int
	n       int
	max     float64
	foreign int // rows whose payload names another device than their topic
}

func newSoakCollector(t *testing.T, port int) *soakCollector {
	c := &soakCollector{perDev: map[string]int{}}
	testClient(t, port, "soak-collector", 30, []string{"edge/site/+/clean"}, func(topic string, payload []byte) {
		now := float64(time.Now().UnixNano()) / 1e9
		var v struct {
			Device string  `json:"device"`
			TS     float64 `json:"ts"`
		}
		json.Unmarshal(payload, &v)
		c.mu.Lock()
		defer c.mu.Unlock()
		if strings.Split(topic, "/")[2] != v.Device {
			c.foreign++
		}
		c.perDev[v.Device]++
		d := now - v.TS
		c.lat[min(len(c.lat)-1, max(0, int(d*1e4)))]++
		c.n++
		c.max = max(c.max, d)
	})
	return c
}

func (c *soakCollector) rows() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func (c *soakCollector) report(t *testing.T, devices, sent int, elapsed time.Duration, rss []int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := func(p float64) float64 { // upper edge of the bucket holding quantile p, in ms
		want, cum := int(p*float64(c.n)), 0
		for i, k := range c.lat {
			if cum += k; cum > want {
				return float64(i+1) / 10
			}
		}
		return c.max * 1000
	}
	t.Logf("%d devices, %d readings in %.0f s: %.0f readings/s; latency publish -> cleaned row p50 %.2f ms, p90 %.2f, p99 %.2f, max %.2f; RSS every 10 s (kB): %v",
		devices, sent, elapsed.Seconds(), float64(sent)/elapsed.Seconds(), q(0.5), q(0.9), q(0.99), c.max*1000, rss)
	if len(c.perDev) != devices || c.foreign != 0 {
		t.Errorf("rows for %d devices (want %d), %d on another device's topic", len(c.perDev), devices, c.foreign)
	}
	per := sent / devices
	for d, n := range c.perDev {
		if n != per {
			t.Errorf("device %s: %d cleaned rows, want %d", d, n, per)
		}
	}
	if len(rss) > 7 {
		base, last := slices.Max(rss[:7]), rss[len(rss)-1]
		if float64(last) > 1.2*float64(base) {
			t.Errorf("resident memory grew from %d kB (first minute's peak) to %d kB", base, last)
		}
	}
}
