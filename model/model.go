// Package model defines edge's autoencoders and runs them: an encoder and a
// decoder, each a stack of dense, 1-D convolution and transposed 1-D
// convolution layers, with the input normalisation, the quantisation
// parameters and the applications' settings that travel with them in one
// file (see docs/model-format.md).
//
// A window is Steps x Channels values in time-major order: element
// (t, c) is at index t*Channels + c, as rows of a CSV file are. Dense layers
// see the window flattened in that order; Reshape turns a flat vector back
// into steps and channels.
//
// Models run in float32 or, once quantised (package quant), in int8 on the
// kernels of package kernels. Load (or Build) prepares a model for the
// running CPU; NewSession allocates every buffer a session needs, after
// which Encode, Decode and Reconstruct allocate nothing. A Model is safe for
// concurrent use; a Session belongs to one goroutine at a time.
package model

import (
	"encoding/json"
	"fmt"
)

// Kind names a layer type.
type Kind string

// The layer kinds.
const (
	// Dense is a fully connected layer over the flattened input.
	Dense Kind = "dense"
	// Conv1D is a 1-D convolution over time, with channels in and out.
	Conv1D Kind = "conv1d"
	// ConvTranspose1D is a transposed 1-D convolution (upsampling).
	ConvTranspose1D Kind = "conv_transpose1d"
	// Reshape turns a flat vector into Steps x Channels (no computation).
	Reshape Kind = "reshape"
)

// Activation names the element-wise function applied after a layer.
type Activation string

// The activations. The empty string means Identity.
const (
	Identity  Activation = "identity"
	ReLU      Activation = "relu"
	LeakyReLU Activation = "leaky_relu"
	Tanh      Activation = "tanh"
	Sigmoid   Activation = "sigmoid"
)

// Layer is one layer of an encoder or decoder.
//
// Weight layouts (row-major, all float32 unless quantised):
//   - Dense: W[Out][In], where In is the flattened size of the incoming tensor.
//   - Conv1D and ConvTranspose1D: W[Out][Kernel][In], element (o, k, i)
//     connecting input channel i at tap k to output channel o. From PyTorch:
//     Conv1d weight[o][i][k] and ConvTranspose1d weight[i][o][k].
//
// B[Out] is the bias. BatchNorm is folded into the layer with FoldBatchNorm.
type Layer struct {
	Kind Kind `json:"kind"`
	// In and Out: features (Dense) or channels (convolutions).
	In  int `json:"in,omitempty"`
	Out int `json:"out,omitempty"`
	// Convolution geometry. Output length of Conv1D:
	// (T + 2*Padding - Dilation*(Kernel-1) - 1)/Stride + 1; of ConvTranspose1D:
	// (T-1)*Stride - 2*Padding + Dilation*(Kernel-1) + OutputPadding + 1.
	Kernel        int `json:"kernel,omitempty"`
	Stride        int `json:"stride,omitempty"`
	Padding       int `json:"padding,omitempty"`
	Dilation      int `json:"dilation,omitempty"`
	OutputPadding int `json:"output_padding,omitempty"`
	// Reshape target.
	Steps    int `json:"steps,omitempty"`
	Channels int `json:"channels,omitempty"`
	// Act is applied to the layer's output; Alpha is LeakyReLU's slope.
	Act   Activation `json:"activation,omitempty"`
	Alpha float32    `json:"alpha,omitempty"`

	W []float32 `json:"-"`
	B []float32 `json:"-"`

	// Quantised form (int8 models): W as int8 with one scale per output
	// channel, B as int32 in accumulator units, and the quantisation of the
	// layer's output tensor (Out) and, for activations applied by lookup
	// table, of the tensor before the activation (Pre). A layer of an int8
	// model with QW == nil runs in float32.
	QW     []int8    `json:"-"`
	QScale []float32 `json:"qscale,omitempty"`
	QB     []int32   `json:"-"`
	OutQ   *QParams  `json:"out_q,omitempty"`
	PreQ   *QParams  `json:"pre_q,omitempty"`
}

// QParams are the quantisation of a tensor: real = Scale*(q - ZeroPoint).
type QParams struct {
	Scale     float32 `json:"scale"`
	ZeroPoint int8    `json:"zero_point"`
}

// NormKind names the input normalisation.
type NormKind string

// The normalisations.
const (
	NormNone    NormKind = "none"
	NormMeanStd NormKind = "meanstd"
	NormMinMax  NormKind = "minmax"
)

// Normalization maps raw inputs to the model's units, per channel:
// x' = (x - Shift[c]) / Scale[c]. MeanStd stores mean and standard
// deviation, MinMax minimum and range (max - min); None stores nothing.
type Normalization struct {
	Kind  NormKind  `json:"kind"`
	Shift []float32 `json:"shift,omitempty"`
	Scale []float32 `json:"scale,omitempty"`
}

// Affine returns each of c channels' shift and scale: normalised =
// (raw − shift) / scale; 0 and 1 where the kind does not normalise.
func (n Normalization) Affine(c int) (shift, scale []float32) {
	shift, scale = make([]float32, c), make([]float32, c)
	for ch := range c {
		shift[ch], scale[ch] = 0, 1
		if n.Scaled() {
			shift[ch], scale[ch] = n.Shift[ch], n.Scale[ch]
		}
	}
	return shift, scale
}

// Scaled reports whether the normalisation maps raw inputs (MeanStd or
// MinMax), as opposed to taking them as they are (None).
func (n Normalization) Scaled() bool { return n.Kind == NormMeanStd || n.Kind == NormMinMax }

// Centre writes each channel's centre and unit in raw units into centre
// and unit (one per channel): the mean and standard deviation (MeanStd),
// the middle of the range and half of it (MinMax), or 0 and 1 (None). A
// unit that is not positive is 1.
func (n Normalization) Centre(centre, unit []float32) {
	for ch := range centre {
		centre[ch], unit[ch] = 0, 1
		switch n.Kind {
		case NormMeanStd:
			centre[ch], unit[ch] = n.Shift[ch], n.Scale[ch]
		case NormMinMax:
			centre[ch], unit[ch] = n.Shift[ch]+float32(n.Scale[ch]/2), n.Scale[ch]/2
		}
		if !(unit[ch] > 0) {
			unit[ch] = 1
		}
	}
}

// Model is an autoencoder: input shape, normalisation, encoder, decoder,
// optional quantisation, settings and provenance.
type Model struct {
	Name     string `json:"name,omitempty"`
	Steps    int    `json:"steps"`
	Channels int    `json:"channels"`
	// ChannelNames names the input channels in order (the CSV columns the
	// model was trained on); empty or one per channel.
	ChannelNames []string `json:"channel_names,omitempty"`

	Norm    Normalization `json:"normalization"`
	Encoder []Layer       `json:"encoder"`
	Decoder []Layer       `json:"decoder"`
	// Variational: the encoder's last layer is Dense with 2*latent outputs,
	// the mean followed by the log-variance. Inference uses the mean;
	// Generate samples from the latent distribution.
	Variational bool `json:"variational,omitempty"`

	// InputQ and LatentQ quantise the normalised input and the decoder's
	// input in int8 models; nil in float32 models.
	InputQ  *QParams `json:"input_q,omitempty"`
	LatentQ *QParams `json:"latent_q,omitempty"`
	// OutputQ, if set, rounds the normalised output to this int8 encoding
	// before it is returned, as a model with an int8 output tensor does
	// (imported TFLite and QDQ models); nil: the output is the float32
	// value of the last layer's accumulator, which is more precise.
	OutputQ *QParams `json:"output_q,omitempty"`

	// Apps holds the applications' settings (window, hop, thresholds),
	// one JSON document per application name, e.g. "anomaly", "denoise".
	Apps map[string]json.RawMessage `json:"apps,omitempty"`
	// Provenance records where the model came from (trainer, data, date).
	Provenance map[string]string `json:"provenance,omitempty"`
}

// Quantized reports whether the model runs in int8.
func (m *Model) Quantized() bool { return m.InputQ != nil }

// Latent returns the size of the latent code (the mean's, for a variational model).
func (m *Model) Latent() int {
	s, err := m.shapes()
	if err != nil {
		return 0
	}
	return s.latent
}

func (a Activation) orIdentity() Activation {
	if a == "" {
		return Identity
	}
	return a
}

func (l *Layer) describe() string {
	switch l.Kind {
	case Dense:
		return fmt.Sprintf("dense %d->%d %s", l.In, l.Out, l.Act.orIdentity())
	case Conv1D, ConvTranspose1D:
		return fmt.Sprintf("%s %d->%d k%d s%d p%d d%d %s", l.Kind, l.In, l.Out, l.Kernel, l.Stride, l.Padding, l.Dilation, l.Act.orIdentity())
	case Reshape:
		return fmt.Sprintf("reshape %dx%d", l.Steps, l.Channels)
	}
	return string(l.Kind)
}
