package realdata

import (
	"math"
	"slices"
)

// scored keeps one case's per-row scores and labels for the tuned NAB
// score, which needs every case of a set at once.
type scored struct {
	scores []float64
	labels []bool
}

// nabTuneSteps is how many thresholds nabTuned tries.
const nabTuneSteps = 80

// nabTuned returns the NAB-style score (every flagged row a detection)
// at the one threshold on the per-row scores that scores best over all
// the cases, as NAB's own optimiser does for each detector over its
// corpus: it measures how well the scores rank across series, whatever
// threshold the detector itself would set. The thresholds tried are the
// pooled scores' quantiles 1-q for q spaced evenly on a log scale from
// one row to half of them, and +Inf (never flag: 0). NaN without
// anomalies.
func nabTuned(cases []scored) float64 {
	var pool []float64
	for _, c := range cases {
		for _, v := range c.scores {
			if !math.IsNaN(v) {
				pool = append(pool, v)
			}
		}
	}
	slices.Sort(pool)
	n := len(pool)
	best := math.Inf(-1)
	var null, perfect float64
	for k := 0; k <= nabTuneSteps; k++ {
		thr := math.Inf(1)
		if k > 0 && n > 0 {
			q := math.Exp(math.Log(1/float64(n)) + float64(float64(k-1)/float64(nabTuneSteps-1)*math.Log(float64(n)/2)))
			thr = pool[min(n-1, max(0, n-int(math.Ceil(q*float64(n)))))]
		}
		var raw float64
		null, perfect = 0, 0
		for _, c := range cases {
			r, nl, p := nabScore(flagAt(c.scores, thr), c.labels)
			raw, null, perfect = raw+r, null+nl, perfect+p
		}
		best = max(best, raw)
	}
	if !(perfect > null) {
		return math.NaN()
	}
	return 100 * (best - null) / (perfect - null)
}
