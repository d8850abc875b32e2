package anomaly

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Tail describes the upper tail of normal scores: the empirical
// distribution up to a high initial level U and, above it, a generalised
// Pareto distribution fitted to the peaks over U (the peaks-over-threshold
// method; Siffer et al., "Anomaly detection in streams with extreme value
// theory", KDD 2017). It turns a target false-alarm rate into a threshold
// that extrapolates beyond the highest score seen, and any score into its
// tail probability.
type Tail struct {
	U     float64 `json:"u"`     // initial level
	Q0    float64 `json:"q0"`    // share of the scores above U
	Xi    float64 `json:"xi"`    // GPD shape (kept >= 0: an exponential tail at least)
	Sigma float64 `json:"sigma"` // GPD scale
	N     int     `json:"n"`     // scores fitted
	// Quantiles holds the empirical quantiles of the scores at
	// probabilities 0, 1/(len-1), ..., 1-Q0 (the last is U), for tail
	// probabilities below U.
	Quantiles []float64 `json:"quantiles"`
}

// Limits of a tail fit.
const (
	minTailScores = 10
	tailQuantiles = 33
	maxXi         = 0.5
	// sigmaFloor bounds the generalised Pareto scale from below, as a
	// share of the level (at least 1 normalised unit).
	sigmaFloor = 0.05
)

// FitTail fits the tail of normal scores. The initial level U is the
// empirical quantile that leaves max(2%, 20 scores) above it, so that the
// fit has at least 20 peaks when there are 1000 scores or fewer.
func FitTail(scores []float64) (Tail, error) {
	n := len(scores)
	if n < minTailScores {
		return Tail{}, fmt.Errorf("anomaly: %d normal scores; the tail fit needs at least %d", n, minTailScores)
	}
	s := slices.Clone(scores)
	for _, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Tail{}, fmt.Errorf("anomaly: a normal score is %v", v)
		}
	}
	slices.Sort(s)
	above := max(int(math.Ceil(0.02*float64(n))), min(20, n/4))
	t := Tail{N: n}
	t.U = s[n-above-1]
	var peaks []float64
	for _, v := range s[n-above:] {
		if v > t.U {
			peaks = append(peaks, v-t.U)
		}
	}
	t.Q0 = float64(len(peaks)) / float64(n)
	t.Xi, t.Sigma = fitGPD(peaks)
	if len(peaks) == 0 {
		// No spread at the top (a constant or coarsely quantised
		// statistic): the highest score is the level, exceeded by one
		// normal score in n+1, with an exponential tail.
		t.U, t.Q0, t.Xi = s[n-1], 1/float64(n+1), 0
	}
	// A floor on the scale: scores in normalised units that never moved
	// in learning must not make the smallest move an alarm.
	t.Sigma = max(t.Sigma, sigmaFloor*max(math.Abs(t.U), 1))
	t.Quantiles = make([]float64, tailQuantiles)
	for i := range t.Quantiles {
		t.Quantiles[i] = quantileSorted(s, (1-t.Q0)*float64(i)/float64(tailQuantiles-1))
	}
	return t, nil
}

// Threshold returns the score that normal scores exceed with probability
// rate.
func (t Tail) Threshold(rate float64) float64 {
	switch {
	case !(rate > 0):
		return math.Inf(1)
	case rate >= t.Q0 || t.Q0 == 0:
		return t.quantile(1 - rate)
	case t.Xi > 1e-9:
		return t.U + float64(t.Sigma/t.Xi*(math.Pow(rate/t.Q0, -t.Xi)-1))
	default:
		return t.U - float64(t.Sigma*math.Log(rate/t.Q0))
	}
}

// LogProb returns the natural log of Prob(s), without underflow far in
// the tail.
func (t Tail) LogProb(s float64) float64 {
	if s > t.U && t.Q0 > 0 && !math.IsNaN(s) {
		y := s - t.U
		if t.Sigma <= 0 {
			return math.Inf(-1)
		}
		if t.Xi > 1e-9 {
			return math.Log(t.Q0) - math.Log1p(t.Xi*y/t.Sigma)/t.Xi
		}
		return math.Log(t.Q0) - y/t.Sigma
	}
	return math.Log(t.Prob(s))
}

// Prob returns the probability that a normal score is at or above s.
func (t Tail) Prob(s float64) float64 {
	switch {
	case math.IsNaN(s):
		return 1
	case s > t.U && t.Q0 > 0:
		y := s - t.U
		if t.Sigma <= 0 {
			return 0
		}
		if t.Xi > 1e-9 {
			return t.Q0 * math.Pow(1+t.Xi*y/t.Sigma, -1/t.Xi)
		}
		return t.Q0 * math.Exp(-y/t.Sigma)
	}
	q := t.Quantiles
	if len(q) < 2 || s <= q[0] {
		return 1
	}
	i, _ := slices.BinarySearch(q, s) // q[i-1] < s <= q[i]
	i = min(max(i, 1), len(q)-1)
	f := 1.0
	if q[i] > q[i-1] {
		f = (s - q[i-1]) / (q[i] - q[i-1])
	}
	p := float64((float64(i-1) + f) / float64(len(q)-1) * (1 - t.Q0))
	return 1 - p
}

func (t Tail) quantile(p float64) float64 {
	q := t.Quantiles
	if len(q) == 0 {
		return t.U
	}
	pos := float64(p / (1 - t.Q0) * float64(len(q)-1))
	i := int(pos)
	if i >= len(q)-1 {
		return q[len(q)-1]
	}
	return q[i] + float64((pos-float64(i))*(q[i+1]-q[i]))
}

func (t Tail) check() error {
	if t.N == 0 {
		return nil // no tail: a fixed threshold
	}
	ok := t.Q0 >= 0 && t.Q0 < 1 && t.Xi >= 0 && t.Xi <= maxXi && t.Sigma >= 0 && !math.IsInf(t.U, 0) && !math.IsNaN(t.U) &&
		!math.IsNaN(t.Sigma) && !math.IsInf(t.Sigma, 0) && len(t.Quantiles) >= 2 && len(t.Quantiles) <= 1024
	if ok {
		for i, v := range t.Quantiles {
			if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v < t.Quantiles[i-1]) {
				ok = false
			}
		}
	}
	if !ok {
		return errors.New("anomaly: the stored score tail is invalid")
	}
	return nil
}

func quantileSorted(s []float64, q float64) float64 {
	pos := float64(q * float64(len(s)-1))
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[i] + float64((pos-float64(i))*(s[i+1]-s[i]))
}

// fitGPD fits a generalised Pareto distribution to positive excesses by
// maximum likelihood (Grimshaw's reduction to one parameter, θ = ξ/σ,
// searched on a grid and refined), with the shape clamped to [0, maxXi]:
// a short learning period cannot show a bounded tail reliably, and
// assuming one would put thresholds too low.
func fitGPD(y []float64) (xi, sigma float64) {
	if len(y) == 0 {
		return 0, 0
	}
	mean := 0.0
	ymax := 0.0
	for _, v := range y {
		mean += v
		ymax = max(ymax, v)
	}
	mean /= float64(len(y))
	if len(y) < 3 || ymax <= 0 {
		return 0, mean // too few peaks: exponential
	}
	// Profile log-likelihood in θ > 0 (ξ > 0): ξ(θ) = mean log(1+θy).
	prof := func(theta float64) (float64, float64) {
		var s float64
		for _, v := range y {
			s += math.Log1p(theta * v)
		}
		x := s / float64(len(y))
		if x <= 0 {
			return math.Inf(-1), 0
		}
		n := float64(len(y))
		return float64(-n*math.Log(x/theta)) - s - n, x
	}
	expLL := -float64(len(y)) * (math.Log(mean) + 1) // ξ = 0
	bestLL, bestTheta := expLL, 0.0
	lo, hi := 1e-6/ymax, 1e3/ymax
	const grid = 80
	for i := 0; i <= grid; i++ {
		th := lo * math.Pow(hi/lo, float64(i)/grid)
		if ll, _ := prof(th); ll > bestLL {
			bestLL, bestTheta = ll, th
		}
	}
	if bestTheta == 0 {
		return 0, mean
	}
	// Golden-section refinement in log θ around the best grid point.
	step := math.Pow(hi/lo, 1.0/grid)
	a, b := math.Log(bestTheta/step), math.Log(bestTheta*step)
	g := (math.Sqrt(5) - 1) / 2
	for range 40 {
		c, d := b-float64(g*(b-a)), a+float64(g*(b-a))
		lc, _ := prof(math.Exp(c))
		ld, _ := prof(math.Exp(d))
		if lc > ld {
			b = d
		} else {
			a = c
		}
	}
	th := math.Exp((a + b) / 2)
	_, xi = prof(th)
	if xi <= maxXi {
		return xi, xi / th
	}
	return maxXi, scaleGPD(y, maxXi, mean)
}

// scaleGPD returns the maximum-likelihood scale of a GPD with shape xi.
func scaleGPD(y []float64, xi, mean float64) float64 {
	ll := func(ls float64) float64 {
		s := math.Exp(ls)
		v := -float64(len(y)) * ls
		for _, x := range y {
			v -= float64((1 + 1/xi) * math.Log1p(xi*x/s))
		}
		return v
	}
	a, b := math.Log(mean/100), math.Log(mean*100)
	g := (math.Sqrt(5) - 1) / 2
	for range 60 {
		c, d := b-float64(g*(b-a)), a+float64(g*(b-a))
		if ll(c) > ll(d) {
			b = d
		} else {
			a = c
		}
	}
	return math.Exp((a + b) / 2)
}

// centre returns the median normal score.
func (t Tail) centre() float64 {
	if len(t.Quantiles) == 0 {
		return t.U
	}
	return t.quantile(0.5)
}

func medianOf(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	return quantileSorted(s, 0.5)
}
