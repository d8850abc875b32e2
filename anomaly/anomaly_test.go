package anomaly

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/train"
)

func testModel(t testing.TB, steps, ch int) *model.Model {
	t.Helper()
	m, err := train.Build(train.Arch{Steps: steps, Channels: ch, Hidden: []int{16}, Latent: 3, Act: model.Tanh}, 5)
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = model.Normalization{Kind: model.NormMeanStd, Shift: make([]float32, ch), Scale: make([]float32, ch)}
	for c := 0; c < ch; c++ {
		m.Norm.Shift[c], m.Norm.Scale[c] = float32(10*c), float32(1+c)
	}
	return m
}

// normalRows returns n rows of independent noise around each channel's
// normalisation centre.
func normalRows(rng *rand.Rand, n, ch int) []float32 {
	x := make([]float32, n*ch)
	for i := range x {
		c := i % ch
		x[i] = float32(10*c) + float32(1+c)*float32(rng.NormFloat64())
	}
	return x
}

func calibrated(t testing.TB, m *model.Model, n int) Settings {
	t.Helper()
	set, err := Calibrate(m, normalRows(rand.New(rand.NewPCG(1, 1)), n, m.Channels), LearnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func TestFitTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, n := range []int{100, 500, 5000} {
		var worst, sum float64
		const reps = 20
		for rep := 0; rep < reps; rep++ {
			s := make([]float64, n)
			for i := range s {
				s[i] = rng.ExpFloat64() // P(X >= x) = exp(-x)
			}
			tail, err := FitTail(s)
			if err != nil {
				t.Fatal(err)
			}
			// The 1e-3 threshold extrapolates to about ln(1000) = 6.9
			// (the sample holds at most a few values that high).
			thr := tail.Threshold(1e-3)
			worst = max(worst, math.Abs(thr-math.Log(1000)))
			sum += thr - math.Log(1000)
			if p := tail.Prob(thr); math.Abs(p-1e-3) > 1e-9 {
				t.Fatalf("n=%d: Prob(Threshold(1e-3)) = %v", n, p)
			}
			prev := 2.0
			for x := 0.0; x < 12; x += 0.25 {
				p := tail.Prob(x)
				if p > prev || p < 0 || p > 1 {
					t.Fatalf("n=%d: Prob not a decreasing probability at %v: %v after %v", n, x, p, prev)
				}
				prev = p
			}
		}
		if limit := map[int]float64{100: 4, 500: 3, 5000: 1}[n]; worst > limit {
			t.Errorf("n=%d: 1e-3 thresholds off the exponential's 6.91 by up to %.2f (limit %v)", n, worst, limit)
		}
		if bias := sum / reps; math.Abs(bias) > map[int]float64{100: 1.5, 500: 0.8, 5000: 0.3}[n] {
			t.Errorf("n=%d: 1e-3 thresholds off the exponential's 6.91 by %.2f on average", n, bias)
		}
	}
	if _, err := FitTail([]float64{1, 2, 3}); err == nil {
		t.Error("3 scores accepted")
	}
	if _, err := FitTail(append(make([]float64, 20), math.NaN())); err == nil {
		t.Error("NaN score accepted")
	}
}

func TestFlagger(t *testing.T) {
	f := flagger{minRun: 2}
	steps := []struct {
		above, below, flag, onset bool
	}{
		{true, false, false, false}, // one row above: not yet
		{false, true, false, false}, // run broken
		{true, false, false, false}, // run starts at row 2
		{true, false, true, true},   // confirmed
		{false, false, true, false}, // between hysteresis and threshold: still on
		{false, true, false, false}, // below hysteresis: off
		{true, false, false, false},
		{true, false, true, true},
	}
	for i, s := range steps {
		flag, onset := f.step(s.above, s.below, float64(i), i)
		if flag != s.flag || onset != s.onset {
			t.Fatalf("row %d: flag %v onset %v, want %v %v", i, flag, onset, s.flag, s.onset)
		}
		if onset && f.startLine != i-1 {
			t.Errorf("row %d: event starts at %d, want %d", i, f.startLine, i-1)
		}
	}
}

// score streams rows through a scorer and returns copies of the scores.
func score(t testing.TB, m *model.Model, set Settings, x []float32) []Score {
	t.Helper()
	var got []Score
	sc, err := New(m, Config{Settings: set}, func(s *Score) error {
		c := *s
		c.Contrib = append([]float32(nil), s.Contrib...)
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ch := m.Channels
	for r := 0; r < len(x)/ch; r++ {
		if err := sc.Push(stream.Row{Values: x[r*ch : (r+1)*ch], Line: r + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestScoresEveryRowAndFlagsAShift(t *testing.T) {
	const steps, ch = 8, 3
	m := testModel(t, steps, ch)
	set := calibrated(t, m, 3000)
	if set.Rows != 3000 || set.Alpha <= 0 || set.Source != "calibration" {
		t.Errorf("settings: rows %d, alpha %v, source %q", set.Rows, set.Alpha, set.Source)
	}
	rng := rand.New(rand.NewPCG(4, 4))
	n := 2000
	x := normalRows(rng, n, ch)
	for r := 1500; r < 1600; r++ {
		x[r*ch+2] += 8 * 3 // channel 2 shifts by 8 of its units
	}
	got := score(t, m, set, x)
	if len(got) != n {
		t.Fatalf("%d scores for %d rows", len(got), n)
	}
	falseAlarms, found := 0, false
	for i, g := range got {
		if g.Line != i+1 || g.Index != int64(i) {
			t.Fatalf("score %d is for line %d (index %d)", i, g.Line, g.Index)
		}
		var sum float32
		for _, v := range g.Contrib {
			sum += v
		}
		if math.Abs(float64(sum)-1) > 1e-4 || g.Score < 0 || g.Score > 1 || g.P <= 0 || g.P > 1 {
			t.Fatalf("row %d: contributions sum to %v, score %v, p %v", i, sum, g.Score, g.P)
		}
		if g.Above != (g.P <= set.Rate) || (g.Score >= 0.5) != g.Above {
			t.Fatalf("row %d: above %v, p %v, score %v", i, g.Above, g.P, g.Score)
		}
		switch {
		case i < 1500 && g.Flag:
			falseAlarms++
		case i >= 1500 && i < 1600 && g.Flag:
			found = true
			if g.Top != 2 {
				t.Errorf("row %d: blames channel %d for a shift in channel 2", i, g.Top)
			}
		}
	}
	if !found {
		t.Error("a shift of 8 standard deviations in one channel was not flagged")
	}
	if falseAlarms > 15 { // 1500 rows at a rate of 5e-4, with room for the test model's quirks
		t.Errorf("%d false alarms in 1500 normal rows", falseAlarms)
	}
}

// TestSmoothingNeedsEffectiveValues: from few rows, learning does not
// choose a smoothing whose tail rests on fewer than minEffective
// independent values.
func TestSmoothingNeedsEffectiveValues(t *testing.T) {
	m := testModel(t, 4, 3)
	for _, n := range []int{120, 400, 3000} {
		set := calibrated(t, m, n)
		if eff := float64(set.Rows) * set.Alpha / (2 - set.Alpha); set.Alpha < 1 && eff < minEffective {
			t.Errorf("%d rows: smoothing weight %v leaves %.0f effective values", n, set.Alpha, eff)
		}
	}
}

func TestFindings(t *testing.T) {
	for _, drift := range []int{0, 50} { // with drift, findings still read the raw values
		t.Run(fmt.Sprintf("drift %d", drift), func(t *testing.T) { testFindings(t, drift) })
	}
}

func testFindings(t *testing.T, drift int) {
	const steps, ch = 4, 3
	m := testModel(t, steps, ch)
	set := calibrated(t, m, 2000)
	set.Drift = drift
	if set.Missing[1] != 5 || set.Frozen[0] != 8 {
		t.Errorf("limits from continuous data without gaps: missing %v, frozen %v", set.Missing, set.Frozen)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	x := normalRows(rng, 300, ch)
	nan := float32(math.NaN())
	for r := 100; r < 200; r++ {
		x[r*ch+1] = nan // channel 1 stops reporting
	}
	for r := 220; r < 300; r++ {
		x[r*ch+2] = 21.5 // channel 2 freezes
	}
	got := score(t, m, set, x)
	var onsets []Score
	for _, g := range got {
		if g.Onset {
			onsets = append(onsets, g)
		}
		if g.Index >= 104 && g.Index < 200 && (g.Finding != Missing || g.FindingChannel != 1 || !g.Flag) {
			t.Fatalf("row %d: finding %v on channel %d, flag %v", g.Index, g.Finding, g.FindingChannel, g.Flag)
		}
		if g.Index >= 100 && g.Index < 200 && g.Stats[StatSPE] < 1.0/ch {
			t.Errorf("row %d: spe %v with a channel imputed: an imputed value must count as a typical error", g.Index, g.Stats[StatSPE])
		}
	}
	kinds := map[string]int{}
	for _, o := range onsets {
		kinds[o.Kind]++
		if o.Kind == "missing" && (o.EventLine != 101 || o.Top != 1) {
			t.Errorf("missing event from line %d, channel %d; want line 101, channel 1", o.EventLine, o.Top)
		}
		if o.Kind == "frozen" && (o.EventLine != 221 || o.Top != 2) {
			t.Errorf("frozen event from line %d, channel %d; want line 221, channel 2", o.EventLine, o.Top)
		}
	}
	if kinds["missing"] != 1 || kinds["frozen"] != 1 {
		t.Errorf("events %v, want one missing and one frozen", kinds)
	}
}

func TestStoreLoad(t *testing.T) {
	m := testModel(t, 4, 2)
	if _, err := Load(m); !errors.Is(err, ErrNoSettings) {
		t.Errorf("no settings: %v", err)
	}
	if _, err := New(m, Config{}, nil); !errors.Is(err, ErrNoSettings) {
		t.Errorf("a scorer without settings: %v", err)
	}
	set := calibrated(t, m, 500)
	set.MinRows = 3
	if err := Store(m, set); err != nil {
		t.Fatal(err)
	}
	got, err := Load(m)
	if err != nil {
		t.Fatal(err)
	}
	if got.MinRows != 3 || got.Hysteresis != 0.8 || got.Tails[StatRange].U != set.Tails[StatRange].U || got.Change.U != set.Change.U || got.Change.N != set.Change.N || got.Scale[1] != set.Scale[1] {
		t.Errorf("round trip: %+v", got)
	}
	bad := []func(*Settings){
		func(s *Settings) { s.Rate = 0.7 },
		func(s *Settings) { s.Hysteresis = 2 },
		func(s *Settings) { s.Scale = s.Scale[:1] },
		func(s *Settings) { s.Scale[0] = -1 },
		func(s *Settings) { s.Alpha = 0 },
		func(s *Settings) { s.Tails[StatPeak].Xi = 3 },
		func(s *Settings) { s.Change.Xi = 3 },
		func(s *Settings) { s.Tails[StatSPE] = Tail{} },
		func(s *Settings) { s.Version = 1 },
		func(s *Settings) { s.Hop = 9 },
	}
	for i, f := range bad {
		s := set
		s.Scale = append([]float64(nil), set.Scale...)
		f(&s)
		if err := Store(m, s); err == nil {
			t.Errorf("bad settings %d stored", i)
		}
	}
}

func TestCalibrateRejects(t *testing.T) {
	m := testModel(t, 8, 2)
	if _, err := Calibrate(m, make([]float32, 3), LearnOptions{}); err == nil {
		t.Error("a partial row accepted")
	}
	if _, err := Calibrate(m, normalRows(rand.New(rand.NewPCG(1, 2)), 5, 2), LearnOptions{}); err == nil {
		t.Error("5 rows accepted")
	}
}

func TestPushAllocatesNothing(t *testing.T) {
	m := testModel(t, 32, 8)
	set := calibrated(t, m, 400)
	set.Drift, set.Settle = 1000, 50 // channel 3 runs away below, faster than drift follows: flags, re-levels
	levels := 0
	sc, err := New(m, Config{Settings: set}, func(s *Score) error {
		if s.Kind == KindNewLevel {
			levels++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	row := stream.Row{HasTime: true, Values: make([]float32, 8)}
	ramp := float32(0)
	next := func() {
		row.Time++
		for c := range row.Values {
			row.Values[c] = float32(10*c) + float32(1+c)*float32(rng.NormFloat64())
		}
		row.Values[3] += ramp
	}
	for i := 0; i < 200; i++ {
		next()
		_ = sc.Push(row)
	}
	if n := testing.AllocsPerRun(1000, func() {
		ramp += 0.05
		next()
		if err := sc.Push(row); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Push allocates %v times per row", n)
	}
	if levels == 0 {
		t.Error("the run-away channel was never re-levelled: the test did not reach the settler")
	}
}

// TestSettle: a channel that steps to another level and stays there is
// flagged until Settle rows have passed, then taken as the new level with
// one new_level event; without Settle it is flagged for ever; a channel
// that turns noisy (no new level) stays flagged after Settle.
func TestSettle(t *testing.T) {
	const steps, ch, n, at, settle = 8, 3, 2000, 500, 100
	m := testModel(t, steps, ch)
	base := calibrated(t, m, 3000)
	base.Drift = 0
	step := normalRows(rand.New(rand.NewPCG(6, 6)), n, ch)
	noisy := normalRows(rand.New(rand.NewPCG(6, 6)), n, ch)
	for r := at; r < n; r++ {
		step[r*ch+2] += 8 * 3         // channel 2 steps by 8 of its units
		noisy[r*ch] = 8 * noisy[r*ch] // channel 0 (centre 0, unit 1): 8 times the noise
	}
	flagged := func(got []Score, from int) (rows, events int) {
		for _, g := range got[from:] {
			if g.Flag {
				rows++
			}
		}
		for _, g := range got {
			if g.Onset && g.Kind == KindNewLevel {
				events++
				if g.EventLine < at-steps || g.EventLine > at+steps || int(g.Index) < at+settle-1 {
					t.Errorf("new_level at row %d for an alarm from line %d (step at %d, settle %d)", g.Index, g.EventLine, at, settle)
				}
			}
		}
		return rows, events
	}
	set := base
	set.Settle = settle
	rows, events := flagged(score(t, m, set, step), at+settle+2*steps)
	if events != 1 || rows > 20 {
		t.Errorf("settle %d: %d new_level events, %d of the %d rows after it flagged", settle, events, rows, n-at-settle-2*steps)
	}
	rows, events = flagged(score(t, m, base, step), at+settle+2*steps)
	if events != 0 || rows < (n-at-settle)*9/10 {
		t.Errorf("no settle: %d new_level events, %d of %d rows after the step flagged", events, rows, n-at-settle-2*steps)
	}
	rows, events = flagged(score(t, m, set, noisy), at+settle+2*steps)
	if events > 1 || rows < (n-at-settle)/2 {
		t.Errorf("settle %d on a noisier channel: %d new_level events, %d of %d rows after settling flagged", settle, events, rows, n-at-settle-2*steps)
	}
}
