package service

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestOfflineResultsSurviveRestart: edge runs while the broker is down,
// so its results go to the disk queue; it stops (a SIGTERM whose drain
// times out, as a reboot would), the broker comes up, and a new edge run
// over the same queue folder delivers every one of them.
func TestOfflineResultsSurviveRestart(t *testing.T) {
	for _, protocol := range []string{"5", "3.1.1"} {
		t.Run("mqtt"+protocol, func(t *testing.T) { testOfflineSurvive(t, protocol) })
	}
}

func testOfflineSurvive(t *testing.T, protocol string) {
	port := freePort(t)
	qdir := t.TempDir()
	cfg := func() *Config {
		c := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "causal"}},
			Input:   InputConfig{Source: "stdin"},
			MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "edge-spill", KeepAlive: 5, SessionExpiry: 3600, QueueDir: qdir, Protocol: protocol},
			Metrics: MetricsConfig{Listen: "off"}}
		if err := c.Check(); err != nil {
			t.Fatal(err)
		}
		return c
	}
	var in strings.Builder
	rs := readings(300, 100)
	for _, r := range rs {
		in.Write(append(r, '\n'))
	}
	// No broker: the results go to the spool; the drain gives up.
	err := Run(context.Background(), cfg(), Options{Stdin: strings.NewReader(in.String()), Log: discardLogger(), DrainTimeout: 300 * time.Millisecond})
	if err == nil {
		t.Fatal("the drain did not time out without a broker")
	}
	if ents, _ := os.ReadDir(qdir); len(ents) == 0 {
		t.Fatal("nothing on disk")
	}
	broker := startMochi(t, port)
	defer broker.Close()
	col := newCollector(t, port, "spill-collector-"+protocol)
	var mu sync.Mutex
	var svc *Service
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg(), Options{Stdin: strings.NewReader(""), Log: discardLogger(), Ready: func(s *Service, _ string) { mu.Lock(); svc = s; mu.Unlock() }})
	}()
	waitFor(t, 20*time.Second, "every result of the first run", func() bool { n, _, _ := col.distinct(); return n == len(rs) })
	cancel()
	<-done
	_ = svc
}
