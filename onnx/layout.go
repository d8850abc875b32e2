package onnx

import (
	"errors"
	"fmt"
	"slices"

	"github.com/edgeml/edge/model"
)

// layout handles the operators that only change the layout.
func (c *converter) layout(n *node) error {
	cur := c.cur
	size := cur.f
	if cur.seq {
		size = cur.t * cur.c
	}
	var shape []int // the ONNX shape after the op, without the batch
	var err error
	switch n.op {
	case "Flatten":
		if a := n.int("axis", 1); a != 1 {
			return fmt.Errorf("axis %d; only 1 keeps the batch", a)
		}
		shape = []int{size}
	case "Reshape":
		shape, err = c.reshapeTarget(n, size)
	case "Squeeze", "Unsqueeze":
		shape, err = c.squeezed(n, size)
	case "Transpose":
		p := n.intList("perm")
		if !cur.seq || len(p) != 3 || p[0] != 0 || p[1] != 2 || p[2] != 1 {
			return fmt.Errorf("perm %v; only swapping steps and channels ([0, 2, 1]) of a sequence is supported", p)
		}
		c.cur.tm = !cur.tm
		c.add(n, "layout only: edge stores steps x channels")
		return nil
	}
	if err != nil {
		return err
	}
	return c.reshape(n, shape, size)
}

// reshapeTarget reads a Reshape's constant target shape (one -1 resolved
// against the size) without the batch.
func (c *converter) reshapeTarget(n *node, size int) ([]int, error) {
	t, err := c.constInput(n, 1)
	if err != nil {
		return nil, fmt.Errorf("the shape must be a constant: %w", err)
	}
	s, err := t.ints()
	if err != nil {
		return nil, err
	}
	if len(s) < 2 || len(s) > 3 {
		return nil, fmt.Errorf("target shape %v; want [batch, features] or [batch, channels, steps]", s)
	}
	var shape []int
	known, neg := 1, -1
	for i, d := range s[1:] {
		switch {
		case d == -1 && neg < 0:
			neg = i
		case d == 0:
			return nil, fmt.Errorf("target shape %v copies an input dimension (0); give it explicitly", s)
		case d > 0 && d <= maxElements:
			known *= int(d)
			shape = append(shape, int(d))
			continue
		default:
			return nil, fmt.Errorf("target shape %v", s)
		}
		shape = append(shape, -1)
	}
	if neg >= 0 {
		if known == 0 || size%known != 0 {
			return nil, fmt.Errorf("target shape %v for %d values", s, size)
		}
		shape[neg] = size / known
	}
	return shape, nil
}

// squeezed returns the shape after a Squeeze or an Unsqueeze (its axes an
// attribute or a constant input), without the batch.
func (c *converter) squeezed(n *node, size int) ([]int, error) {
	cur := c.cur
	axes := n.intList("axes")
	if len(n.inputs) > 1 && n.inputs[1] != "" {
		t, err := c.constInput(n, 1)
		if err != nil {
			return nil, err
		}
		if axes, err = t.ints(); err != nil {
			return nil, err
		}
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
		return squeeze(full, axes)
	}
	out := slices.Clone(full)
	for _, a := range axes {
		if a < 0 {
			a += int64(len(out) + 1)
		}
		if a < 1 || int(a) > len(out) {
			return nil, fmt.Errorf("unsqueezes axis %d", a)
		}
		out = slices.Insert(out, int(a), 1)
	}
	return out[1:], nil
}

// squeeze drops the given axes (all of size 1 but the batch; without
// axes, every one of size 1) of full, the shape with the batch first, and
// returns the rest without the batch.
func squeeze(full []int, axes []int64) ([]int, error) {
	rank := len(full)
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
			return nil, fmt.Errorf("squeezes axis %d of size %d", i, d)
		}
		if !drop && !(len(axes) == 0 && d == 1 && i > 0) {
			keep = append(keep, d)
		}
	}
	return keep[1:], nil
}

// reshape moves the activation to the ONNX shape (batch left out).
func (c *converter) reshape(n *node, shape []int, size int) error {
	prod := 1
	for _, d := range shape {
		prod *= d
	}
	if prod != size {
		return fmt.Errorf("shape %v for %d values", shape, size)
	}
	switch len(shape) {
	case 1:
		c.flatten(n, size)
		return nil
	case 2:
		if c.cur.seq {
			return c.reshapeSequence(n, shape[0], shape[1])
		}
		return c.unflatten(n, shape[0], shape[1], size)
	}
	return fmt.Errorf("shape %v", shape)
}

// flatten makes the activation a flat vector: a sequence keeps its values
// where they are and records the ONNX order ([C, T]) of each.
func (c *converter) flatten(n *node, size int) {
	cur := c.cur
	if !cur.seq {
		c.add(n, "layout only: nothing")
		return
	}
	nxt := act{f: size, idx: make([]int, size), q: cur.q}
	for t := 0; t < cur.t; t++ {
		for ch := 0; ch < cur.c; ch++ {
			j := ch*cur.t + t // the ONNX order of [C, T]
			if cur.tm {
				j = t*cur.c + ch
			}
			nxt.idx[j] = t*cur.c + ch
		}
	}
	c.cur = nxt
	c.add(n, "layout only: a flat view of %d steps x %d channels", cur.t, cur.c)
}

// reshapeSequence reshapes a sequence to [C, T]: only changes that move
// no value are supported.
func (c *converter) reshapeSequence(n *node, C, T int) error {
	cur := c.cur
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

// unflatten makes a flat vector a [C, T] sequence: edge keeps sequences
// steps x channels, so the layer before writes its outputs in that order.
func (c *converter) unflatten(n *node, C, T, size int) error {
	cur := c.cur
	seq := act{seq: true, t: T, c: C, q: cur.q}
	if cur.idx != nil { // a flattened sequence, back to its shape
		for t := 0; t < T; t++ {
			for ch := 0; ch < C; ch++ {
				if cur.idx[ch*T+t] != t*C+ch {
					return errors.New("reshapes a flattened sequence into another one")
				}
			}
		}
		c.cur = seq
		c.add(n, "layout only: back to %d steps x %d channels", T, C)
		return nil
	}
	if len(c.layers) == 0 {
		if C == 1 || T == 1 {
			c.cur = seq
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
	c.cur = seq
	c.add(n, "layer %d: reshape to %d steps x %d channels (the dense layer before writes steps x channels)", len(c.layers)-1, T, C)
	return nil
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
