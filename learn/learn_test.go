package learn

import (
	"math"
	"strings"
	"testing"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

func TestBufferFull(t *testing.T) {
	b, err := NewBuffer([]string{"a", "b"}, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		full, err := b.Add(stream.Row{Values: []float32{1, 2}})
		if err != nil || full != (i == 2) {
			t.Fatalf("row %d: full %v, %v", i, full, err)
		}
	}
	// By duration: full once the timestamps span an hour.
	d, _ := NewBuffer([]string{"a"}, 0, 3600)
	for i := 0; i < 13; i++ {
		full, _ := d.Add(stream.Row{Time: float64(i * 300), HasTime: true, Values: []float32{1}})
		if full != (i == 12) {
			t.Fatalf("row %d (t=%ds): full %v", i, i*300, full)
		}
	}
	if _, err := b.Add(stream.Row{Values: []float32{1}}); err == nil {
		t.Error("a short row was accepted")
	}
	for _, c := range []struct {
		names []string
		n     int
		d     float64
	}{{nil, 10, 0}, {[]string{"a"}, 0, 0}, {[]string{"a"}, MaxSamples + 1, 0}} {
		if _, err := NewBuffer(c.names, c.n, c.d); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestFit(t *testing.T) {
	g, _ := synth.New(synth.Config{Channels: 4, Seed: 3})
	b, _ := NewBuffer(g.Names(), 3000, 0)
	clean, obs := make([]float32, 4), make([]float32, 4)
	for !b.Full() {
		g.Next(clean, obs)
		if _, err := b.Add(stream.Row{Values: obs}); err != nil {
			t.Fatal(err)
		}
	}
	var log strings.Builder
	m, rep, err := b.Fit(Config{Train: train.SeriesOptions{Config: train.Config{Epochs: 3, Seed: 1}}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Quantized() || m.Steps != 64 || m.Channels != 4 {
		t.Errorf("model: quantised %v, %dx%d", m.Quantized(), m.Steps, m.Channels)
	}
	set, err := anomaly.Load(m)
	if err != nil || set.Threshold != rep.Settings.Threshold || set.Windows < 10 {
		t.Errorf("settings %+v, %v", set, err)
	}
	if rep.Rows != 3000 || rep.TrainRows+rep.CalibRows != 3000 || rep.CalibRows != 750 {
		t.Errorf("rows %d = %d + %d", rep.Rows, rep.TrainRows, rep.CalibRows)
	}
	if !strings.Contains(log.String(), "threshold") {
		t.Errorf("log: %s", log.String())
	}
	// A short buffer gets a shorter window.
	s, _ := NewBuffer([]string{"a"}, 200, 0)
	for i := 0; i < 200; i++ {
		s.Add(stream.Row{Values: []float32{float32(math.Sin(float64(i) / 5))}})
	}
	m2, _, err := s.Fit(Config{Train: train.SeriesOptions{Arch: train.Arch{Hidden: []int{8}, Latent: 2}, Config: train.Config{Epochs: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	if m2.Steps >= 64 {
		t.Errorf("window %d for 200 rows", m2.Steps)
	}
	if _, _, err := s.Fit(Config{HoldOut: 0.95}); err == nil {
		t.Error("a hold-out of 95% accepted")
	}
}
