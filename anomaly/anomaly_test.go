package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
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

func TestThresholdRules(t *testing.T) {
	scores := make([]float64, 1000)
	for i := range scores {
		scores[i] = float64(i + 1) // 1..1000
	}
	s, err := Threshold(scores, CalibOptions{Percentile: 99})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.Threshold-990.01) > 1e-9 || s.Rule != "percentile" || s.Windows != 1000 || s.Mean != 500.5 {
		t.Errorf("percentile: %+v", s)
	}
	s, err = Threshold(scores, CalibOptions{Rule: "sigma", K: 2})
	if err != nil {
		t.Fatal(err)
	}
	std := math.Sqrt((1000*1000 - 1) / 12.0)
	if math.Abs(s.Std-std) > 1e-6 || math.Abs(s.Threshold-(500.5+2*std)) > 1e-6 {
		t.Errorf("sigma: %+v (std %v)", s, std)
	}
	if r := s.resolve(nil); r.Clip != 4 || r.Hysteresis != 0.8 || r.MinWindows != 2 || r.Passes != 2 {
		t.Errorf("defaults %+v", r)
	}
	for _, o := range []CalibOptions{{Rule: "iqr"}, {Percentile: 101}, {Rule: "sigma", K: -1}} {
		if _, err := Threshold(scores, o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if _, err := Threshold([]float64{1, math.NaN()}, CalibOptions{}); err == nil {
		t.Error("NaN score accepted")
	}
}

func TestFlagger(t *testing.T) {
	f := flagger{minRun: 2}
	// above, below(hysteresis) per window, and the expected flag/onset.
	steps := []struct {
		above, below, flag, onset bool
	}{
		{true, false, false, false}, // one window above: not yet
		{false, true, false, false}, // run broken
		{true, false, false, false}, // run starts at window 2
		{true, false, true, true},   // confirmed
		{false, false, true, false}, // between hysteresis and threshold: still on
		{false, true, false, false}, // below hysteresis: off
		{true, false, false, false},
		{true, false, true, true},
	}
	for i, s := range steps {
		flag, onset := f.step(s.above, s.below, float64(i), i)
		if flag != s.flag || onset != s.onset {
			t.Fatalf("window %d: flag %v onset %v, want %v %v", i, flag, onset, s.flag, s.onset)
		}
		if onset && f.startLine != i-1 {
			t.Errorf("window %d: event starts at %d, want %d", i, f.startLine, i-1)
		}
	}
}

func TestStreamMatchesBatch(t *testing.T) {
	const steps, ch, hop = 8, 3, 2
	m := testModel(t, steps, ch)
	rng := rand.New(rand.NewPCG(3, 4))
	n := 60
	x := make([]float32, n*ch)
	for i := range x {
		x[i] = float32(10*(i%ch)) + float32(rng.NormFloat64())*float32(1+i%ch)
	}
	x[40*ch+1] += 50 // a large error in channel 1 around row 40
	var windows []float32
	for st := 0; st+steps <= n; st += hop {
		windows = append(windows, x[st*ch:(st+steps)*ch]...)
	}
	batch, _, err := Scores(m, windows, Settings{})
	if err != nil {
		t.Fatal(err)
	}
	set, err := Threshold(batch, CalibOptions{Percentile: 50})
	if err != nil {
		t.Fatal(err)
	}
	var got []Score
	sc, err := New(m, Config{Settings: set, Stream: stream.Config{Hop: hop}}, func(s *Score) error {
		c := *s
		c.Contrib = slices.Clone(s.Contrib)
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < n; r++ {
		if err := sc.Push(stream.Row{Values: x[r*ch : (r+1)*ch], Line: r + 2}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	// n=60, steps 8, hop 2: windows end at 7, 9, ..., 59; none extra.
	if len(got) != len(batch) {
		t.Fatalf("%d stream scores, %d batch", len(got), len(batch))
	}
	for i, g := range got {
		if g.Raw != batch[i] {
			t.Fatalf("window %d: stream %v, batch %v", i, g.Raw, batch[i])
		}
		if math.Abs(g.Score-g.Raw/(g.Raw+set.Threshold)) > 1e-12 || g.Above != (g.Raw >= set.Threshold) {
			t.Errorf("window %d: score %+v", i, g)
		}
		var sum float32
		for _, v := range g.Contrib {
			sum += v
		}
		if math.Abs(float64(sum)-1) > 1e-5 {
			t.Errorf("window %d: contributions sum to %v", i, sum)
		}
		if g.Line != int(g.End)+2 || g.StartLine != g.Line-steps+1 {
			t.Errorf("window %d: lines %d..%d for end %d", i, g.StartLine, g.Line, g.End)
		}
		if g.End >= 40 && g.End-steps+1 <= 40 && g.Top != 1 {
			t.Errorf("window ending %d covers the channel-1 fault but blames channel %d (%v)", g.End, g.Top, g.Contrib)
		}
	}
}

func TestMissingValuesLeftOut(t *testing.T) {
	const steps, ch = 4, 2
	m := testModel(t, steps, ch)
	set := Settings{Threshold: 1}
	var got []Score
	sc, err := New(m, Config{Settings: set, Stream: stream.Config{Hop: 4}}, func(s *Score) error {
		got = append(got, *s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	for r := 0; r < 4; r++ {
		_ = sc.Push(stream.Row{Values: []float32{nan, 10}})
	}
	if len(got) != 1 || got[0].Missing != 4 || math.IsNaN(got[0].Raw) {
		t.Fatalf("%+v", got)
	}
	if got[0].Contrib[0] != 0 {
		t.Errorf("an all-imputed channel contributes %v", got[0].Contrib[0])
	}
}

func TestStoreLoad(t *testing.T) {
	m := testModel(t, 4, 2)
	if _, err := Load(m); err != ErrNoSettings {
		t.Errorf("no settings: %v", err)
	}
	s := Settings{Threshold: 0.5, Rule: "sigma", K: 3, Adapt: 0.01, MinWindows: 3}
	if err := Store(m, s); err != nil {
		t.Fatal(err)
	}
	got, err := Load(m)
	if err != nil {
		t.Fatal(err)
	}
	if got.Threshold != 0.5 || got.K != 3 || got.MinWindows != 3 || got.Hysteresis != 0.8 || got.Adapt != 0.01 {
		t.Errorf("%+v", got)
	}
	for _, bad := range []Settings{{Threshold: -1}, {Threshold: 1, Hysteresis: 2}, {Threshold: 1, Adapt: 1}, {Threshold: math.Inf(1)}} {
		if err := Store(m, bad); err == nil {
			t.Errorf("%+v stored", bad)
		}
	}
	if _, err := New(testModel(t, 4, 2), Config{}, nil); err != ErrNoSettings {
		t.Errorf("a scorer without settings: %v", err)
	}
}

func TestAdaptation(t *testing.T) {
	const steps, ch = 4, 1
	m := testModel(t, steps, ch)
	// Calibrate on a quiet signal, then feed a noisier but stationary one:
	// with adaptation the threshold rises and the flags stop.
	rng := rand.New(rand.NewPCG(9, 9))
	sig := func(noise float64, n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(noise * rng.NormFloat64())
		}
		return x
	}
	base, _, _ := Scores(m, sig(0.05, 400), Settings{})
	set, _ := Threshold(base, CalibOptions{Percentile: 99})
	count := func(adapt float64) (flags int, thr float64) {
		set.Adapt = adapt
		sc, _ := New(m, Config{Settings: set, Stream: stream.Config{Hop: 4}}, func(s *Score) error {
			if s.Flag {
				flags++
			}
			thr = s.Threshold
			return nil
		})
		for _, v := range sig(0.3, 8000) {
			_ = sc.Push(stream.Row{Values: []float32{v}})
		}
		return flags, thr
	}
	fixed, thr0 := count(0)
	adapted, thr1 := count(0.05)
	if thr0 != set.Threshold || !(thr1 > thr0) || thr1 > 4*thr0 {
		t.Errorf("thresholds: fixed %v, adapted %v (calibrated %v)", thr0, thr1, set.Threshold)
	}
	if !(adapted < fixed) {
		t.Errorf("adaptation did not reduce flags on a drifted baseline: %d vs %d", adapted, fixed)
	}
}

func TestPushAllocatesNothing(t *testing.T) {
	m := testModel(t, 64, 8)
	sc, _ := New(m, Config{Settings: Settings{Threshold: 1, Adapt: 0.01}, Stream: stream.Config{Hop: 16}}, func(*Score) error { return nil })
	row := stream.Row{HasTime: true, Values: make([]float32, 8)}
	for i := 0; i < 200; i++ {
		row.Time++
		_ = sc.Push(row)
	}
	if n := testing.AllocsPerRun(1000, func() {
		row.Time++
		if err := sc.Push(row); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Push allocates %v times per sample", n)
	}
}

func TestStuckSensor(t *testing.T) {
	const steps, ch = 16, 3
	m := testModel(t, steps, ch)
	rng := rand.New(rand.NewPCG(5, 5))
	row := func() []float32 {
		return []float32{float32(rng.NormFloat64()), 10 + 2*float32(rng.NormFloat64()), 20 + 3*float32(rng.NormFloat64())}
	}
	var normal []float32
	for i := 0; i < 200*steps; i++ {
		normal = append(normal, row()...)
	}
	set, err := Calibrate(m, normal, CalibOptions{Base: Settings{Hop: steps}})
	if err != nil {
		t.Fatal(err)
	}
	if set.Stuck != 8 {
		t.Errorf("stuck run %d, want the floor of 8 on continuous data", set.Stuck)
	}
	var got []Score
	sc, err := New(m, Config{Settings: set}, func(s *Score) error {
		c := *s
		c.Contrib = slices.Clone(s.Contrib)
		got = append(got, c)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	frozen := float32(12.5)
	for i := 0; i < 4*steps; i++ {
		r := row()
		if i >= 2*steps {
			r[1] = frozen // channel 1 sticks for the last two windows
		}
		if err := sc.Push(stream.Row{Values: r}); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 4 {
		t.Fatalf("%d windows", len(got))
	}
	for i, g := range got {
		stuck := i >= 2
		if (g.Stuck > 0) != stuck || g.Above != stuck && stuck {
			t.Errorf("window %d: stuck %d, above %v", i, g.Stuck, g.Above)
		}
		if stuck && (g.Top != 1 || g.Stuck != steps || g.Raw < 2*set.Threshold) {
			t.Errorf("window %d: top channel %d, run %d, raw %v (threshold %v)", i, g.Top, g.Stuck, g.Raw, set.Threshold)
		}
	}
}

func TestCalibrateSeries(t *testing.T) {
	const steps, ch = 8, 2
	m := testModel(t, steps, ch)
	rng := rand.New(rand.NewPCG(6, 6))
	n := 400
	x := make([]float32, n*ch)
	for i := range x {
		x[i] = float32(10*(i%ch)) + float32(rng.NormFloat64())
	}
	for i := 100; i < 110; i++ {
		x[i*ch+1] = float32(math.NaN()) // a dropout: imputed, left out, no stuck run
	}
	set, err := CalibrateSeries(m, x, CalibOptions{Base: Settings{Hop: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if set.Stuck != 8 || set.Windows != (n-steps)/4+1 {
		t.Errorf("stuck %d, windows %d", set.Stuck, set.Windows)
	}
	// The stream's scores of the same series sit below the threshold as
	// often as the percentile says.
	var above int
	sc, _ := New(m, Config{Settings: set}, func(s *Score) error {
		if s.Above {
			above++
		}
		return nil
	})
	for r := 0; r < n; r++ {
		_ = sc.Push(stream.Row{Values: x[r*ch : (r+1)*ch]})
	}
	_ = sc.Close()
	if above > 1 {
		t.Errorf("%d of %d calibration windows above the 99.5th percentile threshold", above, set.Windows)
	}
	if _, err := CalibrateSeries(m, x[:3], CalibOptions{}); err == nil {
		t.Error("a partial row accepted")
	}
}
