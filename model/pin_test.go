package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/edgeml/edge/kernels"
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
}

// TestProgramIsImmutable: a program compiled before its model is changed
// (here, pinned) runs the model as it was; the model's new sessions run it
// as it is.
func TestProgramIsImmutable(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 3))
	m := testModelsRW(rng, "dense")
	prog, err := Compile(m, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	x := randomWindows(rng, m, 1)
	run := func(newSession func(int) (*Session, error)) []float32 {
		s, err := newSession(1)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, len(x))
		if err := s.Reconstruct(out, x); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := run(prog.NewSession)
	if err := m.PinChannels(map[int]float32{0: 0.5}); err != nil {
		t.Fatal(err)
	}
	if after := run(prog.NewSession); !slices.Equal(after, before) {
		t.Error("the compiled program changed with its model")
	}
	if now := run(m.NewSession); slices.Equal(now, before) {
		t.Error("a new session of the pinned model runs it as it was")
	}
	if _, err := Compile(m, CompileOptions{Family: "nonsense"}); err == nil {
		t.Error("an unknown kernel family compiled")
	}
	if prog.Family() != kernels.Current() {
		t.Errorf("compiled for %s, the family in use is %s", prog.Family(), kernels.Current())
	}
}
