package anomaly

import (
	"fmt"
	"math"

	"github.com/edgeml/edge/pca"
)

// The baselines the autoencoder scorer is measured against, both scoring
// the same windows (end rows) of a whole series.

// RollingZ scores each window by the largest |z| among its values, where
// z is the value's distance from the mean of the preceding `trail` samples
// of its channel, in their standard deviations (causal, per channel).
// x is time-major with c channels (NaN values are skipped); ends lists the
// windows' last rows; steps is the window length.
func RollingZ(x []float32, c, trail, steps int, ends []int) ([]float64, error) {
	n := len(x) / c
	if trail < 2 || steps < 1 {
		return nil, fmt.Errorf("anomaly: rolling z-score needs a trail of at least 2 (got %d) and a window", trail)
	}
	z := make([]float32, len(x))
	for ch := 0; ch < c; ch++ {
		var s, sq float64
		cnt := 0
		// A ring of the trailing values (NaN: not counted).
		ring := make([]float64, trail)
		for i := range ring {
			ring[i] = math.NaN()
		}
		for t := 0; t < n; t++ {
			v := float64(x[t*c+ch])
			if cnt >= 2 && !math.IsNaN(v) {
				mean := s / float64(cnt)
				sd := math.Sqrt(math.Max(sq/float64(cnt)-float64(mean*mean), 1e-12))
				z[t*c+ch] = float32(math.Abs(v-mean) / sd)
			}
			old := ring[t%trail]
			if !math.IsNaN(old) {
				s -= old
				sq -= float64(old * old)
				cnt--
			}
			ring[t%trail] = v
			if !math.IsNaN(v) {
				s += v
				sq += float64(v * v)
				cnt++
			}
		}
	}
	out := make([]float64, len(ends))
	for i, e := range ends {
		if e < 0 || e >= n {
			return nil, fmt.Errorf("anomaly: window end %d outside %d rows", e, n)
		}
		var m float32
		for t := max(0, e-steps+1); t <= e; t++ {
			for ch := 0; ch < c; ch++ {
				m = max(m, z[t*c+ch])
			}
		}
		out[i] = float64(m)
	}
	return out, nil
}

// PCAScores scores normalised windows (time-major, d values each) by
// their capped squared reconstruction error under p, exactly as the
// autoencoder scorer does (errors capped at clip, in normalised units).
func PCAScores(p *pca.PCA, windows []float32, clip float64) []float64 {
	n := len(windows) / p.D
	out := make([]float64, n)
	rec := make([]float32, p.D)
	c2 := clip * clip
	for i := 0; i < n; i++ {
		w := windows[i*p.D : (i+1)*p.D]
		p.Reconstruct(rec, w)
		var s float64
		for j, v := range w {
			d := float64(v) - float64(rec[j])
			s += math.Min(d*d, c2)
		}
		out[i] = s / float64(p.D)
	}
	return out
}
