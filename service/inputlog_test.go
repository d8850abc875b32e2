package service

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestInputLogCheckpoint: while edge runs, the input log lets go of the
// messages whose results the broker acknowledged: after 600 readings and
// their rows, it holds no more than one stream's window of them; after a
// clean stop, nothing, so the next start replays nothing.
func TestInputLogCheckpoint(t *testing.T) {
	port := freePort(t)
	broker := startMochi(t, port)
	defer broker.Close()
	qdir := t.TempDir()
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "centred"}},
		MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "edge-wal", KeepAlive: 5, SessionExpiry: 3600, QueueDir: qdir},
		Metrics: MetricsConfig{Listen: "off"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	if cfg.MQTT.InputLog != "on" {
		t.Fatalf("input_log %q with a queue_dir, want on", cfg.MQTT.InputLog)
	}
	col := newCollector(t, port, "wal-collector")
	run := func(f func(svc *Service)) {
		svc, _, stop := runInProcess(t, cfg)
		f(svc())
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	rs := readings(600, 400)
	run(func(svc *Service) {
		for _, r := range rs {
			col.publish(t, r)
		}
		waitFor(t, 20*time.Second, "the rows", func() bool { n, _, _ := col.distinct(); return n >= len(rs)-40 })
		time.Sleep(2500 * time.Millisecond) // two checkpoints
		held := svc.M.LogBytes.Value() / float64(len(rs[0]))
		if held > 80 {
			t.Errorf("the input log holds about %.0f messages after every row but a window's came out", held)
		}
		t.Logf("input log after the rows: %.0f bytes (%.0f messages)", svc.M.LogBytes.Value(), held)
	})
	if n, _, _ := col.distinct(); n != len(rs) {
		t.Errorf("%d rows of %d", n, len(rs))
	}
	_, recs, err := openInputLog(filepath.Join(qdir, "input"), 1<<20, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 0 {
		t.Errorf("after a clean stop the log holds %d messages", len(recs))
	}
}
