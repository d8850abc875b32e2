package denoise

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/train"
)

// testModel is a small random dense autoencoder with a mean/std
// normalisation: its reconstructions depend on every input, so any slip in
// the overlap-add bookkeeping shows.
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

// reference denoises a whole segment offline, the obvious way.
func reference(t *testing.T, m *model.Model, x []float32, hop int, mode Mode) []float32 {
	steps, c := m.Steps, m.Channels
	n := len(x) / c
	out := make([]float32, len(x))
	if n < steps {
		copy(out, x)
		return out
	}
	s, _ := m.NewSession(1)
	set, err := Load(m)
	if err != nil {
		t.Fatal(err)
	}
	recon := make([]float32, steps*c)
	var starts []int
	for st := 0; st+steps <= n; st += hop {
		starts = append(starts, st)
	}
	if last := starts[len(starts)-1]; last+steps < n {
		starts = append(starts, n-steps)
	}
	taper := Taper(steps)
	acc := make([]float64, len(x))
	wsum := make([]float64, n)
	done := make([]bool, n)
	for wi, st := range starts {
		if _, err := s.ReconstructRobust(recon, x[st*c:(st+steps)*c], nil, float32(set.Outlier), set.Passes); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < steps; i++ {
			r := st + i
			if mode == Causal {
				if !done[r] {
					copy(out[r*c:(r+1)*c], recon[i*c:(i+1)*c])
					done[r] = true
				}
				continue
			}
			// Centred: a row takes every window that covers it, except
			// that the final aligned window only adds to rows no regular
			// window has finished.
			if wi == len(starts)-1 && st%hop != 0 && r < starts[wi-1]+hop {
				continue
			}
			for j := 0; j < c; j++ {
				acc[r*c+j] += float64(taper[i]) * float64(recon[i*c+j])
			}
			wsum[r] += float64(taper[i])
		}
	}
	if mode == Centred {
		for r := 0; r < n; r++ {
			for j := 0; j < c; j++ {
				out[r*c+j] = float32(acc[r*c+j] / wsum[r])
			}
		}
	}
	return out
}

func TestMatchesOfflineReference(t *testing.T) {
	const steps, ch = 8, 3
	m := testModel(t, steps, ch)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, mode := range []Mode{Centred, Causal} {
		for _, hop := range []int{1, 3, 4, 8} {
			for _, n := range []int{5, 8, 9, 20, 37} {
				x := make([]float32, n*ch)
				for i := range x {
					x[i] = float32(10*(i%ch)) + float32(rng.NormFloat64())
				}
				var got []float32
				var idx []int64
				d, err := New(m, Config{Mode: mode, Stream: stream.Config{Hop: hop}}, func(s *Sample) error {
					got = append(got, s.Values...)
					idx = append(idx, s.Index)
					if s.Passthrough != (n < steps) {
						t.Errorf("passthrough %v with %d rows", s.Passthrough, n)
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				for r := 0; r < n; r++ {
					if err := d.Push(stream.Row{Values: x[r*ch : (r+1)*ch], Line: r + 2}); err != nil {
						t.Fatal(err)
					}
				}
				if err := d.Close(); err != nil {
					t.Fatal(err)
				}
				if len(idx) != n {
					t.Fatalf("%s hop %d, %d rows: %d samples out", mode, hop, n, len(idx))
				}
				for i, v := range idx {
					if v != int64(i) {
						t.Fatalf("%s hop %d: sample %d out of order (%v)", mode, hop, i, idx)
					}
				}
				want := reference(t, m, x, hop, mode)
				for i := range want {
					if math.Abs(float64(got[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
						t.Fatalf("%s hop %d, %d rows: value %d = %v, reference %v", mode, hop, n, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func TestLatency(t *testing.T) {
	const steps, ch, hop = 16, 2, 4
	m := testModel(t, steps, ch)
	for _, mode := range []Mode{Causal, Centred} {
		pushed := 0
		worst := 0
		d, _ := New(m, Config{Mode: mode, Stream: stream.Config{Hop: hop}}, func(s *Sample) error {
			if s.Index >= steps { // after the first window
				worst = max(worst, pushed-1-int(s.Index))
			}
			return nil
		})
		for r := 0; r < 100; r++ {
			pushed++
			if err := d.Push(stream.Row{Values: []float32{1, 2}}); err != nil {
				t.Fatal(err)
			}
		}
		if worst > d.Latency() {
			t.Errorf("%s: a sample waited %d samples, the stated latency is %d", mode, worst, d.Latency())
		}
		if mode == Causal && worst != hop-1 {
			t.Errorf("causal latency %d, want hop-1 = %d", worst, hop-1)
		}
	}
}

func TestImputedAndGaps(t *testing.T) {
	const steps, ch = 8, 2
	m := testModel(t, steps, ch)
	var samples []Sample
	d, _ := New(m, Config{Stream: stream.Config{Hop: 2, MaxGap: 3, Period: 1}}, func(s *Sample) error {
		c := *s
		c.Values, c.Input, c.Missing = slices.Clone(s.Values), slices.Clone(s.Input), slices.Clone(s.Missing)
		samples = append(samples, c)
		return nil
	})
	tm := 0.0
	for r := 0; r < 12; r++ {
		v := []float32{1, 11}
		if r == 5 {
			v[1] = float32(math.NaN())
		}
		if err := d.Push(stream.Row{Time: tm, HasTime: true, Values: v}); err != nil {
			t.Fatal(err)
		}
		tm++
	}
	tm += 100 // a gap: the first segment is finished, a short one follows
	for r := 0; r < 3; r++ {
		if err := d.Push(stream.Row{Time: tm, HasTime: true, Values: []float32{2, 12}}); err != nil {
			t.Fatal(err)
		}
		tm++
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if len(samples) != 15 {
		t.Fatalf("%d samples for 15 rows", len(samples))
	}
	s5 := samples[5]
	if !s5.Missing[1] || s5.Input[1] != 11 || s5.Values[1] == s5.Input[1] {
		t.Errorf("imputed sample: %+v", s5)
	}
	for i, s := range samples[12:] {
		if s.Segment != 1 || !s.Passthrough || s.Values[0] != 2 || s.Index != int64(i) {
			t.Errorf("short segment sample %d: %+v", i, s)
		}
	}
	if samples[11].Segment != 0 || samples[11].Passthrough {
		t.Errorf("last sample of segment 0: %+v", samples[11])
	}
}

func TestManyStreams(t *testing.T) {
	// Independent streams on one model: interleaving them changes nothing.
	const steps, ch = 8, 2
	m := testModel(t, steps, ch)
	run := func(streams int, interleave bool) [][]float32 {
		outs := make([][]float32, streams)
		ds := make([]*Denoiser, streams)
		for k := range ds {
			ds[k], _ = New(m, Config{Stream: stream.Config{Hop: 2}}, func(s *Sample) error {
				outs[k] = append(outs[k], s.Values...)
				return nil
			})
		}
		val := func(k, r int) []float32 { return []float32{float32(k + r%5), float32(k*r%7) + 10} }
		if interleave {
			for r := 0; r < 30; r++ {
				for k := range ds {
					_ = ds[k].Push(stream.Row{Values: val(k, r)})
				}
			}
		} else {
			for k := range ds {
				for r := 0; r < 30; r++ {
					_ = ds[k].Push(stream.Row{Values: val(k, r)})
				}
			}
		}
		for _, d := range ds {
			_ = d.Close()
		}
		return outs
	}
	a, b := run(20, true), run(20, false)
	for k := range a {
		if !slices.Equal(a[k], b[k]) || len(a[k]) != 30*ch {
			t.Fatalf("stream %d differs when interleaved", k)
		}
	}
}

func TestPushAllocatesNothing(t *testing.T) {
	m := testModel(t, 64, 8)
	for _, mode := range []Mode{Centred, Causal} {
		d, _ := New(m, Config{Mode: mode, Stream: stream.Config{Hop: 16}}, func(*Sample) error { return nil })
		row := stream.Row{HasTime: true, Values: make([]float32, 8)}
		for i := 0; i < 200; i++ {
			row.Time++
			_ = d.Push(row)
		}
		n := testing.AllocsPerRun(1000, func() {
			row.Time++
			if err := d.Push(row); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("%s: Push allocates %v times per sample", mode, n)
		}
	}
}

func TestParseMode(t *testing.T) {
	for s, want := range map[string]Mode{"centred": Centred, "centered": Centred, "causal": Causal} {
		if m, err := ParseMode(s); err != nil || m != want {
			t.Errorf("%q: %v %v", s, m, err)
		}
	}
	if _, err := ParseMode("future"); err == nil {
		t.Error("bad mode accepted")
	}
}

// TestDocsQuoteFilterCounts: where the documents quote how many classical
// filter settings are tuned, they quote what Classical returns.
func TestDocsQuoteFilterCounts(t *testing.T) {
	all, windowed := 0, 0
	for fam, fs := range Classical() {
		all += len(fs)
		if fam != "ema" {
			windowed += len(fs)
		}
	}
	for file, counts := range map[string][]int{"../docs/quality.md": {windowed, all}, "../bench/RESULTS.md": {all}} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range counts {
			if !strings.Contains(string(b), fmt.Sprintf("%d settings", n)) {
				t.Errorf("%s does not quote %d settings (Classical has %d, %d windowed)", file, n, all, windowed)
			}
		}
	}
}
