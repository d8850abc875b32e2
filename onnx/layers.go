package onnx

import (
	"errors"
	"fmt"
	"slices"

	"github.com/edgeml/edge/model"
)

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

func (c *converter) dense(n *node) error {
	if c.cur.seq {
		return errors.New("a Gemm or MatMul on a sequence: Flatten it first")
	}
	wf, wq, dims, err := c.weights(n, 1)
	if err != nil {
		return err
	}
	in, out, trans, err := c.denseShape(n, dims)
	if err != nil {
		return err
	}
	l := model.Layer{Kind: model.Dense, In: in, Out: out, Act: model.Identity}
	at := c.denseIndex(in, out, trans)
	alpha, beta := float32(1), float32(1)
	fb := make([]float32, out)
	var qb *qconst
	if n.op == "Gemm" {
		alpha, beta = n.float("alpha", 1), n.float("beta", 1)
		if fb, qb, err = c.bias(n, 2, out); err != nil {
			return err
		}
	}
	switch {
	case wq != nil && (alpha != 1 || beta != 1):
		return errors.New("alpha and beta must be 1 in an int8 Gemm")
	case wq != nil:
		if err := c.setInt8(&l, wq, map[bool]int{true: 0, false: 1}[trans], at); err != nil {
			return err
		}
		if err := c.int8Bias(&l, fb, qb); err != nil {
			return err
		}
	case qb != nil:
		return errors.New("an int32 bias with float weights")
	default:
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

// denseShape reads a Gemm's or MatMul's weight shape: inputs, outputs and
// whether the weights are stored transposed ([out, in]).
func (c *converter) denseShape(n *node, dims []int) (in, out int, trans bool, err error) {
	if len(dims) != 2 {
		return 0, 0, false, fmt.Errorf("weights of shape %v; want 2-D", dims)
	}
	trans = n.op == "Gemm" && n.int("transB", 0) == 1
	if n.op == "Gemm" && n.int("transA", 0) != 0 {
		return 0, 0, false, errors.New("transA is not supported")
	}
	in, out = dims[0], dims[1]
	if trans {
		in, out = dims[1], dims[0]
	}
	if in != c.cur.f {
		return 0, 0, false, fmt.Errorf("weights %v for an input of %d features", dims, c.cur.f)
	}
	return in, out, trans, nil
}

// denseIndex returns where the weight of output o and edge input k is in
// the ONNX weight data: edge input k holds ONNX feature inv[k] (a
// flattened sequence reorders them).
func (c *converter) denseIndex(in, out int, trans bool) func(o, k int) int {
	inv := make([]int, in)
	for j := range inv {
		inv[j] = j
	}
	if c.cur.idx != nil {
		for j, k := range c.cur.idx {
			inv[k] = j
		}
	}
	return func(o, k int) int {
		if trans {
			return o*in + inv[k]
		}
		return inv[k]*out + o
	}
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
	l, err := convAttrs(n)
	if err != nil {
		return err
	}
	var at func(o, k, i int) int // ONNX index of edge element (o, k, i)
	outAxis := 0
	if n.op == "Conv" {
		l.Out, l.In, l.Kernel = dims[0], dims[1], dims[2]
		at = func(o, k, i int) int { return (o*l.In+i)*l.Kernel + k }
	} else {
		l.Kind = model.ConvTranspose1D
		l.In, l.Out, l.Kernel = dims[0], dims[1], dims[2]
		op, err := oneInt(n, "output_padding", 0)
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
	if err := c.convWeights(n, &l, wf, wq, outAxis, flat); err != nil {
		return err
	}
	lay := &layer{l: l, node: n.where(), outSize: T * l.Out, in: c.cur.q}
	c.layers = append(c.layers, lay)
	c.cur = act{seq: true, t: T, c: l.Out}
	c.add(n, "layer %d: %s %d->%d channels, kernel %d, stride %d, %d steps", len(c.layers)-1, l.Kind, l.In, l.Out, l.Kernel, l.Stride, T)
	return nil
}

// oneInt reads an attribute that holds one small integer (def if absent).
func oneInt(n *node, name string, def int64) (int, error) {
	v := n.intList(name)
	if len(v) == 0 {
		return int(def), nil
	}
	if len(v) != 1 || v[0] < 0 || v[0] > 256 {
		return 0, fmt.Errorf("%s %v", name, v)
	}
	return int(v[0]), nil
}

// convAttrs reads a convolution's stride, dilation and symmetric pads.
func convAttrs(n *node) (model.Layer, error) {
	stride, err := oneInt(n, "strides", 1)
	if err != nil {
		return model.Layer{}, err
	}
	dil, err := oneInt(n, "dilations", 1)
	if err != nil {
		return model.Layer{}, err
	}
	pads := n.intList("pads")
	pad := 0
	if len(pads) == 2 {
		if pads[0] != pads[1] || pads[0] < 0 || pads[0] > 256 {
			return model.Layer{}, fmt.Errorf("pads %v; edge pads both ends alike", pads)
		}
		pad = int(pads[0])
	} else if len(pads) != 0 {
		return model.Layer{}, fmt.Errorf("pads %v", pads)
	}
	return model.Layer{Kind: model.Conv1D, Stride: stride, Dilation: dil, Padding: pad, Act: model.Identity}, nil
}

// convWeights sets a convolution's weights and bias in edge's layout
// (flat maps edge's (o, k·In+i) to the ONNX index).
func (c *converter) convWeights(n *node, l *model.Layer, wf []float32, wq *qconst, outAxis int, flat func(o, j int) int) error {
	fb, qb, err := c.bias(n, 2, l.Out)
	if err != nil {
		return err
	}
	if wq != nil {
		if err := c.setInt8(l, wq, outAxis, flat); err != nil {
			return err
		}
		return c.int8Bias(l, fb, qb)
	}
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
	return nil
}
