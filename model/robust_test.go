package model_test

import (
	"math"
	"testing"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/pca"
	"github.com/edgeml/edge/train"
)

// sineModel is the linear autoencoder (PCA, 2 components) of windows of
// a sine of random phase: it reconstructs such windows almost exactly.
func sineModel(t *testing.T, steps int) (*model.Model, func(phase float64) []float32) {
	t.Helper()
	win := func(ph float64) []float32 {
		x := make([]float32, steps)
		for i := range x {
			x[i] = float32(math.Sin(ph + 0.3*float64(i)))
		}
		return x
	}
	var data []float32
	for k := 0; k < 200; k++ {
		data = append(data, win(float64(k)*0.77)...)
	}
	p, err := pca.Fit(data, steps, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, err := train.Build(train.Arch{Steps: steps, Channels: 1, Hidden: []int{8}, Latent: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = model.Normalization{Kind: model.NormNone}
	if err := train.WarmStart(m, p); err != nil {
		t.Fatal(err)
	}
	return m, win
}

func TestReconstructRobust(t *testing.T) {
	const steps = 32
	m, win := sineModel(t, steps)
	s, err := m.NewSession(1)
	if err != nil {
		t.Fatal(err)
	}
	clean := win(1.1)
	x := append([]float32(nil), clean...)
	x[10] += 8 // an impulse
	plain, robust := make([]float32, steps), make([]float32, steps)
	if err := s.Reconstruct(plain, x); err != nil {
		t.Fatal(err)
	}
	n, err := s.ReconstructRobust(robust, x, nil, 0.5, 3)
	if err != nil {
		t.Fatal(err)
	}
	errOf := func(r []float32) (e float64) {
		for i := range r {
			if i != 10 {
				d := float64(r[i] - clean[i])
				e += d * d
			}
		}
		return e
	}
	if n != 1 {
		t.Errorf("replaced %d values, want the impulse only", n)
	}
	if !(errOf(robust) < errOf(plain)/100) {
		t.Errorf("robust reconstruction error %g, plain %g: the impulse still smears", errOf(robust), errOf(plain))
	}
	// A value flagged missing is replaced whatever its size.
	miss := make([]bool, steps)
	miss[5] = true
	y := append([]float32(nil), clean...)
	y[5] = 0.01
	if n, _ := s.ReconstructRobust(robust, y, miss, 100, 2); n != 1 {
		t.Errorf("missing value not replaced (%d)", n)
	}
	if _, err := s.ReconstructRobust(robust, y, miss[:3], 1, 2); err == nil {
		t.Error("a short missing mask was accepted")
	}
	// tau <= 0 or one pass: plain.
	if _, err := s.ReconstructRobust(robust, x, nil, 0, 3); err != nil || robust[0] != plain[0] {
		t.Error("tau 0 is not the plain reconstruction")
	}
	if a := testing.AllocsPerRun(100, func() { _, _ = s.ReconstructRobust(robust, x, nil, 0.5, 3) }); a != 0 {
		t.Errorf("ReconstructRobust allocates %v times", a)
	}
}
