package onnx

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeml/edge/model"
)

// qconst is a constant that a DequantizeLinear turns into floats.
type qconst struct {
	q     []int64
	dims  []int
	scale []float32
	zero  []int64
	axis  int
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
		acc := float64(float64(c.cur.q.Scale) * float64(l.QScale[o]))
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
