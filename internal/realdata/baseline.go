package realdata

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeml/edge/pca"
)

// A baseline is a classical detector: fitted on learning rows, it scores
// every row (NaN where it lacks the rows before it needs). Rows are
// time-major with c channels and hold no NaN (missing values are held).
type baseline interface {
	fit(x []float32, c int) error
	score(x []float32, c int) []float64
}

// baselineNames lists the baselines in report order.
var baselineNames = []string{"|z|", "pca-t2", "pca-spe", "dpca-t2", "dpca-spe", "median/mad"}

func newBaseline(name string) baseline {
	switch name {
	case "|z|":
		return &zScore{}
	case "pca-t2":
		return &pcaStat{t2: true}
	case "pca-spe":
		return &pcaStat{}
	case "dpca-t2":
		return &pcaStat{t2: true, lags: 2}
	case "dpca-spe":
		return &pcaStat{lags: 2}
	case "median/mad":
		return &hampel{width: 25}
	}
	panic("realdata: unknown baseline " + name)
}

// meanStd returns each channel's mean and standard deviation (at least a
// millionth of the mean's size, so a constant channel divides by little
// but not by zero).
func meanStd(x []float32, c int) (mean, std []float64) {
	n := len(x) / c
	mean, std = make([]float64, c), make([]float64, c)
	for ch := 0; ch < c; ch++ {
		var s, sq float64
		for t := 0; t < n; t++ {
			v := float64(x[t*c+ch])
			s += v
			sq += float64(v * v)
		}
		m := s / float64(n)
		mean[ch] = m
		std[ch] = math.Max(math.Sqrt(math.Max(sq/float64(n)-float64(m*m), 0)), 1e-6*math.Max(math.Abs(m), 1e-6))
	}
	return mean, std
}

// zScore scores a row by its largest |z| against the learning period's
// mean and standard deviation per channel.
type zScore struct{ mean, std []float64 }

func (z *zScore) fit(x []float32, c int) error {
	z.mean, z.std = meanStd(x, c)
	return nil
}

func (z *zScore) score(x []float32, c int) []float64 {
	out := make([]float64, len(x)/c)
	for t := range out {
		for ch := 0; ch < c; ch++ {
			out[t] = math.Max(out[t], math.Abs(float64(x[t*c+ch])-z.mean[ch])/z.std[ch])
		}
	}
	return out
}

// pcaStat is PCA (lags = 0) or dynamic PCA (each row with its lags
// previous rows) on standardised rows, scoring Hotelling's T² in the
// principal subspace or the squared prediction error (SPE, Q) outside
// it. The components explain 90% of the variance.
type pcaStat struct {
	t2         bool
	lags       int
	mean, std  []float64
	p          *pca.PCA
	components int
}

func (s *pcaStat) vectors(x []float32, c int) ([]float32, int) {
	n := len(x) / c
	d := c * (s.lags + 1)
	if n <= s.lags {
		return nil, d
	}
	out := make([]float32, 0, (n-s.lags)*d)
	for t := s.lags; t < n; t++ {
		for l := s.lags; l >= 0; l-- {
			for ch := 0; ch < c; ch++ {
				out = append(out, float32((float64(x[(t-l)*c+ch])-s.mean[ch])/s.std[ch]))
			}
		}
	}
	return out, d
}

func (s *pcaStat) fit(x []float32, c int) error {
	s.mean, s.std = meanStd(x, c)
	v, d := s.vectors(x, c)
	if len(v)/d < 3 {
		return fmt.Errorf("realdata: %d rows are too few for PCA", len(x)/c)
	}
	full, err := pca.Fit(v, d, min(d, len(v)/d-1))
	if err != nil {
		return err
	}
	var kept float64
	k := 0
	for k < full.K && kept < 0.9*full.TotalVariance {
		kept += full.Variance[k]
		k++
	}
	s.p, s.components = full.Truncate(max(1, min(k, d-1))), k
	return nil
}

func (s *pcaStat) score(x []float32, c int) []float64 {
	n := len(x) / c
	out := make([]float64, n)
	for t := 0; t < min(s.lags, n); t++ {
		out[t] = math.NaN()
	}
	v, d := s.vectors(x, c)
	code := make([]float64, s.p.K)
	for i := 0; i < len(v)/d; i++ {
		w := v[i*d : (i+1)*d]
		var spe float64
		for k, comp := range s.p.Components {
			var dot float64
			for j, cv := range comp {
				dot += float64((float64(w[j]) - s.p.Mean[j]) * cv)
			}
			code[k] = dot
		}
		if s.t2 {
			var t2 float64
			for k, v := range code {
				t2 += v * v / math.Max(s.p.Variance[k], 1e-12)
			}
			out[i+s.lags] = t2
			continue
		}
		for j := range w {
			r := float64(w[j]) - s.p.Mean[j]
			for k, comp := range s.p.Components {
				r -= float64(code[k] * comp[j])
			}
			spe += float64(r * r)
		}
		out[i+s.lags] = spe
	}
	return out
}

// hampel scores a row by its largest distance from the median of the
// channel's previous width rows, in robust standard deviations (1.4826 ×
// the median absolute deviation): a rolling median/MAD filter.
type hampel struct {
	width int
	floor []float64
}

func (h *hampel) fit(x []float32, c int) error {
	_, std := meanStd(x, c)
	h.floor = make([]float64, c)
	for ch := range h.floor {
		h.floor[ch] = 1e-3 * std[ch]
	}
	return nil
}

func (h *hampel) score(x []float32, c int) []float64 {
	n := len(x) / c
	out := make([]float64, n)
	buf := make([]float64, 0, h.width)
	dev := make([]float64, 0, h.width)
	for t := 0; t < n; t++ {
		if t < h.width {
			out[t] = math.NaN()
			continue
		}
		for ch := 0; ch < c; ch++ {
			buf = buf[:0]
			for k := t - h.width; k < t; k++ {
				buf = append(buf, float64(x[k*c+ch]))
			}
			med := median(buf)
			dev = dev[:0]
			for _, v := range buf {
				dev = append(dev, math.Abs(v-med))
			}
			mad := float64(1.4826*median(dev)) + h.floor[ch]
			out[t] = math.Max(out[t], math.Abs(float64(x[t*c+ch])-med)/mad)
		}
	}
	return out
}

func median(v []float64) float64 {
	slices.Sort(v)
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}
