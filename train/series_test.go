package train

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/pca"
)

// fmSeries returns a non-linear three-channel series: a sine whose
// frequency and amplitude jump every 200 rows, its saturated copy and its
// square, with a little noise. Windows of it lie on a curved manifold that
// PCA with few components cannot follow.
func fmSeries(rows int, seed uint64) *dataset.Series {
	rng := rand.New(rand.NewPCG(seed, 7))
	s := &dataset.Series{Source: "fm", Names: []string{"a", "b", "c"}}
	var th, f, amp float64
	for t := 0; t < rows; t++ {
		if t%200 == 0 {
			f, amp = 0.02+0.1*rng.Float64(), 0.5+1.5*rng.Float64()
		}
		th += 2 * math.Pi * f
		a := amp * math.Sin(th)
		for _, v := range []float64{a, math.Tanh(2 * a), a * a} {
			s.Values = append(s.Values, float32(v+0.02*rng.NormFloat64()))
		}
		s.Lines = append(s.Lines, t+2)
	}
	return s
}

func TestWarmStartIsPCA(t *testing.T) {
	tr, _ := sensorData(t, 16, 3, 200, 4)
	const steps, ch, k = 16, 3, 4
	p, err := pca.Fit(tr, steps*ch, k)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, len(tr))
	for i := 0; i < len(tr)/(steps*ch); i++ {
		p.Reconstruct(want[i*steps*ch:(i+1)*steps*ch], tr[i*steps*ch:(i+1)*steps*ch])
	}
	for _, c := range []struct {
		name string
		a    Arch
	}{
		{"relu-2-hidden", Arch{Hidden: []int{24, 9}}},
		{"leaky", Arch{Hidden: []int{16}, Act: model.LeakyReLU, Alpha: 0.2}},
		{"linear", Arch{}},
	} {
		a := c.a
		a.Steps, a.Channels, a.Latent = steps, ch, k
		m, err := Build(a, 3)
		if err != nil {
			t.Fatal(err)
		}
		m.Norm = model.Normalization{Kind: model.NormNone}
		if err := WarmStart(m, p); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		s, err := m.NewSession(len(tr) / (steps * ch))
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(tr))
		if err := s.Reconstruct(got, tr); err != nil {
			t.Fatal(err)
		}
		var worst float64
		for i := range got {
			worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
		}
		if worst > 2e-4 {
			t.Errorf("%s: the warm-started model differs from PCA by up to %g", c.name, worst)
		}
	}
	for _, c := range []struct {
		name string
		a    Arch
	}{
		{"conv", Arch{Kind: "conv", Hidden: []int{8}}},
		{"variational", Arch{Hidden: []int{16}, Variational: true}},
		{"tanh", Arch{Hidden: []int{16}, Act: model.Tanh}},
		{"too narrow", Arch{Hidden: []int{7}}},
		{"sigmoid code", Arch{Hidden: []int{16}, CodeAct: model.Sigmoid}},
	} {
		a := c.a
		a.Steps, a.Channels, a.Latent = steps, ch, k
		m, err := Build(a, 3)
		if err != nil {
			t.Fatal(err)
		}
		if err := WarmStart(m, p); !errors.Is(err, ErrNoWarmStart) {
			t.Errorf("%s: WarmStart = %v, want ErrNoWarmStart", c.name, err)
		}
	}
}

func TestFitSeriesBeatsPCA(t *testing.T) {
	s := fmSeries(12000, 1)
	m, r, err := FitSeries(s, SeriesOptions{Window: 32, Arch: Arch{Hidden: []int{64, 32}, Latent: 6},
		Config: Config{Epochs: 40, Seed: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.WarmStarted {
		t.Error("a dense ReLU model was not warm-started")
	}
	if !(r.ValMSE < 0.8*r.PCAMSE) {
		t.Errorf("autoencoder validation MSE %.4f, PCA %.4f: the non-linear model should beat the linear one clearly on this data", r.ValMSE, r.PCAMSE)
	}
	if !(r.PCAMSE < r.ValVariance) {
		t.Errorf("PCA %.4f no better than the mean %.4f", r.PCAMSE, r.ValVariance)
	}
	if r.TrainRows != 9600 || r.ValRows != 2400 || r.TrainWindows != (9600-32)/8+1 || r.ValWindows != (2400-32)/8+1 {
		t.Errorf("split: %d/%d rows, %d/%d windows", r.TrainRows, r.ValRows, r.TrainWindows, r.ValWindows)
	}
	if strings.Join(m.ChannelNames, ",") != "a,b,c" || m.Norm.Kind != model.NormMeanStd {
		t.Errorf("channel names %v, normalisation %s", m.ChannelNames, m.Norm.Kind)
	}
	set, ok, err := model.TrainingSection.Get(m)
	if err != nil || !ok {
		t.Fatalf("training section: %v, %v", ok, err)
	}
	if set.Window != 32 || set.Hop != 8 || set.Init != "pca" || set.Variant != "vanilla" || set.ValMSE != r.ValMSE {
		t.Errorf("settings %+v", set)
	}
	// The stored normalisation comes from the training rows only.
	trainPart, _ := s.Split(0.2)
	norm, _ := trainPart.FitNormalization(model.NormMeanStd)
	if norm.Shift[2] != m.Norm.Shift[2] || norm.Scale[0] != m.Norm.Scale[0] {
		t.Errorf("normalisation %v, want the training part's %v", m.Norm, norm)
	}
	// The model's own error, through its normalisation, matches ValMSE.
	_, valPart := s.Split(0.2)
	x, n, _ := valPart.Windows(32, 8)
	sess, _ := m.NewSession(n)
	win := make([]float32, n)
	if err := sess.Errors(x, nil, win, nil); err != nil {
		t.Fatal(err)
	}
	var mean float64
	for _, v := range win {
		mean += float64(v) / float64(n)
	}
	if math.Abs(mean-r.ValMSE) > 1e-3*r.ValMSE {
		t.Errorf("session window error %.6f, FitSeries reports %.6f", mean, r.ValMSE)
	}
}

func TestFitSeriesErrors(t *testing.T) {
	s := fmSeries(100, 1)
	for _, c := range []struct {
		o    SeriesOptions
		want string
	}{
		{SeriesOptions{Window: 64}, "validation part"},
		{SeriesOptions{Window: 128, ValFraction: -1}, "too few for one 128-row window"},
		{SeriesOptions{Window: 8, Hop: 9}, "hop"},
		{SeriesOptions{Window: 8, ValFraction: 1}, "below 1"},
		{SeriesOptions{Window: 8, Init: "zeros"}, "initialisation"},
		{SeriesOptions{Window: 8, Init: "pca", Arch: Arch{Kind: "conv", Hidden: []int{4}}}, "PCA warm start"},
	} {
		c.o.Arch.Latent = 2
		if c.o.Arch.Hidden == nil {
			c.o.Arch.Hidden = []int{8}
		}
		c.o.Config.Epochs = 1
		_, _, err := FitSeries(s, c.o)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
}

// A channel that never moved while learning has principal directions of
// no variance; whitening by their standard deviation must not give the
// encoder enormous weights (it once gave 1e9, so a channel's first move put
// 1e5 through the hidden layers and set nonsense int8 ranges), and the
// model must still be PCA's.
func TestWarmStartStillData(t *testing.T) {
	const steps, ch, k = 16, 1, 1
	still := make([]float32, 200*steps*ch) // every value at the centre
	p, err := pca.Fit(still, steps*ch, k)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Build(Arch{Hidden: []int{16}, Steps: steps, Channels: ch, Latent: k}, 3)
	if err != nil {
		t.Fatal(err)
	}
	m.Norm = model.Normalization{Kind: model.NormNone}
	if err := WarmStart(m, p); err != nil {
		t.Fatal(err)
	}
	for _, w := range m.Encoder[0].W {
		if math.Abs(float64(w)) > 1e3 {
			t.Fatalf("encoder weight %g from data that never moved", w)
		}
	}
	s, err := m.NewSession(1)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, steps*ch)
	if err := s.Reconstruct(got, still[:steps*ch]); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if math.Abs(float64(v)) > 1e-6 {
			t.Fatalf("value %d of the still data reconstructed as %g", i, v)
		}
	}
}

// TestFitSeriesPinsConstantChannel: a channel that held one value while
// learning is reported, recorded in the model, reconstructed as that
// value, and its first move reaches no other channel's reconstruction.
func TestFitSeriesPinsConstantChannel(t *testing.T) {
	src := fmSeries(1200, 3)
	s := &dataset.Series{Source: "pin", Names: []string{"a", "still", "b"}, Lines: src.Lines}
	for r := range src.Len() {
		s.Values = append(s.Values, src.Values[r*3], 42.5, src.Values[r*3+1])
	}
	m, r, err := FitSeries(s, SeriesOptions{Window: 8, Arch: Arch{Hidden: []int{16}, Latent: 3}, Config: Config{Epochs: 3, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	set, ok, err := model.TrainingSection.Get(m)
	if err != nil || !ok {
		t.Fatalf("training section: %v, %v", ok, err)
	}
	if strings.Join(r.Pinned, ",") != "still" || strings.Join(set.Pinned, ",") != "still" {
		t.Fatalf("pinned %v, recorded %v; want [still]", r.Pinned, set.Pinned)
	}
	x := append([]float32(nil), s.Values[:8*3]...)
	moved := append([]float32(nil), x...)
	for i := 1; i < len(moved); i += 3 {
		moved[i] = 50
	}
	sess, err := m.NewSession(1)
	if err != nil {
		t.Fatal(err)
	}
	a, b := make([]float32, len(x)), make([]float32, len(x))
	if err := sess.Reconstruct(a, x); err != nil {
		t.Fatal(err)
	}
	if err := sess.Reconstruct(b, moved); err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if i%3 == 1 && (math.Abs(float64(a[i])-42.5) > 1e-4 || b[i] != a[i]) {
			t.Fatalf("the still channel reconstructed as %v (after a move: %v), want 42.5", a[i], b[i])
		}
		if i%3 != 1 && a[i] != b[i] {
			t.Fatalf("a move of the still channel changed value %d: %v -> %v", i, a[i], b[i])
		}
	}
}

// TestFitSeriesContextStops: a cancelled context stops training between
// two steps with an error that wraps it, and returns no model.
func TestFitSeriesContextStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	o := SeriesOptions{Window: 8, Arch: Arch{Hidden: []int{16}, Latent: 3}, Config: Config{Epochs: 1000, Seed: 1,
		Progress: func(Progress) {
			if steps++; steps == 3 {
				cancel()
			}
		}}}
	m, _, err := FitSeriesContext(ctx, fmSeries(1200, 4), o)
	if !errors.Is(err, context.Canceled) || m != nil || steps != 3 {
		t.Fatalf("model %v, error %v after %d steps; want context.Canceled after 3", m != nil, err, steps)
	}
}
