package learn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

func TestBufferFull(t *testing.T) {
	b, err := NewBuffer([]string{"a", "b"}, 3, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		full, err := b.Add(stream.Row{Values: []float32{1, 2}})
		if err != nil || full != (i == 2) {
			t.Fatalf("row %d: full %v, %v", i, full, err)
		}
	}
	// By duration: full once the timestamps span an hour.
	d, _ := NewBuffer([]string{"a"}, 0, 3600)
	for i := 0; i < 13; i++ {
		full, _ := d.Add(stream.Row{Time: float64(i * 300), HasTime: true, Values: []float32{1}})
		if full != (i == 12) {
			t.Fatalf("row %d (t=%ds): full %v", i, i*300, full)
		}
	}
	if _, err := b.Add(stream.Row{Values: []float32{1}}); err == nil {
		t.Error("a short row was accepted")
	}
	for _, c := range []struct {
		names []string
		n     int
		d     float64
	}{{nil, 10, 0}, {[]string{"a"}, 0, 0}, {[]string{"a"}, MaxSamples + 1, 0}} {
		if _, err := NewBuffer(c.names, c.n, c.d); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestDominantPeriod(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, p := range []int{12, 24, 50} {
		n, c := 2000, 3
		x := make([]float32, n*c)
		for i := range x {
			tt := i / c
			x[i] = float32(math.Sin(2*math.Pi*float64(tt)/float64(p)+float64(i%c)) + 0.3*rng.NormFloat64())
		}
		if got := DominantPeriod(x, c); got < p-1 || got > p+1 {
			t.Errorf("period %d: found %d", p, got)
		}
	}
	noise := make([]float32, 1000)
	for i := range noise {
		noise[i] = float32(rng.NormFloat64())
	}
	if got := DominantPeriod(noise, 1); got != 0 {
		t.Errorf("white noise: period %d", got)
	}
	for _, c := range []struct{ n, ch, p, want int }{
		{10000, 8, 0, DefaultWindow}, {10000, 8, 48, MaxWindow}, {10000, 1, 300, MaxWindow}, {10000, 1, 24, 24},
		{100, 1, 0, 12}, {500, 52, 0, 2}, {100, 52, 0, 1},
	} {
		if got := ChooseWindow(c.n, c.ch, c.p); got != c.want {
			t.Errorf("ChooseWindow(%d rows, %d channels, period %d) = %d, want %d", c.n, c.ch, c.p, got, c.want)
		}
	}
}

// synthSeries returns n generated rows (with the generator's dropouts as NaN).
func synthSeries(t testing.TB, ch, n int, seed uint64) *dataset.Series {
	t.Helper()
	g, err := synth.New(synth.Config{Channels: ch, Seed: seed, Season: 1000, Trend: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, obs := g.Series(n)
	return &dataset.Series{Source: "synth", Names: g.Names(), Values: obs, Lines: make([]int, n)}
}

func TestFit(t *testing.T) {
	s := synthSeries(t, 4, 3000, 3)
	var log strings.Builder
	fm, qm, rep, err := Fit(s, Options{Train: train.Config{Epochs: 3, Seed: 1}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !qm.Quantized() || fm.Quantized() || qm.Channels != 4 || qm.Steps != rep.Window || rep.Window < 2 || rep.Window > MaxWindow {
		t.Errorf("models: int8 %v, float %v, %dx%d, window %d", qm.Quantized(), fm.Quantized(), qm.Steps, qm.Channels, rep.Window)
	}
	for name, m := range map[string]*model.Model{"float": fm, "int8": qm} {
		set, err := anomaly.Load(m)
		if err != nil || set.Rows != 3000 || !strings.Contains(set.Source, "5 folds") {
			t.Errorf("%s settings: %d rows from %q (%v)", name, set.Rows, set.Source, err)
		}
	}
	qs, _ := anomaly.Load(qm)
	for ch := range qs.Scale {
		if qs.Scale[ch] < rep.Settings.Scale[ch] {
			t.Errorf("channel %d: the int8 scale %v is below the float one %v", ch, qs.Scale[ch], rep.Settings.Scale[ch])
		}
	}
	if !strings.Contains(log.String(), "thresholds from 3000 out-of-sample rows") {
		t.Errorf("log: %s", log.String())
	}
	// Rows of the same installation that follow: flags stay rare.
	more := synthSeries(t, 4, 6000, 3)
	flagged := 0
	sc, err := anomaly.New(qm, anomaly.Config{}, func(s *anomaly.Score) error {
		if s.Flag && s.Finding == anomaly.NoFinding {
			flagged++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 3000; i < 6000; i++ {
		sc.Push(stream.Row{Values: more.Values[i*4 : (i+1)*4], Line: i})
	}
	sc.Close()
	if flagged > 60 {
		t.Errorf("%d of 3000 normal rows flagged after learning", flagged)
	}
}

func TestFitShortAndUnivariate(t *testing.T) {
	// 100 rows of one channel: the shortest learning period accepted.
	rng := rand.New(rand.NewPCG(2, 2))
	x := make([]float32, 100)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)/4) + 0.1*rng.NormFloat64())
	}
	s := &dataset.Series{Source: "short", Names: []string{"v"}, Values: x, Lines: make([]int, 100)}
	_, qm, rep, err := Fit(s, Options{Train: train.Config{Epochs: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if qm.Steps > 12 || rep.Settings.Rows != 100 {
		t.Errorf("window %d, %d rows for the thresholds", qm.Steps, rep.Settings.Rows)
	}
	if _, _, _, err := Fit(&dataset.Series{Source: "tiny", Names: []string{"v"}, Values: x[:99], Lines: make([]int, 99)}, Options{}); err == nil {
		t.Error("99 rows accepted")
	}
	// One outlier in the learning rows does not set the scale.
	x[50] = 1e6
	_, qm2, _, err := Fit(s, Options{Train: train.Config{Epochs: 1}, Float: false})
	if err != nil {
		t.Fatal(err)
	}
	if sc := qm2.Norm.Scale[0]; sc > 2 || sc < 0.3 {
		t.Errorf("scale %v with one outlier of 1e6 among values of about ±1", sc)
	}
	if _, _, _, err := Fit(s, Options{Folds: 1}); err == nil {
		t.Error("one fold accepted")
	}
}

// A channel that trends across the learning rows is named; noise, a
// cycle the rows hold many times over, and a constant are not.
func TestUnsettledChannels(t *testing.T) {
	const n = 800
	rng := rand.New(rand.NewPCG(4, 4))
	s := &dataset.Series{Names: []string{"noise", "ramp", "daily", "flat"}, Lines: make([]int, n)}
	for i := range n {
		s.Values = append(s.Values,
			float32(rng.NormFloat64()),
			float32(0.01*float64(i)+0.3*rng.NormFloat64()),
			float32(math.Sin(2*math.Pi*float64(i)/50)+0.1*rng.NormFloat64()),
			5)
	}
	if got := unsettledChannels(s, nil); !slices.Equal(got, []string{"ramp"}) {
		t.Errorf("unsettled: %v, want [ramp]", got)
	}
	if got := unsettledChannels(s, []string{"ramp"}); got != nil {
		t.Errorf("with ramp skipped: %v", got)
	}
}

// Learned from a few cycles of a wave (150 rows, period 31), a model must
// pass its own learning rows: the drift tracker may not follow the wave.
// It once swung each centre by 0.41 units on such data, seven typical
// errors, and flagged 88% of the rows it had learned from.
func TestFitShortCycleScoresItsOwnRowsNormal(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const n = 150
	x := make([]float32, 0, 2*n)
	for i := 0; i < n; i++ {
		a := math.Sin(float64(i)/5) + 0.05*rng.NormFloat64()
		x = append(x, float32(a), float32(2*a+0.05*rng.NormFloat64()))
	}
	s := &dataset.Series{Source: "wave", Names: []string{"a", "b"}, Values: x, Lines: make([]int, n)}
	fm, _, rep, err := Fit(s, Options{Float: true, Train: train.Config{Epochs: 2, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Settings.Cycle < 20 {
		t.Fatalf("cycle %d rows, want the wave's period (about 31)", rep.Settings.Cycle)
	}
	flagged := func(m *model.Model) int {
		count := 0
		sc, err := anomaly.New(m, anomaly.Config{}, func(s *anomaly.Score) error {
			if s.Flag {
				count++
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			sc.Push(stream.Row{Values: x[2*i : 2*i+2], Line: i})
		}
		sc.Close()
		return count
	}
	if got := flagged(fm); got > n/50 {
		t.Errorf("%d of its %d learning rows flagged", got, n)
	}
	// Without the cycle's limit (a model from before it), the tracker
	// follows the wave: the test above would have failed.
	set := rep.Settings
	set.Cycle = 0
	if err := anomaly.Store(fm, set); err != nil {
		t.Fatal(err)
	}
	if got := flagged(fm); got < n/5 {
		t.Errorf("without the cycle limit only %d rows flagged: the test does not show the tracker's swing", got)
	}
}
