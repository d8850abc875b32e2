package bench

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/quant"
	"github.com/edgeml/edge/train"
)

// The model workloads: whole autoencoders through the Session API
// (normalise, quantise, every layer, dequantise, denormalise), in float32
// and int8.

// DenseAutoencoder returns the dense autoencoder with layer widths dims
// (dims[0] = dims[len-1] = steps*channels) for windows of steps x
// channels: ReLU between layers, linear latent and output, random weights.
func DenseAutoencoder(dims []int, steps, channels int, rng *rand.Rand) (*model.Model, error) {
	if len(dims) < 3 || dims[0] != steps*channels || dims[len(dims)-1] != dims[0] {
		return nil, fmt.Errorf("bench: dense autoencoder widths %v do not fit %dx%d windows", dims, steps, channels)
	}
	latent := 0
	for i, d := range dims {
		if i > 0 && (latent == 0 || d < dims[latent]) {
			latent = i
		}
	}
	m := &model.Model{Name: "dense-" + dimsString(dims), Steps: steps, Channels: channels, Norm: normFor(channels, rng)}
	for i := 0; i+1 < len(dims); i++ {
		act := model.ReLU
		if i+1 == latent || i+2 == len(dims) {
			act = model.Identity
		}
		l := dense(dims[i], dims[i+1], act, rng)
		if i < latent {
			m.Encoder = append(m.Encoder, l)
		} else {
			m.Decoder = append(m.Decoder, l)
		}
	}
	return m, nil
}

// ConvAutoencoder returns the 1-D convolutional autoencoder of the
// benchmarks: windows of 128 steps x 8 channels; three stride-2
// convolutions (8->32->32->16 channels, kernel 5) down to 16 steps, a dense
// latent of 24, and the mirror image: dense, three stride-2 transposed
// convolutions (kernel 4) back to 128 x 8. ReLU between layers.
func ConvAutoencoder(rng *rand.Rand) *model.Model {
	conv := func(in, out int) model.Layer {
		l := model.Layer{Kind: model.Conv1D, In: in, Out: out, Kernel: 5, Stride: 2, Padding: 2, Dilation: 1, Act: model.ReLU}
		fill(&l, in*5, rng)
		return l
	}
	convT := func(in, out int, act model.Activation) model.Layer {
		l := model.Layer{Kind: model.ConvTranspose1D, In: in, Out: out, Kernel: 4, Stride: 2, Padding: 1, Dilation: 1, Act: act}
		fill(&l, in*2, rng)
		return l
	}
	return &model.Model{Name: "conv1d-128x8", Steps: 128, Channels: 8, Norm: normFor(8, rng),
		Encoder: []model.Layer{conv(8, 32), conv(32, 32), conv(32, 16), dense(256, 24, model.Identity, rng)},
		Decoder: []model.Layer{dense(24, 256, model.ReLU, rng), {Kind: model.Reshape, Steps: 16, Channels: 16},
			convT(16, 32, model.ReLU), convT(32, 32, model.ReLU), convT(32, 8, model.Identity)}}
}

func dense(in, out int, act model.Activation, rng *rand.Rand) model.Layer {
	l := model.Layer{Kind: model.Dense, In: in, Out: out, Act: act}
	fill(&l, in, rng)
	return l
}

// fill gives a layer He-initialised weights and small biases.
func fill(l *model.Layer, fanIn int, rng *rand.Rand) {
	n := l.Out * l.In
	if l.Kind != model.Dense {
		n *= l.Kernel
	}
	l.W = make([]float32, n)
	for i := range l.W {
		l.W[i] = float32(rng.NormFloat64() * math.Sqrt(2/float64(fanIn)))
	}
	l.B = make([]float32, l.Out)
	for i := range l.B {
		l.B[i] = float32(rng.NormFloat64() * 0.01)
	}
}

func normFor(channels int, rng *rand.Rand) model.Normalization {
	n := model.Normalization{Kind: model.NormMeanStd, Shift: make([]float32, channels), Scale: make([]float32, channels)}
	for c := range n.Shift {
		n.Shift[c] = float32(rng.NormFloat64() * 10)
		n.Scale[c] = float32(1 + float64(rng.Float64()*4))
	}
	return n
}

// Windows returns n windows of the model's shape with values spread like
// its normalisation expects.
func Windows(m *model.Model, n int, rng *rand.Rand) []float32 {
	x := make([]float32, n*m.Steps*m.Channels)
	for i := range x {
		c := i % m.Channels
		x[i] = float32(rng.NormFloat64())
		if len(m.Norm.Scale) == m.Channels { // none: the model's own units
			x[i] = m.Norm.Shift[c] + float32(m.Norm.Scale[c]*x[i])
		}
	}
	return x
}

// Quantized calibrates an int8 copy of m on random windows.
func Quantized(m *model.Model, rng *rand.Rand) (*model.Model, error) {
	q, _, err := quant.Quantize(m, Windows(m, 64, rng), quant.Options{Method: quant.MinMax})
	return q, err
}

// ModelRun is a model session ready to reconstruct a batch.
type ModelRun struct {
	s    *model.Session
	x, y []float32
}

// NewModelRun loads m (from its file bytes, so that its weights are packed
// for family f) and prepares a session for batch windows.
func NewModelRun(m *model.Model, f kernels.Family, batch int, rng *rand.Rand) (*ModelRun, error) {
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		return nil, err
	}
	prev := kernels.Current()
	if err := kernels.Use(f); err != nil {
		return nil, err
	}
	defer func() { _ = kernels.Use(prev) }()
	mm, err := model.Read(&b)
	if err != nil {
		return nil, err
	}
	s, err := mm.NewSession(batch)
	if err != nil {
		return nil, err
	}
	r := &ModelRun{s: s, x: Windows(mm, batch, rng)}
	r.y = make([]float32, len(r.x))
	return r, nil
}

// Run reconstructs the batch once.
func (r *ModelRun) Run() { _ = r.s.Reconstruct(r.y, r.x) }

// MACs returns the model's multiply-accumulates per window.
func (r *ModelRun) MACs() int { return r.s.Model().MACs() }

// TrainRate trains a float32 copy of the dense or conv benchmark model on
// random windows (batch per step, threads workers) for about minTime and
// returns the training throughput in windows per second, the median of
// five runs (one if minTime is under 50ms) (forward, backward and AdamW, as bench/torch_train.py measures
// PyTorch), and the model's forward MACs per window. Train also evaluates the loss over the
// set after each epoch, so the rate is slightly pessimistic.
func TrainRate(kind string, batch, threads int, minTime time.Duration, rng *rand.Rand) (rate float64, macs int, err error) {
	var m *model.Model
	switch kind {
	case "dense":
		m, err = DenseAutoencoder(AutoencoderDims(), 80, 8, rng)
	case "conv":
		m = ConvAutoencoder(rng)
	default:
		return 0, 0, fmt.Errorf("bench: no training workload %q (dense or conv)", kind)
	}
	if err != nil {
		return 0, 0, err
	}
	m.Norm = model.Normalization{Kind: model.NormNone}
	win := m.Steps * m.Channels
	x := make([]float32, 16*batch*win)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	cfg := train.Config{Epochs: 1, Batch: batch, Threads: threads, Patience: -1, Seed: 1}
	// Warm up, grow the epochs until a run takes a fifth of minTime, then
	// take the median rate of five such runs: one slow run (another
	// process on the second core) does not decide the figure.
	if _, err := train.Train(m, x[:2*batch*win], nil, cfg); err != nil {
		return 0, 0, err
	}
	run := func() (float64, time.Duration, error) {
		t0 := time.Now()
		if _, err := train.Train(m, x, nil, cfg); err != nil {
			return 0, 0, err
		}
		el := time.Since(t0)
		return float64(cfg.Epochs*len(x)/win) / el.Seconds(), el, nil
	}
	var sized float64
	for {
		r, el, err := run()
		if err != nil {
			return 0, 0, err
		}
		sized = r
		if el >= minTime/5 || cfg.Epochs > 1<<12 {
			break
		}
		cfg.Epochs *= 2
	}
	if minTime < 50*time.Millisecond {
		// A smoke run (tests, emulators): no median, and the last sizing
		// run is as good a single run as another one would be.
		return sized, m.MACs(), nil
	}
	const runs = 5
	rates := make([]float64, runs)
	for i := range rates {
		if rates[i], _, err = run(); err != nil {
			return 0, 0, err
		}
	}
	slices.Sort(rates)
	return rates[runs/2], m.MACs(), nil
}
