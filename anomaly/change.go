package anomaly

import (
	"math"
	"slices"
)

// The change statistic compares a row's surprise (the negative log of
// the smallest tail probability of its four statistics) with the
// surprise of the rows just before it: (surprise − their median) over
// their robust spread (1.4826 × the median absolute deviation, plus
// changeFloor). A row as unusual as its recent neighbours scores near 0
// however far they all are from the learned normal, so a lasting state
// (a new level, a long fault) raises the change score at its onset and
// not for its whole length: what benchmarks that count detections (NAB)
// rank, one threshold for many series. The flag stays the state.
const (
	// changeSpan is how many previous rows the statistic compares with
	// (16; 32 and 64 ranked onsets worse on the real sets, see
	// docs/quality.md).
	changeSpan = 16
	// minChangeRows: with fewer previous rows in the stream's segment,
	// the statistic is 0 (no evidence of a change).
	minChangeRows = 8
	// changeFloor, in nats, is added to the spread: a row less than a
	// nat (a factor e in probability) more surprising than its recent
	// neighbours is no evidence of a change, and a run of identical
	// surprises (a statistic pinned at 0, or saturated) does not make
	// any move infinite.
	changeFloor = 1
	// maxSurprise caps a surprise, in nats, so that an underflowed tail
	// probability stays finite.
	maxSurprise = 1e6
)

// changer keeps the last changeSpan surprises of a segment.
type changer struct {
	ring     [changeSpan]float64
	n, pos   int
	buf, dev [changeSpan]float64
}

// step returns the change statistic of surprise u against the previous
// rows, then adds u to them.
func (c *changer) step(u float64) float64 {
	u = min(max(u, 0), maxSurprise)
	z := 0.0
	if c.n >= minChangeRows {
		buf, dev := c.buf[:c.n], c.dev[:c.n]
		copy(buf, c.ring[:c.n])
		slices.Sort(buf)
		med := sortedMedian(buf)
		for i, v := range buf {
			dev[i] = math.Abs(v - med)
		}
		slices.Sort(dev)
		spread := float64(1.4826*sortedMedian(dev)) + changeFloor // unfused: the same bits on every architecture
		z = (u - med) / spread
	}
	c.ring[c.pos] = u
	c.pos = (c.pos + 1) % changeSpan
	c.n = min(c.n+1, changeSpan)
	return z
}

func (c *changer) reset() { c.n, c.pos = 0, 0 }

// changeScore takes a row's surprise and returns its change score (see
// Score.Change): 0 without a learned change tail.
func (s *Scorer) changeScore(u float64) float64 {
	z := s.chg.step(u)
	if s.set.Change.N == 0 {
		return 0
	}
	if lc := s.set.Change.LogProb(z); lc < 0 {
		return lc / (lc + s.logR)
	}
	return 0
}

// sortedMedian returns the median of sorted, non-empty v.
func sortedMedian(v []float64) float64 {
	m := len(v) / 2
	if len(v)%2 == 1 {
		return v[m]
	}
	return (v[m-1] + v[m]) / 2
}

// surprise returns a row's surprise: minus the log of the smallest tail
// probability of its statistics.
func surprise(tails *[NumStats]Tail, stats [NumStats]float64) float64 {
	lp := 0.0
	for i, v := range stats {
		lp = min(lp, tails[i].LogProb(v))
	}
	return -lp
}

// learnChange fits the change statistic's tail on the learning rows'
// statistics (runs begin at each start), scored by the tails just
// learned, as the scorer computes it.
func learnChange(tails *[NumStats]Tail, stats [NumStats][]float64, starts []int) (Tail, error) {
	var c changer
	z := make([]float64, len(stats[0]))
	k := 0
	for t := range z {
		if k < len(starts) && starts[k] == t {
			c.reset()
			k++
		}
		var row [NumStats]float64
		for i := range row {
			row[i] = stats[i][t]
		}
		z[t] = c.step(surprise(tails, row))
	}
	return FitTail(z)
}
