package model

import (
	"errors"
	"fmt"
	"math/rand/v2"

	"github.com/edgeml/edge/kernels"
)

// Session runs a model on up to Batch windows at a time. NewSession
// allocates every buffer; the calls allocate nothing. A session is not safe
// for concurrent use: give each goroutine its own (sessions of one Program
// share its packed weights).
type Session struct {
	m     *Model
	p     *plan
	batch int
	f     [][]float32 // float32 form of each buffer (nil where not needed)
	q     [][]int8    // int8 form of each buffer
	enc   []float32   // variational: the encoder's output, mean and log-variance
	colF  []float32   // im2col scratch
	colQ  []int8
	io    []stepIO
	win   int   // values per window: steps*channels
	probe Probe // set during Trace only
	// robust: ReconstructRobust's cleaned input; invScale: 1/scale per
	// channel of the normalisation (1 without one).
	robust   []float32
	outQ     []int8 // the output's int8 encoding, if the model has one
	invScale []float32
}

// Probe receives a tensor's values during Trace: name is "input" (the
// normalised input), "latent" (the decoder's input), or "encoder.<i>" /
// "decoder.<i>" for layer i, with pre=true before the layer's activation
// and pre=false after it. values hold the tensor for every window (int8
// tensors dequantised) and are only valid during the call.
type Probe func(name string, pre bool, values []float32)

// NewSession compiles m (Compile, with the kernel family in use) and
// allocates a session of the result for up to batch windows per call. The
// session runs the model as it is now; to share one compiled form among
// several sessions, Compile once and call Program.NewSession.
func (m *Model) NewSession(batch int) (*Session, error) {
	prog, err := Compile(m, CompileOptions{})
	if err != nil {
		return nil, err
	}
	return prog.NewSession(batch)
}

// SessionOf returns a session of prog if it is set (it must be compiled
// from a model of m's shape), else of m compiled afresh: how the
// applications share one compiled model among many streams.
func SessionOf(m *Model, prog *Program, batch int) (*Session, error) {
	if prog == nil {
		return m.NewSession(batch)
	}
	if pm := prog.m; pm.Steps != m.Steps || pm.Channels != m.Channels || pm.Latent() != m.Latent() || len(pm.Encoder) != len(m.Encoder) || len(pm.Decoder) != len(m.Decoder) {
		return nil, fmt.Errorf("model: a program of %d steps x %d channels (%d+%d layers) for a model of %d x %d (%d+%d)",
			pm.Steps, pm.Channels, len(pm.Encoder), len(pm.Decoder), m.Steps, m.Channels, len(m.Encoder), len(m.Decoder))
	}
	return prog.NewSession(batch)
}

// NewSession allocates a session of the program for up to batch windows
// per call.
func (prog *Program) NewSession(batch int) (*Session, error) {
	m, p := prog.m, prog.plan
	if batch < 1 || batch > 1<<16 {
		return nil, fmt.Errorf("model: session batch %d outside [1, 65536]", batch)
	}
	s := &Session{m: m, p: p, batch: batch, win: m.Steps * m.Channels}
	s.f = make([][]float32, len(p.bufs))
	s.q = make([][]int8, len(p.bufs))
	for i, g := range p.bufs {
		n := batch * g.stride()
		if g.f {
			s.f[i] = make([]float32, n)
		}
		if g.q != nil {
			s.q[i] = make([]int8, n, n+kernels.Slack)
			for j := range s.q[i] {
				s.q[i][j] = g.q.ZeroPoint // padding is real 0
			}
		}
	}
	if m.Variational {
		s.enc = make([]float32, batch*2*p.si.latent)
	}
	for _, st := range p.steps {
		if st.im2col {
			n := st.colRows * st.colK
			if st.q8 && len(s.colQ) < n {
				s.colQ = make([]int8, n, n+kernels.Slack)
			}
			if !st.q8 && len(s.colF) < n {
				s.colF = make([]float32, n)
			}
		}
	}
	for i := range p.steps {
		s.io = append(s.io, s.ioOf(i))
	}
	s.robust = make([]float32, batch*s.win)
	if m.OutputQ != nil {
		s.outQ = make([]int8, batch*s.win)
	}
	s.invScale = make([]float32, m.Channels)
	for c := range s.invScale {
		s.invScale[c] = 1
		if m.Norm.Kind == NormMeanStd || m.Norm.Kind == NormMinMax {
			s.invScale[c] = 1 / m.Norm.Scale[c]
		}
	}
	return s, nil
}

// Batch returns the most windows one call takes.
func (s *Session) Batch() int { return s.batch }

// Model returns the session's model.
func (s *Session) Model() *Model { return s.m }

func (s *Session) windows(what string, n, per int) (int, error) {
	if n == 0 || n%per != 0 {
		return 0, fmt.Errorf("model: %s holds %d values, not a whole number of %d-value windows", what, n, per)
	}
	if n/per > s.batch {
		return 0, fmt.Errorf("model: %d windows exceed the session's batch of %d", n/per, s.batch)
	}
	return n / per, nil
}

// Reconstruct encodes and decodes the windows in x (one or more windows of
// Steps*Channels values, time-major, in raw units) and writes the
// reconstructions, in raw units, to dst (same length).
func (s *Session) Reconstruct(dst, x []float32) error {
	n, err := s.windows("input", len(x), s.win)
	if err != nil {
		return err
	}
	if len(dst) != len(x) {
		return fmt.Errorf("model: reconstruction buffer holds %d values, want %d", len(dst), len(x))
	}
	s.input(x, n)
	if err := s.run(0, s.p.nEnc, n); err != nil {
		return err
	}
	s.latentToDecoder(n)
	if err := s.run(s.p.nEnc, len(s.p.steps), n); err != nil {
		return err
	}
	s.output(dst, n)
	return nil
}

// ReconstructRobust reconstructs like Reconstruct, then treats as outliers
// the values whose reconstruction error exceeds tau (in normalised units,
// so channels compare) and the values missing marks (nil: none; else one
// flag per value of x), replaces them with their reconstruction, and
// reconstructs again: passes reconstructions in all, stopping early when
// nothing changes. It returns how many values the last pass replaced.
// Outliers (impulses, stuck or imputed values) then pull the
// reconstruction of the other values far less: an M-estimator-style
// robust fit, at the cost of up to passes times the work.
func (s *Session) ReconstructRobust(dst, x []float32, missing []bool, tau float32, passes int) (int, error) {
	if err := s.Reconstruct(dst, x); err != nil {
		return 0, err
	}
	if missing != nil && len(missing) != len(x) {
		return 0, fmt.Errorf("model: %d missing flags for %d values", len(missing), len(x))
	}
	if !(tau > 0) || passes <= 1 {
		return 0, nil
	}
	in := s.robust[:len(x)]
	c := s.m.Channels
	replaced := 0
	for p := 1; p < passes; p++ {
		replaced = 0
		for i, v := range x {
			e := (v - dst[i]) * s.invScale[i%c]
			if e > tau || e < -tau || (missing != nil && missing[i]) {
				in[i] = dst[i]
				replaced++
			} else {
				in[i] = v
			}
		}
		if replaced == 0 {
			break
		}
		if err := s.Reconstruct(dst, in); err != nil {
			return 0, err
		}
	}
	return replaced, nil
}

// Encode writes the latent codes of the windows in x to dst (Latent()
// values per window; the mean for a variational model).
func (s *Session) Encode(dst, x []float32) error {
	n, err := s.windows("input", len(x), s.win)
	if err != nil {
		return err
	}
	lat := s.p.si.latent
	if len(dst) != n*lat {
		return fmt.Errorf("model: latent buffer holds %d values, want %d", len(dst), n*lat)
	}
	s.input(x, n)
	if err := s.run(0, s.p.nEnc, n); err != nil {
		return err
	}
	if s.m.Variational {
		for w := 0; w < n; w++ {
			copy(dst[w*lat:(w+1)*lat], s.enc[w*2*lat:w*2*lat+lat])
		}
		return nil
	}
	g := s.p.bufs[s.p.nEnc]
	for w := 0; w < n; w++ {
		o := w*g.stride() + g.interior()
		copy(dst[w*lat:(w+1)*lat], s.f[s.p.nEnc][o:o+lat])
	}
	return nil
}

// EncodeDistribution writes, for a variational model, the mean and the
// log-variance of each window's latent distribution.
func (s *Session) EncodeDistribution(mean, logVar, x []float32) error {
	if !s.m.Variational {
		return errors.New("model: EncodeDistribution needs a variational model")
	}
	if err := s.Encode(mean, x); err != nil {
		return err
	}
	lat := s.p.si.latent
	if len(logVar) != len(mean) {
		return fmt.Errorf("model: log-variance buffer holds %d values, want %d", len(logVar), len(mean))
	}
	for w := 0; w < len(mean)/lat; w++ {
		copy(logVar[w*lat:(w+1)*lat], s.enc[w*2*lat+lat:(w+1)*2*lat])
	}
	return nil
}

// Decode writes the windows (raw units) decoded from the latent codes z.
func (s *Session) Decode(dst, z []float32) error {
	lat := s.p.si.latent
	n, err := s.windows("latent", len(z), lat)
	if err != nil {
		return err
	}
	if len(dst) != n*s.win {
		return fmt.Errorf("model: output buffer holds %d values, want %d", len(dst), n*s.win)
	}
	g := s.p.bufs[s.p.nEnc]
	for w := 0; w < n; w++ {
		o := w*g.stride() + g.interior()
		copy(s.f[s.p.nEnc][o:o+lat], z[w*lat:(w+1)*lat])
	}
	s.quantizeBuf(s.p.nEnc, n)
	if err := s.run(s.p.nEnc, len(s.p.steps), n); err != nil {
		return err
	}
	s.output(dst, n)
	return nil
}

// Generate decodes len(dst)/(Steps*Channels) windows from latent codes
// drawn from the standard normal prior (for variational models; other
// models decode the same draws, which need not resemble data).
func (s *Session) Generate(dst []float32, rng *rand.Rand) error {
	n, err := s.windows("output", len(dst), s.win)
	if err != nil {
		return err
	}
	lat := s.p.si.latent
	g := s.p.bufs[s.p.nEnc]
	for w := 0; w < n; w++ {
		o := w*g.stride() + g.interior()
		for i := 0; i < lat; i++ {
			s.f[s.p.nEnc][o+i] = float32(rng.NormFloat64())
		}
	}
	s.quantizeBuf(s.p.nEnc, n)
	if err := s.run(s.p.nEnc, len(s.p.steps), n); err != nil {
		return err
	}
	s.output(dst, n)
	return nil
}

// Errors reconstructs the windows in x and reports the squared
// reconstruction error in normalised units, so that channels compare: per
// window the mean over all values (window, n values), and per window and
// channel the mean over steps (channel, n*Channels values). Either may be
// nil. The reconstruction is written to recon (len(x) values), which may
// be nil.
func (s *Session) Errors(x, recon, window, channel []float32) error {
	n, err := s.windows("input", len(x), s.win)
	if err != nil {
		return err
	}
	C := s.m.Channels
	if window != nil && len(window) != n {
		return fmt.Errorf("model: window error buffer holds %d values, want %d", len(window), n)
	}
	if channel != nil && len(channel) != n*C {
		return fmt.Errorf("model: channel error buffer holds %d values, want %d", len(channel), n*C)
	}
	out := s.f[len(s.f)-1][:n*s.win]
	if recon != nil {
		if len(recon) != len(x) {
			return fmt.Errorf("model: reconstruction buffer holds %d values, want %d", len(recon), len(x))
		}
		out = recon
	}
	if err := s.Reconstruct(out, x); err != nil {
		return err
	}
	inv := s.p.errScale
	for w := 0; w < n; w++ {
		xw, rw := x[w*s.win:(w+1)*s.win], out[w*s.win:(w+1)*s.win]
		var total float64
		if channel != nil {
			clear(channel[w*C : (w+1)*C])
		}
		for i := range xw {
			d := float64(xw[i]-rw[i]) * float64(inv[i%C])
			total += d * d
			if channel != nil {
				channel[w*C+i%C] += float32(d * d)
			}
		}
		if window != nil {
			window[w] = float32(total / float64(s.win))
		}
		if channel != nil {
			for c := 0; c < C; c++ {
				channel[w*C+c] /= float32(s.m.Steps)
			}
		}
	}
	return nil
}

// Trace reconstructs the windows in x like Reconstruct (the output goes to
// dst) and calls probe for every tensor on the way. It is for calibration
// and reports, and allocates.
func (s *Session) Trace(dst, x []float32, probe Probe) error {
	s.probe = probe
	defer func() { s.probe = nil }()
	n, err := s.windows("input", len(x), s.win)
	if err != nil {
		return err
	}
	s.input(x, n)
	s.emit("input", false, 0, n, nil)
	if err := s.Reconstruct(dst, x); err != nil {
		return err
	}
	return nil
}

// emit gathers buffer i's data for n windows (from its float form, or its
// int8 form dequantised with q) and hands it to the probe.
func (s *Session) emit(name string, pre bool, i, n int, q *QParams) {
	if s.probe == nil {
		return
	}
	g := s.p.bufs[i]
	size := g.t * g.c
	out := make([]float32, 0, n*size)
	for w := 0; w < n; w++ {
		o := w*g.stride() + g.interior()
		if q == nil && s.f[i] != nil && !(g.q != nil && s.qFresh(i)) {
			out = append(out, s.f[i][o:o+size]...)
			continue
		}
		p := q
		if p == nil {
			p = g.q
		}
		for _, v := range s.q[i][o : o+size] {
			out = append(out, p.Scale*float32(int32(v)-int32(p.ZeroPoint)))
		}
	}
	s.probe(name, pre, out)
}

// qFresh reports whether buffer i was last written in int8 (by an int8 step
// or the input quantisation).
func (s *Session) qFresh(i int) bool {
	if i == 0 {
		return s.p.inPrec
	}
	return s.p.steps[i-1].outQ8
}

// layerName names step i's layer as the model's tensors do.
func (s *Session) layerName(i int) string {
	l := s.p.steps[i].l
	for j := range s.m.Encoder {
		if &s.m.Encoder[j] == l {
			return fmt.Sprintf("encoder.%d", j)
		}
	}
	for j := range s.m.Decoder {
		if &s.m.Decoder[j] == l {
			return fmt.Sprintf("decoder.%d", j)
		}
	}
	return "?"
}

// input normalises (and, for an int8 first step, quantises) n windows into
// buffer 0.
func (s *Session) input(x []float32, n int) {
	p, g := s.p, s.p.bufs[0]
	for w := 0; w < n; w++ {
		xw := x[w*s.win : (w+1)*s.win]
		o := w*g.stride() + g.interior()
		if p.inPrec {
			kernels.QuantizeAffine(s.q[0][o:o+s.win], xw, p.normMul, p.normAdd, p.inQ.ZeroPoint)
		} else {
			kernels.FMAV(s.f[0][o:o+s.win], xw, p.normMul, p.normAdd)
		}
	}
}

// latentToDecoder moves the encoder's output to the decoder's input: the
// mean of a variational model, then int8 if the decoder starts in int8.
func (s *Session) latentToDecoder(n int) {
	if s.m.Variational {
		lat := s.p.si.latent
		g := s.p.bufs[s.p.nEnc]
		for w := 0; w < n; w++ {
			o := w*g.stride() + g.interior()
			copy(s.f[s.p.nEnc][o:o+lat], s.enc[w*2*lat:w*2*lat+lat])
		}
	}
	s.quantizeBuf(s.p.nEnc, n)
}

// quantizeBuf fills buffer i's int8 form from its float form, if it has
// both: n whole windows, padding included (0 becomes the zero point).
func (s *Session) quantizeBuf(i, n int) {
	if s.q[i] == nil || s.f[i] == nil {
		return
	}
	g := s.p.bufs[i]
	m := n * g.stride()
	kernels.Quantize(s.q[i][:m], s.f[i][:m], g.q.Scale, g.q.ZeroPoint)
}

// output maps the final float buffer back to raw units.
func (s *Session) output(dst []float32, n int) {
	last := s.f[len(s.f)-1]
	if q := s.m.OutputQ; q != nil {
		// Round to the int8 grid, as an int8 output tensor does.
		k := n * s.win
		kernels.Quantize(s.outQ[:k], last[:k], q.Scale, q.ZeroPoint)
		kernels.Dequantize(last[:k], s.outQ[:k], q.Scale, q.ZeroPoint)
	}
	for w := 0; w < n; w++ {
		kernels.FMAV(dst[w*s.win:(w+1)*s.win], last[w*s.win:(w+1)*s.win], s.p.denormMul, s.p.denormAdd)
	}
}

// run executes steps [from, to) on n windows.
func (s *Session) run(from, to, n int) error {
	for i := from; i < to; i++ {
		if err := s.step(i, n); err != nil {
			return err
		}
	}
	return nil
}

// stepIO is a step's view of the session's buffers, fixed when the
// session is created so that running a step re-derives nothing.
type stepIO struct {
	inF, outF          []float32
	inQ, outQ          []int8
	inStride           int // elements per input window
	outStride, outBase int // elements per output window, offset of its data
	vae                bool
}

func (s *Session) ioOf(i int) stepIO {
	p := s.p
	gin, gout := p.bufs[i], p.bufs[i+1]
	io := stepIO{inF: s.f[i], inQ: s.q[i], outF: s.f[i+1], outQ: s.q[i+1],
		inStride: gin.stride(), outStride: gout.stride(), outBase: gout.interior()}
	if i == p.nEnc-1 && s.m.Variational {
		io.outF, io.outQ, io.outStride, io.outBase, io.vae = s.enc, nil, p.steps[i].out.c, 0, true
	}
	return io
}

func (s *Session) step(i, n int) error {
	st := s.p.steps[i]
	io := &s.io[i]
	var err error
	if st.l.Kind == Dense {
		err = s.gemm(st, 0, n, io, 0, io.inStride, io.outBase, io.outStride, nil, nil)
	} else {
		for w := 0; w < n && err == nil; w++ {
			xw, yw := w*io.inStride, w*io.outStride+io.outBase
			var colF []float32
			var colQ []int8
			if st.im2col {
				colF, colQ = s.gather(i, xw)
			}
			for _, c := range st.calls {
				if err = s.gemm(st, c.phase, c.rows, io, xw+c.xOff, c.xs, yw+c.yOff, c.ys, colF, colQ); err != nil {
					break
				}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("model: layer %s: %w", st.l.describe(), err)
	}
	if s.probe != nil {
		s.probeStep(i, n, true)
	}
	// Activations the GEMM's clamp did not apply, over each window's data.
	if st.lut != nil || (!st.outQ8 && st.actFloat != Identity && st.actFloat != "") {
		size := st.out.size()
		for w := 0; w < n; w++ {
			o := w*io.outStride + io.outBase
			if st.outQ8 {
				kernels.LUT(io.outQ[o:o+size], io.outQ[o:o+size], st.lut)
			} else {
				applyFloat(st.actFloat, st.l.Alpha, io.outF[o:o+size])
			}
		}
	}
	if !st.outQ8 && !io.vae && i+1 != s.p.nEnc && io.outQ != nil {
		s.quantizeBuf(i+1, n)
	}
	if s.probe != nil {
		s.probeStep(i, n, false)
	}
	return nil
}

// gemm runs one GEMM call of a step in the step's precision.
func (s *Session) gemm(st *step, phase, rows int, io *stepIO, x0, xs, y0, ys int, colF []float32, colQ []int8) error {
	ph := &st.phases[phase]
	switch {
	case !st.q8:
		xf := io.inF[x0:]
		if colF != nil {
			xf = colF
		}
		return ph.f.Gemm(rows, xf, xs, io.outF[y0:], ys, st.l.B)
	case colQ != nil && st.outQ8:
		return ph.q.Gemm(rows, colQ, xs, io.outQ[y0:], ys, st.qOut)
	case colQ != nil:
		return ph.q.GemmF32(rows, colQ, xs, io.outF[y0:], ys)
	case st.outQ8:
		return ph.q.Gemm(rows, io.inQ[x0:], xs, io.outQ[y0:], ys, st.qOut)
	default:
		return ph.q.GemmF32(rows, io.inQ[x0:], xs, io.outF[y0:], ys)
	}
}

// probeStep reports step i's output to the probe, before (pre) or after
// its activation.
func (s *Session) probeStep(i, n int, pre bool) {
	st, p := s.p.steps[i], s.p
	name := s.layerName(i)
	if s.io[i].vae {
		if !pre {
			s.probe(name, false, append([]float32(nil), s.enc[:n*st.out.c]...))
		}
	} else if pre {
		switch {
		case st.outQ8 && st.lut != nil: // int8 at the pre-activation encoding
			s.emit(name, true, i+1, n, st.l.PreQ)
		case !st.outQ8: // float, before the activation
			s.emit(name, true, i+1, n, nil)
		}
	} else {
		s.emit(name, false, i+1, n, nil)
	}
	if !pre && i == p.nEnc-1 {
		s.latentToDecoder(n)
		s.emit("latent", false, p.nEnc, n, nil)
	}
}

// gather copies the rows of a dilated convolution (step i, input window at
// x0) into the im2col scratch.
func (s *Session) gather(i int, x0 int) ([]float32, []int8) {
	st, g := s.p.steps[i], s.p.bufs[i]
	l, c := st.l, g.c
	for t := 0; t < st.colRows; t++ {
		for k := 0; k < l.Kernel; k++ {
			src := x0 + (t*l.Stride+k*l.Dilation-l.Padding+g.padL)*c
			dst := (t*l.Kernel + k) * c
			if st.q8 {
				copy(s.colQ[dst:dst+c], s.q[i][src:src+c])
			} else {
				copy(s.colF[dst:dst+c], s.f[i][src:src+c])
			}
		}
	}
	if st.q8 {
		return nil, s.colQ
	}
	return s.colF, nil
}

// applyFloat applies a float activation in place.
func applyFloat(a Activation, alpha float32, v []float32) {
	switch a {
	case Identity, "":
	case ReLU:
		kernels.ReLU32(v, v)
	default:
		for i, x := range v {
			v[i] = activate(a, alpha, x)
		}
	}
}
