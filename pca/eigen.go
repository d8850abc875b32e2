package pca

import "math"

// symEigen returns the eigenvalues (descending) and eigenvectors (rows of
// vecs, matching) of the symmetric d×d matrix a (row-major, destroyed):
// Householder reduction to tridiagonal form, then the implicit QL method
// (the EISPACK tred2/tql2 procedures). O(d³), deterministic.
func symEigen(a []float64, d int) (vals []float64, vecs [][]float64) {
	v := make([][]float64, d)
	for i := range v {
		v[i] = a[i*d : (i+1)*d]
	}
	e := make([]float64, d)
	diag := make([]float64, d)
	tred2(v, diag, e)
	tql2(v, diag, e)
	// Columns of v are the eigenvectors, in ascending order of diag.
	vals = make([]float64, d)
	vecs = make([][]float64, d)
	for k := 0; k < d; k++ {
		src := d - 1 - k
		vals[k] = diag[src]
		vecs[k] = make([]float64, d)
		for i := 0; i < d; i++ {
			vecs[k][i] = v[i][src]
		}
	}
	return vals, vecs
}

// tred2 reduces the symmetric matrix v to tridiagonal form by Householder
// similarity transforms, accumulating them in v; d gets the diagonal and
// e the subdiagonal (e[0] = 0).
func tred2(v [][]float64, d, e []float64) {
	n := len(d)
	for j := 0; j < n; j++ {
		d[j] = v[n-1][j]
	}
	for i := n - 1; i > 0; i-- {
		var scale, h float64
		for k := 0; k < i; k++ {
			scale += math.Abs(d[k])
		}
		if scale == 0 {
			e[i] = d[i-1]
			for j := 0; j < i; j++ {
				d[j] = v[i-1][j]
				v[i][j], v[j][i] = 0, 0
			}
			d[i] = h
			continue
		}
		for k := 0; k < i; k++ {
			d[k] /= scale
			h += float64(d[k] * d[k])
		}
		f := d[i-1]
		g := math.Sqrt(h)
		if f > 0 {
			g = -g
		}
		e[i] = scale * g
		h -= float64(f * g)
		d[i-1] = f - g
		for j := 0; j < i; j++ {
			e[j] = 0
		}
		for j := 0; j < i; j++ {
			f = d[j]
			v[j][i] = f
			g = e[j] + float64(v[j][j]*f)
			for k := j + 1; k <= i-1; k++ {
				g += float64(v[k][j] * d[k])
				e[k] += float64(v[k][j] * f)
			}
			e[j] = g
		}
		f = 0
		for j := 0; j < i; j++ {
			e[j] /= h
			f += float64(e[j] * d[j])
		}
		hh := f / (h + h)
		for j := 0; j < i; j++ {
			e[j] -= float64(hh * d[j])
		}
		for j := 0; j < i; j++ {
			f, g = d[j], e[j]
			for k := j; k <= i-1; k++ {
				v[k][j] -= float64(f*e[k]) + float64(g*d[k])
			}
			d[j] = v[i-1][j]
			v[i][j] = 0
		}
		d[i] = h
	}
	for i := 0; i < n-1; i++ {
		v[n-1][i] = v[i][i]
		v[i][i] = 1
		h := d[i+1]
		if h != 0 {
			for k := 0; k <= i; k++ {
				d[k] = v[k][i+1] / h
			}
			for j := 0; j <= i; j++ {
				var g float64
				for k := 0; k <= i; k++ {
					g += float64(v[k][i+1] * v[k][j])
				}
				for k := 0; k <= i; k++ {
					v[k][j] -= float64(g * d[k])
				}
			}
		}
		for k := 0; k <= i; k++ {
			v[k][i+1] = 0
		}
	}
	for j := 0; j < n; j++ {
		d[j] = v[n-1][j]
		v[n-1][j] = 0
	}
	v[n-1][n-1] = 1
	e[0] = 0
}

// tql2 diagonalises the tridiagonal matrix (d, e) by the implicit QL
// method with shifts, applying the rotations to v; d ends in ascending
// order with v's columns sorted to match.
func tql2(v [][]float64, d, e []float64) {
	n := len(d)
	for i := 1; i < n; i++ {
		e[i-1] = e[i]
	}
	e[n-1] = 0
	var f, tst1 float64
	eps := math.Pow(2, -52)
	for l := 0; l < n; l++ {
		tst1 = math.Max(tst1, math.Abs(d[l])+math.Abs(e[l]))
		m := l
		for m < n && math.Abs(e[m]) > eps*tst1 {
			m++
		}
		if m == n {
			m = n - 1
		}
		if m > l {
			for iter := 0; iter < 64; iter++ {
				g := d[l]
				p := (d[l+1] - g) / (2 * e[l])
				r := math.Hypot(p, 1)
				if p < 0 {
					r = -r
				}
				d[l] = e[l] / (p + r)
				d[l+1] = e[l] * (p + r)
				dl1 := d[l+1]
				h := g - d[l]
				for i := l + 2; i < n; i++ {
					d[i] -= h
				}
				f += h
				p = d[m]
				c, c2, c3 := 1.0, 1.0, 1.0
				el1 := e[l+1]
				var s, s2 float64
				for i := m - 1; i >= l; i-- {
					c3, c2 = c2, c
					s2 = s
					g = float64(c * e[i])
					h = float64(c * p)
					r = math.Hypot(p, e[i])
					e[i+1] = s * r
					s = e[i] / r
					c = p / r
					p = float64(c*d[i]) - float64(s*g)
					d[i+1] = h + float64(s*(float64(c*g)+float64(s*d[i])))
					for k := 0; k < n; k++ {
						h = v[k][i+1]
						v[k][i+1] = float64(s*v[k][i]) + float64(c*h)
						v[k][i] = float64(c*v[k][i]) - float64(s*h)
					}
				}
				p = -s * s2 * c3 * el1 * e[l] / dl1
				e[l] = s * p
				d[l] = c * p
				if math.Abs(e[l]) <= eps*tst1 {
					break
				}
			}
		}
		d[l] += f
		e[l] = 0
	}
	// Selection sort into ascending order.
	for i := 0; i < n-1; i++ {
		k := i
		p := d[i]
		for j := i + 1; j < n; j++ {
			if d[j] < p {
				k, p = j, d[j]
			}
		}
		if k != i {
			d[k], d[i] = d[i], p
			for j := 0; j < n; j++ {
				v[j][i], v[j][k] = v[j][k], v[j][i]
			}
		}
	}
}
