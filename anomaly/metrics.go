package anomaly

import (
	"math"
	"slices"
	"sort"
)

// AUC returns the area under the ROC curve of scores against labels (true:
// anomalous): the probability that a random anomalous window outscores a
// random normal one, ties counting half. NaN if either class is empty.
func AUC(scores []float64, labels []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var pos, neg float64
	var rankSum float64 // sum of the positives' ranks (1-based, ties averaged)
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(float64(i+j+1) / 2) // ranks i+1..j (rounded: no fused add below)
		for k := i; k < j; k++ {
			if labels[idx[k]] {
				rankSum += avg
				pos++
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - float64(pos*(pos+1)/2)) / (pos * neg)
}

// Confusion counts flagged windows against labels.
type Confusion struct{ TP, FP, FN, TN int }

// Count compares flags with labels.
func Count(flags, labels []bool) Confusion {
	var c Confusion
	for i, f := range flags {
		switch {
		case f && labels[i]:
			c.TP++
		case f:
			c.FP++
		case labels[i]:
			c.FN++
		default:
			c.TN++
		}
	}
	return c
}

// Precision is TP/(TP+FP) (0 with no flags).
func (c Confusion) Precision() float64 { return ratio(c.TP, c.TP+c.FP) }

// Recall is TP/(TP+FN).
func (c Confusion) Recall() float64 { return ratio(c.TP, c.TP+c.FN) }

// F1 is the harmonic mean of precision and recall.
func (c Confusion) F1() float64 { return ratio(2*c.TP, 2*c.TP+c.FP+c.FN) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// AtThreshold flags the scores at or above thr.
func AtThreshold(scores []float64, thr float64) []bool {
	out := make([]bool, len(scores))
	for i, s := range scores {
		out[i] = s >= thr
	}
	return out
}

// BestF1 returns the best F1 over all thresholds (an upper bound no
// calibrated threshold can beat), and that threshold.
func BestF1(scores []float64, labels []bool) (float64, float64) {
	s := slices.Clone(scores)
	slices.Sort(s)
	s = slices.Compact(s)
	best, at := 0.0, math.Inf(1)
	for _, thr := range s {
		if f := Count(AtThreshold(scores, thr), labels).F1(); f > best {
			best, at = f, thr
		}
	}
	return best, at
}

// AveragePrecision returns the area under the precision-recall curve of
// scores against labels, as average precision: the mean, over the
// anomalous items, of the precision among items scored at least as high
// (ties counted together). NaN without anomalous items.
func AveragePrecision(scores []float64, labels []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	pos := 0
	for _, l := range labels {
		if l {
			pos++
		}
	}
	if pos == 0 {
		return math.NaN()
	}
	var ap float64
	tp, seen := 0, 0
	for i := 0; i < len(idx); {
		j := i
		newTP := 0
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			if labels[idx[j]] {
				newTP++
			}
			j++
		}
		tp += newTP
		seen += j - i
		ap += float64(newTP) * float64(tp) / float64(seen)
		i = j
	}
	return ap / float64(pos)
}
