package model

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
)

type testPart struct {
	Version int `json:"version,omitempty"`
	Level   int `json:"level"`
}

// TestSection: a section round-trips, is absent until put, is validated
// on put and get, and a newer version than the build reads is refused
// with ErrTooNew.
func TestSection(t *testing.T) {
	sec := NewSection("part", 2, func(m *Model, p *testPart) error {
		if p.Level < 0 || p.Level > m.Channels {
			return errors.New("level out of range")
		}
		return nil
	})
	m := &Model{Channels: 3}
	if _, ok, err := sec.Get(m); ok || err != nil || sec.Has(m) {
		t.Fatalf("an empty model has the section: %v, %v", ok, err)
	}
	if err := sec.Put(m, testPart{Level: 2}); err != nil {
		t.Fatal(err)
	}
	if p, ok, err := sec.Get(m); !ok || err != nil || p.Level != 2 {
		t.Fatalf("got %+v, %v, %v", p, ok, err)
	}
	if err := sec.Put(m, testPart{Level: 9}); err == nil || !strings.Contains(err.Error(), `"part"`) {
		t.Errorf("an invalid value was stored: %v", err)
	}
	for raw, want := range map[string]error{
		`{"version": 3, "level": 1}`: ErrTooNew,
		`{"level": 7}`:               nil, // invalid
		`{"level": "x"}`:             nil, // not its type
		`[1, 2]`:                     nil,
	} {
		m.Apps["part"] = json.RawMessage(raw)
		_, ok, err := sec.Get(m)
		if !ok || err == nil || (want != nil && !errors.Is(err, want)) {
			t.Errorf("%s: ok %v, error %v", raw, ok, err)
		}
	}
	m.Apps["part"] = json.RawMessage(`{"version": 2, "level": 1}`)
	if p, _, err := sec.Get(m); err != nil || p.Level != 1 {
		t.Errorf("the current version: %+v, %v", p, err)
	}
}

// TestReadValidatesTraining: a training section that claims the
// impossible fails Validate, which Read and Write call.
func TestReadValidatesTraining(t *testing.T) {
	m := testModels()["dense"]()
	m = randomWeights(m, rand.New(rand.NewPCG(21, 22)))
	if err := TrainingSection.Put(m, Training{Window: 16, Hop: 4, Epochs: 3, BestEpoch: 2, ValMSE: 0.1}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := m.Write(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatalf("a valid training section: %v", err)
	}
	m.Apps["train"] = json.RawMessage(`{"window": 16, "hop": 4, "epochs": 3, "best_epoch": 9}`)
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "best epoch 9 of 3") {
		t.Errorf("best epoch 9 of 3 validated: %v", err) // Read validates what it read with Validate
	}
	buf.Reset()
	if err := m.Write(&buf); err == nil {
		t.Error("best epoch 9 of 3 was written")
	}
}
