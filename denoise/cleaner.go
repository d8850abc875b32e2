package denoise

import (
	"github.com/edgeml/edge/stream"
)

// cleaner runs a Predictor over a stream, row by row: each row is
// despiked once the Span rows after it have arrived (Causal: at once) and
// estimated once the Reach rows after that have been despiked (Causal: at
// once). Rows ring through fixed buffers, so a pushed row allocates
// nothing. Its output equals Predictor.Clean on each segment.
type cleaner struct {
	p              *Predictor
	c, cap         int
	shift, scale   []float32 // the model's normalisation
	raw, clean     []float32 // rings of cap rows, normalised
	miss, bad      []bool
	buf, f         []float32
	despiked, sent int64 // the next row to despike, to emit
	out            []float32
	send           func(s *stream.Stream, r int64, values []float32) error
	atRaw, atClean func(t, ch int) float32
	skipRaw        func(t, ch int) bool
}

func newCleaner(p *Predictor, c int, shift, scale []float32, send func(*stream.Stream, int64, []float32) error) *cleaner {
	cp := 2*(p.Reach()+p.Span) + 4
	k := &cleaner{p: p, c: c, cap: cp, shift: shift, scale: scale,
		raw: make([]float32, cp*c), clean: make([]float32, cp*c), miss: make([]bool, cp*c), bad: make([]bool, cp*c),
		buf: make([]float32, 0, 2*p.Span+1), f: make([]float32, p.scratch()), out: make([]float32, c), send: send}
	k.atRaw = func(t, ch int) float32 { return k.raw[(t%k.cap)*k.c+ch] }
	k.atClean = func(t, ch int) float32 { return k.clean[(t%k.cap)*k.c+ch] }
	k.skipRaw = func(t, ch int) bool { return k.miss[(t%k.cap)*k.c+ch] }
	return k
}

// latency returns how many rows after its arrival a row is emitted.
func (k *cleaner) latency() int {
	if k.p.Causal {
		return 0
	}
	return k.p.Span + k.p.Reach()
}

// push takes row n of the segment (raw units, missing flagged) and emits
// what is ready.
func (k *cleaner) push(s *stream.Stream, n int64, x []float32, miss []bool) error {
	slot := int(n%int64(k.cap)) * k.c
	for ch, v := range x {
		k.raw[slot+ch] = (v - k.shift[ch]) / k.scale[ch]
		k.miss[slot+ch] = miss[ch]
	}
	rows := int(n + 1)
	lag := int64(0)
	if !k.p.Causal {
		lag = int64(k.p.Span)
	}
	for ; k.despiked <= n-lag; k.despiked++ {
		k.despike(k.despiked, rows)
	}
	reach := int64(0)
	if !k.p.Causal {
		reach = int64(k.p.Reach())
	}
	for ; k.sent < k.despiked-reach; k.sent++ {
		if err := k.emit(s, k.sent, rows); err != nil {
			return err
		}
	}
	return nil
}

// despike fixes row t's despiked values, n rows being known.
func (k *cleaner) despike(t int64, n int) {
	slot := int(t%int64(k.cap)) * k.c
	for ch := 0; ch < k.c; ch++ {
		med := k.p.runMedian(k.buf, k.atRaw, k.skipRaw, n, int(t), ch)
		v := k.raw[slot+ch]
		if k.miss[slot+ch] || k.p.spike(v, med, ch) {
			k.clean[slot+ch], k.bad[slot+ch] = med, true
			continue
		}
		k.clean[slot+ch], k.bad[slot+ch] = v, false
	}
}

// emit estimates and sends row t, n rows being known.
func (k *cleaner) emit(s *stream.Stream, t int64, n int) error {
	slot := int(t%int64(k.cap)) * k.c
	for ch := 0; ch < k.c; ch++ {
		v := k.p.estimate(k.f, k.atClean, k.bad[slot+ch], n, int(t), ch)
		k.out[ch] = float32(v*k.scale[ch]) + k.shift[ch]
	}
	return k.send(s, t, k.out)
}

// finish despikes and emits the segment's remaining rows (n in all), then
// resets for the next segment.
func (k *cleaner) finish(s *stream.Stream, n int64) error {
	for ; k.despiked < n; k.despiked++ {
		k.despike(k.despiked, int(n))
	}
	for ; k.sent < n; k.sent++ {
		if err := k.emit(s, k.sent, int(n)); err != nil {
			return err
		}
	}
	k.despiked, k.sent = 0, 0
	return nil
}
