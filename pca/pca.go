// Package pca fits principal components to windows and reconstructs them:
// the linear autoencoder that edge's non-linear models are compared with,
// and a baseline anomaly scorer.
package pca

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// PCA holds the mean and the k leading principal directions of d-value
// vectors.
type PCA struct {
	D, K       int
	Mean       []float64
	Components [][]float64 // K orthonormal rows of length D
	Variance   []float64   // variance along each component
	// TotalVariance is the sum of the variances of all D coordinates (the
	// trace of the covariance): TotalVariance - sum(Variance) is what the
	// components leave out.
	TotalVariance float64
}

// MaxDim bounds the dimension (the covariance has MaxDim^2 entries).
const MaxDim = 8192

// Fit computes the k leading principal components of the n vectors in x
// (n*d values, one vector after another), by subspace iteration on the
// covariance. It is deterministic.
func Fit(x []float32, d, k int) (*PCA, error) {
	if d < 1 || d > MaxDim || k < 1 || k > d {
		return nil, fmt.Errorf("pca: dimension %d and components %d out of range (1 <= k <= d <= %d)", d, k, MaxDim)
	}
	if len(x) == 0 || len(x)%d != 0 {
		return nil, fmt.Errorf("pca: %d values are not whole %d-value vectors", len(x), d)
	}
	n := len(x) / d
	if n < 2 {
		return nil, errors.New("pca: need at least two vectors")
	}
	p := &PCA{D: d, K: k, Mean: make([]float64, d)}
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			p.Mean[j] += float64(x[i*d+j])
		}
	}
	for j := range p.Mean {
		p.Mean[j] /= float64(n)
	}
	cov := make([]float64, d*d)
	row := make([]float64, d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			row[j] = float64(x[i*d+j]) - p.Mean[j]
		}
		for a := 0; a < d; a++ {
			ra := row[a]
			if ra == 0 {
				continue
			}
			c := cov[a*d : a*d+d]
			for b := a; b < d; b++ {
				c[b] += float64(ra * row[b])
			}
		}
	}
	for a := 0; a < d; a++ {
		for b := a; b < d; b++ {
			cov[a*d+b] /= float64(n - 1)
			cov[b*d+a] = cov[a*d+b]
		}
		p.TotalVariance += cov[a*d+a]
	}
	if d <= eigenDim || 4*k > d {
		vals, vecs := symEigen(cov, d)
		p.Components, p.Variance = vecs[:k], make([]float64, k)
		for i := range p.Variance {
			p.Variance[i] = math.Max(vals[i], 0)
		}
		return p, nil
	}
	q := subspace(cov, d, k)
	p.Components = q
	p.Variance = make([]float64, k)
	for i := range q {
		for a := 0; a < d; a++ {
			var s float64
			for b := 0; b < d; b++ {
				s += float64(cov[a*d+b] * q[i][b])
			}
			p.Variance[i] += float64(q[i][a] * s)
		}
	}
	return p, nil
}

// eigenDim: up to this dimension, Fit decomposes the covariance fully
// (symEigen); above it, subspace iteration finds the k leading
// components unless k is large.
const eigenDim = 1024

// subspace returns the k leading eigenvectors of the d×d covariance by
// subspace iteration: Q <- orth(C Q), a fixed number of rounds plus a
// convergence check, from a seeded start.
func subspace(cov []float64, d, k int) [][]float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	q := make([][]float64, k)
	for i := range q {
		q[i] = make([]float64, d)
		for j := range q[i] {
			q[i][j] = rng.NormFloat64()
		}
	}
	orthonormalise(q)
	next := make([][]float64, k)
	for i := range next {
		next[i] = make([]float64, d)
	}
	for it := 0; it < 500; it++ {
		for i := 0; i < k; i++ {
			for a := 0; a < d; a++ {
				var s float64
				c := cov[a*d : a*d+d]
				for b, v := range q[i] {
					s += float64(c[b] * v)
				}
				next[i][a] = s
			}
		}
		orthonormalise(next)
		var change float64
		for i := range q {
			var dot float64
			for j := range q[i] {
				dot += float64(q[i][j] * next[i][j])
			}
			change = math.Max(change, 1-math.Abs(dot))
			copy(q[i], next[i])
		}
		if change < 1e-12 && it > 10 {
			break
		}
	}
	return q
}

// orthonormalise applies modified Gram-Schmidt to the rows of q.
func orthonormalise(q [][]float64) {
	for i := range q {
		for j := 0; j < i; j++ {
			var dot float64
			for t := range q[i] {
				dot += float64(q[i][t] * q[j][t])
			}
			for t := range q[i] {
				q[i][t] -= float64(dot * q[j][t])
			}
		}
		var norm float64
		for _, v := range q[i] {
			norm += float64(v * v)
		}
		norm = math.Sqrt(norm)
		if norm == 0 {
			norm = 1
		}
		for t := range q[i] {
			q[i][t] /= norm
		}
	}
}

// Reconstruct writes into dst (d values) the projection of the d-value
// vector v on the components: mean + sum_i <v-mean, c_i> c_i.
func (p *PCA) Reconstruct(dst, v []float32) {
	code := make([]float64, p.K)
	p.reconstruct(dst, v, code)
}

func (p *PCA) reconstruct(dst, v []float32, code []float64) {
	for i, c := range p.Components {
		var s float64
		for j, x := range v {
			s += float64((float64(x) - p.Mean[j]) * c[j])
		}
		code[i] = s
	}
	for j := range dst {
		s := p.Mean[j]
		for i, c := range p.Components {
			s += float64(code[i] * c[j])
		}
		dst[j] = float32(s)
	}
}

// MeanSquaredError returns the mean squared reconstruction error over the
// vectors in x (n*d values).
func (p *PCA) MeanSquaredError(x []float32) float64 {
	n := len(x) / p.D
	rec := make([]float32, p.D)
	code := make([]float64, p.K)
	var total float64
	for i := 0; i < n; i++ {
		v := x[i*p.D : (i+1)*p.D]
		p.reconstruct(rec, v, code)
		for j := range v {
			d := float64(v[j]) - float64(rec[j])
			total += float64(d * d)
		}
	}
	return total / float64(n*p.D)
}

// Truncate returns the PCA with only its first k components (k <= K);
// the components are shared, not copied.
func (p *PCA) Truncate(k int) *PCA {
	if k >= p.K {
		return p
	}
	return &PCA{D: p.D, K: k, Mean: p.Mean, Components: p.Components[:k], Variance: p.Variance[:k], TotalVariance: p.TotalVariance}
}
