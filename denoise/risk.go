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
	const eps = 1e-3
	base := make([]float32, len(x))
	est(base, x)
	rng := rand.New(rand.NewPCG(seed, 0x72697363))
	probe := make([]float32, len(x))
	dir := make([]float32, len(x))
	for i := range x {
		dir[i] = float32(rng.NormFloat64())
		probe[i] = x[i] + float32(eps*float64(dir[i]))
	}
	moved := make([]float32, len(x))
	est(moved, probe)
	var total float64
	k := 0
	for i, v := range x {
		if skip != nil && skip[i] {
			continue
		}
		s2 := float64(noise[i%c]) * float64(noise[i%c])
		d := float64(base[i] - v)
		div := float64(dir[i]) * float64(moved[i]-base[i]) / eps
		total += d*d - s2 + 2*s2*div
		k++
	}
	if k == 0 {
		return math.Inf(1)
	}
	return total / float64(k)
}

// ChooseFilter compares, by Risk on the normalised rows x, the predictor
// p with the windowed classical filters of Classical, in p's mode, and
// returns the best filter and both risks. The filter should replace the
// predictor only when its risk is clearly lower. Where p was fitted on x,
// its risk is optimistic: CrossRisks compares on held-back rows.
func ChooseFilter(p *Predictor, x []float32, miss []bool, c int) (best Filter, filterRisk, predictorRisk float64) {
	predictorRisk, fs, rs := filterRisks(p, x, miss, c)
	i := bestOf(rs)
	return fs[i], rs[i], predictorRisk
}

// filterRisks returns p's risk on x and each classical filter's, in p's
// mode, with p's noise levels and impulses.
func filterRisks(p *Predictor, x []float32, miss []bool, c int) (float64, []Filter, []float64) {
	_, bad := p.despike(x, missOrNone(miss, len(x)), c, false)
	pr := Risk(func(dst, in []float32) { p.Clean(dst, in, miss, c) }, x, bad, p.Noise, c, 1)
	var fs []Filter
	var rs []float64
	for _, fam := range []string{"moving-average", "median", "savitzky-golay"} {
		for _, f := range Classical()[fam] {
			fs = append(fs, f)
			rs = append(rs, Risk(func(dst, in []float32) { f.Apply(dst, in, c, p.Causal) }, x, bad, p.Noise, c, 1))
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

// CrossRisks estimates the risks of ChooseFilter on held-back rows: a
// predictor (causal or centred, peers as FitPredictor) is fitted on each
// half of the normalised rows x and scored, beside each classical filter,
// on the other half; the risks are the means over both halves. A
// predictor scored on the rows it was fitted to looks better than it is
// (its weights follow those rows' noise), which would keep it where a
// filter does better. With fewer than minCrossRows rows, the predictor
// is fitted on all of x and scored there.
func CrossRisks(x []float32, miss []bool, c int, causal bool, peers int) (best Filter, filterRisk, predictorRisk float64, err error) {
	n := len(x) / c
	if n < minCrossRows {
		p, err := FitPredictor(x, miss, c, causal, 1, peers)
		if err != nil {
			return Filter{}, 0, 0, err
		}
		best, filterRisk, predictorRisk = ChooseFilter(p, x, miss, c)
		return best, filterRisk, predictorRisk, nil
	}
	half := n / 2
	var fs []Filter
	var sum []float64
	for k := range 2 {
		lo, hi := 0, half // the rows scored
		if k == 1 {
			lo, hi = half, n
		}
		fitX := slices.Concat(x[:lo*c], x[hi*c:])
		var fitM, testM []bool
		if miss != nil {
			fitM, testM = slices.Concat(miss[:lo*c], miss[hi*c:]), miss[lo*c:hi*c]
		}
		p, err := FitPredictor(fitX, fitM, c, causal, 1, peers)
		if err != nil {
			return Filter{}, 0, 0, err
		}
		pr, f, rs := filterRisks(p, x[lo*c:hi*c], testM, c)
		w := float64(hi-lo) / float64(n)
		predictorRisk += w * pr
		if sum == nil {
			fs, sum = f, make([]float64, len(rs))
		}
		for i, r := range rs {
			sum[i] += w * r
		}
	}
	i := bestOf(sum)
	return fs[i], sum[i], predictorRisk, nil
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
