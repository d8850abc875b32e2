// Package onnx imports ONNX autoencoders, as PyTorch exports them, as edge
// models, in pure Go: the protobuf is read field by field
// (google.golang.org/protobuf/encoding/protowire), with limits checked as
// it is read, and no generated bindings.
//
// Float32 dense and 1-D convolutional models map from Gemm, MatMul, Add,
// Conv, ConvTranspose, BatchNormalization (folded into the layer before),
// Relu, LeakyRelu, Sigmoid, Tanh, and Reshape, Flatten, Squeeze,
// Unsqueeze, Transpose where they only change the layout, Identity,
// Dropout and Constant. QDQ int8 models (QuantizeLinear/DequantizeLinear
// around MatMul, Gemm and Conv) become int8 edge models with their own
// scales. Only the path from the input to the first output is imported
// (a VAE's log-variance head, for instance, is left out and reported).
// Any other operator is an error naming it and its node.
package onnx

import (
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeml/edge/model"
)

// Options shape the imported model.
type Options struct {
	// Steps splits a flat input into Steps rows (time-major). 0: 1 for a
	// flat input; a sequence input keeps its own length.
	Steps int
	Name  string
}

// Mapping is one line of the import report.
type Mapping struct {
	Node string // e.g. node 3 (Gemm "/enc/enc.0/Gemm")
	Edge string
}

// Report says what the importer did.
type Report struct {
	Mappings []Mapping
	Ignored  []string // nodes off the reconstruction path
	Input    string
	Output   string
	Int8     bool
	Opset    int64
	Producer string
}

// WriteTo prints the report.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "producer %q, opset %d\ninput  %s\noutput %s\n", r.Producer, r.Opset, r.Input, r.Output)
	for _, m := range r.Mappings {
		fmt.Fprintf(&b, "  %-44s -> %s\n", m.Node, m.Edge)
	}
	for _, s := range r.Ignored {
		fmt.Fprintf(&b, "  %-44s -> not on the path to the first output: left out\n", s)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// qconst is a constant that a DequantizeLinear turns into floats.
type qconst struct {
	q     []int64
	dims  []int
	scale []float32
	zero  []int64
	axis  int
}

// act describes the activation flowing along the chain, as ONNX sees it
// and as edge stores it.
type act struct {
	seq bool // a sequence [N, C, T] (or [N, T, C] if tm) rather than a flat [N, F]
	tm  bool // the ONNX view is time-major [N, T, C]
	t   int
	c   int
	f   int   // flat size
	idx []int // flat: ONNX index j lives at edge index idx[j] (nil: the same)
	q   *model.QParams
}

// layer is an edge layer under construction.
type layer struct {
	l       model.Layer
	node    string
	outSize int
	actSet  bool
	qAfter  bool           // an output encoding was given after the activation
	in      *model.QParams // the input encoding of an int8 layer
}

type converter struct {
	g      *graph
	consts map[string]*tensor
	qc     map[string]*qconst
	rep    *Report
	layers []*layer
	cur    act
	inputQ *model.QParams
	outQ   *model.QParams
}

// Import converts an ONNX model into an edge model.
func Import(data []byte, opt Options) (*model.Model, *Report, error) {
	g, err := parse(data)
	if err != nil {
		return nil, nil, err
	}
	c := &converter{g: g, consts: map[string]*tensor{}, qc: map[string]*qconst{}, rep: &Report{Opset: g.opset, Producer: g.prod}}
	for k, v := range g.inits {
		c.consts[k] = v
	}
	return c.run(opt)
}

func (c *converter) run(opt Options) (*model.Model, *Report, error) {
	in, out, err := c.io()
	if err != nil {
		return nil, nil, err
	}
	producer, err := c.constants()
	if err != nil {
		return nil, nil, err
	}
	chain, err := c.chain(in, out, producer)
	if err != nil {
		return nil, nil, err
	}
	if c.cur, err = inputLayout(in, chain); err != nil {
		return nil, nil, err
	}
	first := c.cur
	for _, n := range chain {
		if err := c.node(n); err != nil {
			return nil, nil, fmt.Errorf("onnx: %s: %w", n.where(), err)
		}
	}
	return c.finish(first, opt)
}

// io returns the graph's one (non-initialiser) input and its first
// output, and describes them in the report.
func (c *converter) io() (in, out valueInfo, err error) {
	g := c.g
	var inputs []valueInfo
	for _, in := range g.inputs {
		if _, ok := g.inits[in.name]; !ok {
			inputs = append(inputs, in)
		}
	}
	if len(inputs) != 1 || len(g.outputs) < 1 {
		return in, out, fmt.Errorf("onnx: %d inputs and %d outputs; an autoencoder has one input", len(inputs), len(g.outputs))
	}
	in, out = inputs[0], g.outputs[0]
	c.rep.Input = describe(in)
	c.rep.Output = describe(out)
	if in.dtype != typeFloat {
		return in, out, fmt.Errorf("onnx: input %q has element type %d; want float", in.name, in.dtype)
	}
	return in, out, nil
}

// constants records the constants and the quantised constants (they are
// not on the chain) and returns each value's producer.
func (c *converter) constants() (map[string]*node, error) {
	producer := map[string]*node{}
	for _, n := range c.g.nodes {
		if n.domain != "" && n.domain != "ai.onnx" {
			return nil, fmt.Errorf("onnx: %s is in domain %q; edge imports standard operators only", n.where(), n.domain)
		}
		for _, o := range n.outputs {
			producer[o] = n
		}
		if n.op == "Constant" {
			a, ok := n.attrs["value"]
			if !ok || a.t == nil || len(n.outputs) != 1 {
				return nil, fmt.Errorf("onnx: %s: only tensor constants (value) are supported", n.where())
			}
			c.consts[n.outputs[0]] = a.t
		}
	}
	for _, n := range c.g.nodes {
		if n.op == "DequantizeLinear" && len(n.inputs) >= 2 && c.consts[n.inputs[0]] != nil {
			q, err := c.quantConst(n)
			if err != nil {
				return nil, fmt.Errorf("onnx: %s: %w", n.where(), err)
			}
			c.qc[n.outputs[0]] = q
		}
	}
	return producer, nil
}

// chain follows the graph from the output back to the input along each
// node's one non-constant input, and lists the nodes off it as ignored.
func (c *converter) chain(in, out valueInfo, producer map[string]*node) ([]*node, error) {
	isConst := func(name string) bool { return name == "" || c.consts[name] != nil || c.qc[name] != nil }
	var chain []*node
	onChain := map[*node]bool{}
	for v := out.name; v != in.name; {
		n := producer[v]
		if n == nil {
			return nil, fmt.Errorf("onnx: value %q is produced by no node and is not the input", v)
		}
		if onChain[n] || len(chain) > maxNodes {
			return nil, fmt.Errorf("onnx: %s: the graph has a cycle", n.where())
		}
		onChain[n] = true
		chain = append(chain, n)
		var data []string
		for _, x := range n.inputs {
			if !isConst(x) {
				data = append(data, x)
			}
		}
		if len(data) != 1 {
			return nil, fmt.Errorf("onnx: %s takes %d non-constant inputs (%s); only chains of layers are supported", n.where(), len(data), strings.Join(data, ", "))
		}
		v = data[0]
	}
	slices.Reverse(chain)
	for _, n := range c.g.nodes {
		if !onChain[n] && n.op != "Constant" && c.qc[firstOr(n.outputs)] == nil {
			c.rep.Ignored = append(c.rep.Ignored, n.where())
		}
	}
	return chain, nil
}

// inputLayout reads the input's layout: [batch, features], or [batch,
// channels, steps] as convolutions take it, unless the chain starts by
// transposing it: then [batch, steps, channels].
func inputLayout(in valueInfo, chain []*node) (act, error) {
	switch {
	case len(in.shape) == 2 && in.shape[1] > 0:
		return act{f: in.shape[1]}, nil
	case len(in.shape) == 3 && in.shape[1] > 0 && in.shape[2] > 0:
		for _, n := range chain {
			if n.op == "Identity" || n.op == "Dropout" || n.op == "QuantizeLinear" || n.op == "DequantizeLinear" {
				continue
			}
			if n.op == "Transpose" {
				return act{seq: true, tm: true, t: in.shape[1], c: in.shape[2]}, nil
			}
			break
		}
		return act{seq: true, c: in.shape[1], t: in.shape[2]}, nil
	}
	return act{}, fmt.Errorf("onnx: input %q of shape %v; want [batch, features] or [batch, channels, steps]", in.name, in.shape)
}

func firstOr(s []string) string {
	if len(s) > 0 {
		return s[0]
	}
	return ""
}

func describe(v valueInfo) string {
	dims := make([]string, len(v.shape))
	for i, d := range v.shape {
		if d < 0 {
			dims[i] = "?"
		} else {
			dims[i] = fmt.Sprint(d)
		}
	}
	return fmt.Sprintf("%q [%s]", v.name, strings.Join(dims, ", "))
}

func (c *converter) add(n *node, format string, args ...any) {
	c.rep.Mappings = append(c.rep.Mappings, Mapping{n.where(), fmt.Sprintf(format, args...)})
}

// last returns the layer an activation, a batch norm or a bias applies to.
func (c *converter) last(n *node) (*layer, error) {
	if len(c.layers) == 0 || c.layers[len(c.layers)-1].l.Kind == model.Reshape {
		return nil, fmt.Errorf("%s must follow a Gemm, MatMul or convolution", n.op)
	}
	return c.layers[len(c.layers)-1], nil
}

// constInput returns input i as a constant tensor.
func (c *converter) constInput(n *node, i int) (*tensor, error) {
	if i >= len(n.inputs) || c.consts[n.inputs[i]] == nil {
		return nil, fmt.Errorf("input %d is not a constant", i)
	}
	return c.consts[n.inputs[i]], nil
}

func (c *converter) node(n *node) error {
	switch n.op {
	case "Identity", "Dropout":
		c.add(n, "nothing (inference)")
		return nil
	case "Relu", "LeakyRelu", "Sigmoid", "Tanh":
		l, err := c.last(n)
		if err != nil {
			return err
		}
		if l.actSet {
			return fmt.Errorf("a second activation on one layer")
		}
		l.actSet = true
		switch n.op {
		case "Relu":
			l.l.Act = model.ReLU
		case "LeakyRelu":
			l.l.Act, l.l.Alpha = model.LeakyReLU, n.float("alpha", 0.01)
		case "Sigmoid":
			l.l.Act = model.Sigmoid
		case "Tanh":
			l.l.Act = model.Tanh
		}
		if l.l.QW != nil && l.l.Act != model.ReLU {
			// A table activation needs the encoding of its input.
			if c.cur.q == nil {
				return fmt.Errorf("an int8 %s without a QuantizeLinear before it", n.op)
			}
			l.l.PreQ = c.cur.q
		}
		c.cur.q = nil
		c.add(n, "the activation of layer %d", len(c.layers)-1)
		return nil
	case "BatchNormalization":
		return c.batchNorm(n)
	case "QuantizeLinear":
		return c.quantize(n)
	case "DequantizeLinear":
		// Of an activation (constants were handled): the matching
		// QuantizeLinear set the encoding already.
		if c.cur.q == nil {
			return errors.New("a DequantizeLinear of an activation without a QuantizeLinear before it")
		}
		c.add(n, "(the pair's dequantisation)")
		return nil
	case "Gemm", "MatMul":
		return c.dense(n)
	case "Add":
		return c.addBias(n)
	case "Conv", "ConvTranspose":
		return c.conv(n)
	case "Flatten", "Reshape", "Squeeze", "Unsqueeze", "Transpose":
		return c.layout(n)
	}
	return errors.New("not supported (edge imports Gemm, MatMul, Add, Conv, ConvTranspose, BatchNormalization, Relu, LeakyRelu, Sigmoid, Tanh, Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Identity, Dropout, Constant, QuantizeLinear, DequantizeLinear)")
}

// quantConst reads a DequantizeLinear of a constant.
func (c *converter) quantConst(n *node) (*qconst, error) {
	x := c.consts[n.inputs[0]]
	q, err := x.ints()
	if err != nil {
		return nil, err
	}
	st := c.consts[n.inputs[1]]
	if st == nil {
		return nil, errors.New("the scale is not a constant")
	}
	scale, err := st.floats()
	if err != nil {
		return nil, err
	}
	var zero []int64
	if len(n.inputs) > 2 && n.inputs[2] != "" {
		zt := c.consts[n.inputs[2]]
		if zt == nil {
			return nil, errors.New("the zero point is not a constant")
		}
		if zero, err = zt.ints(); err != nil {
			return nil, err
		}
	}
	if zero == nil {
		zero = make([]int64, len(scale))
	}
	if len(zero) != len(scale) || len(scale) == 0 {
		return nil, fmt.Errorf("%d scales and %d zero points", len(scale), len(zero))
	}
	axis := int(n.int("axis", 1))
	if axis < 0 {
		axis += len(x.dims)
	}
	if len(scale) > 1 && (axis < 0 || axis >= len(x.dims) || x.dims[axis] != len(scale)) {
		return nil, fmt.Errorf("%d scales along axis %d of %v", len(scale), axis, x.dims)
	}
	return &qconst{q: q, dims: x.dims, scale: scale, zero: zero, axis: axis}, nil
}

// quantize handles a QuantizeLinear of the activation: the encoding of
// the model's input, or of the last layer's output.
func (c *converter) quantize(n *node) error {
	if len(n.inputs) < 2 {
		return errors.New("no scale")
	}
	st, err := c.constInput(n, 1)
	if err != nil {
		return err
	}
	s, err := st.floats()
	if err != nil || len(s) != 1 {
		return fmt.Errorf("the scale must be one float (per-tensor activations): %v", err)
	}
	zp := int64(0)
	if len(n.inputs) > 2 && n.inputs[2] != "" {
		zt, err := c.constInput(n, 2)
		if err != nil {
			return err
		}
		if zt.dtype != typeInt8 {
			return fmt.Errorf("zero point of element type %d; edge takes int8 activations", zt.dtype)
		}
		z, err := zt.ints()
		if err != nil || len(z) != 1 {
			return fmt.Errorf("the zero point must be one int8: %v", err)
		}
		zp = z[0]
	} else {
		return errors.New("no zero point: the output would be uint8; edge takes int8 activations")
	}
	if !(s[0] > 0) || math.IsInf(float64(s[0]), 0) || zp < -128 || zp > 127 {
		return fmt.Errorf("scale %g, zero point %d", s[0], zp)
	}
	q := &model.QParams{Scale: s[0], ZeroPoint: int8(zp)}
	c.cur.q = q
	if len(c.layers) == 0 {
		if c.inputQ != nil {
			return errors.New("a second quantisation of the input")
		}
		c.inputQ = q
		c.add(n, "the model's input encoding (scale %g, zero point %d)", q.Scale, q.ZeroPoint)
		return nil
	}
	l := c.layers[len(c.layers)-1]
	if l.l.QW == nil {
		return errors.New("quantises the output of a float layer; edge imports all-int8 QDQ models")
	}
	if l.actSet {
		if l.qAfter {
			return errors.New("a second quantisation of one layer's output")
		}
		l.qAfter = true
	} else if l.l.OutQ != nil {
		return errors.New("a second quantisation of one layer's output")
	}
	l.l.OutQ = q
	c.outQ = q
	c.add(n, "the output encoding of layer %d (scale %g, zero point %d)", len(c.layers)-1, q.Scale, q.ZeroPoint)
	return nil
}

// weights returns a Gemm/MatMul/Conv weight input as floats, or as
// quantised values with per-output scales.
func (c *converter) weights(n *node, i int) (f []float32, q *qconst, dims []int, err error) {
	if i >= len(n.inputs) {
		return nil, nil, nil, errors.New("no weights")
	}
	name := n.inputs[i]
	if qc := c.qc[name]; qc != nil {
		for _, z := range qc.zero {
			if z != 0 {
				return nil, nil, nil, fmt.Errorf("weights %q have zero point %d; int8 weights must be symmetric", name, z)
			}
		}
		for _, x := range qc.q {
			if x < -127 || x > 127 {
				return nil, nil, nil, fmt.Errorf("weights %q hold %d; int8 weights lie in [-127, 127]", name, x)
			}
		}
		return nil, qc, qc.dims, nil
	}
	t := c.consts[name]
	if t == nil {
		return nil, nil, nil, fmt.Errorf("weights %q are not constant", name)
	}
	f, err = t.floats()
	return f, nil, t.dims, err
}

// bias reads an optional bias input: floats, or int32 in accumulator units.
func (c *converter) bias(n *node, i, out int) ([]float32, *qconst, error) {
	if i >= len(n.inputs) || n.inputs[i] == "" {
		return make([]float32, out), nil, nil
	}
	if qc := c.qc[n.inputs[i]]; qc != nil {
		if len(qc.q) != out {
			return nil, nil, fmt.Errorf("bias of %d values for %d outputs", len(qc.q), out)
		}
		return nil, qc, nil
	}
	t := c.consts[n.inputs[i]]
	if t == nil {
		return nil, nil, fmt.Errorf("bias %q is not constant", n.inputs[i])
	}
	b, err := t.floats()
	if err != nil {
		return nil, nil, err
	}
	if len(b) != out {
		return nil, nil, fmt.Errorf("bias of %d values for %d outputs", len(b), out)
	}
	return slices.Clone(b), nil, nil
}

// setInt8 fills an int8 layer's weights (given as [out][rest] in edge's
// order by at) and scales; the input must be quantised.
func (c *converter) setInt8(l *model.Layer, q *qconst, outAxis int, at func(o, j int) int) error {
	if c.cur.q == nil {
		return errors.New("int8 weights, but the input is not quantised (no QuantizeLinear/DequantizeLinear before)")
	}
	rest := len(q.q) / l.Out
	l.QW = make([]int8, len(q.q))
	for o := 0; o < l.Out; o++ {
		for j := 0; j < rest; j++ {
			l.QW[o*rest+j] = int8(q.q[at(o, j)])
		}
	}
	l.QScale = make([]float32, l.Out)
	for o := range l.QScale {
		if len(q.scale) == 1 {
			l.QScale[o] = q.scale[0]
		} else if q.axis == outAxis {
			l.QScale[o] = q.scale[o]
		} else {
			return fmt.Errorf("weight scales along axis %d; want per output channel (axis %d) or per tensor", q.axis, outAxis)
		}
	}
	l.QB = make([]int32, l.Out)
	l.W, l.B = nil, nil
	return nil
}

// int8Bias converts a bias into accumulator units.
func (c *converter) int8Bias(l *model.Layer, fb []float32, qb *qconst) error {
	for o := 0; o < l.Out; o++ {
		acc := float64(c.cur.q.Scale) * float64(l.QScale[o])
		var v float64
		if qb != nil {
			bs := qb.scale[0]
			if len(qb.scale) > 1 {
				bs = qb.scale[o]
			}
			if math.Abs(float64(bs)-acc) > 1e-3*acc {
				return fmt.Errorf("bias scale %g of output %d; want input scale x weight scale = %g", bs, o, acc)
			}
			v = float64(qb.q[o])
		} else {
			v = math.Round(float64(fb[o]) / acc)
		}
		if v < math.MinInt32 || v > math.MaxInt32 {
			return fmt.Errorf("bias of output %d overflows int32", o)
		}
		l.QB[o] = int32(v)
	}
	return nil
}

func (c *converter) dense(n *node) error {
	if c.cur.seq {
		return errors.New("a Gemm or MatMul on a sequence: Flatten it first")
	}
	wf, wq, dims, err := c.weights(n, 1)
	if err != nil {
		return err
	}
	if len(dims) != 2 {
		return fmt.Errorf("weights of shape %v; want 2-D", dims)
	}
	trans := n.op == "Gemm" && n.int("transB", 0) == 1
	if n.op == "Gemm" && n.int("transA", 0) != 0 {
		return errors.New("transA is not supported")
	}
	in, out := dims[0], dims[1]
	if trans {
		in, out = dims[1], dims[0]
	}
	if in != c.cur.f {
		return fmt.Errorf("weights %v for an input of %d features", dims, c.cur.f)
	}
	l := model.Layer{Kind: model.Dense, In: in, Out: out, Act: model.Identity}
	// ONNX element (o, j) of the weights, as an index into their data.
	src := func(o, j int) int {
		if trans {
			return o*in + j
		}
		return j*out + o
	}
	// Edge input index k holds ONNX feature j = inv[k].
	inv := make([]int, in)
	for j := range inv {
		inv[j] = j
	}
	if c.cur.idx != nil {
		for j, k := range c.cur.idx {
			inv[k] = j
		}
	}
	at := func(o, k int) int { return src(o, inv[k]) }
	alpha, beta := float32(1), float32(1)
	if n.op == "Gemm" {
		alpha, beta = n.float("alpha", 1), n.float("beta", 1)
	}
	var fb []float32
	var qb *qconst
	if n.op == "Gemm" {
		if fb, qb, err = c.bias(n, 2, out); err != nil {
			return err
		}
	} else {
		fb = make([]float32, out)
	}
	if wq != nil {
		if alpha != 1 || beta != 1 {
			return errors.New("alpha and beta must be 1 in an int8 Gemm")
		}
		if err := c.setInt8(&l, wq, map[bool]int{true: 0, false: 1}[trans], at); err != nil {
			return err
		}
		if err := c.int8Bias(&l, fb, qb); err != nil {
			return err
		}
	} else {
		if qb != nil {
			return errors.New("an int32 bias with float weights")
		}
		l.W = make([]float32, in*out)
		for o := 0; o < out; o++ {
			for k := 0; k < in; k++ {
				l.W[o*in+k] = alpha * wf[at(o, k)]
			}
		}
		l.B = fb
		for i := range l.B {
			l.B[i] *= beta
		}
	}
	c.layers = append(c.layers, &layer{l: l, node: n.where(), outSize: out, in: c.cur.q})
	c.cur = act{f: out}
	c.add(n, "layer %d: dense %d->%d", len(c.layers)-1, in, out)
	return nil
}

// addBias folds an Add of a constant into the layer before (MatMul + Add).
func (c *converter) addBias(n *node) error {
	l, err := c.last(n)
	if err != nil {
		return err
	}
	if l.actSet || len(n.inputs) != 2 {
		return errors.New("an Add is supported only as the bias of the layer before its activation")
	}
	ci := 1
	if c.consts[n.inputs[0]] != nil || c.qc[n.inputs[0]] != nil {
		ci = 0
	}
	fb, qb, err := c.bias(n, ci, l.l.Out)
	if err != nil {
		return fmt.Errorf("the added constant: %w", err)
	}
	if l.l.QW != nil {
		// The input encoding of the layer is the one before it.
		saved := c.cur.q
		c.cur.q = l.inQ()
		defer func() { c.cur.q = saved }()
		if c.cur.q == nil {
			return errors.New("int8 layer without an input encoding")
		}
		old := slices.Clone(l.l.QB)
		if err := c.int8Bias(&l.l, fb, qb); err != nil {
			return err
		}
		for i := range l.l.QB {
			l.l.QB[i] += old[i]
		}
	} else {
		if qb != nil {
			return errors.New("an int32 bias on a float layer")
		}
		for i := range l.l.B {
			l.l.B[i] += fb[i]
		}
	}
	c.add(n, "the bias of layer %d", len(c.layers)-1)
	return nil
}

// inQ is the input encoding an int8 layer was built with.
func (l *layer) inQ() *model.QParams { return l.in }

func (c *converter) batchNorm(n *node) error {
	l, err := c.last(n)
	if err != nil {
		return err
	}
	if l.actSet || l.l.QW != nil {
		return errors.New("a BatchNormalization is folded into the float layer before it, before its activation")
	}
	var p [4][]float32
	for i := range p {
		t, err := c.constInput(n, i+1)
		if err != nil {
			return err
		}
		if p[i], err = t.floats(); err != nil {
			return err
		}
		if len(p[i]) != l.l.Out {
			return fmt.Errorf("%d parameters for %d channels", len(p[i]), l.l.Out)
		}
	}
	if err := model.FoldBatchNorm(&l.l, p[0], p[1], p[2], p[3], n.float("epsilon", 1e-5)); err != nil {
		return err
	}
	c.add(n, "folded into layer %d", len(c.layers)-1)
	return nil
}

func (c *converter) conv(n *node) error {
	if !c.cur.seq || c.cur.tm {
		return errors.New("a convolution needs a [batch, channels, steps] input")
	}
	wf, wq, dims, err := c.weights(n, 1)
	if err != nil {
		return err
	}
	if len(dims) != 3 {
		return fmt.Errorf("weights of shape %v; only 1-D convolutions are supported", dims)
	}
	if g := n.int("group", 1); g != 1 {
		return fmt.Errorf("group %d; only group 1 is supported", g)
	}
	if ap, ok := n.attrs["auto_pad"]; ok && string(ap.s) != "NOTSET" && string(ap.s) != "VALID" {
		return fmt.Errorf("auto_pad %s; give explicit pads", ap.s)
	}
	one := func(name string, def int64) (int, error) {
		v := n.intList(name)
		if len(v) == 0 {
			return int(def), nil
		}
		if len(v) != 1 || v[0] < 0 || v[0] > 256 {
			return 0, fmt.Errorf("%s %v", name, v)
		}
		return int(v[0]), nil
	}
	stride, err := one("strides", 1)
	if err != nil {
		return err
	}
	dil, err := one("dilations", 1)
	if err != nil {
		return err
	}
	pads := n.intList("pads")
	pad := 0
	if len(pads) == 2 {
		if pads[0] != pads[1] || pads[0] < 0 || pads[0] > 256 {
			return fmt.Errorf("pads %v; edge pads both ends alike", pads)
		}
		pad = int(pads[0])
	} else if len(pads) != 0 {
		return fmt.Errorf("pads %v", pads)
	}
	l := model.Layer{Kind: model.Conv1D, Stride: stride, Dilation: dil, Padding: pad, Act: model.Identity}
	var at func(o, k, i int) int // ONNX index of edge element (o, k, i)
	outAxis := 0
	if n.op == "Conv" {
		l.Out, l.In, l.Kernel = dims[0], dims[1], dims[2]
		at = func(o, k, i int) int { return (o*l.In+i)*l.Kernel + k }
	} else {
		l.Kind = model.ConvTranspose1D
		l.In, l.Out, l.Kernel = dims[0], dims[1], dims[2]
		op, err := one("output_padding", 0)
		if err != nil {
			return err
		}
		if _, ok := n.attrs["output_shape"]; ok {
			return errors.New("output_shape is not supported; give pads and output_padding")
		}
		l.OutputPadding = op
		at = func(o, k, i int) int { return (i*l.Out+o)*l.Kernel + k }
		outAxis = 1
	}
	if l.In != c.cur.c {
		return fmt.Errorf("weights %v for %d input channels", dims, c.cur.c)
	}
	if l.Stride < 1 || l.Dilation < 1 || l.Kernel < 1 {
		return fmt.Errorf("kernel %d, stride %d, dilation %d", l.Kernel, l.Stride, l.Dilation)
	}
	var T int
	if l.Kind == model.Conv1D {
		T = (c.cur.t+2*l.Padding-l.Dilation*(l.Kernel-1)-1)/l.Stride + 1
	} else {
		T = (c.cur.t-1)*l.Stride - 2*l.Padding + l.Dilation*(l.Kernel-1) + l.OutputPadding + 1
	}
	if T < 1 {
		return fmt.Errorf("the output would have %d steps", T)
	}
	flat := func(o, j int) int { // j = k*In + i, edge's order
		return at(o, j/l.In, j%l.In)
	}
	fb, qb, err := c.bias(n, 2, l.Out)
	if err != nil {
		return err
	}
	if wq != nil {
		if err := c.setInt8(&l, wq, outAxis, flat); err != nil {
			return err
		}
		if err := c.int8Bias(&l, fb, qb); err != nil {
			return err
		}
	} else {
		if qb != nil {
			return errors.New("an int32 bias with float weights")
		}
		per := l.Kernel * l.In
		l.W = make([]float32, l.Out*per)
		for o := 0; o < l.Out; o++ {
			for j := 0; j < per; j++ {
				l.W[o*per+j] = wf[flat(o, j)]
			}
		}
		l.B = fb
	}
	lay := &layer{l: l, node: n.where(), outSize: T * l.Out, in: c.cur.q}
	c.layers = append(c.layers, lay)
	c.cur = act{seq: true, t: T, c: l.Out}
	c.add(n, "layer %d: %s %d->%d channels, kernel %d, stride %d, %d steps", len(c.layers)-1, l.Kind, l.In, l.Out, l.Kernel, l.Stride, T)
	return nil
}

// layout handles the operators that only change the layout.
func (c *converter) layout(n *node) error {
	cur := c.cur
	size := cur.f
	if cur.seq {
		size = cur.t * cur.c
	}
	var shape []int // the ONNX shape after the op, without the batch
	switch n.op {
	case "Flatten":
		if a := n.int("axis", 1); a != 1 {
			return fmt.Errorf("axis %d; only 1 keeps the batch", a)
		}
		shape = []int{size}
	case "Reshape":
		t, err := c.constInput(n, 1)
		if err != nil {
			return fmt.Errorf("the shape must be a constant: %w", err)
		}
		s, err := t.ints()
		if err != nil {
			return err
		}
		if len(s) < 2 || len(s) > 3 {
			return fmt.Errorf("target shape %v; want [batch, features] or [batch, channels, steps]", s)
		}
		known, neg := 1, -1
		for i, d := range s[1:] {
			switch {
			case d == -1 && neg < 0:
				neg = i
			case d == 0:
				return fmt.Errorf("target shape %v copies an input dimension (0); give it explicitly", s)
			case d > 0 && d <= maxElements:
				known *= int(d)
				shape = append(shape, int(d))
				continue
			default:
				return fmt.Errorf("target shape %v", s)
			}
			shape = append(shape, -1)
		}
		if neg >= 0 {
			if known == 0 || size%known != 0 {
				return fmt.Errorf("target shape %v for %d values", s, size)
			}
			shape[neg] = size / known
		}
	case "Squeeze", "Unsqueeze":
		axes := n.intList("axes")
		if len(n.inputs) > 1 && n.inputs[1] != "" {
			t, err := c.constInput(n, 1)
			if err != nil {
				return err
			}
			if axes, err = t.ints(); err != nil {
				return err
			}
		}
		rank := 2
		if cur.seq {
			rank = 3
		}
		dims := []int{size}
		if cur.seq {
			dims = []int{cur.c, cur.t}
			if cur.tm {
				dims = []int{cur.t, cur.c}
			}
		}
		full := append([]int{-1}, dims...)
		if n.op == "Squeeze" {
			var keep []int
			for i, d := range full {
				drop := false
				for _, a := range axes {
					if a < 0 {
						a += int64(rank)
					}
					if int(a) == i {
						drop = true
					}
				}
				if drop && (i == 0 || d != 1) {
					return fmt.Errorf("squeezes axis %d of size %d", i, d)
				}
				if !drop && !(len(axes) == 0 && d == 1 && i > 0) {
					keep = append(keep, d)
				}
			}
			shape = keep[1:]
		} else {
			out := slices.Clone(full)
			for _, a := range axes {
				if a < 0 {
					a += int64(len(out) + 1)
				}
				if a < 1 || int(a) > len(out) {
					return fmt.Errorf("unsqueezes axis %d", a)
				}
				out = slices.Insert(out, int(a), 1)
			}
			shape = out[1:]
		}
	case "Transpose":
		p := n.intList("perm")
		if !cur.seq || len(p) != 3 || p[0] != 0 || p[1] != 2 || p[2] != 1 {
			return fmt.Errorf("perm %v; only swapping steps and channels ([0, 2, 1]) of a sequence is supported", p)
		}
		c.cur.tm = !cur.tm
		c.add(n, "layout only: edge stores steps x channels")
		return nil
	}
	return c.reshape(n, shape, size)
}

// reshape moves the activation to the ONNX shape (batch left out).
func (c *converter) reshape(n *node, shape []int, size int) error {
	cur := c.cur
	prod := 1
	for _, d := range shape {
		prod *= d
	}
	if prod != size {
		return fmt.Errorf("shape %v for %d values", shape, size)
	}
	switch len(shape) {
	case 1: // to flat
		if cur.seq {
			nxt := act{f: size, idx: make([]int, size)}
			for t := 0; t < cur.t; t++ {
				for ch := 0; ch < cur.c; ch++ {
					j := ch*cur.t + t // the ONNX order of [C, T]
					if cur.tm {
						j = t*cur.c + ch
					}
					nxt.idx[j] = t*cur.c + ch
				}
			}
			nxt.q = cur.q
			c.cur = nxt
			c.add(n, "layout only: a flat view of %d steps x %d channels", cur.t, cur.c)
			return nil
		}
		c.add(n, "layout only: nothing")
		return nil
	case 2: // to [C, T]
		C, T := shape[0], shape[1]
		if cur.seq {
			if cur.c == C && cur.t == T && !cur.tm {
				c.add(n, "layout only: nothing")
				return nil
			}
			if (cur.c == 1 || cur.t == 1) && C*T == cur.c*cur.t && (C == 1 || T == 1) {
				c.cur = act{seq: true, t: T, c: C, q: cur.q}
				c.add(n, "layout only: %d steps x %d channels", T, C)
				return nil
			}
			return fmt.Errorf("reshapes [%d, %d] to [%d, %d]; only layout changes are supported", cur.c, cur.t, C, T)
		}
		// A flat vector becomes [C, T]: edge keeps sequences steps x
		// channels, so the layer before writes its outputs in that order.
		if cur.idx != nil {
			ok := true
			for t := 0; t < T && ok; t++ {
				for ch := 0; ch < C; ch++ {
					if cur.idx[ch*T+t] != t*C+ch {
						ok = false
					}
				}
			}
			if !ok {
				return errors.New("reshapes a flattened sequence into another one")
			}
			c.cur = act{seq: true, t: T, c: C, q: cur.q}
			c.add(n, "layout only: back to %d steps x %d channels", T, C)
			return nil
		}
		if len(c.layers) == 0 {
			if C == 1 || T == 1 {
				c.cur = act{seq: true, t: T, c: C, q: cur.q}
				c.add(n, "layout only: %d steps x %d channels", T, C)
				return nil
			}
			return errors.New("reshapes the flat input into a sequence; give the model a [batch, channels, steps] input")
		}
		prev := c.layers[len(c.layers)-1]
		if prev.l.Kind != model.Dense {
			return errors.New("a flat vector becomes a sequence only after a dense layer")
		}
		if C > 1 && T > 1 {
			permuteRows(&prev.l, C, T)
		}
		c.layers = append(c.layers, &layer{l: model.Layer{Kind: model.Reshape, Steps: T, Channels: C}, node: n.where(), outSize: size})
		c.cur = act{seq: true, t: T, c: C, q: cur.q}
		c.add(n, "layer %d: reshape to %d steps x %d channels (the dense layer before writes steps x channels)", len(c.layers)-1, T, C)
		return nil
	}
	return fmt.Errorf("shape %v", shape)
}

// permuteRows reorders a dense layer's outputs from [C, T] to [T, C].
func permuteRows(l *model.Layer, C, T int) {
	in := l.In
	if l.W != nil {
		w, b := slices.Clone(l.W), slices.Clone(l.B)
		for ch := 0; ch < C; ch++ {
			for t := 0; t < T; t++ {
				src, dst := ch*T+t, t*C+ch
				copy(l.W[dst*in:(dst+1)*in], w[src*in:(src+1)*in])
				l.B[dst] = b[src]
			}
		}
	}
	if l.QW != nil {
		w, b, s := slices.Clone(l.QW), slices.Clone(l.QB), slices.Clone(l.QScale)
		for ch := 0; ch < C; ch++ {
			for t := 0; t < T; t++ {
				src, dst := ch*T+t, t*C+ch
				copy(l.QW[dst*in:(dst+1)*in], w[src*in:(src+1)*in])
				l.QB[dst], l.QScale[dst] = b[src], s[src]
			}
		}
	}
}

// finish splits the layers at the code and builds the model.
func (c *converter) finish(first act, opt Options) (*model.Model, *Report, error) {
	var compute []*layer
	for _, l := range c.layers {
		if l.l.Kind != model.Reshape {
			compute = append(compute, l)
		}
	}
	if len(compute) < 2 {
		return nil, nil, fmt.Errorf("onnx: %d layers on the path to the output; an autoencoder has an encoder and a decoder", len(compute))
	}
	int8Model := compute[0].l.QW != nil
	for _, l := range compute {
		if (l.l.QW != nil) != int8Model {
			return nil, nil, fmt.Errorf("onnx: %s mixes int8 and float layers; edge imports all-int8 QDQ or all-float models", l.node)
		}
		if int8Model && l.l.OutQ == nil && l != compute[len(compute)-1] {
			return nil, nil, fmt.Errorf("onnx: %s: an int8 layer whose output is not quantised", l.node)
		}
		if a := l.l.Act; int8Model && a != model.Identity && a != model.ReLU && !l.qAfter {
			return nil, nil, fmt.Errorf("onnx: %s: an int8 %s without a QuantizeLinear after it", l.node, a)
		}
	}
	c.rep.Int8 = int8Model
	steps, channels := 1, first.f
	if first.seq {
		steps, channels = first.t, first.c
	}
	if opt.Steps > 0 {
		total := steps * channels
		if first.seq || total%opt.Steps != 0 {
			return nil, nil, fmt.Errorf("onnx: cannot split the input of %d values into %d steps", total, opt.Steps)
		}
		steps, channels = opt.Steps, total/opt.Steps
	}
	// The output must have the input's shape, in edge's time-major order.
	last := c.cur
	outSize := last.f
	if last.seq {
		outSize = last.t * last.c
		if last.tm != first.tm && first.seq {
			return nil, nil, errors.New("onnx: the output's layout (steps and channels) differs from the input's")
		}
	}
	if outSize != steps*channels {
		return nil, nil, fmt.Errorf("onnx: the output holds %d values per window, the input %d", outSize, steps*channels)
	}
	if !last.seq && last.idx != nil {
		return nil, nil, errors.New("onnx: the output is a flattened sequence; end the model on its last layer")
	}
	if first.seq && !first.tm && !last.seq && first.c > 1 && first.t > 1 {
		// A flat output read as the input's [C, T]: write it steps x channels.
		permuteRows(&c.layers[len(c.layers)-1].l, first.c, first.t)
	}
	if int8Model && c.inputQ == nil {
		return nil, nil, errors.New("onnx: an int8 model whose input is not quantised")
	}
	chain := make([]model.ImportedLayer, len(c.layers))
	for i, l := range c.layers {
		chain[i] = model.ImportedLayer{Layer: l.l, OutSize: l.outSize}
	}
	var inQ *model.QParams
	if int8Model {
		inQ = c.inputQ
	}
	m, code, err := model.Assemble(opt.Name, steps, channels, chain, inQ)
	if err != nil {
		return nil, nil, fmt.Errorf("onnx: %w", err)
	}
	m.Provenance = map[string]string{"importer": "edge import (onnx)", "producer": c.g.prod}
	// Name the layers in the report as the model does.
	layerRef := regexp.MustCompile(`layer (\d+)`)
	for j := range c.rep.Mappings {
		c.rep.Mappings[j].Edge = layerRef.ReplaceAllStringFunc(c.rep.Mappings[j].Edge, func(s string) string {
			i, _ := strconv.Atoi(s[len("layer "):])
			return model.ImportedName(i, code)
		})
	}
	return m, c.rep, nil
}
