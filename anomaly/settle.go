package anomaly

import "math"

// KindNewLevel is the Score.Kind of a row where a lasting alarm was
// taken as a new normal level (see Settings.Settle).
const KindNewLevel = "new_level"

// settler re-centres the channels after an alarm has lasted limit rows
// in a row: each channel's level offset moves by the mean deviation of
// the alarm's recent rows, so that a sensor that stepped to another level
// and stayed there is flagged for limit rows, not for ever. A window the
// model cannot reconstruct at the new level stays above the threshold,
// and the flag goes on: it re-centres once per flag.
type settler struct {
	limit int       // rows in a row flagged before re-centring (0: never)
	run   int       // rows flagged in a row
	done  bool      // re-centred in this flag
	dev   []float32 // per channel: the recent flagged rows' mean deviation from the centre
	sq    []float32 // and their mean squared deviation
}

// settleSpan is how many of the latest flagged rows the deviation
// averages (an exponentially weighted mean after this many).
const settleSpan = 64

// minLevelStep is the least mean deviation, in normalisation units, of
// some channel for a lasting alarm to be taken as a new level; and that
// mean must make at least half the mean square (a level, not noise).
const minLevelStep = 1

// step takes one scored row (as the model saw it, offsets taken off) and
// whether the model's statistics flag it; it returns true where it moved
// the offsets: of the channels whose deviation is a level, not noise.
func (t *settler) step(flag bool, row, centre, unit, drift []float32, miss []bool) bool {
	if t.limit <= 0 {
		return false
	}
	if !flag {
		t.run, t.done = 0, false
		return false
	}
	if t.done {
		return false
	}
	t.run++
	if t.run == 1 {
		clear(t.dev)
		clear(t.sq)
	}
	w := 1 / float32(min(t.run, settleSpan))
	for ch, v := range row {
		if !miss[ch] {
			d := v - centre[ch]
			t.dev[ch] += float32(w * (d - t.dev[ch])) // unfused: the same bits on every architecture
			t.sq[ch] += float32(w * (float32(d*d) - t.sq[ch]))
		}
	}
	if t.run < t.limit {
		return false
	}
	t.run, t.done = 0, true
	moved := false
	for ch, d := range t.dev {
		if math.Abs(float64(d)) >= minLevelStep*float64(unit[ch]) && 2*float64(d*d) >= float64(t.sq[ch]) {
			drift[ch] += d
			moved = true
		}
	}
	return moved
}
