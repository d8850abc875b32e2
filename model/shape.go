package model

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeml/edge/kernels"
)

// Limits on models, checked by Validate and by the loader before any large
// allocation.
const (
	MaxSteps    = 1 << 16 // steps of a window
	MaxChannels = 4096    // channels of any tensor
	MaxLayers   = 64      // layers per encoder or decoder
	MaxKernel   = 256     // convolution taps
	MaxStride   = 64
	MaxDilation = 64
	MaxPadding  = 1024
	MaxFeatures = 1 << 20 // elements of any tensor (steps x channels)
	MaxParams   = 1 << 26 // weights in a model
)

// shape is a tensor shape: steps x channels (a vector is 1 x n).
type shape struct{ t, c int }

func (s shape) size() int { return s.t * s.c }

// shapes are the model's tensor shapes, inferred from its layers.
type shapeInfo struct {
	enc, dec []shape // input shape of each layer
	encOut   shape   // encoder output
	latentIn shape   // decoder input
	latent   int     // latent size (the mean's, for variational models)
	params   int
	macs     int // multiply-accumulates per window
}

// Validate checks the model's structure, shapes, weights and limits, and
// returns an error naming the first problem and where it is.
func (m *Model) Validate() error {
	if _, err := m.shapes(); err != nil {
		return err
	}
	if _, _, err := TrainingSection.Get(m); err != nil {
		return err
	}
	return m.validateData()
}

func (m *Model) shapes() (*shapeInfo, error) {
	if m.Steps < 1 || m.Steps > MaxSteps {
		return nil, fmt.Errorf("model: steps %d outside [1, %d]", m.Steps, MaxSteps)
	}
	if m.Channels < 1 || m.Channels > MaxChannels {
		return nil, fmt.Errorf("model: channels %d outside [1, %d]", m.Channels, MaxChannels)
	}
	if m.Steps*m.Channels > MaxFeatures {
		return nil, fmt.Errorf("model: window %dx%d exceeds %d elements", m.Steps, m.Channels, MaxFeatures)
	}
	if err := checkNames(m.ChannelNames, m.Channels); err != nil {
		return nil, err
	}
	if len(m.Encoder) == 0 || len(m.Decoder) == 0 {
		return nil, errors.New("model: needs at least one encoder and one decoder layer")
	}
	if len(m.Encoder) > MaxLayers || len(m.Decoder) > MaxLayers {
		return nil, fmt.Errorf("model: more than %d layers in the encoder or decoder", MaxLayers)
	}
	for part, layers := range map[string][]Layer{"encoder": m.Encoder, "decoder": m.Decoder} {
		compute := false
		for i := range layers {
			compute = compute || layers[i].Kind != Reshape
		}
		if !compute {
			return nil, fmt.Errorf("model: the %s has no layer with weights", part)
		}
	}
	si := &shapeInfo{}
	in := shape{m.Steps, m.Channels}
	var err error
	for i := range m.Encoder {
		si.enc = append(si.enc, in)
		if in, err = m.Encoder[i].outShape(in, si); err != nil {
			return nil, fmt.Errorf("model: encoder layer %d (%s): %w", i, m.Encoder[i].Kind, err)
		}
	}
	si.encOut = in
	si.latentIn = in
	if m.Variational {
		last := &m.Encoder[len(m.Encoder)-1]
		if last.Kind != Dense || last.Out%2 != 0 {
			return nil, fmt.Errorf("model: variational encoder must end in a dense layer with an even number of outputs (mean and log-variance), not %s", last.describe())
		}
		si.latentIn = shape{1, last.Out / 2}
	}
	si.latent = si.latentIn.size()
	in = si.latentIn
	for i := range m.Decoder {
		si.dec = append(si.dec, in)
		if in, err = m.Decoder[i].outShape(in, si); err != nil {
			return nil, fmt.Errorf("model: decoder layer %d (%s): %w", i, m.Decoder[i].Kind, err)
		}
	}
	if in.size() != m.Steps*m.Channels || (in.t != 1 && (in.t != m.Steps || in.c != m.Channels)) {
		return nil, fmt.Errorf("model: decoder output is %dx%d, want the window's %dx%d", in.t, in.c, m.Steps, m.Channels)
	}
	if si.params > MaxParams {
		return nil, fmt.Errorf("model: %d weights exceed the limit of %d", si.params, MaxParams)
	}
	return si, nil
}

func checkRange(name string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d outside [%d, %d]", name, v, lo, hi)
	}
	return nil
}

// outShape checks the layer against its input shape and returns its output
// shape, adding its weights and MACs to si.
func (l *Layer) outShape(in shape, si *shapeInfo) (shape, error) {
	switch l.Act.orIdentity() {
	case Identity, ReLU, Tanh, Sigmoid:
	case LeakyReLU:
		if !(l.Alpha >= 0 && l.Alpha < 1) {
			return shape{}, fmt.Errorf("leaky_relu alpha %v outside [0, 1)", l.Alpha)
		}
	default:
		return shape{}, fmt.Errorf("unknown activation %q", l.Act)
	}
	switch l.Kind {
	case Reshape:
		if l.Steps < 1 || l.Channels < 1 || l.Steps*l.Channels != in.size() {
			return shape{}, fmt.Errorf("reshape to %dx%d does not hold the %d incoming values", l.Steps, l.Channels, in.size())
		}
		if l.Act.orIdentity() != Identity {
			return shape{}, errors.New("reshape takes no activation")
		}
		return shape{l.Steps, l.Channels}, nil
	case Dense:
		if l.In != in.size() {
			return shape{}, fmt.Errorf("dense layer takes %d inputs but receives %dx%d = %d", l.In, in.t, in.c, in.size())
		}
		if err := checkRange("inputs", l.In, 1, kernels.MaxK); err != nil {
			return shape{}, err
		}
		if err := checkRange("outputs", l.Out, 1, MaxFeatures); err != nil {
			return shape{}, err
		}
		si.params += l.In*l.Out + l.Out
		si.macs += l.In * l.Out
		return shape{1, l.Out}, nil
	case Conv1D, ConvTranspose1D:
		if l.In != in.c {
			return shape{}, fmt.Errorf("takes %d channels but receives %dx%d (steps x channels); add a reshape?", l.In, in.t, in.c)
		}
		for _, c := range []struct {
			n     string
			v, lo int
			hi    int
		}{{"in channels", l.In, 1, MaxChannels}, {"out channels", l.Out, 1, MaxChannels}, {"kernel", l.Kernel, 1, MaxKernel},
			{"stride", l.Stride, 1, MaxStride}, {"dilation", l.Dilation, 1, MaxDilation}, {"padding", l.Padding, 0, MaxPadding}} {
			if err := checkRange(c.n, c.v, c.lo, c.hi); err != nil {
				return shape{}, err
			}
		}
		if l.Kernel*l.In > kernels.MaxK {
			return shape{}, fmt.Errorf("kernel x in channels = %d exceeds %d", l.Kernel*l.In, kernels.MaxK)
		}
		var t int
		if l.Kind == Conv1D {
			if l.OutputPadding != 0 {
				return shape{}, errors.New("output_padding applies to conv_transpose1d only")
			}
			t = (in.t+2*l.Padding-l.Dilation*(l.Kernel-1)-1)/l.Stride + 1
			if in.t+2*l.Padding-l.Dilation*(l.Kernel-1)-1 < 0 {
				t = 0
			}
		} else {
			if l.Dilation != 1 {
				return shape{}, errors.New("conv_transpose1d supports dilation 1 only")
			}
			if l.Kernel < l.Stride {
				return shape{}, fmt.Errorf("conv_transpose1d kernel %d is shorter than its stride %d (some outputs would see no input)", l.Kernel, l.Stride)
			}
			if l.OutputPadding < 0 || l.OutputPadding >= l.Stride {
				return shape{}, fmt.Errorf("output_padding %d outside [0, stride)", l.OutputPadding)
			}
			t = (in.t-1)*l.Stride - 2*l.Padding + (l.Kernel - 1) + l.OutputPadding + 1
		}
		if t < 1 || t > MaxSteps || t*l.Out > MaxFeatures {
			return shape{}, fmt.Errorf("output length %d steps x %d channels is empty or beyond the limits", t, l.Out)
		}
		si.params += l.Out*l.Kernel*l.In + l.Out
		if l.Kind == Conv1D {
			si.macs += t * l.Out * l.Kernel * l.In
		} else {
			si.macs += in.t * l.In * l.Kernel * l.Out
		}
		return shape{t, l.Out}, nil
	}
	return shape{}, fmt.Errorf("unknown layer kind %q", l.Kind)
}

// weightCount is the number of weights of a layer with parameters.
func (l *Layer) weightCount() int {
	switch l.Kind {
	case Dense:
		return l.In * l.Out
	case Conv1D, ConvTranspose1D:
		return l.Out * l.Kernel * l.In
	}
	return 0
}

func finite(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }

func (q *QParams) check(what string) error {
	if q == nil {
		return fmt.Errorf("%s: quantisation parameters missing", what)
	}
	if !(q.Scale > 0) || !finite(q.Scale) || q.Scale < 0x1p-126 {
		return fmt.Errorf("%s: quantisation scale %v is not a positive normal number", what, q.Scale)
	}
	return nil
}

// validateData checks weights, biases, normalisation and quantisation.
func (m *Model) validateData() error {
	n := &m.Norm
	switch n.Kind {
	case "", NormNone:
		if len(n.Shift) != 0 || len(n.Scale) != 0 {
			return errors.New("model: normalization none carries no shift or scale")
		}
	case NormMeanStd, NormMinMax:
		if len(n.Shift) != m.Channels || len(n.Scale) != m.Channels {
			return fmt.Errorf("model: normalization has %d shifts and %d scales for %d channels", len(n.Shift), len(n.Scale), m.Channels)
		}
		for c := range n.Shift {
			if !finite(n.Shift[c]) || !finite(n.Scale[c]) || !(n.Scale[c] > 0) {
				return fmt.Errorf("model: normalization of channel %d has shift %v, scale %v; want finite values and a positive scale", c, n.Shift[c], n.Scale[c])
			}
		}
	default:
		return fmt.Errorf("model: unknown normalization %q", n.Kind)
	}
	q := m.Quantized()
	if q {
		if err := m.InputQ.check("model: input"); err != nil {
			return err
		}
		if err := m.LatentQ.check("model: latent"); err != nil {
			return err
		}
	} else if m.LatentQ != nil {
		return errors.New("model: latent quantisation without input quantisation")
	}
	if m.OutputQ != nil {
		if err := m.OutputQ.check("model: output"); err != nil {
			return err
		}
	}
	for part, layers := range map[string][]Layer{"encoder": m.Encoder, "decoder": m.Decoder} {
		for i := range layers {
			if err := layers[i].validateData(q); err != nil {
				return fmt.Errorf("model: %s layer %d (%s): %w", part, i, layers[i].Kind, err)
			}
		}
	}
	return nil
}

func (l *Layer) validateData(quantized bool) error {
	if l.Kind == Reshape {
		if l.W != nil || l.B != nil || l.QW != nil || l.QB != nil || l.QScale != nil {
			return errors.New("reshape carries no weights")
		}
		return nil
	}
	var err error
	if l.QW != nil {
		err = l.validateInt8(quantized)
	} else {
		err = l.validateFloat()
	}
	if err != nil {
		return err
	}
	return l.validateQ(quantized)
}

// validateInt8 checks an int8 layer's weights, biases and scales.
func (l *Layer) validateInt8(quantized bool) error {
	nw := l.weightCount()
	if !quantized {
		return errors.New("int8 weights in a float32 model")
	}
	if len(l.QW) != nw || len(l.QB) != l.Out || len(l.QScale) != l.Out {
		return fmt.Errorf("int8 weights/biases/scales: %d/%d/%d, want %d/%d/%d", len(l.QW), len(l.QB), len(l.QScale), nw, l.Out, l.Out)
	}
	for i, w := range l.QW {
		if w == -128 {
			return fmt.Errorf("int8 weight %d is -128; weights lie in [-127, 127]", i)
		}
	}
	for j, s := range l.QScale {
		if !(s > 0) || !finite(s) || s < 0x1p-126 {
			return fmt.Errorf("weight scale of output channel %d is %v; want a positive normal number", j, s)
		}
	}
	if l.W != nil || l.B != nil {
		return errors.New("both int8 and float32 weights")
	}
	return nil
}

// validateFloat checks a float32 layer's weights and biases.
func (l *Layer) validateFloat() error {
	if nw := l.weightCount(); len(l.W) != nw || len(l.B) != l.Out {
		return fmt.Errorf("float32 weights/biases: %d/%d, want %d/%d", len(l.W), len(l.B), nw, l.Out)
	}
	for i, w := range l.W {
		if !finite(w) {
			return fmt.Errorf("weight %d is %v", i, w)
		}
	}
	for i, b := range l.B {
		if !finite(b) {
			return fmt.Errorf("bias %d is %v", i, b)
		}
	}
	return nil
}

// validateQ checks a layer's output and pre-activation quantisation.
func (l *Layer) validateQ(quantized bool) error {
	if !quantized {
		if l.OutQ != nil || l.PreQ != nil {
			return errors.New("quantisation parameters in a float32 model")
		}
		return nil
	}
	if err := l.OutQ.check("output"); err != nil {
		return err
	}
	if a := l.Act.orIdentity(); l.QW != nil && a != Identity && a != ReLU && l.PreQ == nil {
		return fmt.Errorf("int8 layer with %s needs the pre-activation quantisation (pre_q)", a)
	}
	if l.PreQ != nil {
		return l.PreQ.check("pre-activation")
	}
	return nil
}

// FoldBatchNorm folds a batch normalisation that follows layer l (with
// per-output-channel gamma, beta, running mean and variance, and eps) into
// l's weights and bias: w' = w*g, b' = (b-mean)*g + beta, g = gamma/sqrt(var+eps).
func FoldBatchNorm(l *Layer, gamma, beta, mean, variance []float32, eps float32) error {
	if l.Kind != Dense && l.Kind != Conv1D && l.Kind != ConvTranspose1D {
		return fmt.Errorf("model: cannot fold batch norm into a %s layer", l.Kind)
	}
	if l.QW != nil {
		return errors.New("model: fold batch norm before quantising")
	}
	n := l.Out
	if len(gamma) != n || len(beta) != n || len(mean) != n || len(variance) != n {
		return fmt.Errorf("model: batch norm has %d/%d/%d/%d parameters for %d channels", len(gamma), len(beta), len(mean), len(variance), n)
	}
	if len(l.W) != l.weightCount() || len(l.B) != n {
		return errors.New("model: layer weights missing before folding")
	}
	per := len(l.W) / n
	for o := 0; o < n; o++ {
		v := float64(variance[o]) + float64(eps)
		if !(v > 0) {
			return fmt.Errorf("model: batch norm variance+eps of channel %d is %v", o, v)
		}
		g := float64(gamma[o]) / math.Sqrt(v)
		for i := o * per; i < (o+1)*per; i++ {
			l.W[i] = float32(float64(l.W[i]) * g)
		}
		l.B[o] = float32(float64((float64(l.B[o])-float64(mean[o]))*g) + float64(beta[o])) // unfused: the same bits on arm64
	}
	return nil
}

// MaxNameBytes bounds a channel name.
const MaxNameBytes = 256

func checkNames(names []string, channels int) error {
	if len(names) == 0 {
		return nil
	}
	if len(names) != channels {
		return fmt.Errorf("model: %d channel names for %d channels", len(names), channels)
	}
	seen := make(map[string]bool, len(names))
	for i, n := range names {
		if n == "" || len(n) > MaxNameBytes {
			return fmt.Errorf("model: channel name %d is empty or longer than %d bytes", i, MaxNameBytes)
		}
		if seen[n] {
			return fmt.Errorf("model: channel name %q repeated", n)
		}
		seen[n] = true
	}
	return nil
}
