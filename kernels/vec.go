package kernels

import (
	"fmt"
	"math"
)

// Vector kernels. Their slices must have equal lengths: a mismatch is a bug
// in the caller and panics with a message naming the kernel, as gonum's
// floats package does. dst may be one of the inputs (in place); it must
// not otherwise overlap them. Every family computes the same bits:
//   - elementwise float32 ops are single IEEE operations (or one FMA32);
//   - reductions (Dot, Sum, SumSquares) use the canonical order below, which
//     SIMD code reproduces with whole vectors of lanes.

// RedLanes is the number of partial sums of the canonical reduction order:
// element i (i < RedLanes*floor(n/RedLanes)) goes to partial i%RedLanes in
// sequence; the partials are then folded pairwise (p[j] += p[j+16], then +8,
// +4, +2, +1) and the remaining tail is added to p[0] in order.
const RedLanes = 32

// vecImpl is one family's set of vector kernels.
type vecImpl struct {
	family     Family
	name       string
	quantize   func(dst []int8, src []float32, inv float32, zp int8)
	qaffine    func(dst []int8, src, mul, add []float32, zp int8)
	dequantize func(dst []float32, src []int8, scale float32, zp int8)
	lut        func(dst, src []int8, t *Table)
	add        func(dst, a, b []float32)
	sub        func(dst, a, b []float32)
	mul        func(dst, a, b []float32)
	scale      func(dst, a []float32, s float32)
	axpy       func(dst, a []float32, s float32)
	fmav       func(dst, a, b, c []float32)
	adamw      func(p, g, m, v []float32, h *AdamParams)
	relu       func(dst, a []float32)
	reluGrad   func(dz, dy, z []float32)
	dot        func(a, b []float32) float32
	sum        func(a []float32) float32
	sumsq      func(a, b []float32) float32
}

func sameLen(kernel string, n int, m ...int) {
	for _, v := range m {
		if v != n {
			panic(fmt.Sprintf("kernels.%s: slice lengths %d and %d differ", kernel, n, v))
		}
	}
}

func vec() *vecImpl { return dispatch.Load().vec }

// Quantize writes dst[i] = clamp(RoundToEven(src[i]*(1/scale)) + zp, -128, 127):
// the int8 encoding, with the given scale and zero point, of float32 values.
// NaN becomes zp (real 0); infinities saturate. scale must be a positive
// normal float32.
func Quantize(dst []int8, src []float32, scale float32, zp int8) {
	sameLen("Quantize", len(dst), len(src))
	vec().quantize(dst, src, 1/scale, zp)
}

// QuantizeAffine writes the int8 encoding of FMA32(src[i], mul[i], add[i]):
// as Quantize with scale 1 applied to that value. It fuses a per-element
// normalisation (mul = 1/(std*scale), add = -mean/(std*scale)) into the
// quantisation, in one pass.
func QuantizeAffine(dst []int8, src, mul, add []float32, zp int8) {
	sameLen("QuantizeAffine", len(dst), len(src), len(mul), len(add))
	vec().qaffine(dst, src, mul, add, zp)
}

// Dequantize writes dst[i] = float32(src[i]-zp) * scale.
func Dequantize(dst []float32, src []int8, scale float32, zp int8) {
	sameLen("Dequantize", len(dst), len(src))
	vec().dequantize(dst, src, scale, zp)
}

// Table is a 256-entry int8 lookup table, prepared for every family's LUT
// kernel. Build it with NewTable or NewLUT; it is read-only afterwards.
type Table struct {
	t  [256]int8
	xt [256]byte // the XOR-chained sub-tables of the AVX2 kernel (lutChain)
}

// NewTable prepares t, indexed by uint8(q) for input q, for LUT.
func NewTable(t [256]int8) *Table {
	tb := &Table{t: t}
	lutChain(&tb.xt, &tb.t)
	return tb
}

// At returns the table's entry for input q.
func (t *Table) At(q int8) int8 { return t.t[uint8(q)] }

// lutChain derives the sixteen 16-byte sub-tables that the AVX2 kernel
// XORs together. With T_j the entries 16j..16j+15 (by unsigned index), the
// kernel's lookups j that return data for an input in chunk c are j = 0..c
// when c < 8 and j = c-7..c when c >= 8, so
//
//	X_0 = T_0, X_j = T_j^T_{j-1} (j = 1..7), X_8 = T_8^T_7^X_0,
//	X_j = T_j^T_{j-1}^X_{j-8} (j = 9..15)
//
// makes the XOR of the returned rows equal T_c.
func lutChain(x *[256]byte, t *[256]int8) {
	row := func(j int) []byte {
		r := make([]byte, 16)
		for i := range r {
			r[i] = byte(t[16*j+i])
		}
		return r
	}
	for j := 0; j < 16; j++ {
		cur := row(j)
		for i := 0; i < 16; i++ {
			v := cur[i]
			if j >= 1 {
				v ^= byte(t[16*(j-1)+i])
			}
			if j >= 8 {
				v ^= x[16*(j-8)+i]
			}
			x[16*j+i] = v
		}
	}
}

// LUT writes dst[i] = t.At(src[i]): a 256-entry table lookup, the int8 form
// of any element-wise activation (see NewLUT). dst may alias src.
func LUT(dst, src []int8, t *Table) {
	sameLen("LUT", len(dst), len(src))
	vec().lut(dst, src, t)
}

// NewLUT tabulates fn for LUT: the entry of input q holds the int8 encoding
// (outScale, outZP) of fn applied to the value q encodes (inScale, inZP),
// rounded half to even and saturated; NaN maps to outZP.
func NewLUT(fn func(float64) float64, inScale float32, inZP int8, outScale float32, outZP int8) *Table {
	var t [256]int8
	for q := -128; q < 128; q++ {
		x := float64(inScale) * float64(q-int(inZP))
		y := fn(x)/float64(outScale) + float64(outZP)
		if math.IsNaN(y) {
			y = float64(outZP)
		}
		t[uint8(int8(q))] = int8(math.RoundToEven(math.Max(-128, math.Min(127, y))))
	}
	return NewTable(t)
}

// Sigmoid is the logistic function, for NewLUT.
func Sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// Add writes dst[i] = a[i] + b[i].
func Add(dst, a, b []float32) { sameLen("Add", len(dst), len(a), len(b)); vec().add(dst, a, b) }

// Sub writes dst[i] = a[i] - b[i].
func Sub(dst, a, b []float32) { sameLen("Sub", len(dst), len(a), len(b)); vec().sub(dst, a, b) }

// Mul writes dst[i] = a[i] * b[i].
func Mul(dst, a, b []float32) { sameLen("Mul", len(dst), len(a), len(b)); vec().mul(dst, a, b) }

// Scale writes dst[i] = a[i] * s.
func Scale(dst, a []float32, s float32) { sameLen("Scale", len(dst), len(a)); vec().scale(dst, a, s) }

// Axpy writes dst[i] = FMA32(s, a[i], dst[i]), i.e. dst += s*a with one rounding.
func Axpy(dst, a []float32, s float32) { sameLen("Axpy", len(dst), len(a)); vec().axpy(dst, a, s) }

// FMAV writes dst[i] = FMA32(a[i], b[i], c[i]): a per-element affine map
// with one rounding (normalisation, its inverse, quantisation scales).
func FMAV(dst, a, b, c []float32) {
	sameLen("FMAV", len(dst), len(a), len(b), len(c))
	vec().fmav(dst, a, b, c)
}

// AdamParams are the scalars of one AdamW step (see AdamW).
type AdamParams struct {
	LR           float32 // learning rate
	Beta1, Beta2 float32 // moment decay rates
	C1, C2       float32 // bias corrections 1-Beta1^t and 1-Beta2^t
	Eps          float32
	Decay        float32 // decoupled weight decay factor 1 - LR*weight_decay
}

// AdamW applies one Adam step with decoupled weight decay to parameters p
// with gradients g and moments m and v (equal lengths), each operation
// rounded to float32 in this order, without fused multiply-adds:
//
//	m = Beta1*m + (1-Beta1)*g
//	v = Beta2*v + (1-Beta2)*(g*g)
//	p = p*Decay - LR*((m/C1) / (sqrt(v/C2) + Eps))
func AdamW(p, g, m, v []float32, h AdamParams) {
	sameLen("AdamW", len(p), len(g), len(m), len(v))
	vec().adamw(p, g, m, v, &h)
}

// ReLU32 writes dst[i] = 0 where a[i] < 0, else a[i] (so NaN and -0 pass through).
func ReLU32(dst, a []float32) { sameLen("ReLU32", len(dst), len(a)); vec().relu(dst, a) }

// ReLUGrad writes dz[i] = dy[i] where z[i] > 0, else 0 (so NaN gives 0):
// the gradient through a ReLU whose input was z.
func ReLUGrad(dz, dy, z []float32) {
	sameLen("ReLUGrad", len(dz), len(dy), len(z))
	vec().reluGrad(dz, dy, z)
}

// Dot returns sum_i a[i]*b[i] in the canonical order (see RedLanes), each
// step an FMA32.
func Dot(a, b []float32) float32 { sameLen("Dot", len(a), len(b)); return vec().dot(a, b) }

// Sum returns sum_i a[i] in the canonical order.
func Sum(a []float32) float32 { return vec().sum(a) }

// SumSquares returns sum_i (a[i]-b[i])^2 in the canonical order: the
// difference is rounded to float32, then accumulated with FMA32.
func SumSquares(a, b []float32) float32 {
	sameLen("SumSquares", len(a), len(b))
	return vec().sumsq(a, b)
}

var genericVec = &vecImpl{
	family:     Generic,
	name:       "go",
	quantize:   genericQuantize,
	qaffine:    genericQuantizeAffine,
	dequantize: genericDequantize,
	lut:        genericLUT,
	add: func(d, a, b []float32) {
		b = b[:len(a)]
		d = d[:len(a)]
		for i := range a {
			d[i] = a[i] + b[i]
		}
	},
	sub: func(d, a, b []float32) {
		b = b[:len(a)]
		d = d[:len(a)]
		for i := range a {
			d[i] = a[i] - b[i]
		}
	},
	mul: func(d, a, b []float32) {
		b = b[:len(a)]
		d = d[:len(a)]
		for i := range a {
			d[i] = float32(a[i] * b[i])
		}
	},
	scale: func(d, a []float32, s float32) {
		d = d[:len(a)]
		for i := range a {
			d[i] = float32(a[i] * s)
		}
	},
	fmav:  genericFMAV,
	adamw: genericAdamW,
	axpy: func(d, a []float32, s float32) {
		d = d[:len(a)]
		for i := range a {
			d[i] = FMA32(s, a[i], d[i])
		}
	},
	relu:     genericReLU,
	reluGrad: genericReLUGrad,
	dot:      genericDot,
	sum:      genericSum,
	sumsq:    genericSumSquares,
}

// quantizeOne is the scalar definition of Quantize given inv = 1/scale.
func quantizeOne(x, inv float32, zp int8) int8 {
	v := float32(x * inv)
	if v != v {
		return zp
	}
	lo, hi := float32(-128-int32(zp)), float32(127-int32(zp))
	if v > hi {
		v = hi
	}
	if v < lo {
		v = lo
	}
	return int8(int32(math.RoundToEven(float64(v))) + int32(zp))
}

func genericQuantize(dst []int8, src []float32, inv float32, zp int8) {
	dst = dst[:len(src)]
	for i, x := range src {
		dst[i] = quantizeOne(x, inv, zp)
	}
}

func genericQuantizeAffine(dst []int8, src, mul, add []float32, zp int8) {
	dst, mul, add = dst[:len(src)], mul[:len(src)], add[:len(src)]
	for i, x := range src {
		dst[i] = quantizeOne(FMA32(x, mul[i], add[i]), 1, zp)
	}
}

func genericDequantize(dst []float32, src []int8, scale float32, zp int8) {
	dst = dst[:len(src)]
	z := int32(zp)
	for i, q := range src {
		dst[i] = float32(int32(q)-z) * scale
	}
}

func genericLUT(dst, src []int8, t *Table) {
	dst = dst[:len(src)]
	for i, q := range src {
		dst[i] = t.t[uint8(q)]
	}
}

func genericReLUGrad(dz, dy, z []float32) {
	dz, dy = dz[:len(z)], dy[:len(z)]
	for i, v := range z {
		if v > 0 {
			dz[i] = dy[i]
		} else {
			dz[i] = 0
		}
	}
}

func genericFMAV(d, a, b, c []float32) {
	d, b, c = d[:len(a)], b[:len(a)], c[:len(a)]
	for i := range a {
		d[i] = FMA32(a[i], b[i], c[i])
	}
}

func genericAdamW(p, g, m, v []float32, h *AdamParams) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	ob1, ob2 := 1-h.Beta1, 1-h.Beta2
	for i := range p {
		gi := g[i]
		mi := float32(h.Beta1*m[i]) + float32(ob1*gi)
		vi := float32(h.Beta2*v[i]) + float32(ob2*float32(gi*gi))
		m[i], v[i] = mi, vi
		den := float32(math.Sqrt(float64(vi/h.C2))) + h.Eps
		p[i] = float32(p[i]*h.Decay) - float32(h.LR*float32(float32(mi/h.C1)/den))
	}
}

func genericReLU(d, a []float32) {
	d = d[:len(a)]
	for i, v := range a {
		if v < 0 {
			v = 0
		}
		d[i] = v
	}
}

// reduce implements the canonical reduction order with step(acc, i).
func reduce(n int, step func(acc float32, i int) float32) float32 {
	var p [RedLanes]float32
	full := n / RedLanes * RedLanes
	for i := 0; i < full; i += RedLanes {
		for j := range p {
			p[j] = step(p[j], i+j)
		}
	}
	for w := RedLanes / 2; w >= 1; w /= 2 {
		for j := 0; j < w; j++ {
			p[j] += p[j+w]
		}
	}
	s := p[0]
	for i := full; i < n; i++ {
		s = step(s, i)
	}
	return s
}

func genericDot(a, b []float32) float32 {
	b = b[:len(a)]
	return reduce(len(a), func(acc float32, i int) float32 { return FMA32(a[i], b[i], acc) })
}

func genericSum(a []float32) float32 {
	return reduce(len(a), func(acc float32, i int) float32 { return acc + a[i] })
}

func genericSumSquares(a, b []float32) float32 {
	b = b[:len(a)]
	return reduce(len(a), func(acc float32, i int) float32 {
		d := a[i] - b[i]
		return FMA32(d, d, acc)
	})
}
