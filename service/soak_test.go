package service

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

// rssKB reads the resident set size from /proc (0 elsewhere).
func rssKB() int {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// soakModel learns an 8-channel int8 model with a threshold.
func soakModel(t *testing.T) (string, []string) {
	g, _ := synth.New(synth.Config{Channels: 8, Seed: 9, Linear: true})
	b, _ := learn.NewBuffer(g.Names(), 6000, 0)
	clean, obs := make([]float32, 8), make([]float32, 8)
	for !b.Full() {
		g.Next(clean, obs)
		b.Add(stream.Row{Values: obs})
	}
	m, _, err := b.Fit(learn.Options{Train: train.Config{Epochs: 2, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "soak.edge")
	if err := m.Save(p); err != nil {
		t.Fatal(err)
	}
	return p, g.Names()
}

type countSink struct{ n atomic.Int64 }

func (c *countSink) Publish(string, []byte) error { c.n.Add(1); return nil }

// TestSoak pushes an hour of 8-channel readings at 100 Hz (360,000) through
// the service as fast as it goes, in process and over MQTT (the embedded
// broker), and reports throughput, resident memory and
// goroutines. It is a benchmark: set EDGE_SOAK=1 (bench/soak.sh) to run it.
func TestSoak(t *testing.T) {
	if os.Getenv("EDGE_SOAK") == "" {
		t.Skip("SKIPPED: the soak benchmark runs with EDGE_SOAK=1 (bench/soak.sh): about a minute")
	}
	n := 360000
	if v, err := strconv.Atoi(os.Getenv("EDGE_SOAK_READINGS")); err == nil && v > 0 {
		n = v
	}
	path, names := soakModel(t)
	g, _ := synth.New(synth.Config{Channels: 8, Seed: 10, Linear: true})
	clean, obs := make([]float32, 8), make([]float32, 8)
	next := func(i int) Reading {
		g.Next(clean, obs)
		v := make([]float32, 8)
		copy(v, obs)
		return Reading{Group: "soak", Time: float64(i) / 100, HasTime: true, Values: v}
	}
	cfg := &Config{Groups: []GroupConfig{{Name: "soak", Model: path, Denoise: "causal", Score: true}}, Metrics: MetricsConfig{Listen: "off"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	// In process: Accept -> denoise + score -> JSON results -> a sink.
	runtime.GC()
	g0 := runtime.NumGoroutine()
	sink := &countSink{}
	s, err := New(cfg, sink, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	warm := n / 20
	var rss0 int
	var start time.Time
	for i := 0; i < n; i++ {
		if i == warm {
			runtime.GC()
			rss0, start = rssKB(), time.Now()
		}
		if err := s.Accept(ctx, next(i)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	el := time.Since(start)
	runtime.GC()
	rss1 := rssKB()
	g1 := runtime.NumGoroutine()
	t.Logf("in process: %d readings (8 channels, denoise causal + score) in %.2fs after warm-up: %.0f readings/s; RSS %d -> %d KB; goroutines %d -> %d; %d results",
		n, el.Seconds(), float64(n-warm)/el.Seconds(), rss0, rss1, g0, g1, sink.n.Load())
	if g1 > g0 {
		t.Errorf("goroutines grew from %d to %d", g0, g1)
	}
	if int(s.M.Cleaned.Total()) != n {
		t.Errorf("%d cleaned rows for %d readings", s.M.Cleaned.Total(), n)
	}

	// Over MQTT: the embedded broker, readings published QoS 1 by its inline
	// client, results counted by an inline subscription.
	port := freePortT(t)
	broker := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	broker.AddHook(new(auth.AllowHook), nil)
	broker.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: fmt.Sprintf("127.0.0.1:%d", port)}))
	go broker.Serve()
	defer broker.Close()
	var got atomic.Int64
	broker.Subscribe("edge/soak/clean", 1, func(*mqtt.Client, packets.Subscription, packets.Packet) { got.Add(1) })
	mcfg := *cfg
	mcfg.MQTT = &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "soak"}
	mcfg.Output.Stdout = false
	mcfg.Input.Source = ""
	if err := mcfg.Check(); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	ready := make(chan *Service, 1)
	done := make(chan error, 1)
	go func() { done <- Run(rctx, &mcfg, Options{Ready: func(s *Service, _ string) { ready <- s }}) }()
	ms := <-ready
	time.Sleep(300 * time.Millisecond) // connect and subscribe
	mn := n
	var b []byte
	var samples []string
	t0 := time.Now()
	for i := 0; i < mn; i++ {
		if i%(mn/4) == 0 && i > 0 {
			runtime.GC()
			samples = append(samples, fmt.Sprintf("%d%%: %d KB", 100*i/mn, rssKB()))
		}
		r := next(i)
		b = append(b[:0], `{"ts":`...)
		b = strconv.AppendFloat(b, r.Time, 'f', 2, 64)
		for c, v := range r.Values {
			b = append(b, `,"`...)
			b = append(b, names[c]...)
			b = append(b, `":`...)
			if v != v {
				b = append(b, "null"...)
			} else {
				b = strconv.AppendFloat(b, float64(v), 'g', 7, 32)
			}
		}
		b = append(b, '}')
		broker.Publish("edge/soak/in", b, false, 1)
		for int64(i)-got.Load() > 2000 { // keep the broker's queue for the client bounded
			time.Sleep(time.Millisecond)
		}
	}
	for got.Load() < int64(mn) && time.Since(t0) < 5*time.Minute {
		time.Sleep(5 * time.Millisecond)
	}
	elM := time.Since(t0)
	runtime.GC()
	samples = append(samples, fmt.Sprintf("end: %d KB", rssKB()))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("over MQTT (embedded broker in the same process): %d readings in %.2fs: %.0f readings/s end to end; RSS (broker included) %s; %d cleaned rows back; invalid %d; goroutines after %d",
		mn, elM.Seconds(), float64(mn)/elM.Seconds(), strings.Join(samples, ", "), got.Load(), ms.M.Invalid.Total(), runtime.NumGoroutine())
	if got.Load() != int64(mn) {
		t.Errorf("%d cleaned rows for %d readings over MQTT", got.Load(), mn)
	}
}

func freePortT(t *testing.T) int { return freePort(t) }
