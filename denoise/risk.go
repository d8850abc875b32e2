package denoise

import (
	"math"
	"math/rand/v2"
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
// predictor only when its risk is clearly lower.
func ChooseFilter(p *Predictor, x []float32, miss []bool, c int) (best Filter, filterRisk, predictorRisk float64) {
	_, bad := p.despike(x, missOrNone(miss, len(x)), c, false)
	predictorRisk = Risk(func(dst, in []float32) { p.Clean(dst, in, miss, c) }, x, bad, p.Noise, c, 1)
	filterRisk = math.Inf(1)
	for _, fam := range []string{"moving-average", "median", "savitzky-golay"} {
		for _, f := range Classical()[fam] {
			r := Risk(func(dst, in []float32) { f.Apply(dst, in, c, p.Causal) }, x, bad, p.Noise, c, 1)
			if r < filterRisk {
				best, filterRisk = f, r
			}
		}
	}
	return best, filterRisk, predictorRisk
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
