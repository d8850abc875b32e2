package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/onnx"
	"github.com/edgeml/edge/tflite"
)

// importer converts one file format.
type importer struct {
	ext      string
	maxBytes int64
	convert  func(data []byte, opt model.ImportOptions) (*model.Model, *model.ImportReport, error)
}

func importers() []importer {
	return []importer{
		{".tflite", tflite.MaxFileBytes, tflite.Import},
		{".onnx", onnx.MaxFileBytes, onnx.Import},
	}
}

func cmdImport(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("import", stderr)
	out := fs.String("o", "", "where to write the edge model (default: FILE with .edge)")
	steps := fs.Int("steps", 0, "split a dense model's input into this many time steps (time-major), e.g. 5 for 5 frames of 128 bins; default: a conv model's own length, else 1")
	name := fs.String("name", "", "the model's name (default: the file's name)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge import FILE.onnx|FILE.tflite [-o MODEL] [flags]

Converts a model trained elsewhere into an edge model file, once, on any
machine; the device then needs only edge. Prints each operator of the file
and what it became, and the model's input and output contract.

ONNX (as PyTorch exports it): float32 dense and 1-D convolutional models
of Gemm, MatMul, Add, Conv, ConvTranspose, BatchNormalization, Relu,
LeakyRelu, Sigmoid, Tanh, and the layout operators (Reshape, Flatten,
Squeeze, Unsqueeze, Transpose), Identity, Dropout, Constant; QDQ int8
models (QuantizeLinear/DequantizeLinear around MatMul, Gemm, Conv) keep
their own scales. A [batch, channels, steps] input becomes windows of
steps x channels: edge stores windows time-major.

TFLite: float32 and int8 flatbuffers made of FULLY_CONNECTED, CONV_2D (of
height 1, as a 1-D convolution), RESHAPE, QUANTIZE, DEQUANTIZE, RELU,
LEAKY_RELU, LOGISTIC and TANH. int8 models keep their own scales.

Run the result with edge score, edge denoise, or edge quantize (a float
model) like any edge model; set its anomaly threshold with edge calibrate.

Flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one FILE argument, got %d", errUsage, len(pos))
	}
	if *steps < 0 {
		return fmt.Errorf("%w: --steps %d", errUsage, *steps)
	}
	in := pos[0]
	ext := strings.ToLower(filepath.Ext(in))
	var imp *importer
	for _, i := range importers() {
		if i.ext == ext {
			imp = &i
		}
	}
	if imp == nil {
		var exts []string
		for _, i := range importers() {
			exts = append(exts, i.ext)
		}
		return fmt.Errorf("%w: %s: unknown model format %q (edge imports %s)", errUsage, in, ext, strings.Join(exts, ", "))
	}
	st, err := os.Stat(in)
	if err != nil {
		return err
	}
	if st.Size() > imp.maxBytes {
		return fmt.Errorf("%s: %d bytes is over the %d-byte limit for %s files", in, st.Size(), imp.maxBytes, ext)
	}
	data, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	if *name == "" {
		*name = strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))
	}
	m, rep, err := imp.convert(data, model.ImportOptions{Steps: *steps, Name: *name})
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if m.Provenance == nil {
		m.Provenance = map[string]string{}
	}
	m.Provenance["source"] = filepath.Base(in)
	dst := *out
	if dst == "" {
		dst = strings.TrimSuffix(in, filepath.Ext(in)) + ".edge"
	}
	if err := m.Save(dst); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s:\n", in)
	if _, err := rep.WriteTo(stdout); err != nil {
		return err
	}
	prec := "float32"
	if m.Quantized() {
		prec = fmt.Sprintf("int8 (input scale %g, zero point %d)", m.InputQ.Scale, m.InputQ.ZeroPoint)
	}
	fmt.Fprintf(stdout, "\nedge model %s: %s\n  input:  windows of %d steps x %d channels, float32, time-major (value (t, c) at t*%d+c); no normalisation\n  output: the reconstruction, same shape and units; latent code %d\n  layers: %d encoder, %d decoder\n",
		dst, prec, m.Steps, m.Channels, m.Channels, m.Latent(), len(m.Encoder), len(m.Decoder))
	return nil
}
