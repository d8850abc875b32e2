package anomaly

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// Residuals collects the reconstruction residuals of normal rows that
// the model did not train on (from a scorer made with Config.Probe), the
// input of Learn.
type Residuals struct {
	C      int
	R, V   []float32 // residuals and values, normalised, row after row
	Miss   []bool
	starts []int // rows where a new stream begins
	seg    int64
	open   bool
}

// MaxResidualRows bounds what Residuals collects.
const MaxResidualRows = 1 << 22

// NewResiduals returns an empty collection for c channels.
func NewResiduals(c int) *Residuals { return &Residuals{C: c} }

// Rows returns the rows collected.
func (r *Residuals) Rows() int { return len(r.Miss) / max(r.C, 1) }

// Break marks the start of another stream (the next rows do not follow
// the previous ones in time).
func (r *Residuals) Break() { r.open = false }

// Add copies one probed row.
func (r *Residuals) Add(p *Probe) error {
	if len(p.Residual) != r.C {
		return fmt.Errorf("anomaly: a probe of %d channels for residuals of %d", len(p.Residual), r.C)
	}
	if r.Rows() >= MaxResidualRows {
		return nil
	}
	if !r.open || p.Segment != r.seg {
		r.starts = append(r.starts, r.Rows())
		r.open, r.seg = true, p.Segment
	}
	r.R = append(r.R, p.Residual...)
	r.V = append(r.V, p.Value...)
	r.Miss = append(r.Miss, p.Missing...)
	return nil
}

// LearnOptions configure Learn.
type LearnOptions struct {
	// Base supplies Rate, Clip, Hysteresis, MinRows, Hop, Outlier, Passes,
	// Drift and Settle (defaults where zero; a negative Drift or Settle:
	// 0, off).
	Base Settings
	// Delay is the number of rows within which a lasting shift should be
	// found: the smoothing weight is chosen to find the smallest such
	// shift within Delay rows (default 8).
	Delay int
	// Source says where the residuals came from (stored in Settings).
	Source string
}

// alphas are the smoothing weights Learn chooses from.
var alphas = []float64{1, 1.0 / 2, 1.0 / 4, 1.0 / 8, 1.0 / 16, 1.0 / 32}

// minEffective is the fewest effectively independent values the smooth
// statistic's tail is fitted from. An exponentially weighted mean of
// weight a has a/(2−a) of a row's variance, so n rows carry about
// n·a/(2−a) independent values of it; a smoothing that leaves fewer is
// not chosen (on Tennessee Eastman learned from 144 rows, the tail of a
// 1/8 smoothing fitted on 10 such values flagged 37% of normal rows).
const minEffective = 64

// maxPersist bounds Settings.Persist.
const maxPersist = 4

// Learn sets the scorer's settings from residuals of normal rows: each
// channel's typical error, the smoothing weight, the four statistics'
// tails, the change statistic's tail, and the missing and frozen limits.
func Learn(res *Residuals, opt LearnOptions) (Settings, error) {
	s := opt.Base
	s.Version = settingsVersion
	s.Scale = nil
	s = s.resolve()
	n, c := res.Rows(), res.C
	if n < minTailScores {
		return Settings{}, fmt.Errorf("anomaly: %d normal rows to learn the threshold from; need at least %d", n, minTailScores)
	}
	if opt.Delay <= 0 {
		opt.Delay = 8
	}
	s.Scale = channelScales(res)
	s.Outlier = opt.Base.Outlier
	if s.Outlier == 0 {
		s.Outlier = 4 * medianOf(s.Scale)
	}
	spe, peak, rng := rowStats(res, s.Scale, s.Clip)
	var err error
	if s.Tails[StatSPE], err = FitTail(spe); err != nil {
		return Settings{}, err
	}
	if s.Tails[StatPeak], err = FitTail(peak); err != nil {
		return Settings{}, err
	}
	if s.Tails[StatRange], err = FitTail(rng); err != nil {
		return Settings{}, err
	}
	// The smoothing that finds the smallest lasting shift of spe within
	// Delay rows at the target rate.
	best := math.Inf(1)
	var smooth []float64 // the chosen smoothing's series, for the change tail
	for k := 1; k <= 3; k++ {
		least := runMin(spe, res.starts, k)
		start := medianOf(least)
		for _, a := range alphas {
			if a < 1 && float64(n)*a/(2-a) < minEffective {
				continue // too few independent values to fit its tail
			}
			sm := ewmaRuns(least, res.starts, a, start)
			t, err := FitTail(sm)
			if err != nil {
				return Settings{}, err
			}
			gain := 1 - math.Pow(1-a, float64(max(1, opt.Delay-k+1)))
			shift := (t.Threshold(s.Rate/NumStats) - t.centre()) / gain
			if shift < best {
				best, s.Alpha, s.Persist, s.Tails[StatSmooth], smooth = shift, a, k, t, sm
			}
		}
	}
	if s.Change, err = learnChange(&s.Tails, [NumStats][]float64{spe, peak, rng, smooth}, res.starts); err != nil {
		return Settings{}, err
	}
	s.Missing, s.Frozen = runLimits(res)
	s.Drift = max(s.Drift, 0)
	s.Settle = max(s.Settle, 0)
	s.Rows, s.Source = n, opt.Source
	if err := s.check(c, max(s.Hop, 1)); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// Scales returns each channel's typical residual (see channelScales).
func (r *Residuals) Scales() []float64 { return channelScales(r) }

// OutlierLevel returns the robust reconstruction's default outlier level
// for residuals like these: 4 × the median channel scale.
func (r *Residuals) OutlierLevel() float64 { return 4 * medianOf(channelScales(r)) }

// channelScales returns each channel's typical residual: the larger of a
// robust standard deviation (1.4826 × the median absolute residual) and a
// quarter of the root mean square (so a channel that is exact but for
// rare jumps is not made hypersensitive), at least 0.01 normalised units.
func channelScales(res *Residuals) []float64 {
	n, c := res.Rows(), res.C
	out := make([]float64, c)
	buf := make([]float64, 0, n)
	for ch := 0; ch < c; ch++ {
		buf = buf[:0]
		var sq float64
		for t := 0; t < n; t++ {
			if res.Miss[t*c+ch] {
				continue
			}
			v := math.Abs(float64(res.R[t*c+ch]))
			buf = append(buf, v)
			sq += float64(v * v)
		}
		if len(buf) == 0 {
			out[ch] = 1
			continue
		}
		slices.Sort(buf)
		mad := 1.4826 * quantileSorted(buf, 0.5)
		rms := math.Sqrt(sq / float64(len(buf)))
		out[ch] = max(mad, 0.25*rms, 0.01)
	}
	return out
}

// rowStats computes spe, peak and range per row as the scorer does.
func rowStats(res *Residuals, scale []float64, clip float64) (spe, peak, rng []float64) {
	n, c := res.Rows(), res.C
	spe, peak, rng = make([]float64, n), make([]float64, n), make([]float64, n)
	c2 := float32(clip * clip)
	w := make([]float32, c)
	for ch := range w {
		w[ch] = float32(1 / scale[ch])
	}
	for t := 0; t < n; t++ {
		var s, p, r float64
		for ch := 0; ch < c; ch++ {
			i := t*c + ch
			if res.Miss[i] {
				s++
				continue
			}
			d := res.R[i] * w[ch]
			e := min(d*d, c2)
			s += float64(e)
			p = max(p, float64(e))
			r = max(r, math.Abs(float64(res.V[i])))
		}
		spe[t], peak[t], rng[t] = s/float64(c), p, r
	}
	return spe, peak, rng
}

// runMin returns the smallest of each value and the k-1 before it in its
// run (runs begin at each start), as the scorer computes it.
func runMin(v []float64, starts []int, k int) []float64 {
	out := make([]float64, len(v))
	begin, j := 0, 0
	for t := range v {
		if j < len(starts) && starts[j] == t {
			begin = t
			j++
		}
		m := v[t]
		for i := max(begin, t-k+1); i < t; i++ {
			m = min(m, v[i])
		}
		out[t] = m
	}
	return out
}

// ewmaRuns smooths v with weight a, restarting at each start (from the
// value start).
func ewmaRuns(v []float64, starts []int, a, start float64) []float64 {
	out := make([]float64, len(v))
	e := start
	k := 0
	for t, x := range v {
		if k < len(starts) && starts[k] == t {
			e = start
			k++
		}
		e += float64(a * (x - e))
		out[t] = e
	}
	return out
}

// minDistinct: a channel with fewer distinct values in the learning rows
// is discrete, and is never judged frozen.
const minDistinct = 20

// distinctBelow reports whether channel ch takes fewer than k distinct
// values in the residuals' rows.
func distinctBelow(res *Residuals, ch, k int) bool {
	seen := map[float32]bool{}
	for t := 0; t < res.Rows(); t++ {
		i := t*res.C + ch
		if !res.Miss[i] {
			seen[res.V[i]] = true
			if len(seen) >= k {
				return false
			}
		}
	}
	return true
}

// runLimits returns, per channel, the missing-run and frozen-run lengths
// that raise a finding: twice the longest run of missing values in the
// normal rows plus one, at least 5; four times the longest run of
// identical readings, at least 8 (a slow or coarsely quantised channel
// repeats itself for long and unevenly: on real water-quality data the
// longest runs after learning were up to three times those learned). A
// channel with fewer than minDistinct values is never frozen.
func runLimits(res *Residuals) (missing, frozen []int) {
	n, c := res.Rows(), res.C
	missing, frozen = make([]int, c), make([]int, c)
	for ch := 0; ch < c; ch++ {
		k := 0
		var miss, same, maxMiss, maxSame int
		var last float32
		have := false
		for t := 0; t < n; t++ {
			if k < len(res.starts) && res.starts[k] == t {
				miss, same, have = 0, 0, false
				k++
			}
			i := t*c + ch
			if res.Miss[i] {
				miss++
				same = 0
			} else {
				miss = 0
				if have && res.V[i] == last {
					same++
				} else {
					same = 1
				}
				last, have = res.V[i], true
			}
			maxMiss, maxSame = max(maxMiss, miss), max(maxSame, same)
		}
		missing[ch] = max(2*maxMiss+1, 5)
		frozen[ch] = max(4*maxSame, 8)
		if 2*maxSame >= n/max(len(res.starts), 1) || distinctBelow(res, ch, minDistinct) {
			// Constant for whole blocks, or a few levels only (a switch, a
			// command, a coarse setting): holding a value is its normal
			// state, not a stuck sensor.
			frozen[ch] = 0
		}
	}
	return missing, frozen
}

// Calibrate learns the settings from a series of normal rows (time-major,
// raw units, NaN where missing) streamed through model m as edge score
// will stream them (same hop, imputation and robust reconstruction). The
// rows must be ones m did not train on: the model reconstructs its
// training rows better than new ones, so their scores set thresholds too
// low. Package learn cross-fits instead.
func Calibrate(m *model.Model, series []float32, opt LearnOptions) (Settings, error) {
	c := m.Channels
	if len(series) == 0 || len(series)%c != 0 {
		return Settings{}, fmt.Errorf("anomaly: %d values are not whole rows of %d channels", len(series), c)
	}
	probe := func(tau float64) (*Residuals, error) {
		res := NewResiduals(c)
		sc, err := New(m, Config{Probe: res.Add, Settings: Settings{Hop: opt.Base.Hop, Outlier: tau, Passes: opt.Base.Passes}}, nil)
		if err != nil {
			return nil, err
		}
		for t := 0; t < len(series)/c; t++ {
			if err := sc.Push(stream.Row{Values: series[t*c : (t+1)*c], Line: t + 1}); err != nil {
				return nil, err
			}
		}
		return res, sc.Close()
	}
	// A plain pass sets the robust reconstruction's outlier level, then
	// the rows are probed again as the scorer will reconstruct them.
	res, err := probe(-1)
	if err != nil {
		return Settings{}, err
	}
	if opt.Base.Outlier == 0 {
		opt.Base.Outlier = res.OutlierLevel()
	}
	if opt.Base.Outlier > 0 {
		if res, err = probe(opt.Base.Outlier); err != nil {
			return Settings{}, err
		}
	}
	if opt.Source == "" {
		opt.Source = "calibration"
	}
	return Learn(res, opt)
}
