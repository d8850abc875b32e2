package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/edgeml/edge/model"
)

// modelCopy writes the test model to dir under a new name (a different
// file, so a different sha256) and returns its path and bytes.
func modelCopy(t *testing.T, dir, name string) (string, []byte) {
	t.Helper()
	m, err := model.Load(testModel(t))
	if err != nil {
		t.Fatal(err)
	}
	m.Name = name
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name+".edge")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, b.Bytes()
}

// scoreLog is a Sink that keeps the cleaned rows' lines and the model
// hash of each window's score.
type scoreLog struct {
	mu     sync.Mutex
	lines  []int
	models []string // per scored window, in order
}

func (s *scoreLog) Publish(topic string, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v struct {
		Line  int    `json:"line"`
		Model string `json:"model_sha256"`
	}
	json.Unmarshal(payload, &v)
	switch {
	case strings.HasSuffix(topic, "/clean"):
		s.lines = append(s.lines, v.Line)
	case strings.HasSuffix(topic, "/scores"):
		s.models = append(s.models, v.Model)
	}
	return nil
}

// TestModelSwapUnderLoad pushes a new model while readings stream in:
// every reading is cleaned once, in order, and the scores name the new
// model from the window after the swap on.
func TestModelSwapUnderLoad(t *testing.T) {
	dir := t.TempDir()
	path, _ := modelCopy(t, dir, "v1")
	_, v2 := modelCopy(t, dir, "v2")
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: path, Denoise: "centred", Score: true}},
		Output: OutputConfig{ScoresTopic: "edge/{group}/scores"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	sink := &scoreLog{}
	svc, err := New(cfg, sink, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	old := svc.groups["site"].sha256
	rs := readings(1200, 900)
	var pushErr error
	var newSum string
	for i, raw := range rs {
		r, err := ParseJSON(raw, "site", svc.Group("site"))
		if err != nil {
			t.Fatal(err)
		}
		if err := svc.Accept(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if i == 600 {
			newSum, _, pushErr = svc.PushModel("site", v2)
		}
	}
	svc.Close()
	if pushErr != nil {
		t.Fatal(pushErr)
	}
	if len(sink.lines) != len(rs) {
		t.Fatalf("%d cleaned rows for %d readings", len(sink.lines), len(rs))
	}
	for i, l := range sink.lines {
		if l != i+1 {
			t.Fatalf("cleaned row %d has line %d: lost or out of order", i, l)
		}
	}
	first, last := sink.models[0], sink.models[len(sink.models)-1]
	if first != old || last != newSum || old == newSum {
		t.Errorf("scores name model %.8s then %.8s, want %.8s then %.8s", first, last, old, newSum)
	}
	flips := 0
	for i := 1; i < len(sink.models); i++ {
		if sink.models[i] != sink.models[i-1] {
			flips++
		}
	}
	if flips != 1 {
		t.Errorf("the model hash changed %d times, want once", flips)
	}
	if b, err := os.ReadFile(path); err != nil || !bytes.Equal(b, v2) {
		t.Errorf("the model file does not hold the pushed model (%v)", err)
	}
	if _, err := os.Stat(path + ".prev"); err != nil {
		t.Errorf("the previous model was not kept: %v", err)
	}
}

// TestModelPushMQTT pushes models as retained messages on the cohort's
// topic over the embedded broker: a good one is installed and acked with
// its sha256, the same again is "unchanged", a corrupt one "rejected"
// while the group keeps its model; SIGHUP-style reloads pick up a file
// changed on disk.
func TestModelPushMQTT(t *testing.T) {
	dir := t.TempDir()
	path, v1 := modelCopy(t, dir, "v1")
	_, v2 := modelCopy(t, dir, "v2")
	port := freePort(t)
	broker := startMochi(t, port)
	defer broker.Close()
	cfg := &Config{Host: "gw", Groups: []GroupConfig{{Name: "site", Model: path, Denoise: "causal", Score: true}},
		MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "edge-push", KeepAlive: 5, SessionExpiry: 3600, ModelTopic: "edge/models/{cohort}/{group}", Cohort: "pumps"},
		Metrics: MetricsConfig{Listen: "off"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	acks := subscribeAll(t, port, "ack-observer", "edge/gw/models/ack")
	reload := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var svc *Service
	var mu sync.Mutex
	go func() {
		done <- Run(ctx, cfg, Options{Log: discardLogger(), Reload: reload, Ready: func(s *Service, _ string) { mu.Lock(); svc = s; mu.Unlock() }})
	}()
	waitFor(t, 10*time.Second, "the service", func() bool { mu.Lock(); defer mu.Unlock(); return svc != nil })
	pub := testClient(t, port, "fleet", 30, nil, nil)
	n := 0
	push := func(data []byte, want string) map[string]any {
		t.Helper()
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: "edge/models/pumps/site", QoS: 1, Retain: true, Payload: data}); err != nil {
			t.Fatal(err)
		}
		n++
		waitFor(t, 10*time.Second, "the ack", func() bool { return acks.count("edge/gw/models/ack") >= n })
		v, _ := acks.get("edge/gw/models/ack")
		var a map[string]any
		if err := json.Unmarshal([]byte(v), &a); err != nil {
			t.Fatalf("ack %s: %v", v, err)
		}
		if a["result"] != want || a["group"] != "site" || a["host"] != "gw" {
			t.Errorf("push: ack %s, want result %s", v, want)
		}
		return a
	}
	a := push(v2, "installed")
	if svc.groups["site"].currentSum() != a["sha256"] {
		t.Error("the installed model is not the one in use")
	}
	push(v2, "unchanged")
	push(append([]byte("junk"), v2[4:]...), "rejected")
	if svc.groups["site"].currentSum() != a["sha256"] {
		t.Error("a rejected model replaced the one in use")
	}
	// The rollback: the old file back, then a reload.
	if err := os.WriteFile(path, v1, 0o644); err != nil {
		t.Fatal(err)
	}
	reload <- struct{}{}
	waitFor(t, 10*time.Second, "the reload", func() bool { return svc.groups["site"].currentSum() != a["sha256"] })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
