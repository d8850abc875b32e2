package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/model"
)

// TestActivationGradients compares every activation's derivative with a
// central difference, away from the kinks.
func TestActivationGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, a := range []model.Activation{model.Identity, model.ReLU, model.LeakyReLU, model.Tanh, model.Sigmoid} {
		for i := 0; i < 200; i++ {
			z := float32(rng.NormFloat64() * 3)
			if math.Abs(float64(z)) < 0.05 {
				continue
			}
			const h = 1e-3
			yp, ym, y := make([]float32, 1), make([]float32, 1), make([]float32, 1)
			activate(a, 0.1, yp, []float32{z + h})
			activate(a, 0.1, ym, []float32{z - h})
			activate(a, 0.1, y, []float32{z})
			num := (float64(yp[0]) - float64(ym[0])) / (2 * h)
			dz := make([]float32, 1)
			activateGrad(a, 0.1, dz, []float32{1}, []float32{z}, y)
			if math.Abs(num-float64(dz[0])) > 2e-3*(1+math.Abs(num)) {
				t.Fatalf("%s'(%g): analytic %g, numerical %g", a, z, dz[0], num)
			}
		}
	}
}

// gradModels are small models covering every layer kind and geometry, with
// smooth activations so that finite differences are meaningful.
func gradModels() map[string]*model.Model {
	return map[string]*model.Model{
		"dense": {Steps: 6, Channels: 2,
			Encoder: []model.Layer{{Kind: model.Dense, In: 12, Out: 7, Act: model.Tanh}, {Kind: model.Dense, In: 7, Out: 3, Act: model.Sigmoid}},
			Decoder: []model.Layer{{Kind: model.Dense, In: 3, Out: 7, Act: model.Tanh}, {Kind: model.Dense, In: 7, Out: 12}}},
		"conv": {Steps: 12, Channels: 3,
			Encoder: []model.Layer{
				{Kind: model.Conv1D, In: 3, Out: 4, Kernel: 3, Stride: 2, Padding: 1, Dilation: 1, Act: model.Tanh},
				{Kind: model.Conv1D, In: 4, Out: 5, Kernel: 3, Stride: 1, Padding: 2, Dilation: 2, Act: model.Sigmoid},
				{Kind: model.Dense, In: 30, Out: 4, Act: model.Tanh}},
			Decoder: []model.Layer{
				{Kind: model.Dense, In: 4, Out: 18, Act: model.Tanh},
				{Kind: model.Reshape, Steps: 6, Channels: 3},
				{Kind: model.ConvTranspose1D, In: 3, Out: 4, Kernel: 5, Stride: 2, Padding: 2, Dilation: 1, OutputPadding: 1, Act: model.Tanh},
				{Kind: model.Conv1D, In: 4, Out: 3, Kernel: 1, Stride: 1, Dilation: 1}}},
		"vae": {Steps: 4, Channels: 2, Variational: true,
			Encoder: []model.Layer{{Kind: model.Dense, In: 8, Out: 6, Act: model.Tanh}, {Kind: model.Dense, In: 6, Out: 4}},
			Decoder: []model.Layer{{Kind: model.Dense, In: 2, Out: 6, Act: model.Tanh}, {Kind: model.Dense, In: 6, Out: 8}}},
	}
}

// checkGradients compares every analytic gradient of a few parameters per
// tensor with central differences of the loss.
func checkGradients(t *testing.T, name string, m *model.Model, cfg Config) {
	t.Helper()
	Init(m, 7)
	cfg.Defaults()
	cfg.Threads = 1
	rows := 3
	par := newPool(1)
	defer par.Close()
	n, err := newNet(m, rows, par)
	if err != nil {
		t.Fatal(err)
	}
	tr := &trainer{cfg: cfg, n: n, win: m.Steps * m.Channels}
	tr.setup()
	n.prepare()
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, rows*tr.win)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	loss := func() float64 {
		tr.noise = rand.New(rand.NewPCG(5, 6)) // the same corruption and samples every time
		return tr.lossGrad(x, rows)
	}
	loss()
	grads := make([][]float32, len(tr.grads))
	for i, g := range tr.grads {
		grads[i] = append([]float32(nil), g...)
	}
	checked := 0
	for pi, p := range tr.params {
		for trial := 0; trial < 12 && trial < len(p); trial++ {
			j := rng.IntN(len(p))
			w := p[j]
			h := float32(1e-2) * float32(math.Max(0.1, math.Abs(float64(w))))
			p[j] = w + h
			n.prepare()
			lp := loss()
			p[j] = w - h
			n.prepare()
			lm := loss()
			p[j] = w
			n.prepare()
			num := (lp - lm) / float64(2*h)
			an := float64(grads[pi][j])
			if math.Abs(num-an) > 2e-2*math.Max(math.Max(math.Abs(num), math.Abs(an)), 1e-3) {
				t.Errorf("%s: parameter tensor %d[%d]: analytic gradient %.6g, numerical %.6g", name, pi, j, an, num)
			}
			checked++
		}
	}
	if checked < 20 {
		t.Errorf("%s: only %d gradients checked", name, checked)
	}
}

func TestGradients(t *testing.T) {
	for name, m := range gradModels() {
		t.Run(name, func(t *testing.T) { checkGradients(t, name, m, Config{}) })
	}
	cases := []struct {
		name string
		m    string
		cfg  Config
	}{
		{"huber", "dense", Config{Loss: Huber, HuberDelta: 0.3}},
		{"l1-sparse", "dense", Config{L1: 0.05}},
		{"kl-sparse", "dense", Config{KLWeight: 0.1, KLTarget: 0.2}},
		{"vae-beta", "vae", Config{Beta: 3}},
		{"denoising", "conv", Config{Corrupt: Corruption{Gaussian: 0.3, Mask: 0.1, Spike: 0.05}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { checkGradients(t, c.name, gradModels()[c.m], c.cfg) })
	}
}

// TestTrainForwardMatchesModel: the training forward pass computes what the
// model's float32 executor computes.
func TestTrainForwardMatchesModel(t *testing.T) {
	for name, m := range gradModels() {
		Init(m, 9)
		par := newPool(1)
		defer par.Close()
		n, err := newNet(m, 2, par)
		if err != nil {
			t.Fatal(err)
		}
		n.prepare()
		rng := rand.New(rand.NewPCG(8, 9))
		x := make([]float32, 2*m.Steps*m.Channels)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		code := n.forward(0, n.nEnc, x, 2)
		if m.Variational {
			lat := len(code) / 4
			mean := make([]float32, 2*lat)
			copy(mean[:lat], code[:lat])
			copy(mean[lat:], code[2*lat:3*lat])
			code = mean
		}
		y := n.forward(n.nEnc, len(n.layers), code, 2)
		s, err := m.NewSession(2)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, len(x))
		if err := s.Reconstruct(want, x); err != nil {
			t.Fatal(err)
		}
		for i := range y {
			if math.Abs(float64(y[i]-want[i])) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%s: training forward[%d] = %v, model = %v", name, i, y[i], want[i])
			}
		}
	}
}

var _ = fmt.Sprint
