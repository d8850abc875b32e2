// Package tflite imports TensorFlow Lite autoencoders (float32 and int8
// flatbuffer models) as edge models, in pure Go. It reads the flatbuffer
// directly, with every offset and size checked against the file and the
// limits below before anything is allocated.
//
// Supported: one subgraph, a chain of FULLY_CONNECTED and CONV_2D (used as
// a 1-D convolution: height 1) layers with their fused ReLU, standalone
// RELU, LEAKY_RELU, LOGISTIC and TANH, RESHAPE where it only changes the
// layout, QUANTIZE at the input, DEQUANTIZE at the output or of constant
// weights. int8 models keep their own scales and zero points: per-tensor
// or per-channel symmetric int8 weights, int32 biases, asymmetric int8
// activations. Anything else is an error naming the operator.
package tflite

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/edgeml/edge/model"
)

// Options shape the imported model: the importers share one type.
type Options = model.ImportOptions

// Report says what the importer did (one type with the ONNX importer's).
type Report = model.ImportReport

// Mapping is one line of the import report: a TFLite operator (Index,
// Op) and what it became.
type Mapping = model.ImportMapping

// layer is an edge layer under construction with the tensor it produces.
type layer struct {
	l    model.Layer
	out  *tensor
	op   int
	name string
}

// Import converts a TFLite flatbuffer into an edge model.
func Import(data []byte, opt Options) (*model.Model, *Report, error) {
	g, err := parse(data)
	if err != nil {
		return nil, nil, err
	}
	im, err := newImporter(g)
	if err != nil {
		return nil, nil, err
	}
	for _, op := range g.ops {
		if err := im.op(op); err != nil {
			return nil, nil, fmt.Errorf("tflite: operator %d (%s): %w", op.index, opName(op.code), err)
		}
	}
	return im.finish(opt)
}

// importer follows a TFLite graph's chain of operators from its input
// to its output, turning them into layers.
type importer struct {
	g               *graph
	rep             *Report
	in, cur         *tensor // the input, and the tensor the chain has reached
	inputQ          *model.QParams
	consts          map[int][]float32 // dequantised constant tensors
	layers          []*layer
	steps, channels int // the input's shape as a window
}

func newImporter(g *graph) (*importer, error) {
	if len(g.inputs) != 1 || len(g.outputs) != 1 {
		return nil, fmt.Errorf("tflite: %d inputs and %d outputs; an autoencoder has one of each", len(g.inputs), len(g.outputs))
	}
	in := g.tensors[g.inputs[0]]
	im := &importer{g: g, in: in, cur: in, consts: map[int][]float32{},
		rep: &Report{Format: "tflite", Input: describe(in), Output: describe(g.tensors[g.outputs[0]])}}
	switch in.typ {
	case typeInt8:
		var err error
		if im.inputQ, err = qparams(in); err != nil {
			return nil, err
		}
	case typeFloat32:
	default:
		return nil, fmt.Errorf("tflite: input tensor %q has type %d; want float32 or int8", in.name, in.typ)
	}
	return im, nil
}

// shapeOf returns the (length, channels) of an activation tensor.
func shapeOf(t *tensor) (int, int) {
	if len(t.shape) == 4 && t.shape[1] == 1 {
		return t.shape[2], t.shape[3]
	}
	if len(t.shape) == 3 {
		return t.shape[1], t.shape[2]
	}
	return 1, t.elements() / max(1, batch(t))
}

// mapping records what an operator became.
func (im *importer) mapping(op *operator, format string, args ...any) {
	im.rep.Mappings = append(im.rep.Mappings, Mapping{Index: op.index, Op: opName(op.code), Edge: fmt.Sprintf(format, args...)})
}

// op takes the next operator of the chain.
func (im *importer) op(op *operator) error {
	if op.code < 0 {
		return errors.New("a custom operator; edge imports builtin ones only")
	}
	if len(op.outputs) != 1 || len(op.inputs) < 1 || op.outputs[0] < 0 || op.inputs[0] < 0 {
		return fmt.Errorf("%d inputs and %d outputs", len(op.inputs), len(op.outputs))
	}
	x, y := im.g.tensors[op.inputs[0]], im.g.tensors[op.outputs[0]]
	// Constant weights stored quantised and dequantised at load.
	if op.code == opDequantize && x.consts {
		v, err := dequantizeConst(x)
		if err != nil {
			return err
		}
		im.consts[y.index] = v
		im.mapping(op, "constant %q dequantised at import", y.name)
		return nil
	}
	if x != im.cur {
		return fmt.Errorf("reads tensor %q, not the output of the operator before (%q): only chains are supported", x.name, im.cur.name)
	}
	var err error
	switch op.code {
	case opQuantize:
		if len(im.layers) > 0 || x != im.in || x.typ != typeFloat32 || y.typ != typeInt8 {
			return errors.New("only a QUANTIZE of the float32 input is supported")
		}
		if im.inputQ, err = qparams(y); err != nil {
			return err
		}
		im.mapping(op, "the model's input quantisation (scale %g, zero point %d)", im.inputQ.Scale, im.inputQ.ZeroPoint)
	case opDequantize:
		if x.typ != typeInt8 || y.typ != typeFloat32 {
			return errors.New("only a DEQUANTIZE of int8 to float32 is supported")
		}
		im.mapping(op, "the model's output, dequantised")
	case opReshape:
		err = im.reshape(op, x, y)
	case opRelu, opLogistic, opTanh, opLeakyRelu:
		err = im.activation(op, x, y)
	case opFullyConnected, opConv2D:
		err = im.compute(op, x, y)
	default:
		return errors.New("not supported (edge imports FULLY_CONNECTED, CONV_2D, RESHAPE, QUANTIZE, DEQUANTIZE, RELU, LEAKY_RELU, LOGISTIC, TANH)")
	}
	if err != nil {
		return err
	}
	im.cur = y
	return nil
}

// reshape keeps a reshape between layers that changes the steps and
// channels, and drops one that changes only the layout.
func (im *importer) reshape(op *operator, x, y *tensor) error {
	if x.elements() != y.elements() {
		return fmt.Errorf("%v -> %v changes the number of values", x.shape, y.shape)
	}
	if x.typ == typeInt8 {
		if err := sameQ(x, y); err != nil {
			return err
		}
	}
	t1, c1 := shapeOf(x)
	t2, c2 := shapeOf(y)
	if len(im.layers) > 0 && t2 > 1 && (t1 != t2 || c1 != c2) {
		im.layers = append(im.layers, &layer{l: model.Layer{Kind: model.Reshape, Steps: t2, Channels: c2}, out: y, op: op.index, name: opName(op.code)})
		im.mapping(op, "reshape to %d steps x %d channels", t2, c2)
	} else {
		im.mapping(op, "layout only: nothing")
	}
	return nil
}

// activation sets the activation of the layer before it.
func (im *importer) activation(op *operator, x, y *tensor) error {
	if len(im.layers) == 0 || im.layers[len(im.layers)-1].l.Kind == model.Reshape {
		return errors.New("an activation must follow a fully connected or convolution layer")
	}
	last := im.layers[len(im.layers)-1]
	if a := last.l.Act; a != "" && a != model.Identity {
		return fmt.Errorf("a second activation after %s", a)
	}
	var err error
	switch op.code {
	case opRelu:
		last.l.Act = model.ReLU
	case opLogistic:
		last.l.Act = model.Sigmoid
	case opTanh:
		last.l.Act = model.Tanh
	case opLeakyRelu:
		last.l.Act, last.l.Alpha = model.LeakyReLU, 0.2
		if op.hasOpts {
			if last.l.Alpha, err = op.opts.float32Field(0, 0.2); err != nil {
				return err
			}
		}
	}
	if y.typ == typeInt8 {
		if last.l.Act != model.ReLU {
			if last.l.PreQ, err = qparams(x); err != nil {
				return err
			}
		}
		if last.l.OutQ, err = qparams(y); err != nil {
			return err
		}
	}
	last.out = y
	im.mapping(op, "the activation of layer %d", len(im.layers)-1)
	return nil
}

// compute adds a fully connected or convolution layer; the first sets the
// input's shape.
func (im *importer) compute(op *operator, x, y *tensor) error {
	l, err := computeLayer(im.g, op, x, y, im.consts)
	if err != nil {
		return err
	}
	if len(im.layers) == 0 {
		if l.Kind == model.Conv1D {
			im.steps, im.channels = shapeOf(x)
		} else {
			im.steps, im.channels = 1, l.In
		}
	}
	im.layers = append(im.layers, &layer{l: *l, out: y, op: op.index, name: opName(op.code)})
	return nil
}

// finish checks the chain and assembles the model.
func (im *importer) finish(opt Options) (*model.Model, *Report, error) {
	g, layers := im.g, im.layers
	if im.cur.index != g.outputs[0] {
		return nil, nil, fmt.Errorf("tflite: the chain ends at tensor %q, not the graph's output %q", im.cur.name, g.tensors[g.outputs[0]].name)
	}
	if len(layers) < 2 {
		return nil, nil, fmt.Errorf("tflite: %d compute layers; an autoencoder has an encoder and a decoder", len(layers))
	}
	int8Model := layers[0].l.QW != nil
	for _, l := range layers {
		if l.l.Kind != model.Reshape && (l.l.QW != nil) != int8Model {
			return nil, nil, fmt.Errorf("tflite: operator %d mixes int8 and float32 layers; edge imports all-int8 or all-float32 models", l.op)
		}
	}
	var inQ *model.QParams
	if int8Model {
		if im.inputQ == nil {
			return nil, nil, errors.New("tflite: an int8 model whose input is neither int8 nor quantised by a QUANTIZE operator")
		}
		inQ = im.inputQ
	}
	im.rep.Int8 = int8Model
	steps, channels := im.steps, im.channels
	if opt.Steps > 0 {
		total := steps * channels
		if layers[0].l.Kind != model.Dense || total%opt.Steps != 0 {
			return nil, nil, fmt.Errorf("tflite: cannot split the %d-value input into %d steps", total, opt.Steps)
		}
		steps, channels = opt.Steps, total/opt.Steps
	}
	chain := make([]model.ImportedLayer, len(layers))
	for i, l := range layers {
		chain[i] = model.ImportedLayer{Layer: l.l, OutSize: l.out.elements() / max(1, batch(l.out))}
	}
	if opt.Name == "" {
		opt.Name = g.desc
	}
	m, code, err := model.Assemble(opt.Name, steps, channels, chain, inQ)
	if err != nil {
		return nil, nil, fmt.Errorf("tflite: %w", err)
	}
	m.Provenance = map[string]string{"importer": "edge import (tflite)"}
	// Name the layers in the report as the model does.
	for i, l := range layers {
		prec := "float32"
		if l.l.QW != nil {
			prec = "int8"
		}
		if l.l.Kind == model.Reshape {
			prec = "layout"
		}
		im.rep.Mappings = insertMapping(im.rep.Mappings, Mapping{Index: l.op, Op: l.name, Edge: fmt.Sprintf("%s %s, %s", model.ImportedName(i, code), describeLayer(&l.l), prec)})
	}
	return m, im.rep, nil
}

// insertMapping replaces the placeholder of a compute operator's line.
func insertMapping(ms []Mapping, m Mapping) []Mapping {
	for i := range ms {
		if ms[i].Index == m.Index {
			ms[i].Edge = m.Edge
			return ms
		}
		if ms[i].Index > m.Index {
			return append(ms[:i], append([]Mapping{m}, ms[i:]...)...)
		}
	}
	return append(ms, m)
}

func describeLayer(l *model.Layer) string {
	act := string(l.Act)
	if act == "" {
		act = "identity"
	}
	switch l.Kind {
	case model.Dense:
		return fmt.Sprintf("dense %d->%d %s", l.In, l.Out, act)
	case model.Conv1D:
		return fmt.Sprintf("conv1d %d->%d kernel %d stride %d padding %d %s", l.In, l.Out, l.Kernel, l.Stride, l.Padding, act)
	case model.Reshape:
		return fmt.Sprintf("reshape to %dx%d", l.Steps, l.Channels)
	}
	return string(l.Kind)
}

func batch(t *tensor) int {
	if len(t.shape) > 1 {
		return t.shape[0]
	}
	return 1
}

func describe(t *tensor) string {
	typ := map[byte]string{typeFloat32: "float32", typeInt8: "int8", typeInt32: "int32"}[t.typ]
	if typ == "" {
		typ = fmt.Sprintf("type %d", t.typ)
	}
	s := fmt.Sprintf("%q %s %v", t.name, typ, t.shape)
	if t.hasQ && len(t.scale) == 1 && len(t.zero) == 1 {
		s += fmt.Sprintf(" (scale %g, zero point %d)", t.scale[0], t.zero[0])
	}
	return s
}

// qparams returns a per-tensor int8 quantisation.
func qparams(t *tensor) (*model.QParams, error) {
	if t.typ != typeInt8 {
		return nil, fmt.Errorf("tensor %q is not int8", t.name)
	}
	if !t.hasQ || len(t.scale) != 1 || len(t.zero) != 1 {
		return nil, fmt.Errorf("tensor %q: want one scale and zero point, found %d and %d", t.name, len(t.scale), len(t.zero))
	}
	s, z := t.scale[0], t.zero[0]
	if !(s > 0) || math.IsInf(float64(s), 0) || z < -128 || z > 127 {
		return nil, fmt.Errorf("tensor %q: scale %g, zero point %d", t.name, s, z)
	}
	return &model.QParams{Scale: s, ZeroPoint: int8(z)}, nil
}

func sameQ(a, b *tensor) error {
	qa, err := qparams(a)
	if err != nil {
		return err
	}
	qb, err := qparams(b)
	if err != nil {
		return err
	}
	if *qa != *qb {
		return fmt.Errorf("changes the quantisation (%v -> %v)", *qa, *qb)
	}
	return nil
}

// floats returns a float32 constant's values.
func floats(t *tensor, consts map[int][]float32) ([]float32, error) {
	if v, ok := consts[t.index]; ok {
		return v, nil
	}
	if !t.consts || t.typ != typeFloat32 {
		return nil, fmt.Errorf("tensor %q is not a float32 constant", t.name)
	}
	n := t.elements()
	if len(t.data) != 4*n {
		return nil, fmt.Errorf("tensor %q: %d bytes of data for %d values", t.name, len(t.data), n)
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.data[4*i:]))
	}
	return v, nil
}

// dequantizeConst dequantises an int8 constant (per tensor or per channel
// along its first dimension).
func dequantizeConst(t *tensor) ([]float32, error) {
	if t.typ != typeInt8 || !t.hasQ {
		return nil, fmt.Errorf("constant %q: only int8 constants with scales are dequantised", t.name)
	}
	n := t.elements()
	if len(t.data) != n || len(t.scale) == 0 || len(t.zero) != len(t.scale) {
		return nil, fmt.Errorf("constant %q: %d bytes, %d scales for %d values", t.name, len(t.data), len(t.scale), n)
	}
	per := n
	if len(t.scale) > 1 {
		if t.qdim != 0 || len(t.shape) == 0 || t.shape[0] != len(t.scale) {
			return nil, fmt.Errorf("constant %q: %d scales along dimension %d of %v", t.name, len(t.scale), t.qdim, t.shape)
		}
		per = n / len(t.scale)
	}
	v := make([]float32, n)
	for i := range v {
		c := i / per
		v[i] = t.scale[c] * float32(int64(int8(t.data[i]))-t.zero[c])
	}
	return v, nil
}

// computeLayer converts FULLY_CONNECTED or CONV_2D.
func computeLayer(g *graph, op *operator, x, y *tensor, consts map[int][]float32) (*model.Layer, error) {
	if len(op.inputs) < 2 || op.inputs[1] < 0 {
		return nil, errors.New("no weights")
	}
	w := g.tensors[op.inputs[1]]
	var bias *tensor
	if len(op.inputs) > 2 && op.inputs[2] >= 0 {
		bias = g.tensors[op.inputs[2]]
	}
	l := &model.Layer{Act: model.Identity}
	var fused int32
	var err error
	if op.code == opFullyConnected {
		fused, err = denseGeometry(l, op, x, y, w)
	} else {
		fused, err = convGeometry(l, op, x, y, w)
	}
	if err != nil {
		return nil, err
	}
	switch fused {
	case actNone:
	case actRelu:
		l.Act = model.ReLU
	default:
		return nil, fmt.Errorf("fused activation %d is not supported (NONE and RELU are)", fused)
	}
	// Weights in edge's layouts: dense [out, in]; conv [out, kernel, in],
	// which is TFLite's [out, 1, kernel, in].
	if w.typ == typeInt8 && w.consts {
		return l, int8Weights(l, x, y, w, bias)
	}
	return l, floatWeights(l, x, w, bias, consts)
}

// denseGeometry reads a FULLY_CONNECTED's shape and fused activation.
func denseGeometry(l *model.Layer, op *operator, x, y, w *tensor) (int32, error) {
	if len(w.shape) != 2 {
		return 0, fmt.Errorf("weights %q of shape %v; want [out, in]", w.name, w.shape)
	}
	l.Kind, l.Out, l.In = model.Dense, w.shape[0], w.shape[1]
	if x.elements()%l.In != 0 || y.elements()%l.Out != 0 || x.elements()/l.In != y.elements()/l.Out {
		return 0, fmt.Errorf("input %v and output %v do not match weights %v", x.shape, y.shape, w.shape)
	}
	if !op.hasOpts {
		return 0, nil
	}
	fused, err := op.opts.int32Field(0, 0)
	if err != nil {
		return 0, err
	}
	if wf, _ := op.opts.byteField(1, 0); wf != 0 {
		return 0, errors.New("shuffled weights format")
	}
	return int32(int8(fused)), nil // a byte field read as the low byte
}

// convGeometry reads a CONV_2D over NHWC input of height 1 (or width 1),
// weights [out, kh, kw, in], as a 1-D convolution, and its fused
// activation.
func convGeometry(l *model.Layer, op *operator, x, y, w *tensor) (int32, error) {
	if len(w.shape) != 4 || len(x.shape) != 4 || len(y.shape) != 4 {
		return 0, fmt.Errorf("input %v, weights %v, output %v; want 4-D NHWC", x.shape, w.shape, y.shape)
	}
	if x.shape[1] != 1 || w.shape[1] != 1 || y.shape[1] != 1 {
		return 0, fmt.Errorf("input %v, weights %v: only height-1 convolutions (1-D over width) are supported", x.shape, w.shape)
	}
	l.Kind, l.Out, l.Kernel, l.In = model.Conv1D, w.shape[0], w.shape[2], w.shape[3]
	if x.shape[3] != l.In || y.shape[3] != l.Out {
		return 0, fmt.Errorf("input %v and output %v do not match weights %v", x.shape, y.shape, w.shape)
	}
	if !op.hasOpts {
		return 0, errors.New("no options")
	}
	pad, _ := op.opts.byteField(0, 0)
	sw, _ := op.opts.int32Field(1, 1)
	sh, _ := op.opts.int32Field(2, 1)
	f, _ := op.opts.byteField(3, 0)
	dw, _ := op.opts.int32Field(4, 1)
	if sh != 1 && x.shape[1] != 1 || sw < 1 || sw > 64 || dw < 1 || dw > 64 {
		return 0, fmt.Errorf("strides %dx%d, dilation %d", sh, sw, dw)
	}
	l.Stride, l.Dilation = int(sw), int(dw)
	T := x.shape[2]
	if pad == 0 { // SAME
		outT := (T + l.Stride - 1) / l.Stride
		total := max(0, (outT-1)*l.Stride+(l.Kernel-1)*l.Dilation+1-T)
		if total%2 != 0 {
			return 0, fmt.Errorf("SAME padding of %d is uneven; edge pads both ends alike (use VALID padding or an odd kernel)", total)
		}
		l.Padding = total / 2
	}
	if got := (T+2*l.Padding-l.Dilation*(l.Kernel-1)-1)/l.Stride + 1; got != y.shape[2] {
		return 0, fmt.Errorf("output length %d, computed %d", y.shape[2], got)
	}
	return int32(int8(f)), nil
}

// int8Weights sets an int8 layer's weights, scales, biases and output
// quantisation.
func int8Weights(l *model.Layer, x, y, w, bias *tensor) error {
	if x.typ != typeInt8 || y.typ != typeInt8 {
		return errors.New("int8 weights with float activations (dynamic range quantisation) are not supported")
	}
	xq, err := qparams(x)
	if err != nil {
		return err
	}
	if l.OutQ, err = qparams(y); err != nil {
		return err
	}
	if len(w.data) != w.elements() || !w.hasQ {
		return fmt.Errorf("weights %q: %d bytes for %v, quantised %v", w.name, len(w.data), w.shape, w.hasQ)
	}
	l.QW = make([]int8, len(w.data))
	for i, v := range w.data {
		l.QW[i] = int8(v)
	}
	l.QScale = make([]float32, l.Out)
	switch {
	case len(w.scale) == 1:
		for j := range l.QScale {
			l.QScale[j] = w.scale[0]
		}
	case len(w.scale) == l.Out && w.qdim == 0:
		copy(l.QScale, w.scale)
	default:
		return fmt.Errorf("weights %q: %d scales along dimension %d", w.name, len(w.scale), w.qdim)
	}
	for _, z := range w.zero {
		if z != 0 {
			return fmt.Errorf("weights %q: zero point %d; int8 weights must be symmetric", w.name, z)
		}
	}
	l.QB = make([]int32, l.Out)
	if bias == nil {
		return nil
	}
	if bias.typ != typeInt32 || len(bias.data) != 4*l.Out {
		return fmt.Errorf("bias %q: type %d, %d bytes for %d outputs; want int32", bias.name, bias.typ, len(bias.data), l.Out)
	}
	for j := range l.QB {
		l.QB[j] = int32(binary.LittleEndian.Uint32(bias.data[4*j:]))
	}
	// The bias must be in accumulator units.
	if bias.hasQ && len(bias.scale) >= 1 {
		want := float64(float64(xq.Scale) * float64(l.QScale[0]))
		if math.Abs(float64(bias.scale[0])-want) > 1e-3*want {
			return fmt.Errorf("bias %q: scale %g, want input × weight scale %g", bias.name, bias.scale[0], want)
		}
	}
	return nil
}

// floatWeights sets a float32 layer's weights and biases.
func floatWeights(l *model.Layer, x, w, bias *tensor, consts map[int][]float32) error {
	if x.typ != typeFloat32 {
		return fmt.Errorf("input %q is %d with float weights", x.name, x.typ)
	}
	var err error
	if l.W, err = floats(w, consts); err != nil {
		return err
	}
	l.B = make([]float32, l.Out)
	if bias == nil {
		return nil
	}
	b, err := floats(bias, consts)
	if err != nil {
		return err
	}
	if len(b) != l.Out {
		return fmt.Errorf("bias %q holds %d values for %d outputs", bias.name, len(b), l.Out)
	}
	copy(l.B, b)
	return nil
}
