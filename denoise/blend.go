package denoise

import "github.com/edgeml/edge/stream"

// Blend cleans the normalised series x (c channels, missing values
// flagged in miss, may be nil) with, per channel, w·p's value +
// (1−w)·f's, f running over the series p despiked (impulses and missing
// values replaced), in p's mode: MethodBlend on a whole series, the same
// bits as the stream where the model does not normalise.
func Blend(dst, x []float32, miss []bool, c int, p *Predictor, f Filter, w []float32) {
	pred, filt := make([]float32, len(x)), make([]float32, len(x))
	p.Clean(pred, x, miss, c)
	despiked, _ := p.despike(x, missOrNone(miss, len(x)), c, false)
	f.Apply(filt, despiked, c, p.Causal)
	for t := 0; t < len(x)/c; t++ {
		blendRow(dst[t*c:(t+1)*c], pred[t*c:(t+1)*c], filt[t*c:(t+1)*c], w)
	}
}

// blender runs a predictor over a stream and a classical filter over the
// predictor's despiked rows, side by side, and emits, per channel,
// w·predictor + (1−w)·filter (raw units) once both have a row: the same
// bits as Blend on each segment where the model does not normalise.
type blender struct {
	k            *cleaner
	f            *filterer
	w            []float32
	c, cap       int
	shift, scale []float32
	pred, filt   []float32 // rings of cap rows, raw units
	np, nf       int64     // rows each has produced
	sent         int64
	out          []float32
	send         func(s *stream.Stream, r int64, values []float32) error
}

func newBlender(p *Predictor, spec FilterSpec, w []float32, causal bool, c int, shift, scale []float32, send func(*stream.Stream, int64, []float32) error) *blender {
	b := &blender{w: w, c: c, shift: shift, scale: scale, out: make([]float32, c), send: send}
	b.k = newCleaner(p, c, shift, scale, func(s *stream.Stream, r int64, v []float32) error {
		copy(b.pred[int(r%int64(b.cap))*b.c:], v)
		b.np = r + 1
		return nil
	})
	b.f = newFilterer(spec, causal, c, func(s *stream.Stream, r int64, v []float32) error {
		slot := int(r%int64(b.cap)) * b.c
		for ch, x := range v {
			b.filt[slot+ch] = float32(x*b.scale[ch]) + b.shift[ch]
		}
		b.nf = r + 1
		return nil
	})
	b.k.onDespiked = b.f.push
	b.cap = b.latency() + 2
	b.pred, b.filt = make([]float32, b.cap*c), make([]float32, b.cap*c)
	return b
}

// latency returns how many rows after its arrival a row is emitted: the
// filter starts on a row once it is despiked (centred: Span rows later).
func (b *blender) latency() int {
	if b.k.p.Causal {
		return 0
	}
	return b.k.p.Span + max(b.k.p.Reach(), b.f.latency())
}

func (b *blender) push(s *stream.Stream, n int64, x []float32, miss []bool) error {
	if err := b.k.push(s, n, x, miss); err != nil {
		return err
	}
	return b.emit(s)
}

// emit sends the rows both have produced.
func (b *blender) emit(s *stream.Stream) error {
	for ; b.sent < min(b.np, b.nf); b.sent++ {
		slot := int(b.sent%int64(b.cap)) * b.c
		blendRow(b.out, b.pred[slot:slot+b.c], b.filt[slot:slot+b.c], b.w)
		if err := b.send(s, b.sent, b.out); err != nil {
			return err
		}
	}
	return nil
}

func (b *blender) finish(s *stream.Stream, n int64) error {
	if err := b.k.finish(s, n); err != nil {
		return err
	}
	if err := b.f.finish(s, n); err != nil {
		return err
	}
	err := b.emit(s)
	b.np, b.nf, b.sent = 0, 0, 0
	return err
}

// blendRow sets dst[ch] = w[ch]·p[ch] + (1−w[ch])·f[ch], each product
// rounded to float32 before the sum, so that no platform fuses them.
func blendRow(dst, p, f, w []float32) {
	for ch := range dst {
		dst[ch] = float32(w[ch]*p[ch]) + float32((1-w[ch])*f[ch])
	}
}
