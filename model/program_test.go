package model

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/edgeml/edge/kernels"
)

// TestCompileFamilies: a model compiled for each family the CPU has, side
// by side in one process, gives the same bits, float32 and int8.
func TestCompileFamilies(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, m := range []*Model{testModelsRW(rng, "conv"), quantizedTestModel(t)} {
		x := randomWindows(rng, m, 3)
		var want []float32
		for _, f := range kernels.Supported() {
			prog, err := Compile(m, CompileOptions{Family: f.String()})
			if err != nil {
				t.Fatal(err)
			}
			if prog.Family() != f {
				t.Fatalf("compiled for %s, asked for %s", prog.Family(), f)
			}
			s, err := prog.NewSession(3)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(x))
			if err := s.Reconstruct(out, x); err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = out
			} else if !slices.Equal(out, want) {
				t.Errorf("quantised %v: family %s gives other bits than %s", m.Quantized(), f, kernels.Supported()[0])
			}
		}
	}
}
