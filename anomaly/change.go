package anomaly

import "slices"

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

// changer keeps the last changeSpan surprises of a segment, in arrival
// order (ring) and sorted, so that a row costs a few dozen comparisons
// and moves, not two sorts.
type changer struct {
	ring   [changeSpan]float64
	sorted [changeSpan]float64
	n, pos int
}

// step returns the change statistic of surprise u against the previous
// rows, then adds u to them.
func (c *changer) step(u float64) float64 {
	u = min(max(u, 0), maxSurprise)
	z := 0.0
	if c.n >= minChangeRows {
		med, mad := medianMAD(c.sorted[:c.n])
		spread := float64(1.4826*mad) + changeFloor // unfused: the same bits on every architecture
		z = (u - med) / spread
	}
	if c.n == changeSpan {
		c.remove(c.ring[c.pos])
	}
	c.insert(u)
	c.ring[c.pos] = u
	c.pos = (c.pos + 1) % changeSpan
	return z
}

// insert adds v to the sorted values (within their array: no allocation).
func (c *changer) insert(v float64) {
	i, _ := slices.BinarySearch(c.sorted[:c.n], v)
	c.n = len(slices.Insert(c.sorted[:c.n], i, v))
}

// remove takes one value equal to v out of the sorted values.
func (c *changer) remove(v float64) {
	i, _ := slices.BinarySearch(c.sorted[:c.n], v)
	c.n = len(slices.Delete(c.sorted[:c.n], i, i+1))
}

func (c *changer) reset() { c.n, c.pos = 0, 0 }

// medianMAD returns the median of sorted, non-empty s and the median of
// its absolute deviations from it. The deviations of the values below
// the middle, walking down, and of those from the middle up, walking up,
// are two ascending runs: merging them gives the deviations in order
// without sorting.
func medianMAD(s []float64) (med, mad float64) {
	n := len(s)
	m := n / 2
	med = s[m]
	if n%2 == 0 {
		med = (s[m-1] + s[m]) / 2
	}
	lo, hi := m-1, m // the next value below and from the middle
	var prev, cur float64
	for k := 0; k <= m; k++ {
		prev = cur
		if hi >= n || (lo >= 0 && med-s[lo] <= s[hi]-med) {
			cur = med - s[lo]
			lo--
		} else {
			cur = s[hi] - med
			hi++
		}
	}
	if n%2 == 0 {
		return med, (prev + cur) / 2
	}
	return med, cur
}

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
