package denoise

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Risk estimates, without the clean signal, the mean squared error per
// value of a denoiser est applied to the normalised series x (c
// channels): Stein's unbiased risk estimate, ‖est(x) − x‖² − σ² + 2σ²·div,
// with the divergence of est estimated by one Monte-Carlo probe (Ramani,
// Blu and Unser, 2008), over the values skip does not mark (impulses and
// missing values, which no Gaussian model describes), noise[ch] being
// each channel's noise standard deviation.
func Risk(est func(dst, x []float32), x []float32, skip []bool, noise []float32, c int, seed uint64) float64 {
	probe, dir := mcProbe(x, seed)
	base, moved := make([]float32, len(x)), make([]float32, len(x))
	est(base, x)
	est(moved, probe)
	return sure(x, base, moved, dir, skip, noise, c)
}

// probeEps is the size of the Monte-Carlo probe's step.
const probeEps = 1e-3

// mcProbe returns x moved by probeEps along a random direction (seeded),
// and the direction.
func mcProbe(x []float32, seed uint64) (probe, dir []float32) {
	rng := rand.New(rand.NewPCG(seed, 0x72697363))
	probe, dir = make([]float32, len(x)), make([]float32, len(x))
	for i := range x {
		dir[i] = float32(rng.NormFloat64())
		probe[i] = x[i] + float32(probeEps*float64(dir[i]))
	}
	return probe, dir
}

// sure returns Risk from a denoiser's outputs on x (base) and on the
// probe (moved) along dir.
func sure(x, base, moved, dir []float32, skip []bool, noise []float32, c int) float64 {
	var total float64
	k := 0
	for i, v := range x {
		if skip != nil && skip[i] {
			continue
		}
		s2 := float64(float64(noise[i%c]) * float64(noise[i%c]))
		d := float64(base[i] - v)
		div := float64(dir[i]) * float64(moved[i]-base[i]) / probeEps
		total += float64(d*d) - s2 + float64(2*s2*div)
		k++
	}
	if k == 0 {
		return math.Inf(1)
	}
	return total / float64(k)
}

// probed holds what the risks of a predictor, of the classical filters
// over its despiked rows and of their blend all need, computed once: the
// rows x and a Monte-Carlo probe of them (along dir), both despiked by p
// (dx, dp; bad marks x's replaced values), and p's output on each.
type probed struct {
	p              *Predictor
	x, dir         []float32
	dx, dp         []float32
	pred, predMove []float32
	bad            []bool
}

func probeRows(p *Predictor, x []float32, miss []bool, c int) *probed {
	m := missOrNone(miss, len(x))
	pb := &probed{p: p, x: x, pred: make([]float32, len(x)), predMove: make([]float32, len(x))}
	var probe []float32
	probe, pb.dir = mcProbe(x, 1)
	pb.dx, pb.bad = p.despike(x, m, c, false)
	pb.dp, _ = p.despike(probe, m, c, false)
	p.Clean(pb.pred, x, miss, c)
	p.Clean(pb.predMove, probe, miss, c)
	return pb
}

// filterRisks returns the predictor's risk on the probed rows and each
// windowed classical filter's (of Classical), in its mode, with its noise
// levels and impulses, the filters running over the despiked rows, as in
// a blend.
func filterRisks(pb *probed, c int) (float64, []Filter, []float64) {
	p := pb.p
	pr := sure(pb.x, pb.pred, pb.predMove, pb.dir, pb.bad, p.Noise, c)
	base, moved := make([]float32, len(pb.x)), make([]float32, len(pb.x))
	var fs []Filter
	var rs []float64
	for _, fam := range []string{"moving-average", "median", "savitzky-golay"} {
		for _, f := range Classical()[fam] {
			f.Apply(base, pb.dx, c, p.Causal)
			f.Apply(moved, pb.dp, c, p.Causal)
			fs = append(fs, f)
			rs = append(rs, sure(pb.x, base, moved, pb.dir, pb.bad, p.Noise, c))
		}
	}
	return pr, fs, rs
}

func bestOf(rs []float64) int {
	b := 0
	for i, r := range rs {
		if r < rs[b] {
			b = i
		}
	}
	return b
}

// minCrossRows is the fewest rows CrossRisks splits in two; below it, it
// estimates in-sample.
const minCrossRows = 200

// Choice is what CrossRisks finds for one mode: the classical filter of
// least estimated risk on the rows the predictor despiked, the blend of
// the predictor with it (Blend) of least estimated risk, and the risks of
// the predictor, the filter and the blend.
type Choice struct {
	Filter                               Filter
	PredictorRisk, FilterRisk, BlendRisk float64
	// Blend holds, per channel, the predictor's weight (0 to 1); the
	// filter has the rest.
	Blend []float32
}

// CrossRisks estimates the risks of the predictor, of the classical
// filters (over the rows the predictor despiked) and of blends of the two
// on held-back rows: a predictor (causal or centred, peers as
// FitPredictor) is fitted on each half of the normalised rows x and
// scored, beside each classical filter, on the other half; the risks are the means over both halves. A predictor
// scored on the rows it was fitted to looks better than it is (its
// weights follow those rows' noise), which would keep it where a filter
// does better. Each channel's blend weight minimises the blend's risk,
// which is quadratic in the weight. With fewer than minCrossRows rows,
// the predictor is fitted on all of x and scored there.
func CrossRisks(x []float32, miss []bool, c int, causal bool, peers int) (Choice, error) {
	type half struct {
		p      *Predictor
		x      []float32
		miss   []bool
		weight float64
	}
	var halves []half
	n := len(x) / c
	if n < minCrossRows {
		p, err := FitPredictor(x, miss, c, causal, 1, peers)
		if err != nil {
			return Choice{}, err
		}
		halves = []half{{p, x, miss, 1}}
	} else {
		for k := range 2 {
			lo, hi := 0, n/2 // the rows scored
			if k == 1 {
				lo, hi = n/2, n
			}
			var fitM, testM []bool
			if miss != nil {
				fitM, testM = slices.Concat(miss[:lo*c], miss[hi*c:]), miss[lo*c:hi*c]
			}
			p, err := FitPredictor(slices.Concat(x[:lo*c], x[hi*c:]), fitM, c, causal, 1, peers)
			if err != nil {
				return Choice{}, err
			}
			halves = append(halves, half{p, x[lo*c : hi*c], testM, float64(hi-lo) / float64(n)})
		}
	}
	var ch Choice
	var fs []Filter
	var sum []float64
	probes := make([]*probed, len(halves))
	for i, h := range halves {
		probes[i] = probeRows(h.p, h.x, h.miss, c)
		pr, f, rs := filterRisks(probes[i], c)
		ch.PredictorRisk += float64(h.weight * pr)
		if sum == nil {
			fs, sum = f, make([]float64, len(rs))
		}
		for i, r := range rs {
			sum[i] += float64(h.weight * r)
		}
	}
	i := bestOf(sum)
	ch.Filter, ch.FilterRisk = fs[i], sum[i]
	st := make([]blendStat, c)
	for _, pb := range probes {
		addBlendStats(st, pb, ch.Filter, c)
	}
	ch.Blend = make([]float32, c)
	var total float64
	k := 0
	for q := range st {
		w := st[q].best()
		ch.Blend[q] = float32(w)
		total += st[q].risk(float64(ch.Blend[q]))
		k += st[q].k
	}
	ch.BlendRisk = math.Inf(1)
	if k > 0 {
		ch.BlendRisk = total / float64(k)
	}
	return ch, nil
}

// blendStat holds one channel's sums for the risk of w·predictor +
// (1−w)·filter, with y the noisy value, g the filter's, a the
// predictor's minus the filter's: Σ(y−g)², Σa(y−g), Σa², Σσ², and
// Σσ²·divergence of each.
type blendStat struct {
	rr, ar, aa, s2, s2dp, s2df float64
	k                          int
}

// risk returns the channel's summed risk estimate at weight w.
func (b *blendStat) risk(w float64) float64 {
	return b.rr - float64(2*w*b.ar) + float64(w*w*b.aa) - b.s2 + float64(2*(float64(w*b.s2dp)+float64((1-w)*b.s2df)))
}

// best returns the weight in [0, 1] of least risk.
func (b *blendStat) best() float64 {
	if !(b.aa > 0) {
		return 1
	}
	return math.Min(1, math.Max(0, (b.ar-(b.s2dp-b.s2df))/b.aa))
}

// addBlendStats adds the probed rows' sums to st: the predictor and the
// filter f (in the predictor's mode) with the probe Risk uses, so that
// weight 1 gives the predictor's Risk and 0 the filter's.
func addBlendStats(st []blendStat, pb *probed, f Filter, c int) {
	p := pb.p
	filt, filtMove := make([]float32, len(pb.x)), make([]float32, len(pb.x))
	f.Apply(filt, pb.dx, c, p.Causal)
	f.Apply(filtMove, pb.dp, c, p.Causal)
	for i, y := range pb.x {
		if pb.bad[i] {
			continue
		}
		b := &st[i%c]
		s2 := float64(float64(p.Noise[i%c]) * float64(p.Noise[i%c]))
		a, r := float64(pb.pred[i]-filt[i]), float64(y-filt[i])
		b.rr += float64(r * r)
		b.ar += float64(a * r)
		b.aa += float64(a * a)
		b.s2 += s2
		b.s2dp += s2 * float64(pb.dir[i]) * float64(pb.predMove[i]-pb.pred[i]) / probeEps
		b.s2df += s2 * float64(pb.dir[i]) * float64(filtMove[i]-filt[i]) / probeEps
		b.k++
	}
}

// Despiked returns x with p's impulses and missing values (miss, may be
// nil) replaced, and which values were replaced.
func Despiked(p *Predictor, x []float32, miss []bool, c int) ([]float32, []bool) {
	return p.despike(x, missOrNone(miss, len(x)), c, false)
}

func missOrNone(miss []bool, n int) []bool {
	if miss == nil {
		return make([]bool, n)
	}
	return miss
}
