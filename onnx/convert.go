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
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeml/edge/model"
)

// Options shape the imported model: the importers share one type.
type Options = model.ImportOptions

// Report says what the importer did (one type with the TFLite importer's).
type Report = model.ImportReport

// Mapping is one line of the import report.
type Mapping = model.ImportMapping

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
	c := &converter{g: g, consts: map[string]*tensor{}, qc: map[string]*qconst{}, rep: &Report{Format: "onnx", Opset: g.opset, Producer: g.prod}}
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
			c.rep.Ignored = append(c.rep.Ignored, n.mapping(""))
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
	c.rep.Mappings = append(c.rep.Mappings, n.mapping(fmt.Sprintf(format, args...)))
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

// finish splits the layers at the code and builds the model.
func (c *converter) finish(first act, opt Options) (*model.Model, *Report, error) {
	int8Model, err := c.precision()
	if err != nil {
		return nil, nil, err
	}
	c.rep.Int8 = int8Model
	steps, channels, err := c.window(first, opt.Steps)
	if err != nil {
		return nil, nil, err
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

// precision checks that the layers are all int8 (QDQ, each output
// quantised) or all float, and says which.
func (c *converter) precision() (bool, error) {
	var compute []*layer
	for _, l := range c.layers {
		if l.l.Kind != model.Reshape {
			compute = append(compute, l)
		}
	}
	if len(compute) < 2 {
		return false, fmt.Errorf("onnx: %d layers on the path to the output; an autoencoder has an encoder and a decoder", len(compute))
	}
	int8Model := compute[0].l.QW != nil
	for _, l := range compute {
		if (l.l.QW != nil) != int8Model {
			return false, fmt.Errorf("onnx: %s mixes int8 and float layers; edge imports all-int8 QDQ or all-float models", l.node)
		}
		if int8Model && l.l.OutQ == nil && l != compute[len(compute)-1] {
			return false, fmt.Errorf("onnx: %s: an int8 layer whose output is not quantised", l.node)
		}
		if a := l.l.Act; int8Model && a != model.Identity && a != model.ReLU && !l.qAfter {
			return false, fmt.Errorf("onnx: %s: an int8 %s without a QuantizeLinear after it", l.node, a)
		}
	}
	return int8Model, nil
}

// window returns the model's window (split into steps rows if asked)
// and checks that the output has the input's shape, in edge's time-major
// order, reordering a flat output read as the input's [C, T].
func (c *converter) window(first act, split int) (steps, channels int, err error) {
	steps, channels = 1, first.f
	if first.seq {
		steps, channels = first.t, first.c
	}
	if split > 0 {
		total := steps * channels
		if first.seq || total%split != 0 {
			return 0, 0, fmt.Errorf("onnx: cannot split the input of %d values into %d steps", total, split)
		}
		steps, channels = split, total/split
	}
	last := c.cur
	outSize := last.f
	if last.seq {
		outSize = last.t * last.c
		if last.tm != first.tm && first.seq {
			return 0, 0, errors.New("onnx: the output's layout (steps and channels) differs from the input's")
		}
	}
	if outSize != steps*channels {
		return 0, 0, fmt.Errorf("onnx: the output holds %d values per window, the input %d", outSize, steps*channels)
	}
	if !last.seq && last.idx != nil {
		return 0, 0, errors.New("onnx: the output is a flattened sequence; end the model on its last layer")
	}
	if first.seq && !first.tm && !last.seq && first.c > 1 && first.t > 1 {
		permuteRows(&c.layers[len(c.layers)-1].l, first.c, first.t)
	}
	return steps, channels, nil
}
