package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/synth"
)

// sensorData returns normalised training and validation windows (steps x
// channels, hop steps/4) of a clean synthetic installation.
func sensorData(t testing.TB, steps, channels, n int, seed uint64) (train, val []float32) {
	t.Helper()
	g, err := synth.New(synth.Config{Channels: channels, Seed: seed, Day: 96, Periods: []float64{13, 29}})
	if err != nil {
		t.Fatal(err)
	}
	hop := steps / 4
	clean, _ := g.Series(steps + (n-1)*hop)
	// Per-channel standardisation.
	mean, sd := make([]float64, channels), make([]float64, channels)
	rows := len(clean) / channels
	for i, v := range clean {
		mean[i%channels] += float64(v) / float64(rows)
	}
	for i, v := range clean {
		d := float64(v) - mean[i%channels]
		sd[i%channels] += d * d / float64(rows)
	}
	norm := make([]float32, len(clean))
	for i, v := range clean {
		norm[i] = float32((float64(v) - mean[i%channels]) / math.Sqrt(sd[i%channels]))
	}
	win := steps * channels
	var all []float32
	for w := 0; w < n; w++ {
		all = append(all, norm[w*hop*channels:w*hop*channels+win]...)
	}
	cut := n * 4 / 5 * win
	return all[:cut], all[cut:]
}

func TestVariantsLearn(t *testing.T) {
	const steps, channels = 32, 4
	tr, va := sensorData(t, steps, channels, 300, 1)
	cases := []struct {
		name string
		arch Arch
		cfg  Config
	}{
		{"vanilla", Arch{Steps: steps, Channels: channels, Hidden: []int{64}, Latent: 8}, Config{}},
		{"denoising", Arch{Steps: steps, Channels: channels, Hidden: []int{64}, Latent: 8}, Config{Corrupt: Corruption{Gaussian: 0.3, Mask: 0.05, Spike: 0.01}}},
		{"sparse-l1", Arch{Steps: steps, Channels: channels, Hidden: []int{64}, Latent: 8}, Config{L1: 1e-3}},
		{"sparse-kl", Arch{Steps: steps, Channels: channels, Hidden: []int{64}, Latent: 16, CodeAct: model.Sigmoid}, Config{KLWeight: 1e-3, KLTarget: 0.1}},
		{"variational", Arch{Steps: steps, Channels: channels, Hidden: []int{64}, Latent: 8, Variational: true}, Config{Beta: 0.5}},
		{"conv", Arch{Kind: "conv", Steps: steps, Channels: channels, Hidden: []int{8, 8}, Latent: 8}, Config{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := Build(c.arch, 3)
			if err != nil {
				t.Fatal(err)
			}
			c.cfg.Epochs, c.cfg.Seed = 150, 4
			res, err := Train(m, tr, va, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: validation loss %.4f -> %.4f in %d epochs (best %d), %.0f samples/s",
				c.name, res.InitialValLoss, res.ValLoss, res.Epochs, res.BestEpoch, res.SamplesPerSecond)
			if !(res.ValLoss < 0.25*res.InitialValLoss) {
				t.Errorf("%s: validation loss %.4f is not far below the untrained %.4f", c.name, res.ValLoss, res.InitialValLoss)
			}
		})
	}
}

// noisyError reconstructs noisy windows with m and returns the mean squared
// error against the clean windows (normalised units).
func noisyError(t *testing.T, m *model.Model, clean []float32, sigma float64, seed uint64) float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 0))
	noisy := make([]float32, len(clean))
	for i, v := range clean {
		noisy[i] = v + float32(sigma*rng.NormFloat64())
	}
	win := m.Steps * m.Channels
	s, err := m.NewSession(len(clean) / win)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(clean))
	if err := s.Reconstruct(out, noisy); err != nil {
		t.Fatal(err)
	}
	var e float64
	for i := range out {
		d := float64(out[i] - clean[i])
		e += d * d
	}
	return e / float64(len(out))
}

func TestDenoisingRemovesMoreNoise(t *testing.T) {
	const steps, channels, sigma = 32, 4, 0.5
	tr, va := sensorData(t, steps, channels, 300, 2)
	arch := Arch{Steps: steps, Channels: channels, Hidden: []int{64}, Latent: 16}
	vanilla, _ := Build(arch, 5)
	denoise, _ := Build(arch, 5)
	cfg := Config{Epochs: 150, Seed: 6}
	if _, err := Train(vanilla, tr, va, cfg); err != nil {
		t.Fatal(err)
	}
	cfg.Corrupt = Corruption{Gaussian: sigma}
	if _, err := Train(denoise, tr, va, cfg); err != nil {
		t.Fatal(err)
	}
	ev, ed := noisyError(t, vanilla, va, sigma, 7), noisyError(t, denoise, va, sigma, 7)
	t.Logf("noisy input (sigma %.1f, noise power %.3f): vanilla error %.4f, denoising %.4f", sigma, sigma*sigma, ev, ed)
	if !(ed < ev) {
		t.Errorf("the denoising model (%.4f) does not remove more noise than the vanilla one (%.4f)", ed, ev)
	}
	if !(ed < sigma*sigma/2) {
		t.Errorf("the denoising model leaves %.4f of %.4f noise power", ed, sigma*sigma)
	}
}

// TestVAESamples: windows generated from the prior have the data's
// per-channel mean within 0.25 and spread within a factor of 1.5
// (normalised units: the data has mean 0 and spread 1 per channel).
func TestVAESamples(t *testing.T) {
	const steps, channels = 32, 4
	tr, va := sensorData(t, steps, channels, 400, 3)
	m, _ := Build(Arch{Steps: steps, Channels: channels, Hidden: []int{64}, Latent: 6, Variational: true}, 8)
	if _, err := Train(m, tr, va, Config{Epochs: 200, Seed: 9, Beta: 1}); err != nil {
		t.Fatal(err)
	}
	const n = 500
	s, _ := m.NewSession(n)
	gen := make([]float32, n*steps*channels)
	if err := s.Generate(gen, rand.New(rand.NewPCG(10, 11))); err != nil {
		t.Fatal(err)
	}
	stats := func(x []float32) (mean, sd []float64) {
		mean, sd = make([]float64, channels), make([]float64, channels)
		cnt := float64(len(x) / channels)
		for i, v := range x {
			mean[i%channels] += float64(v) / cnt
		}
		for i, v := range x {
			d := float64(v) - mean[i%channels]
			sd[i%channels] += d * d / cnt
		}
		for c := range sd {
			sd[c] = math.Sqrt(sd[c])
		}
		return
	}
	dm, ds := stats(tr)
	gm, gs := stats(gen)
	for c := 0; c < channels; c++ {
		t.Logf("channel %d: data mean %.3f sd %.3f; generated mean %.3f sd %.3f", c, dm[c], ds[c], gm[c], gs[c])
		if math.Abs(gm[c]-dm[c]) > 0.25 || gs[c] > 1.5*ds[c] || gs[c] < ds[c]/1.5 {
			t.Errorf("channel %d: generated mean %.3f sd %.3f, data mean %.3f sd %.3f", c, gm[c], gs[c], dm[c], ds[c])
		}
	}
}

// TestDeterministic: the same seed gives the same model bit for bit, with
// any number of threads; another seed gives another model.
func TestDeterministic(t *testing.T) {
	const steps, channels = 32, 4
	tr, va := sensorData(t, steps, channels, 120, 4)
	run := func(seed uint64, threads int, conv bool) *model.Model {
		arch := Arch{Steps: steps, Channels: channels, Hidden: []int{32}, Latent: 8, Variational: !conv}
		if conv {
			arch = Arch{Kind: "conv", Steps: steps, Channels: channels, Hidden: []int{6, 6}, Latent: 8}
		}
		m, err := Build(arch, seed)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Train(m, tr, va, Config{Epochs: 5, Seed: seed, Threads: threads, Batch: 16, Corrupt: Corruption{Gaussian: 0.1}}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	same := func(a, b *model.Model) bool {
		for i := range a.Encoder {
			for j := range a.Encoder[i].W {
				if math.Float32bits(a.Encoder[i].W[j]) != math.Float32bits(b.Encoder[i].W[j]) {
					return false
				}
			}
		}
		for i := range a.Decoder {
			for j := range a.Decoder[i].W {
				if math.Float32bits(a.Decoder[i].W[j]) != math.Float32bits(b.Decoder[i].W[j]) {
					return false
				}
			}
		}
		return true
	}
	for _, conv := range []bool{false, true} {
		a, b, c := run(1, 1, conv), run(1, 2, conv), run(1, 3, conv)
		if !same(a, b) || !same(a, c) {
			t.Errorf("conv=%v: the same seed with 1, 2 and 3 threads gives different models", conv)
		}
		if same(a, run(2, 1, conv)) {
			t.Errorf("conv=%v: different seeds give the same model", conv)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	m, _ := Build(Arch{Steps: 8, Channels: 2, Hidden: []int{4}, Latent: 2}, 1)
	x := make([]float32, 16*4)
	for _, c := range []Config{{LR: -1}, {Schedule: "step"}, {Loss: "l7"}, {Corrupt: Corruption{Mask: 1.5}}, {KLWeight: 1, KLTarget: 0}, {KLWeight: 1, KLTarget: 0.1}} {
		if _, err := Train(m, x, nil, c); err == nil {
			t.Errorf("config %+v accepted", c)
		}
	}
	if _, err := Train(m, x[:5], nil, Config{}); err == nil {
		t.Error("partial window accepted")
	}
	if _, err := Build(Arch{Kind: "conv", Steps: 30, Channels: 2, Hidden: []int{4, 4}, Latent: 2}, 1); err == nil {
		t.Error("a conv window not divisible by stride^layers accepted")
	}
	if _, err := Build(Arch{Kind: "lstm", Steps: 8, Channels: 2, Latent: 2}, 1); err == nil {
		t.Error("unknown architecture accepted")
	}
}

// TestSUREEstimatesCleanError: on noisy windows with known noise variance,
// Stein's estimate (what validation of a denoising model uses) matches the
// reconstruction's true error against the clean windows, which the plain
// reconstruction loss overstates by about the noise power.
func TestSUREEstimatesCleanError(t *testing.T) {
	const steps, channels, sigma = 32, 4, 0.4
	tr, va := sensorData(t, steps, channels, 600, 4)
	m, _ := Build(Arch{Steps: steps, Channels: channels, Hidden: []int{64}, Latent: 12}, 5)
	if _, err := Train(m, tr, nil, Config{Epochs: 40, Seed: 6, Corrupt: Corruption{Gaussian: sigma}}); err != nil {
		t.Fatal(err)
	}
	truth := noisyError(t, m, va, sigma, 9)
	rng := rand.New(rand.NewPCG(9, 0))
	noisy := make([]float32, len(va))
	for i, v := range va {
		noisy[i] = v + float32(sigma*rng.NormFloat64())
	}
	cfg := Config{Seed: 1, Corrupt: Corruption{Gaussian: sigma}, NoiseVar: sigma * sigma}
	cfg.Defaults()
	par := newPool(1)
	defer par.Close()
	n, err := newNet(m, 64, par)
	if err != nil {
		t.Fatal(err)
	}
	tr2 := &trainer{cfg: cfg, n: n, win: steps * channels,
		order: rand.New(rand.NewPCG(1, 1)), noise: rand.New(rand.NewPCG(1, 2))}
	tr2.setup()
	n.prepare()
	est := tr2.sure(noisy)
	cfg.NoiseVar = 0
	tr2.cfg = cfg
	plain := tr2.evaluate(noisy)
	t.Logf("true error %.4f, SURE %.4f, plain reconstruction loss %.4f (noise power %.3f)", truth, est, plain, sigma*sigma)
	if math.Abs(est-truth) > 0.15*truth+0.005 {
		t.Errorf("SURE %.4f is not within 15%% of the true error %.4f", est, truth)
	}
	if !(plain > truth+0.5*sigma*sigma) {
		t.Errorf("the plain loss %.4f should overstate the true error %.4f by about %.3f", plain, truth, sigma*sigma)
	}
}
