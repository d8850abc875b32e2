package realdata

import (
	"math"

	"github.com/edgeml/edge/anomaly"
)

// Metrics are one detector's results over scored rows.
type Metrics struct {
	Rows, Anomalous int
	TP, FP, FN, TN  int
	// Events are runs of anomalous rows; Found those with a flag inside;
	// DelaySum adds up, over found events, the rows from the event's start
	// to its first flag.
	Events, Found int
	DelaySum      float64
	// AUC and PRAUC are the mean over cases with both classes of the ROC
	// area and the average precision of the per-row scores; Cases counts
	// those cases.
	AUCSum, PRAUCSum float64
	Cases            int
	// NABRaw, NABNull and NABPerfect add up the NAB-style raw scores of
	// the flags, of a detector that never flags and of a perfect one (see
	// nabScore).
	NABRaw, NABNull, NABPerfect float64
	// NABOnsetRaw: the same with only the first row of each run of flags
	// as a detection (events, as edge score --events writes them).
	NABOnsetRaw float64
}

// Add accumulates another case's metrics.
func (m *Metrics) Add(o Metrics) {
	m.Rows += o.Rows
	m.Anomalous += o.Anomalous
	m.TP += o.TP
	m.FP += o.FP
	m.FN += o.FN
	m.TN += o.TN
	m.Events += o.Events
	m.Found += o.Found
	m.DelaySum += o.DelaySum
	m.AUCSum += o.AUCSum
	m.PRAUCSum += o.PRAUCSum
	m.Cases += o.Cases
	m.NABRaw += o.NABRaw
	m.NABNull += o.NABNull
	m.NABPerfect += o.NABPerfect
	m.NABOnsetRaw += o.NABOnsetRaw
}

// NAB is the NAB-style score, standard profile, pooled over the cases:
// 100 for finding every anomaly at its first row with no other flag, 0
// for never flagging, negative for flags that cost more than they find.
func (m Metrics) NAB() float64 {
	if !(m.NABPerfect > m.NABNull) {
		return math.NaN()
	}
	return 100 * (m.NABRaw - m.NABNull) / (m.NABPerfect - m.NABNull)
}

// NABOnsets is NAB with each run of flags counted once, at its start.
func (m Metrics) NABOnsets() float64 {
	if !(m.NABPerfect > m.NABNull) {
		return math.NaN()
	}
	return 100 * (m.NABOnsetRaw - m.NABNull) / (m.NABPerfect - m.NABNull)
}

// onsets returns the first row of each run of flags.
func onsets(flags []bool) []bool {
	out := make([]bool, len(flags))
	for i, f := range flags {
		out[i] = f && (i == 0 || !flags[i-1])
	}
	return out
}

// Detection is the share of anomalous rows flagged (recall).
func (m Metrics) Detection() float64 { return frac(m.TP, m.TP+m.FN) }

// FalseAlarms is the share of normal rows flagged.
func (m Metrics) FalseAlarms() float64 { return frac(m.FP, m.FP+m.TN) }

// Precision is the share of flagged rows that are anomalous.
func (m Metrics) Precision() float64 { return frac(m.TP, m.TP+m.FP) }

// F1 is the row-wise F1 score.
func (m Metrics) F1() float64 { return frac(2*m.TP, 2*m.TP+m.FP+m.FN) }

// Delay is the mean detection delay of the found events, in rows.
func (m Metrics) Delay() float64 {
	if m.Found == 0 {
		return math.NaN()
	}
	return m.DelaySum / float64(m.Found)
}

// AUC is the mean ROC area over cases with both classes.
func (m Metrics) AUC() float64 {
	if m.Cases == 0 {
		return math.NaN()
	}
	return m.AUCSum / float64(m.Cases)
}

// PRAUC is the mean average precision over cases with both classes.
func (m Metrics) PRAUC() float64 {
	if m.Cases == 0 {
		return math.NaN()
	}
	return m.PRAUCSum / float64(m.Cases)
}

func frac(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}

// Evaluate scores one case: flags and scores per row against labels. A
// NaN score (a row no window has covered yet) ranks lowest.
func Evaluate(scores []float64, flags, labels []bool) Metrics {
	var m Metrics
	m.Rows = len(labels)
	for i, l := range labels {
		switch {
		case l && flags[i]:
			m.TP++
		case l:
			m.FN++
		case flags[i]:
			m.FP++
		default:
			m.TN++
		}
		if l {
			m.Anomalous++
		}
	}
	for i := 0; i < len(labels); {
		if !labels[i] {
			i++
			continue
		}
		j := i
		first := -1
		for j < len(labels) && labels[j] {
			if first < 0 && flags[j] {
				first = j
			}
			j++
		}
		m.Events++
		if first >= 0 {
			m.Found++
			m.DelaySum += float64(first - i)
		}
		i = j
	}
	m.NABRaw, m.NABNull, m.NABPerfect = nabScore(flags, labels)
	m.NABOnsetRaw, _, _ = nabScore(onsets(flags), labels)
	if m.Anomalous > 0 && m.Anomalous < m.Rows {
		s := make([]float64, len(scores))
		for i, v := range scores {
			s[i] = v
			if math.IsNaN(v) {
				s[i] = math.Inf(-1)
			}
		}
		m.AUCSum = anomaly.AUC(s, labels)
		m.PRAUCSum = anomaly.AveragePrecision(s, labels)
		m.Cases = 1
	}
	return m
}
