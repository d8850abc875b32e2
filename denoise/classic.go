package denoise

import (
	"fmt"
	"math"
	"slices"
)

// The classical filters the autoencoder is measured against. Each works
// on a whole series (time-major, c channels, no NaN: impute first), one
// channel at a time, in a causal form (each output uses only the samples
// up to it) and a centred form (symmetric around it). Near the edges the
// windows shrink to the samples available.

// Filter is a classical smoother: Apply writes the smoothed series to dst.
// Spec describes a windowed filter (moving average, median,
// Savitzky–Golay), which a stream can run (nil for EMA).
type Filter struct {
	Name  string // "moving-average", "median", "savitzky-golay", "ema"
	Param string // e.g. "w=9" or "w=15,p=2" or "a=0.2"
	Apply func(dst, x []float32, c int, causal bool)
	Spec  *FilterSpec
}

// FilterSpec is a windowed classical filter, as stored in a model when it
// is the denoiser (see Settings.Filter).
type FilterSpec struct {
	Kind string `json:"kind"` // "moving-average", "median" or "savitzky-golay"
	W    int    `json:"w"`    // samples
	P    int    `json:"p,omitempty"`
}

// Limits of a FilterSpec.
const maxFilterWidth = 1025

func (f *FilterSpec) check() error {
	switch {
	case f.W < 1 || f.W > maxFilterWidth:
		return fmt.Errorf("denoise: filter width %d outside [1, %d]", f.W, maxFilterWidth)
	case f.Kind == "savitzky-golay" && (f.P < 0 || f.P > 6):
		return fmt.Errorf("denoise: Savitzky-Golay degree %d outside [0, 6]", f.P)
	case f.Kind != "moving-average" && f.Kind != "median" && f.Kind != "savitzky-golay":
		return fmt.Errorf("denoise: unknown filter %q", f.Kind)
	}
	return nil
}

// Filter returns the filter the spec describes.
func (f *FilterSpec) Filter() Filter {
	switch f.Kind {
	case "median":
		return Median(f.W)
	case "savitzky-golay":
		return SavitzkyGolay(f.W, f.P)
	}
	return MovingAverage(f.W)
}

// windowed computes one value of a windowed filter: channel ch at row t of
// a series of n rows read through at, over the span of t; buf and cache
// are scratch space.
type windowed struct {
	spec  FilterSpec
	buf   []float32
	cache map[[2]int][]float64
}

func newWindowed(spec FilterSpec) *windowed {
	return &windowed{spec: spec, buf: make([]float32, 0, spec.W), cache: map[[2]int][]float64{}}
}

func (w *windowed) value(at func(t, ch int) float32, n, t, ch int, causal bool) float32 {
	a, b := span(t, n, w.spec.W, causal)
	switch w.spec.Kind {
	case "median":
		buf := w.buf[:0]
		for k := a; k < b; k++ {
			buf = append(buf, at(k, ch))
		}
		slices.Sort(buf)
		m := len(buf) / 2
		if len(buf)%2 == 1 {
			return buf[m]
		}
		return (buf[m-1] + buf[m]) / 2
	case "savitzky-golay":
		key := [2]int{a - t, b - t}
		coef, ok := w.cache[key]
		if !ok {
			coef = sgCoefficients(a-t, b-t, w.spec.P)
			w.cache[key] = coef // at most a few dozen spans near the edges
		}
		var s float64
		for k := a; k < b; k++ {
			s += float64(coef[k-a] * float64(at(k, ch)))
		}
		return float32(s)
	}
	var s float64
	for k := a; k < b; k++ {
		s += float64(at(k, ch))
	}
	return float32(s / float64(b-a))
}

// applyWindowed returns the whole-series Apply of a windowed filter.
func applyWindowed(spec FilterSpec) func(dst, x []float32, c int, causal bool) {
	return func(dst, x []float32, c int, causal bool) {
		n := len(x) / c
		w := newWindowed(spec)
		at := func(t, ch int) float32 { return x[t*c+ch] }
		for ch := 0; ch < c; ch++ {
			for t := 0; t < n; t++ {
				dst[t*c+ch] = w.value(at, n, t, ch, causal)
			}
		}
	}
}

// MovingAverage returns a moving-average filter over w samples.
func MovingAverage(w int) Filter {
	spec := FilterSpec{Kind: "moving-average", W: w}
	return Filter{Name: spec.Kind, Param: fmt.Sprintf("w=%d", w), Apply: applyWindowed(spec), Spec: &spec}
}

// Median returns a running-median filter over w samples.
func Median(w int) Filter {
	spec := FilterSpec{Kind: "median", W: w}
	return Filter{Name: spec.Kind, Param: fmt.Sprintf("w=%d", w), Apply: applyWindowed(spec), Spec: &spec}
}

// SavitzkyGolay returns a Savitzky–Golay filter: a least-squares
// polynomial of degree p over w samples, evaluated at the centre (centred)
// or at the newest sample (causal).
func SavitzkyGolay(w, p int) Filter {
	spec := FilterSpec{Kind: "savitzky-golay", W: w, P: p}
	return Filter{Name: spec.Kind, Param: fmt.Sprintf("w=%d,p=%d", w, p), Apply: applyWindowed(spec), Spec: &spec}
}

// sgCoefficients returns the weights that evaluate at offset 0 the
// degree-p least-squares polynomial through the samples at offsets
// lo..hi-1 (degree lowered if there are too few samples).
func sgCoefficients(lo, hi, p int) []float64 {
	m := hi - lo
	p = min(p, m-1)
	// Normal equations A^T A a = A^T y with A[i][j] = off_i^j; the value
	// at 0 is a_0, so the weights are row 0 of (A^T A)^-1 A^T.
	q := p + 1
	ata := make([]float64, q*q)
	for i := lo; i < hi; i++ {
		for r := 0; r < q; r++ {
			for s := 0; s < q; s++ {
				ata[r*q+s] += math.Pow(float64(i), float64(r+s))
			}
		}
	}
	inv := invert(ata, q)
	w := make([]float64, m)
	for i := lo; i < hi; i++ {
		var s float64
		for j := 0; j < q; j++ {
			s += float64(inv[j] * math.Pow(float64(i), float64(j))) // row 0 of the inverse
		}
		w[i-lo] = s
	}
	return w
}

// invert inverts a small symmetric positive definite matrix by
// Gauss–Jordan elimination with partial pivoting.
func invert(a []float64, n int) []float64 {
	m := make([]float64, n*2*n)
	for i := 0; i < n; i++ {
		copy(m[i*2*n:i*2*n+n], a[i*n:(i+1)*n])
		m[i*2*n+n+i] = 1
	}
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(m[r*2*n+col]) > math.Abs(m[piv*2*n+col]) {
				piv = r
			}
		}
		for k := 0; k < 2*n; k++ {
			m[col*2*n+k], m[piv*2*n+k] = m[piv*2*n+k], m[col*2*n+k]
		}
		d := m[col*2*n+col]
		for k := 0; k < 2*n; k++ {
			m[col*2*n+k] /= d
		}
		for r := 0; r < n; r++ {
			if r == col {
				continue
			}
			f := m[r*2*n+col]
			for k := 0; k < 2*n; k++ {
				m[r*2*n+k] -= float64(f * m[col*2*n+k])
			}
		}
	}
	out := make([]float64, n*n)
	for i := 0; i < n; i++ {
		copy(out[i*n:(i+1)*n], m[i*2*n+n:(i+1)*2*n])
	}
	return out
}

// EMA returns an exponential moving average with smoothing factor a: causal
// is the one-pass recursion, centred runs it forwards and then backwards
// (zero phase).
func EMA(a float64) Filter {
	return Filter{Name: "ema", Param: fmt.Sprintf("a=%g", a), Apply: func(dst, x []float32, c int, causal bool) {
		n := len(x) / c
		for ch := 0; ch < c; ch++ {
			y := float64(x[ch])
			for t := 0; t < n; t++ {
				y += float64(a * (float64(x[t*c+ch]) - y))
				dst[t*c+ch] = float32(y)
			}
			if causal {
				continue
			}
			y = float64(dst[(n-1)*c+ch])
			for t := n - 1; t >= 0; t-- {
				y += float64(a * (float64(dst[t*c+ch]) - y))
				dst[t*c+ch] = float32(y)
			}
		}
	}}
}

// span returns the sample range [a, b) a window of w samples covers at t.
func span(t, n, w int, causal bool) (int, int) {
	if causal {
		return max(0, t-w+1), t + 1
	}
	h := w / 2
	return max(0, t-h), min(n, t-h+w)
}

// Classical returns the filters and parameter grids edge eval tunes: moving
// average, median and Savitzky–Golay (degree 2 and 3) over windows of 3 to
// 65 samples, and EMA with factors 0.02 to 0.7.
func Classical() map[string][]Filter {
	ws := []int{3, 5, 7, 9, 11, 15, 21, 31, 45, 65}
	out := map[string][]Filter{}
	for _, w := range ws {
		out["moving-average"] = append(out["moving-average"], MovingAverage(w))
		out["median"] = append(out["median"], Median(w))
		if w >= 5 {
			out["savitzky-golay"] = append(out["savitzky-golay"], SavitzkyGolay(w, 2), SavitzkyGolay(w, 3))
		}
	}
	for _, a := range []float64{0.7, 0.5, 0.35, 0.25, 0.15, 0.1, 0.05, 0.02} {
		out["ema"] = append(out["ema"], EMA(a))
	}
	return out
}

// ImputeHold replaces NaN and ±Inf values in a time-major series with the
// channel's last valid value (before any: fill[ch], or 0 if fill is nil),
// as a stream does, and returns how many it replaced.
func ImputeHold(x []float32, c int, fill []float32) int {
	last := make([]float32, c)
	have := make([]bool, c)
	count := 0
	for i, v := range x {
		ch := i % c
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			switch {
			case have[ch]:
				x[i] = last[ch]
			case fill != nil:
				x[i] = fill[ch]
			default:
				x[i] = 0
			}
			count++
			continue
		}
		last[ch], have[ch] = v, true
	}
	return count
}

// SNR returns the mean over channels of the signal-to-noise ratio in dB
// of est against the clean signal (signal power: the clean channel's
// variance), and the mean over channels of the RMSE as a fraction of the
// clean channel's standard deviation, over the rows where use is true (all
// rows if use is nil).
func SNR(est, clean []float32, c int, use []bool) (db, relRMSE float64) {
	n := len(clean) / c
	for ch := 0; ch < c; ch++ {
		var s, sq, e2 float64
		cnt := 0
		for t := 0; t < n; t++ {
			if use != nil && !use[t] {
				continue
			}
			v := float64(clean[t*c+ch])
			s += v
			sq += float64(v * v)
			d := float64(est[t*c+ch]) - v
			e2 += float64(d * d)
			cnt++
		}
		if cnt == 0 {
			return math.NaN(), math.NaN()
		}
		mean := s / float64(cnt)
		variance := sq/float64(cnt) - float64(mean*mean)
		mse := e2 / float64(cnt)
		db += float64(10 * math.Log10(variance/mse))
		relRMSE += math.Sqrt(mse / variance)
	}
	return db / float64(c), relRMSE / float64(c)
}
