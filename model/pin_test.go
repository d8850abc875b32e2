package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// TestPinChannels: a pinned channel is reconstructed as its value, every
// other channel's reconstruction of windows holding that value is what it
// was, and a move of the pinned channel no longer reaches them.
func TestPinChannels(t *testing.T) {
	for _, name := range []string{"dense", "vae"} {
		rng := rand.New(rand.NewPCG(7, 1))
		m := testModelsRW(rng, name)
		c, d := m.Channels, m.Steps*m.Channels
		const ch, v = 1, float32(0.75) // normalised
		raw := float64(v)*float64(m.Norm.Scale[ch]) + float64(m.Norm.Shift[ch])
		x := randomWindows(rng, m, 1)
		for i := ch; i < d; i += c {
			x[i] = float32(raw)
		}
		before, _ := ref(m, x)
		if err := m.PinChannels(map[int]float32{ch: v}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		after, _ := ref(m, x)
		moved := append([]float32(nil), x...)
		for i := ch; i < d; i += c {
			moved[i] += 5 * m.Norm.Scale[ch]
		}
		shifted, _ := ref(m, moved)
		for i := range after {
			if i%c == ch {
				if math.Abs(after[i]-raw) > 1e-5*(1+math.Abs(raw)) || shifted[i] != after[i] {
					t.Fatalf("%s: pinned value %d reconstructed as %v (moved: %v), want %v", name, i, after[i], shifted[i], raw)
				}
				continue
			}
			if math.Abs(after[i]-before[i]) > 1e-4*(1+math.Abs(before[i])) {
				t.Fatalf("%s: value %d reconstructed as %v after pinning, %v before", name, i, after[i], before[i])
			}
			if shifted[i] != after[i] {
				t.Fatalf("%s: a move of the pinned channel changed value %d: %v -> %v", name, i, after[i], shifted[i])
			}
		}
	}
}

func TestPinChannelsRefuses(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 2))
	conv := testModelsRW(rng, "conv")
	if err := conv.PinChannels(map[int]float32{0: 1}); err == nil || !strings.Contains(err.Error(), "dense") {
		t.Errorf("a conv model: %v", err)
	}
	m := testModelsRW(rng, "dense")
	if err := m.PinChannels(map[int]float32{3: 1}); err == nil {
		t.Error("channel 3 of 3 pinned")
	}
	m.mustSession(t)
	if err := m.PinChannels(map[int]float32{0: 1}); err == nil || !strings.Contains(err.Error(), "compiled") {
		t.Errorf("a compiled model: %v", err)
	}
}
