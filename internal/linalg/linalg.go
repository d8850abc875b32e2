// Package linalg holds the small dense linear algebra that the denoiser's
// predictor and the real-data evaluation share: a Cholesky solve of
// normal equations and the choice of correlated peer channels.
package linalg

import (
	"errors"
	"math"
	"slices"
)

// CorrelatedPeers returns, per channel, the k other channels most correlated
// with it (absolute correlation at lag 0).
func CorrelatedPeers(x []float32, c, k int) [][]int {
	n := len(x) / c
	mean, sd := make([]float64, c), make([]float64, c)
	for i, v := range x {
		mean[i%c] += float64(v)
	}
	for ch := range mean {
		mean[ch] /= float64(n)
	}
	for i, v := range x {
		d := float64(v) - mean[i%c]
		sd[i%c] += float64(d * d)
	}
	out := make([][]int, c)
	corr := make([]float64, c)
	for ch := 0; ch < c; ch++ {
		for q := 0; q < c; q++ {
			corr[q] = 0
			if q == ch || sd[q] == 0 || sd[ch] == 0 {
				continue
			}
			var s float64
			for t := 0; t < n; t++ {
				s += float64((float64(x[t*c+ch]) - mean[ch]) * (float64(x[t*c+q]) - mean[q])) // unfused
			}
			corr[q] = math.Abs(s / math.Sqrt(sd[ch]*sd[q]))
		}
		idx := make([]int, 0, c-1)
		for q := 0; q < c; q++ {
			if q != ch && corr[q] > 0 {
				idx = append(idx, q)
			}
		}
		slices.SortStableFunc(idx, func(a, b int) int {
			switch {
			case corr[a] > corr[b]:
				return -1
			case corr[a] < corr[b]:
				return 1
			}
			return 0
		})
		out[ch] = idx[:min(k, len(idx))]
		slices.Sort(out[ch])
	}
	return out
}

// CholSolve solves the symmetric positive definite system a·x = b.
func CholSolve(a, b []float64, n int) ([]float64, error) {
	l := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			s := a[i*n+j]
			for k := 0; k < j; k++ {
				s -= float64(l[i*n+k] * l[j*n+k]) // unfused: the same bits on arm64
			}
			if i == j {
				if s <= 0 {
					return nil, errors.New("the normal equations are not positive definite")
				}
				l[i*n+i] = math.Sqrt(s)
			} else {
				l[i*n+j] = s / l[j*n+j]
			}
		}
	}
	y := make([]float64, n)
	for i := 0; i < n; i++ {
		s := b[i]
		for k := 0; k < i; k++ {
			s -= float64(l[i*n+k] * y[k])
		}
		y[i] = s / l[i*n+i]
	}
	x := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < n; k++ {
			s -= float64(l[k*n+i] * x[k])
		}
		x[i] = s / l[i*n+i]
	}
	return x, nil
}
