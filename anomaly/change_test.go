package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestChanger(t *testing.T) {
	var c changer
	for i := 0; i < 20; i++ {
		if z := c.step(1); z != 0 {
			t.Fatalf("row %d of a constant surprise: change %v, want 0", i, z)
		}
	}
	// A jump of 10 nats over a spread of 0: 10 over the floor.
	if z := c.step(11); z != 10/changeFloor {
		t.Errorf("a jump of 10 nats: change %v, want %v", z, 10/changeFloor)
	}
	// Once most of the last changeSpan rows are at the new level, the
	// same surprise is no change at all.
	var z float64
	for i := 0; i < changeSpan/2+1; i++ {
		z = c.step(11)
	}
	if z != 0 {
		t.Errorf("a lasting surprise: change %v after %d rows, want 0", z, changeSpan/2+2)
	}
	if z := c.step(math.Inf(1)); math.IsNaN(z) || math.IsInf(z, 0) {
		t.Errorf("an infinite surprise: change %v", z)
	}
	c.reset()
	for i := 0; i < minChangeRows; i++ {
		if z := c.step(float64(100 * i)); z != 0 {
			t.Fatalf("row %d after a reset: change %v, want 0 until %d rows", i, z, minChangeRows)
		}
	}
}

// TestChangeScore: learning fits the change statistic's tail; on normal
// rows the change score passes 0.5 about as rarely as the score does; a
// lasting shift raises it at its start and not for its length, while
// the flag stays up.
func TestChangeScore(t *testing.T) {
	const steps, ch = 8, 3
	m := testModel(t, steps, ch)
	set := calibrated(t, m, 3000)
	if set.Change.N == 0 {
		t.Fatal("learning left the change tail empty")
	}
	rng := rand.New(rand.NewPCG(5, 5))
	n := 4000
	x := normalRows(rng, n, ch)
	for r := 3000; r < 3400; r++ {
		x[r*ch+1] += 10 * 2 // channel 1 steps by 10 of its units and stays
	}
	got := score(t, m, set, x)
	high, onset, late, lateFlag := 0, 0.0, 0, 0
	for i, g := range got {
		if g.Change < 0 || g.Change >= 1 || math.IsNaN(g.Change) {
			t.Fatalf("row %d: change %v outside [0, 1)", i, g.Change)
		}
		switch {
		case i < 3000 && g.Change >= 0.5:
			high++
		case i >= 3000 && i < 3000+steps:
			onset = max(onset, g.Change)
		case i >= 3100 && i < 3400:
			if g.Change >= 0.5 {
				late++
			}
			if g.Flag {
				lateFlag++
			}
		}
	}
	if high > 15 {
		t.Errorf("%d of 3000 normal rows with change >= 0.5 at a rate of %v", high, set.Rate)
	}
	if onset < 0.5 || late > 3 || lateFlag < 290 {
		t.Errorf("a lasting step: change %.3f at its start; of rows 100-399 into it %d with change >= 0.5, %d flagged", onset, late, lateFlag)
	}
	// A model learned before the change tail existed: change scores 0.
	old := set
	old.Change = Tail{}
	for i, g := range score(t, m, old, x[:200*ch]) {
		if g.Change != 0 {
			t.Fatalf("row %d without a change tail: change %v", i, g.Change)
		}
	}
}

// naiveChange is the change statistic by the book: sort the previous
// rows' surprises, take the median, sort the absolute deviations.
func naiveChange(prev []float64, u float64) float64 {
	u = min(max(u, 0), maxSurprise)
	if len(prev) < minChangeRows {
		return 0
	}
	s := slices.Clone(prev)
	slices.Sort(s)
	med := func(v []float64) float64 {
		m := len(v) / 2
		if len(v)%2 == 1 {
			return v[m]
		}
		return (v[m-1] + v[m]) / 2
	}
	md := med(s)
	dev := make([]float64, len(s))
	for i, v := range s {
		dev[i] = math.Abs(v - md)
	}
	slices.Sort(dev)
	return (u - md) / (float64(1.4826*med(dev)) + changeFloor)
}

// TestChangerMatchesSorting: the incremental median and MAD give the
// same bits as sorting, with ties, segment resets and a full ring.
func TestChangerMatchesSorting(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	var c changer
	var prev []float64
	for i := 0; i < 5000; i++ {
		if i%1000 == 999 {
			c.reset()
			prev = prev[:0]
		}
		u := rng.ExpFloat64()
		switch rng.IntN(4) {
		case 0:
			u = math.Round(u) // ties
		case 1:
			u = 0
		}
		want := naiveChange(prev, u)
		if got := c.step(u); got != want {
			t.Fatalf("row %d: change %v, by sorting %v", i, got, want)
		}
		prev = append(prev, min(max(u, 0), maxSurprise))
		if len(prev) > changeSpan {
			prev = prev[1:]
		}
	}
}
