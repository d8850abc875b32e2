package kernels

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Slack is the number of readable bytes a kernel may need after the last
// element of its int8 input: kernels load the K tail of an activation row in
// whole vectors, and the packed weights' zero padding cancels whatever those
// extra bytes hold. An input slice x with m rows of stride s must have
// cap(x) >= (m-1)*s + k + Slack (its length needs only cover the data).
// Nothing is ever written past the last output element.
const Slack = 16

// Limits on shapes, checked before any allocation.
const (
	// MaxK bounds the reduction length so that int32 accumulators cannot
	// overflow: 65536 * 128 * 127 < 2^31 even with the +128 offset that
	// the VNNI kernels apply to activations.
	MaxK = 1 << 16
	// MaxN bounds the number of output channels of one packed layer.
	MaxN = 1 << 20
)

// Output describes the int8 output of a requantising GEMM: the zero point of
// the output tensor and the clamp applied after it. With Min equal to the
// zero point the clamp is a ReLU; with Min=-128, Max=127 it is linear.
type Output struct {
	ZeroPoint int8
	Min, Max  int8
}

// Linear returns the Output with zero point zp and no clamp beyond int8.
func Linear(zp int8) Output { return Output{ZeroPoint: zp, Min: -128, Max: 127} }

// ReLU returns the Output with zero point zp that clamps below at zp.
func ReLU(zp int8) Output { return Output{ZeroPoint: zp, Min: zp, Max: 127} }

// bounds returns the clamp relative to the zero point, as float32, which is
// how every implementation applies it (before rounding; see requantize).
func (o Output) bounds() (lo, hi float32) {
	return float32(int32(o.Min) - int32(o.ZeroPoint)), float32(int32(o.Max) - int32(o.ZeroPoint))
}

// requantize is the requantisation every implementation performs, in float32
// as XNNPACK's fp32 scheme does: convert the accumulator, multiply by the
// channel's scale, clamp relative to the zero point, round half to even, add
// the zero point. Clamping before rounding equals clamping after it because
// the bounds are integers and rounding is monotonic; it also keeps the
// conversion to int32 in range.
func requantize(acc int32, scale, lo, hi float32, zp int32) int8 {
	v := float32(acc) * scale
	if v > hi {
		v = hi
	}
	if v < lo {
		v = lo
	}
	return int8(int32(math.RoundToEven(float64(v))) + zp)
}

// Q8Weights are int8 weights with their biases and scales, packed for one
// kernel family's GEMM. Build them with PackQ8 once, at load; they are
// read-only afterwards and safe to share between goroutines.
type Q8Weights struct {
	impl *q8Impl
	n, k int
	// SIMD layout, K-group major: [npad int32 bias'][npad float32 scale]
	// then kg groups of gs bytes, each holding every block's nr x kr
	// weights for that group (block b at byte b*nr*kr), so that a one-row
	// GEMV reads one contiguous stream.
	packed   []byte
	blocks   int // blocks of impl.nr output channels
	kg       int // K groups of impl.kr
	gs       int // bytes per group
	scaleOff int
	wOff     int
	// pure-Go layout (Generic): the same data in typed slices.
	gw     []int8 // blocks of 4 channels: [k][4]
	gbias  []int32
	gscale []float32
}

// N returns the number of output channels.
func (w *Q8Weights) N() int { return w.n }

// K returns the reduction length (input channels).
func (w *Q8Weights) K() int { return w.k }

// Family returns the kernel family the weights were packed for.
func (w *Q8Weights) Family() Family { return w.impl.family }

// Bytes returns the size of the packed representation.
func (w *Q8Weights) Bytes() int {
	return len(w.packed) + len(w.gw) + 4*len(w.gbias) + 4*len(w.gscale)
}

// q8Impl is one family's int8 GEMM: its packing geometry and its drivers.
type q8Impl struct {
	family Family
	name   string
	nr, kr int
	// perm maps a slot inside a packed group to the output channel (within
	// the block) it holds; nil means identity.
	perm []int
	// flip marks kernels that add 128 to every activation (u8 x s8 dot
	// products); packing then subtracts 128*sum(w) from the bias.
	flip bool
	// kgMul rounds the number of K groups up to a multiple (kernels that
	// consume several groups per loop iteration).
	kgMul int
	// generic selects the typed pure-Go layout instead of packed blocks.
	generic bool
	gemm    func(w *Q8Weights, m int, x []int8, xs int, y []int8, ys int, o Output)
	gemmF32 func(w *Q8Weights, m int, x []int8, xs int, y []float32, ys int)
}

// PackQ8 packs int8 weights for the kernel family in use (see Use).
//
// w holds n rows of k weights, w[j*k+i] for output channel j and input i,
// each in [-127, 127]. bias (n values, or nil for zeros) is the int32 bias in
// accumulator units (scale s_x*s_w[j], zero point 0). scale holds one
// multiplier per output channel, applied to the int32 accumulator: for int8
// output s_x*s_w[j]/s_y, for float output s_x*s_w[j]; per-tensor weights pass
// n copies of one value. xZeroPoint is the activations' zero point; it is
// folded into the bias here.
func PackQ8(w []int8, n, k int, bias []int32, scale []float32, xZeroPoint int8) (*Q8Weights, error) {
	return PackQ8For(dispatch.Load().family, w, n, k, bias, scale, xZeroPoint)
}

// PackQ8For is PackQ8 for an explicit family, which the CPU must support.
func PackQ8For(f Family, w []int8, n, k int, bias []int32, scale []float32, xZeroPoint int8) (*Q8Weights, error) {
	if !f.Supported() {
		return nil, unsupportedError(f)
	}
	if err := checkQ8Args(w, n, k, bias, scale); err != nil {
		return nil, err
	}
	impl := buildTable(f).q8
	p := &Q8Weights{impl: impl, n: n, k: k}
	// bias' = bias - zx*sum(w) (- 128*sum(w) for u8 kernels), in wrapping
	// int32 arithmetic exactly as the accumulators wrap.
	fold := make([]int32, n)
	for j := 0; j < n; j++ {
		var s int32
		for _, v := range w[j*k : j*k+k] {
			s += int32(v)
		}
		var b int32
		if bias != nil {
			b = bias[j]
		}
		b -= int32(xZeroPoint) * s
		if impl.flip {
			b -= 128 * s
		}
		fold[j] = b
	}
	if impl.generic {
		packGeneric(p, w, fold, scale)
		return p, nil
	}
	nr, kr := impl.nr, impl.kr
	p.kg = (k + kr - 1) / kr
	if impl.kgMul > 1 {
		p.kg = (p.kg + impl.kgMul - 1) / impl.kgMul * impl.kgMul
	}
	p.blocks = (n + nr - 1) / nr
	npad := p.blocks * nr
	p.gs = npad * kr
	p.scaleOff = 4 * npad
	p.wOff = 8 * npad
	p.packed = alignedBytes(p.wOff+p.kg*p.gs, 64)
	for j := 0; j < n; j++ {
		binary.LittleEndian.PutUint32(p.packed[4*j:], uint32(fold[j]))
		binary.LittleEndian.PutUint32(p.packed[p.scaleOff+4*j:], math.Float32bits(scale[j]))
	}
	// Group g of block b holds, for each slot, kr consecutive k.
	for b := 0; b < p.blocks; b++ {
		for slot := 0; slot < nr; slot++ {
			c := slot
			if impl.perm != nil {
				c = impl.perm[slot]
			}
			j := b*nr + c
			if j >= n {
				continue
			}
			for i := 0; i < k; i++ {
				g, t := i/kr, i%kr
				p.packed[p.wOff+g*p.gs+(b*nr+slot)*kr+t] = byte(w[j*k+i])
			}
		}
	}
	return p, nil
}

func checkQ8Args(w []int8, n, k int, bias []int32, scale []float32) error {
	if n < 1 || n > MaxN {
		return fmt.Errorf("kernels: output channels n=%d outside [1, %d]", n, MaxN)
	}
	if k < 1 || k > MaxK {
		return fmt.Errorf("kernels: input channels k=%d outside [1, %d]", k, MaxK)
	}
	if len(w) != n*k {
		return fmt.Errorf("kernels: %d weights for a %dx%d layer (want %d)", len(w), n, k, n*k)
	}
	for i, v := range w {
		if v == -128 {
			return fmt.Errorf("kernels: weight [%d][%d] is -128; int8 weights must lie in [-127, 127]", i/k, i%k)
		}
	}
	if bias != nil && len(bias) != n {
		return fmt.Errorf("kernels: %d biases for %d output channels", len(bias), n)
	}
	if len(scale) != n {
		return fmt.Errorf("kernels: %d scales for %d output channels", len(scale), n)
	}
	for j, s := range scale {
		if !(s > 0) || math.IsInf(float64(s), 0) || s < 0x1p-126 {
			return fmt.Errorf("kernels: scale of output channel %d is %v; want a positive normal float32", j, s)
		}
	}
	return nil
}

// alignedBytes returns n zeroed bytes starting at a multiple of align.
func alignedBytes(n, align int) []byte {
	b := make([]byte, n+align)
	off := align - int(addrOf(b)%uintptr(align))
	if off == align {
		off = 0
	}
	return b[off : off+n : off+n]
}

// extent returns (rows-1)*stride + cols + extra, the number of elements a
// strided matrix spans, or ok=false when that overflows int (a hostile
// stride must not wrap around and pass a bounds check).
func extent(rows, stride, cols, extra int) (n int, ok bool) {
	if rows < 1 || stride < 0 || cols < 0 || extra < 0 {
		return 0, rows == 0
	}
	const maxInt = int(^uint(0) >> 1)
	if rows > 1 && stride > (maxInt-cols-extra)/(rows-1) {
		return 0, false
	}
	return (rows-1)*stride + cols + extra, true
}

// errShape builds the error of a GEMM call whose buffers do not fit its shape.
func errShape(what string, need, have int) error {
	return fmt.Errorf("kernels: %s holds %d elements, the shape needs %d", what, have, need)
}

func (w *Q8Weights) checkCall(m int, xcap, xs int, ylen, ys int) error {
	if w == nil || w.impl == nil {
		return errors.New("kernels: nil or unpacked Q8Weights")
	}
	if m < 0 {
		return fmt.Errorf("kernels: negative row count m=%d", m)
	}
	if xs < 0 {
		return fmt.Errorf("kernels: negative input stride %d", xs)
	}
	if ys < w.n {
		return fmt.Errorf("kernels: output stride %d is shorter than n=%d", ys, w.n)
	}
	if m == 0 {
		return nil
	}
	if need, ok := extent(m, xs, w.k, Slack); !ok || xcap < need {
		return fmt.Errorf("kernels: input capacity %d is short of (m-1)*stride+k+Slack for m=%d, stride=%d, k=%d (kernels read up to Slack=%d bytes past the last row)", xcap, m, xs, w.k, Slack)
	}
	if need, ok := extent(m, ys, w.n, 0); !ok || ylen < need {
		return fmt.Errorf("kernels: output holds %d elements, short of (m-1)*stride+n for m=%d, stride=%d, n=%d", ylen, m, ys, w.n)
	}
	return nil
}

// Gemm computes, for each of the m rows of x (row r at x[r*xs:], k values;
// rows may overlap, xs < k, as when a convolution reads its input in place),
// y[r*ys+j] = requantised(sum_i x[r][i]*w[j][i] + bias'[j]) for every output
// channel j, with the clamp and zero point of o. See Slack for the capacity
// x must have. It allocates nothing.
func (w *Q8Weights) Gemm(m int, x []int8, xs int, y []int8, ys int, o Output) error {
	if err := w.checkCall(m, cap(x), xs, len(y), ys); err != nil {
		return err
	}
	if o.Min > o.Max {
		return fmt.Errorf("kernels: output clamp [%d, %d] is empty", o.Min, o.Max)
	}
	if m == 0 {
		return nil
	}
	w.impl.gemm(w, m, x[:cap(x)], xs, y, ys, o)
	return nil
}

// GemmF32 is Gemm with a float32 output: y[r*ys+j] = float32(acc+bias'[j]) * scale[j],
// for last layers and scores.
func (w *Q8Weights) GemmF32(m int, x []int8, xs int, y []float32, ys int) error {
	if err := w.checkCall(m, cap(x), xs, len(y), ys); err != nil {
		return err
	}
	if m == 0 {
		return nil
	}
	w.impl.gemmF32(w, m, x[:cap(x)], xs, y, ys)
	return nil
}
