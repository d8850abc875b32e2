package realdata

import "math"

// The standard profile's weights of the NAB score (Lavin and Ahmad,
// "Evaluating real-time anomaly detection algorithms: the Numenta Anomaly
// Benchmark", 2015): a window found, a flag outside every window, a
// window missed.
const (
	nabTP = 1.0
	nabFP = 0.11
	nabFN = 1.0
)

// nabSigmoid weighs a flag at relative position y: y in [-1, 0) inside a
// window (-1 at its first row: nearly 1; towards 0 at its end: towards
// 0), y > 0 after a window's end in units of its length (towards -1).
func nabSigmoid(y float64) float64 { return 2/(1+math.Exp(5*y)) - 1 }

// nabScore returns the NAB-style raw score of flags against labels, and
// the raw scores of a detector that never flags and of a perfect one, so
// that cases pool as NAB pools its corpus: 100·(Σraw − Σnull)/(Σperfect −
// Σnull). Each run of anomalous rows is a window; its first flag counts,
// weighed by how early it came; every flag outside the windows costs
// nabFP, less so just after a window; each window without a flag costs
// nabFN. (NAB centres windows of a fixed share of the series on point
// labels; here the labelled runs are the windows.)
func nabScore(flags, labels []bool) (raw, null, perfect float64) {
	prevEnd, prevLen := -1, 0 // the last window's last row and length
	for i := 0; i < len(labels); {
		if !labels[i] {
			switch {
			case flags[i] && prevEnd < 0:
				raw -= nabFP // before any window: the full cost
			case flags[i]:
				raw += float64(nabFP * nabSigmoid(float64(i-prevEnd)/float64(prevLen)))
			}
			i++
			continue
		}
		j := i
		for j < len(labels) && labels[j] {
			j++
		}
		n := j - i
		null -= nabFN
		perfect += nabTP * nabSigmoid(-1)
		found := false
		for k := i; k < j && !found; k++ {
			if flags[k] {
				found = true
				raw += nabTP * nabSigmoid(float64(k-j)/float64(n))
			}
		}
		if !found {
			raw -= nabFN
		}
		prevEnd, prevLen, i = j-1, n, j
	}
	return raw, null, perfect
}
