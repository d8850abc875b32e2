package train

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/edgeml/edge/model"
)

// Arch describes an autoencoder for Build.
type Arch struct {
	Kind     string // "dense" (default) or "conv"
	Steps    int    // window length
	Channels int
	// Hidden: dense: the widths of the encoder's hidden layers (the decoder
	// mirrors them); conv: the channels of the encoder's convolutions.
	Hidden []int
	Latent int              // size of the code
	Act    model.Activation // hidden activation (default relu)
	Alpha  float32          // LeakyReLU's slope (default 0.01)
	// CodeAct is the code's activation (default identity; sigmoid for KL
	// sparsity).
	CodeAct     model.Activation
	Variational bool
	Kernel      int // conv: taps (default 5)
	Stride      int // conv: stride of every convolution (default 2)
}

// Build creates a float32 model with initialised weights: He-normal for
// ReLU-family layers, Glorot-normal otherwise, zero biases, from seed.
// Normalisation is left for the caller (see dataset.FitNormalization).
func Build(a Arch, seed uint64) (*model.Model, error) {
	if a.Act == "" {
		a.Act = model.ReLU
	}
	if a.Act == model.LeakyReLU && a.Alpha == 0 {
		a.Alpha = 0.01
	}
	if a.Act != model.LeakyReLU {
		a.Alpha = 0
	}
	if a.CodeAct == "" {
		a.CodeAct = model.Identity
	}
	if a.Steps < 1 || a.Channels < 1 || a.Latent < 1 {
		return nil, fmt.Errorf("train: architecture needs positive steps, channels and latent size (got %d, %d, %d)", a.Steps, a.Channels, a.Latent)
	}
	code := a.Latent
	if a.Variational {
		code *= 2
		if a.CodeAct != model.Identity {
			return nil, fmt.Errorf("train: a variational code (mean, log-variance) takes no activation, not %s", a.CodeAct)
		}
	}
	m := &model.Model{Steps: a.Steps, Channels: a.Channels, Variational: a.Variational}
	d := a.Steps * a.Channels
	switch a.Kind {
	case "", "dense":
		in := d
		for _, h := range a.Hidden {
			m.Encoder = append(m.Encoder, model.Layer{Kind: model.Dense, In: in, Out: h, Act: a.Act, Alpha: a.Alpha})
			in = h
		}
		m.Encoder = append(m.Encoder, model.Layer{Kind: model.Dense, In: in, Out: code, Act: a.CodeAct})
		in = a.Latent
		for i := len(a.Hidden) - 1; i >= 0; i-- {
			m.Decoder = append(m.Decoder, model.Layer{Kind: model.Dense, In: in, Out: a.Hidden[i], Act: a.Act, Alpha: a.Alpha})
			in = a.Hidden[i]
		}
		m.Decoder = append(m.Decoder, model.Layer{Kind: model.Dense, In: in, Out: d, Act: model.Identity})
	case "conv":
		if len(a.Hidden) == 0 {
			return nil, fmt.Errorf("train: a conv model needs the channels of its convolutions (Hidden)")
		}
		k, s := a.Kernel, a.Stride
		if k == 0 {
			k = 5
		}
		if s == 0 {
			s = 2
		}
		t, c := a.Steps, a.Channels
		var lens []int
		for _, h := range a.Hidden {
			if t%s != 0 {
				return nil, fmt.Errorf("train: window of %d steps cannot be halved %d times by stride %d; use a length divisible by %d", a.Steps, len(a.Hidden), s, int(math.Pow(float64(s), float64(len(a.Hidden)))))
			}
			lens = append(lens, t)
			m.Encoder = append(m.Encoder, model.Layer{Kind: model.Conv1D, In: c, Out: h, Kernel: k, Stride: s, Padding: k / 2, Dilation: 1, Act: a.Act, Alpha: a.Alpha})
			t, c = t/s, h
		}
		m.Encoder = append(m.Encoder, model.Layer{Kind: model.Dense, In: t * c, Out: code, Act: a.CodeAct})
		m.Decoder = append(m.Decoder, model.Layer{Kind: model.Dense, In: a.Latent, Out: t * c, Act: a.Act, Alpha: a.Alpha},
			model.Layer{Kind: model.Reshape, Steps: t, Channels: c})
		// Transposed convolutions with kernel 2s and padding s/2 double...
		// multiply the length by s exactly; output_padding makes up an odd s.
		for i := len(a.Hidden) - 1; i >= 0; i-- {
			out := a.Channels
			act, alpha := model.Identity, float32(0)
			if i > 0 {
				out, act, alpha = a.Hidden[i-1], a.Act, a.Alpha
			}
			kt, pt := 2*s, s/2
			op := lens[i] - ((t-1)*s - 2*pt + kt - 1 + 1)
			if op < 0 || op >= s {
				return nil, fmt.Errorf("train: cannot mirror a stride-%d convolution from %d to %d steps", s, t, lens[i])
			}
			m.Decoder = append(m.Decoder, model.Layer{Kind: model.ConvTranspose1D, In: c, Out: out, Kernel: kt, Stride: s, Padding: pt, Dilation: 1, OutputPadding: op, Act: act, Alpha: alpha})
			t, c = lens[i], out
		}
	default:
		return nil, fmt.Errorf("train: unknown architecture %q (dense or conv)", a.Kind)
	}
	Init(m, seed)
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("train: the built model is invalid: %w", err)
	}
	return m, nil
}

// Init (re)initialises every layer's weights from seed.
func Init(m *model.Model, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x1417))
	for _, ls := range [][]model.Layer{m.Encoder, m.Decoder} {
		for i := range ls {
			l := &ls[i]
			if l.Kind == model.Reshape {
				continue
			}
			fanIn, fanOut := l.In, l.Out
			n := l.In * l.Out
			if l.Kind != model.Dense {
				fanIn, fanOut = l.In*l.Kernel, l.Out*l.Kernel
				n *= l.Kernel
			}
			if l.Kind == model.ConvTranspose1D {
				fanIn = l.In * l.Kernel / l.Stride // each output sees about K/s taps
			}
			std := math.Sqrt(2 / float64(fanIn+fanOut))
			if l.Act == model.ReLU || l.Act == model.LeakyReLU {
				std = math.Sqrt(2 / float64(fanIn))
			}
			l.W = make([]float32, n)
			for j := range l.W {
				l.W[j] = float32(rng.NormFloat64() * std)
			}
			l.B = make([]float32, l.Out)
		}
	}
}
