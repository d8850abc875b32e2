package model

import (
	"fmt"
	"math"

	"github.com/edgeml/edge/kernels"
)

// A plan is a model compiled for the running CPU: each layer with
// parameters becomes a step whose GEMM calls read the step's input buffer
// (padded in time as the step needs) and write the next step's buffer.
// Reshape layers vanish: tensors are time-major, so a reshape moves nothing.
//
// Convolution as GEMM, per window:
//   - Conv1D, dilation 1: output step t reads input steps t*s-p .. t*s-p+K-1,
//     which are contiguous: the GEMM reads the padded input in place, row
//     stride s*C, reduction length K*C (no im2col copy).
//   - Conv1D, dilation > 1: rows are gathered into a scratch buffer (im2col).
//   - ConvTranspose1D (stride s): outputs fall into s phases; in phase f,
//     output t = j*s+f sums taps k = r, r+s, ... (r = (f+p) mod s) over input
//     steps q-m, q = j + (f+p)/s: again a contiguous window of input steps,
//     with the taps in reverse order. Each phase is one GEMM whose output
//     rows are s steps apart, so outputs land in place: no scatter-add, and
//     int8 outputs are requantised once each.
type plan struct {
	si    *shapeInfo
	steps []*step
	nEnc  int // encoder steps: steps[:nEnc]
	bufs  []bufGeom
	// expanded per-element normalisation over one window (len steps*channels):
	normMul, normAdd     []float32 // x' = x*normMul + normAdd (int8: also /s + ...)
	denormMul, denormAdd []float32 // y = y'*denormMul + denormAdd
	errScale             []float32 // per channel: 1/normalisation scale
	quantized            bool
	inQ, latQ            QParams
	inPrec               bool // first step runs int8
}

// bufGeom is the layout of one activation buffer: per window, padL zero
// steps, t steps of data, padR zero steps, each c wide.
type bufGeom struct {
	t, c       int
	padL, padR int
	q          *QParams // int8 form needed (its quantisation)
	f          bool     // float32 form needed
}

func (g bufGeom) stride() int   { return (g.padL + g.t + g.padR) * g.c }
func (g bufGeom) interior() int { return g.padL * g.c }

// gemmCall is one GEMM of a step, per window (dense steps run all windows
// in one call instead).
type gemmCall struct {
	phase    int
	rows     int
	xOff, xs int // in the input window: offset of the first row, row stride
	yOff, ys int // in the output window's interior
}

type phase struct {
	k int
	f *kernels.F32Weights
	q *kernels.Q8Weights
}

type step struct {
	l        *Layer
	in, out  shape
	padL     int // padding this step needs around its input
	padR     int
	calls    []gemmCall
	phases   []phase
	im2col   bool
	colRows  int // im2col: rows and row length
	colK     int
	q8       bool // runs in int8
	outQ8    bool // writes int8 (else float)
	qOut     kernels.Output
	lut      *kernels.Table // int8 activation by table (pre -> out)
	actFloat Activation     // activation applied in float (float output)
}

// compile lays out m's plan and packs its weights for family f.
func compile(m *Model, f kernels.Family) (*plan, error) {
	p, err := layout(m)
	if err != nil {
		return nil, err
	}
	if err := p.pack(m, f); err != nil {
		return nil, err
	}
	p.normalisation(m)
	return p, nil
}

// checkCompiles checks what only compiling would otherwise find, the int8
// layers' requantisation scales, without packing any weights.
func checkCompiles(m *Model) error {
	p, err := layout(m)
	if err != nil {
		return err
	}
	for i, s := range p.steps {
		if s.q8 {
			if _, _, err := p.requant(i); err != nil {
				return err
			}
		}
	}
	return nil
}

// layout lays out m's plan: its steps, their precision and buffers.
func layout(m *Model) (*plan, error) {
	si, err := m.shapes()
	if err != nil {
		return nil, err
	}
	p := &plan{si: si, quantized: m.Quantized()}
	add := func(l *Layer, in shape) {
		if l.Kind != Reshape {
			p.steps = append(p.steps, &step{l: l, in: in})
		}
	}
	for i := range m.Encoder {
		add(&m.Encoder[i], si.enc[i])
	}
	p.nEnc = len(p.steps)
	for i := range m.Decoder {
		add(&m.Decoder[i], si.dec[i])
	}
	for _, s := range p.steps {
		s.geometry()
	}
	if p.quantized {
		p.inQ, p.latQ = *m.InputQ, *m.LatentQ
	}
	// Precision: an int8 model runs int8 layers (QW set) in int8. A step
	// writes int8 when it and its consumer run int8 and it does not end the
	// encoder (the latent is float) or the decoder (the output is float).
	for i, s := range p.steps {
		s.q8 = s.l.QW != nil
		last := i == p.nEnc-1 || i == len(p.steps)-1
		s.outQ8 = s.q8 && !last && p.steps[i+1].l.QW != nil
	}
	// Buffers: bufs[i] is step i's input; bufs[len] the final output.
	n := len(p.steps)
	p.bufs = make([]bufGeom, n+1)
	for i, s := range p.steps {
		g := &p.bufs[i]
		g.t, g.c, g.padL, g.padR = s.in.t, s.in.c, s.padL, s.padR
		if s.q8 {
			g.q = p.inputQ(m, i)
		} else {
			g.f = true
		}
		if i > 0 && !p.steps[i-1].outQ8 {
			g.f = true // the producer writes float (quantised afterwards if needed)
		}
	}
	p.bufs[p.nEnc].f = true // the latent is always float
	last := p.steps[n-1]
	p.bufs[n] = bufGeom{t: last.out.t, c: last.out.c, f: true}
	p.inPrec = p.steps[0].q8
	return p, nil
}

// inputQ returns the quantisation of step i's input tensor.
func (p *plan) inputQ(m *Model, i int) *QParams {
	switch i {
	case 0:
		return m.InputQ
	case p.nEnc:
		return m.LatentQ
	}
	return p.steps[i-1].l.OutQ
}

// geometry fills the step's output shape, padding and GEMM calls.
func (s *step) geometry() {
	l, in := s.l, s.in
	switch l.Kind {
	case Dense:
		s.out = shape{1, l.Out}
		s.phases = []phase{{k: l.In}}
		s.calls = []gemmCall{{rows: 1, xs: l.In, ys: l.Out}} // rows = windows, set at run time
	case Conv1D:
		t := (in.t+2*l.Padding-l.Dilation*(l.Kernel-1)-1)/l.Stride + 1
		s.out = shape{t, l.Out}
		s.padL = l.Padding
		s.padR = max(0, (t-1)*l.Stride+(l.Kernel-1)*l.Dilation-l.Padding-(in.t-1))
		s.phases = []phase{{k: l.Kernel * l.In}}
		if l.Dilation == 1 {
			s.calls = []gemmCall{{rows: t, xOff: (s.padL - l.Padding) * in.c, xs: l.Stride * in.c, ys: l.Out}}
		} else {
			s.im2col, s.colRows, s.colK = true, t, l.Kernel*l.In
			s.calls = []gemmCall{{rows: t, xs: l.Kernel * l.In, ys: l.Out}}
		}
	case ConvTranspose1D:
		st, pd := l.Stride, l.Padding
		t := (in.t-1)*st - 2*pd + (l.Kernel - 1) + l.OutputPadding + 1
		s.out = shape{t, l.Out}
		lo, hi := 0, in.t-1 // input steps read, over all phases
		for f := 0; f < st && f < t; f++ {
			r := (f + pd) % st
			taps := (l.Kernel - r + st - 1) / st
			base := (f + pd) / st
			rows := (t - f + st - 1) / st
			lo = min(lo, base-taps+1)
			hi = max(hi, rows-1+base)
			s.phases = append(s.phases, phase{k: taps * l.In})
			s.calls = append(s.calls, gemmCall{phase: f, rows: rows, xOff: (base - taps + 1) * in.c, xs: in.c, yOff: f * l.Out, ys: st * l.Out})
		}
		s.padL, s.padR = -lo, hi-(in.t-1)
		for i := range s.calls {
			s.calls[i].xOff += s.padL * in.c
		}
	}
}

// phaseWeights returns the GEMM weights ([Out][k]) of phase f of a layer,
// built from w (float32 or int8, layout [Out][Kernel][In]).
func phaseWeights[T float32 | int8](l *Layer, f int, w []T) []T {
	if l.Kind != ConvTranspose1D {
		return w
	}
	st, pd := l.Stride, l.Padding
	r := (f + pd) % st
	taps := (l.Kernel - r + st - 1) / st
	out := make([]T, l.Out*taps*l.In)
	for o := 0; o < l.Out; o++ {
		for i := 0; i < taps; i++ {
			k := r + (taps-1-i)*st // patch position i holds the tap of the i-th input step
			copy(out[(o*taps+i)*l.In:(o*taps+i+1)*l.In], w[(o*l.Kernel+k)*l.In:(o*l.Kernel+k+1)*l.In])
		}
	}
	return out
}

// pack packs every phase's weights for the running CPU, in the precision
// the step runs in, with the requantisation the step's output needs.
// requant returns int8 step i's output target (the tensor its
// accumulator is requantised to: the output, or the pre-activation for an
// activation by table) and its per-channel requantisation scales (for a
// float output, the accumulator's dequantisation scales).
func (p *plan) requant(i int) (*QParams, []float32, error) {
	s := p.steps[i]
	l, sx := s.l, p.bufs[i].q
	target := l.OutQ
	if a := l.Act.orIdentity(); s.outQ8 && a != Identity && a != ReLU {
		target = l.PreQ // the table maps pre-activation to output
	}
	if s.outQ8 && target == nil {
		return nil, nil, fmt.Errorf("model: layer %s: quantisation of its output is missing", l.describe())
	}
	scale := make([]float32, l.Out)
	for j := range scale {
		// float output: dequantised accumulator; int8: requantised to target.
		v := float64(sx.Scale) * float64(l.QScale[j])
		if s.outQ8 {
			v /= float64(target.Scale)
		}
		scale[j] = float32(v)
		if !(scale[j] >= 0x1p-126) || math.IsInf(float64(scale[j]), 0) {
			return nil, nil, fmt.Errorf("model: layer %s: requantisation scale %g of channel %d out of range", l.describe(), v, j)
		}
	}
	return target, scale, nil
}

func (p *plan) pack(m *Model, family kernels.Family) error {
	for i, s := range p.steps {
		l := s.l
		act := l.Act.orIdentity()
		for f := range s.phases {
			ph := &s.phases[f]
			var err error
			if !s.q8 {
				ph.f, err = kernels.PackF32For(family, phaseWeights(l, f, l.W), l.Out, ph.k)
				s.actFloat = act
			} else {
				sx := p.bufs[i].q
				target, scale, rerr := p.requant(i)
				if rerr != nil {
					return rerr
				}
				ph.q, err = kernels.PackQ8For(family, phaseWeights(l, f, l.QW), l.Out, ph.k, l.QB, scale, sx.ZeroPoint)
				if s.outQ8 {
					s.qOut = kernels.Linear(target.ZeroPoint)
					switch act {
					case ReLU:
						s.qOut = kernels.ReLU(target.ZeroPoint)
					case Identity:
					default:
						s.lut = activationLUT(act, l.Alpha, *target, *l.OutQ)
					}
				} else {
					s.actFloat = act
				}
			}
			if err != nil {
				return fmt.Errorf("model: layer %s: %w", l.describe(), err)
			}
		}
	}
	return nil
}

// activationLUT tabulates an activation from the pre-activation encoding
// to the output encoding.
func activationLUT(a Activation, alpha float32, pre, out QParams) *kernels.Table {
	return kernels.NewLUT(func(x float64) float64 { return float64(activate(a, alpha, float32(x))) }, pre.Scale, pre.ZeroPoint, out.Scale, out.ZeroPoint)
}

// activate is the float32 definition of every activation.
func activate(a Activation, alpha float32, x float32) float32 {
	switch a {
	case ReLU:
		if x < 0 {
			return 0
		}
	case LeakyReLU:
		if x < 0 {
			return float32(alpha * x)
		}
	case Tanh:
		return float32(math.Tanh(float64(x)))
	case Sigmoid:
		return float32(1 / (1 + math.Exp(-float64(x))))
	}
	return x
}

// normalisation expands the per-channel normalisation over a window, and
// folds the input quantisation into it when the first step runs int8.
func (p *plan) normalisation(m *Model) {
	n := m.Steps * m.Channels
	p.normMul, p.normAdd = make([]float32, n), make([]float32, n)
	p.denormMul, p.denormAdd = make([]float32, n), make([]float32, n)
	p.errScale = make([]float32, m.Channels)
	for i := 0; i < n; i++ {
		c := i % m.Channels
		shift, scale := 0.0, 1.0
		if m.Norm.Kind == NormMeanStd || m.Norm.Kind == NormMinMax {
			shift, scale = float64(m.Norm.Shift[c]), float64(m.Norm.Scale[c])
		}
		q := 1.0
		if p.inPrec {
			q = float64(p.inQ.Scale)
		}
		p.normMul[i] = float32(1 / (scale * q))
		p.normAdd[i] = float32(-shift / (scale * q))
		p.denormMul[i] = float32(scale)
		p.denormAdd[i] = float32(shift)
		p.errScale[c] = float32(1 / scale)
	}
}
