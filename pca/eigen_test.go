package pca

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSymEigen(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, d := range []int{1, 2, 3, 7, 40, 130} {
		a := make([]float64, d*d)
		for i := 0; i < d; i++ {
			for j := i; j < d; j++ {
				v := rng.NormFloat64()
				if i == j && d > 5 && i%5 == 0 {
					v = 0 // some repeated zero structure
				}
				a[i*d+j], a[j*d+i] = v, v
			}
		}
		orig := append([]float64(nil), a...)
		vals, vecs := symEigen(a, d)
		for k := 0; k < d; k++ {
			if k > 0 && vals[k] > vals[k-1]+1e-12 {
				t.Fatalf("d=%d: eigenvalues not descending at %d: %v > %v", d, k, vals[k], vals[k-1])
			}
			for i := 0; i < d; i++ {
				var av float64
				for j := 0; j < d; j++ {
					av += orig[i*d+j] * vecs[k][j]
				}
				if math.Abs(av-vals[k]*vecs[k][i]) > 1e-9*float64(d) {
					t.Fatalf("d=%d: A v != λ v for eigenpair %d (row %d: %v vs %v)", d, k, i, av, vals[k]*vecs[k][i])
				}
			}
			for l := 0; l <= k; l++ {
				var dot float64
				for i := 0; i < d; i++ {
					dot += vecs[k][i] * vecs[l][i]
				}
				want := 0.0
				if k == l {
					want = 1
				}
				if math.Abs(dot-want) > 1e-9 {
					t.Fatalf("d=%d: vectors %d and %d: dot %v", d, k, l, dot)
				}
			}
		}
	}
}
