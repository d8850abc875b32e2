package denoise

import (
	"fmt"
	"math"
	"slices"

	"github.com/edgeml/edge/internal/linalg"
)

// Predictor predicts each value from its neighbours, never from the value
// itself (Noise2Self's J-invariance): fitted and chosen on noisy rows, it
// learns the signal, not the noise, since a value's noise is independent
// of its neighbours. Each channel's prediction mixes two predictors, each
// with the neighbourhood that predicts held-out rows best:
//
//   - linear: ridge least squares over the channel's own values Own rows
//     either side (Causal: the Own rows before) and its most correlated
//     peer channels from Lags rows before to Lags rows after (Causal: up to
//     the row itself);
//   - median: the median of the channel's own values Med rows either side
//     (Causal: before), a donut median that keeps steps sharp;
//
// weighted Mix and 1-Mix, the weight that predicts held-out rows best. A
// value is then Gain·y + (1-Gain)·prediction, the Wiener weight from the
// noise variance and the prediction's error. Values are in normalised
// units.
type Predictor struct {
	Causal bool        `json:"causal"`
	Lags   int         `json:"lags"`
	Own    []int       `json:"own"`
	Med    []int       `json:"med"`
	Mix    []float32   `json:"mix"`
	Peers  [][]int     `json:"peers"`
	W      [][]float32 `json:"w"`
	B      []float32   `json:"b"`
	Gain   []float32   `json:"gain"`
	Noise  []float32   `json:"noise"`
	// Err is the prediction's typical error (root mean square on the
	// learning rows). A value further than 4 Err from its prediction that
	// is no impulse means the prediction failed (a regime the learning
	// rows did not show): the value is kept, median-filtered with its two
	// neighbours.
	Err []float32 `json:"err"`
	// Impulses: a value further than Spike from the median of its own
	// channel's Span rows either side (Causal: the Span rows before and
	// itself) is an impulse, replaced by that median before prediction.
	Span  int       `json:"span"`
	Spike []float32 `json:"spike"`
}

// Limits of a Predictor.
const (
	maxOwn   = 64
	maxLags  = 4
	maxPeers = 16
)

// check validates a predictor for c channels (read from a model file).
func (p *Predictor) check(c int) error {
	if p.Lags < 0 || p.Lags > maxLags || p.Span < 0 || p.Span > maxOwn {
		return fmt.Errorf("denoise: the stored predictor: lags %d, span %d", p.Lags, p.Span)
	}
	if len(p.Own) != c || len(p.Med) != c || len(p.Mix) != c || len(p.Peers) != c || len(p.W) != c || len(p.B) != c ||
		len(p.Gain) != c || len(p.Noise) != c || len(p.Err) != c || len(p.Spike) != c {
		return fmt.Errorf("denoise: the stored predictor: per-channel fields for %d channels", c)
	}
	for ch := 0; ch < c; ch++ {
		if err := p.checkChannel(c, ch); err != nil {
			return fmt.Errorf("denoise: the stored predictor: channel %d: %w", ch, err)
		}
	}
	return nil
}

// checkChannel checks channel ch's neighbourhood, weights and mix.
func (p *Predictor) checkChannel(c, ch int) error {
	if p.Own[ch] < 0 || p.Own[ch] > maxOwn || p.Med[ch] < 0 || p.Med[ch] > maxOwn || len(p.Peers[ch]) > maxPeers {
		return fmt.Errorf("own %d, median %d, %d peers", p.Own[ch], p.Med[ch], len(p.Peers[ch]))
	}
	for _, q := range p.Peers[ch] {
		if q < 0 || q >= c || q == ch {
			return fmt.Errorf("peer %d", q)
		}
	}
	if p.Mix[ch] > 0 && len(p.W[ch]) != p.features(ch) {
		return fmt.Errorf("%d weights for %d inputs", len(p.W[ch]), p.features(ch))
	}
	for _, v := range append([]float32{p.B[ch], p.Mix[ch], p.Gain[ch], p.Noise[ch], p.Err[ch], p.Spike[ch]}, p.W[ch]...) {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("a value is %v", v)
		}
	}
	if p.Mix[ch] < 0 || p.Mix[ch] > 1 || p.Gain[ch] < 0 || p.Gain[ch] > 1 {
		return fmt.Errorf("mix %v, gain %v outside [0, 1]", p.Mix[ch], p.Gain[ch])
	}
	return nil
}

// owns are the neighbourhoods FitPredictor tries.
var owns = []int{2, 4, 8, 16, 32}

// features returns the number of linear inputs of channel ch.
func (p *Predictor) features(ch int) int {
	own, lags := 2*p.Own[ch], 2*p.Lags+1
	if p.Causal {
		own, lags = p.Own[ch], p.Lags+1
	}
	return own + len(p.Peers[ch])*lags
}

// gather writes channel ch's linear features at row t of a series of n
// rows into f, reading values through at (edges clamped).
func (p *Predictor) gather(f []float32, at func(t, ch int) float32, n, t, ch int) {
	clamp := func(i int) int { return min(max(i, 0), n-1) }
	k := 0
	for l := 1; l <= p.Own[ch]; l++ {
		f[k] = at(clamp(t-l), ch)
		k++
		if !p.Causal {
			f[k] = at(clamp(t+l), ch)
			k++
		}
	}
	hi := p.Lags
	if p.Causal {
		hi = 0
	}
	for _, q := range p.Peers[ch] {
		for l := -p.Lags; l <= hi; l++ {
			f[k] = at(clamp(t+l), q)
			k++
		}
	}
}

// predictAt returns channel ch's prediction at row t; f is scratch space.
func (p *Predictor) predictAt(f []float32, at func(t, ch int) float32, n, t, ch int) float32 {
	m := p.Mix[ch]
	var lin, med float32
	if m > 0 {
		lin = p.linear(f, at, n, t, ch)
	}
	if m < 1 {
		med = p.median(f, at, n, t, ch)
	}
	return float32(m*lin) + float32((1-m)*med) // no fused multiply-add: the same bits on every architecture
}

func (p *Predictor) linear(f []float32, at func(t, ch int) float32, n, t, ch int) float32 {
	p.gather(f, at, n, t, ch)
	s := p.B[ch]
	for i, w := range p.W[ch] {
		s += float32(w * f[i])
	}
	return s
}

func (p *Predictor) median(f []float32, at func(t, ch int) float32, n, t, ch int) float32 {
	f = f[:0]
	for l := 1; l <= p.Med[ch]; l++ {
		if t-l >= 0 {
			f = append(f, at(t-l, ch))
		}
		if !p.Causal && t+l < n {
			f = append(f, at(t+l, ch))
		}
	}
	if len(f) == 0 {
		return at(t, ch)
	}
	slices.Sort(f)
	if len(f)%2 == 1 {
		return f[len(f)/2]
	}
	return (f[len(f)/2-1] + f[len(f)/2]) / 2
}

// FitPredictor fits a blind-spot predictor to a normalised series (time-
// major, c channels, no NaN; missing values flagged in miss, which may be
// nil): impulses are found by a running median, then, per channel, the
// linear and median predictors of every neighbourhood in owns are fitted
// on the first three quarters of the rows and the one with the smallest
// error on the last quarter is kept (the linear one refitted on all rows);
// the gains follow from its error and the noise variance estimated from
// second differences.
func FitPredictor(x []float32, miss []bool, c int, causal bool, lags, peers int) (*Predictor, error) {
	n := len(x) / c
	if lags < 0 || lags > maxLags || peers < 0 || peers > maxPeers {
		return nil, fmt.Errorf("denoise: predictor of %d lags, %d peers", lags, peers)
	}
	if n < 40 {
		return nil, fmt.Errorf("denoise: %d rows are too few to fit a predictor", n)
	}
	p := &Predictor{Causal: causal, Lags: lags, Peers: linalg.CorrelatedPeers(x, c, peers), Span: 3,
		Own: make([]int, c), Med: make([]int, c), Mix: make([]float32, c), W: make([][]float32, c), B: make([]float32, c),
		Gain: make([]float32, c), Noise: make([]float32, c), Spike: make([]float32, c), Err: make([]float32, c)}
	skip := slices.Clone(miss)
	if skip == nil {
		skip = make([]bool, len(x))
	}
	clean, bad := p.despike(x, skip, c, true)
	cut := n * 3 / 4
	for ch := 0; ch < c; ch++ {
		if err := p.choose(clean, bad, c, ch, cut); err != nil {
			return nil, err
		}
		v := p.errVar(clean, bad, c, ch, 0, n)
		p.Err[ch] = float32(math.Sqrt(v))
		if !(v > 1e-12) {
			p.Gain[ch] = 1 // predicted exactly (a constant or quantised channel): values pass
			continue
		}
		noise := math.Min(secondDiffVar(clean, bad, c, ch), v)
		p.Noise[ch] = float32(math.Sqrt(noise))
		p.Gain[ch] = float32(math.Max(0, 1-noise/v))
	}
	return p, nil
}

// choose picks channel ch's neighbourhoods and mix by the error on rows
// cut..n of predictors fitted on the rows before cut, then refits the
// linear one on all rows.
func (p *Predictor) choose(clean []float32, bad []bool, c, ch, cut int) error {
	n := len(clean) / c
	bestMed, bestLin := math.Inf(1), math.Inf(1)
	p.Mix[ch] = 0
	for _, o := range owns {
		if 2*o >= n-cut {
			break
		}
		p.Med[ch] = o
		if e := p.errVar(clean, bad, c, ch, cut, n); e < bestMed {
			bestMed, p.Med[ch] = e, o
		} else {
			p.Med[ch] = max(1, p.Med[ch])
		}
	}
	medOwn := 1
	for _, o := range owns {
		p.Med[ch] = o
		if e := p.errVar(clean, bad, c, ch, cut, n); e == bestMed {
			medOwn = o
			break
		}
	}
	p.Med[ch] = medOwn
	p.Mix[ch] = 1
	linOwn := 0
	for _, o := range owns {
		p.Own[ch] = o
		if 4*(p.features(ch)+1) > cut || 2*o >= n-cut {
			break
		}
		if err := p.fitChannel(clean[:cut*c], bad[:cut*c], c, ch); err != nil {
			return err
		}
		if e := p.errVar(clean, bad, c, ch, cut, n); e < bestLin {
			bestLin, linOwn = e, o
		}
	}
	if linOwn == 0 {
		p.Own[ch], p.Mix[ch], p.W[ch], p.B[ch] = 0, 0, nil, 0
		return nil
	}
	p.Own[ch] = linOwn
	if err := p.fitChannel(clean[:cut*c], bad[:cut*c], c, ch); err != nil {
		return err
	}
	p.Mix[ch] = p.bestMix(clean, bad, c, ch, cut, n)
	return p.fitChannel(clean, bad, c, ch)
}

// bestMix returns the weight of the linear prediction, in [0, 1], that
// minimises the squared error of the mix over rows [a, b).
func (p *Predictor) bestMix(clean []float32, bad []bool, c, ch, a, b int) float32 {
	n := len(clean) / c
	f := make([]float32, p.scratch())
	at := func(t, q int) float32 { return clean[t*c+q] }
	var num, den float64
	for t := a; t < b; t++ {
		if bad[t*c+ch] {
			continue
		}
		l := float64(p.linear(f, at, n, t, ch))
		m := float64(p.median(f, at, n, t, ch))
		y := float64(clean[t*c+ch])
		num += float64((y - m) * (l - m))
		den += float64((l - m) * (l - m))
	}
	if den == 0 {
		return 1
	}
	return float32(min(max(num/den, 0), 1))
}

// errVar returns the mean squared prediction error of channel ch over
// rows [a, b) whose value is not bad.
func (p *Predictor) errVar(clean []float32, bad []bool, c, ch, a, b int) float64 {
	n := len(clean) / c
	f := make([]float32, p.scratch())
	at := func(t, q int) float32 { return clean[t*c+q] }
	var s float64
	k := 0
	for t := a; t < b; t++ {
		if bad[t*c+ch] {
			continue
		}
		d := float64(clean[t*c+ch] - p.predictAt(f, at, n, t, ch))
		s += float64(d * d)
		k++
	}
	if k == 0 {
		return math.Inf(1)
	}
	return s / float64(k)
}

// runMedian returns the median of channel ch's values not skipped among
// rows t-Span..t+Span (Causal: t-Span..t) of a series of n rows, or the
// value itself if all are skipped; buf is scratch space.
func (p *Predictor) runMedian(buf []float32, at func(t, ch int) float32, skipped func(t, ch int) bool, n, t, ch int) float32 {
	buf = buf[:0]
	hi := t + p.Span
	if p.Causal {
		hi = t
	}
	for k := max(0, t-p.Span); k <= min(n-1, hi); k++ {
		if !skipped(k, ch) {
			buf = append(buf, at(k, ch))
		}
	}
	if len(buf) == 0 {
		return at(t, ch)
	}
	slices.Sort(buf)
	return buf[len(buf)/2]
}

// despike returns x with impulses and missing values (skip) replaced by
// the running median of their channel, and which values were replaced.
// With learn, each channel's Spike level is first set to 5 robust
// standard deviations of the distances from the median.
func (p *Predictor) despike(x []float32, skip []bool, c int, learn bool) ([]float32, []bool) {
	n := len(x) / c
	med := make([]float32, len(x))
	buf := make([]float32, 0, 2*p.Span+1)
	at := func(t, q int) float32 { return x[t*c+q] }
	skipped := func(t, q int) bool { return skip[t*c+q] }
	for t := 0; t < n; t++ {
		for ch := 0; ch < c; ch++ {
			med[t*c+ch] = p.runMedian(buf, at, skipped, n, t, ch)
		}
	}
	if learn {
		for ch := 0; ch < c; ch++ {
			d := make([]float64, 0, n)
			for t := 0; t < n; t++ {
				if i := t*c + ch; !skip[i] {
					d = append(d, math.Abs(float64(x[i]-med[i])))
				}
			}
			p.Spike[ch] = 1e-3
			if len(d) > 0 {
				slices.Sort(d)
				p.Spike[ch] = float32(max(5*1.4826*d[len(d)/2], 1e-3))
			}
		}
	}
	clean := slices.Clone(x)
	bad := slices.Clone(skip)
	for i, v := range x {
		if bad[i] || p.spike(v, med[i], i%c) {
			clean[i], bad[i] = med[i], true
		}
	}
	return clean, bad
}

// spike reports whether v is an impulse beside its running median.
func (p *Predictor) spike(v, med float32, ch int) bool {
	return math.Abs(float64(v-med)) > float64(p.Spike[ch])
}

// fitChannel solves channel ch's ridge regression over the rows of x whose
// target is not skipped.
func (p *Predictor) fitChannel(x []float32, skip []bool, c, ch int) error {
	n := len(x) / c
	d := p.features(ch)
	at := func(t, q int) float32 { return x[t*c+q] }
	f := make([]float32, d)
	mean := make([]float64, d+1)
	var rows int
	for t := 0; t < n; t++ {
		if skip[t*c+ch] {
			continue
		}
		p.gather(f, at, n, t, ch)
		for i, v := range f {
			mean[i] += float64(v)
		}
		mean[d] += float64(x[t*c+ch])
		rows++
	}
	if rows < d+2 {
		return fmt.Errorf("denoise: channel %d: %d usable rows for %d inputs", ch, rows, d)
	}
	for i := range mean {
		mean[i] /= float64(rows)
	}
	a := make([]float64, d*d)
	b := make([]float64, d)
	g := make([]float64, d)
	for t := 0; t < n; t++ {
		if skip[t*c+ch] {
			continue
		}
		p.gather(f, at, n, t, ch)
		for i, v := range f {
			g[i] = float64(v) - mean[i]
		}
		y := float64(x[t*c+ch]) - mean[d]
		for i, gi := range g {
			if gi == 0 {
				continue
			}
			row := a[i*d : (i+1)*d]
			for j := i; j < d; j++ {
				row[j] += float64(gi * g[j])
			}
			b[i] += float64(gi * y)
		}
	}
	var tr float64
	for i := 0; i < d; i++ {
		for j := 0; j < i; j++ {
			a[i*d+j] = a[j*d+i]
		}
		tr += a[i*d+i]
	}
	lambda := 1e-3*tr/float64(d) + 1e-9
	for i := 0; i < d; i++ {
		a[i*d+i] += lambda
	}
	w, err := linalg.CholSolve(a, b, d)
	if err != nil {
		return fmt.Errorf("denoise: channel %d: %w", ch, err)
	}
	p.W[ch] = make([]float32, d)
	bias := mean[d]
	for i, v := range w {
		p.W[ch][i] = float32(v)
		bias -= float64(v * mean[i])
	}
	p.B[ch] = float32(bias)
	return nil
}

// Clean denoises a whole normalised series (missing values flagged in
// miss, may be nil): impulses and missing values are replaced by their
// channel's running median; then every value is predicted from its
// cleaned neighbours and blended with itself by the channel's gain
// (replaced values keep the prediction). A Cleaner gives the same values
// as a stream.
func (p *Predictor) Clean(dst, x []float32, miss []bool, c int) {
	n := len(x) / c
	if miss == nil {
		miss = make([]bool, len(x))
	}
	clean, bad := p.despike(x, miss, c, false)
	f := make([]float32, p.scratch())
	at := func(t, q int) float32 { return clean[t*c+q] }
	for t := 0; t < n; t++ {
		for ch := 0; ch < c; ch++ {
			dst[t*c+ch] = p.estimate(f, at, bad[t*c+ch], n, t, ch)
		}
	}
}

// scratch returns the scratch space predictAt needs.
func (p *Predictor) scratch() int { return 2*maxOwn + maxPeers*(2*maxLags+1) }

// estimate returns the cleaned value of channel ch at row t from the
// despiked series (at) and whether the value was replaced (bad).
func (p *Predictor) estimate(f []float32, at func(t, ch int) float32, bad bool, n, t, ch int) float32 {
	pr := p.predictAt(f, at, n, t, ch)
	y := at(t, ch)
	switch {
	case bad:
		return pr
	case math.Abs(float64(y-pr)) > 4*float64(p.Err[ch]):
		return p.median3(at, n, t, ch)
	}
	return pr + float32(p.Gain[ch]*(y-pr))
}

// Reach returns how many rows either side (Causal: before) of a row its
// estimate reads, after despiking.
func (p *Predictor) Reach() int {
	r := max(p.Lags, 2)
	for ch := range p.Own {
		r = max(r, p.Own[ch], p.Med[ch])
	}
	return r
}

// median3 returns the median of a value and its two neighbours (Causal:
// the two before it).
func (p *Predictor) median3(at func(t, ch int) float32, n, t, ch int) float32 {
	a, b, c := at(max(t-1, 0), ch), at(t, ch), at(min(t+1, n-1), ch)
	if p.Causal {
		a, b, c = at(max(t-2, 0), ch), at(max(t-1, 0), ch), at(t, ch)
	}
	return max(min(a, b), min(max(a, b), c))
}

// secondDiffVar estimates a channel's white-noise variance from its
// second differences (variance 6σ² for white noise on a smooth signal),
// robustly, over runs of unflagged values.
func secondDiffVar(x []float32, skip []bool, c, ch int) float64 {
	n := len(x) / c
	var d []float64
	for t := 1; t+1 < n; t++ {
		a, b, e := (t-1)*c+ch, t*c+ch, (t+1)*c+ch
		if skip[a] || skip[b] || skip[e] {
			continue
		}
		d = append(d, math.Abs(float64(x[e]-2*x[b]+x[a])))
	}
	if len(d) == 0 {
		return math.Inf(1)
	}
	slices.Sort(d)
	s := 1.4826 * d[len(d)/2]
	return s * s / 6
}
