package pca

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Vectors on a known 3-dimensional subspace plus small noise: PCA with 3
// components recovers the subspace (tiny error), with 2 leaves the third
// direction's variance.
func TestFitRecoversSubspace(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const d, n = 20, 2000
	basis := make([][]float64, 3)
	for i := range basis {
		basis[i] = make([]float64, d)
		for j := range basis[i] {
			basis[i][j] = rng.NormFloat64()
		}
	}
	orthonormalise(basis)
	sd := []float64{5, 3, 1}
	x := make([]float32, n*d)
	for i := 0; i < n; i++ {
		for c := 0; c < 3; c++ {
			a := rng.NormFloat64() * sd[c]
			for j := 0; j < d; j++ {
				x[i*d+j] += float32(a * basis[c][j])
			}
		}
		for j := 0; j < d; j++ {
			x[i*d+j] += float32(7 + 0.01*rng.NormFloat64())
		}
	}
	p3, err := Fit(x, d, 3)
	if err != nil {
		t.Fatal(err)
	}
	if e := p3.MeanSquaredError(x); e > 1e-3 {
		t.Errorf("3 components: MSE %g, want ~1e-4", e)
	}
	for i, want := range []float64{25, 9, 1} {
		if math.Abs(p3.Variance[i]-want)/want > 0.1 {
			t.Errorf("variance %d = %.3f, want about %v", i, p3.Variance[i], want)
		}
	}
	p2, _ := Fit(x, d, 2)
	if e := p2.MeanSquaredError(x); math.Abs(e-1.0/d)/(1.0/d) > 0.15 {
		t.Errorf("2 components: MSE %g, want about the third variance spread over d: %g", e, 1.0/d)
	}
	// Deterministic.
	again, _ := Fit(x, d, 3)
	for i := range again.Components {
		for j := range again.Components[i] {
			if again.Components[i][j] != p3.Components[i][j] {
				t.Fatal("Fit is not deterministic")
			}
		}
	}
	for _, bad := range [][3]int{{0, 1, 1}, {5, 6, 10}, {5, 1, 7}} {
		if _, err := Fit(make([]float32, bad[2]), bad[0], bad[1]); err == nil {
			t.Errorf("Fit(d=%d, k=%d, %d values) accepted", bad[0], bad[1], bad[2])
		}
	}
}
