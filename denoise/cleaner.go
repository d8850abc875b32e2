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
	// onDespiked, if set, is called with each row once it is despiked
	// (its normalised values).
	onDespiked func(s *stream.Stream, t int64, clean []float32) error
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
		if err := k.despike(s, k.despiked, rows); err != nil {
			return err
		}
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
func (k *cleaner) despike(s *stream.Stream, t int64, n int) error {
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
	if k.onDespiked != nil {
		return k.onDespiked(s, t, k.clean[slot:slot+k.c])
	}
	return nil
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
		if err := k.despike(s, k.despiked, int(n)); err != nil {
			return err
		}
	}
	for ; k.sent < n; k.sent++ {
		if err := k.emit(s, k.sent, int(n)); err != nil {
			return err
		}
	}
	k.despiked, k.sent = 0, 0
	return nil
}

// filterer runs a windowed classical filter over a stream, row by row,
// with the same values as its whole-series Apply.
type filterer struct {
	w      *windowed
	causal bool
	c, cap int
	raw    []float32 // ring of cap rows
	sent   int64
	out    []float32
	send   func(s *stream.Stream, r int64, values []float32) error
	at     func(t, ch int) float32
}

func newFilterer(spec FilterSpec, causal bool, c int, send func(*stream.Stream, int64, []float32) error) *filterer {
	f := &filterer{w: newWindowed(spec), causal: causal, c: c, cap: spec.W + 2, out: make([]float32, c), send: send}
	f.raw = make([]float32, f.cap*c)
	f.at = func(t, ch int) float32 { return f.raw[(t%f.cap)*f.c+ch] }
	return f
}

// latency returns how many rows after its arrival a row is emitted.
func (f *filterer) latency() int {
	if f.causal {
		return 0
	}
	return f.w.spec.W - f.w.spec.W/2 - 1
}

func (f *filterer) push(s *stream.Stream, n int64, x []float32) error {
	copy(f.raw[int(n%int64(f.cap))*f.c:], x)
	for ; f.sent+int64(f.latency()) <= n; f.sent++ {
		if err := f.emit(s, f.sent, int(n+1)); err != nil {
			return err
		}
	}
	return nil
}

func (f *filterer) emit(s *stream.Stream, t int64, n int) error {
	for ch := 0; ch < f.c; ch++ {
		f.out[ch] = f.w.value(f.at, n, int(t), ch, f.causal)
	}
	return f.send(s, t, f.out)
}

func (f *filterer) finish(s *stream.Stream, n int64) error {
	for ; f.sent < n; f.sent++ {
		if err := f.emit(s, f.sent, int(n)); err != nil {
			return err
		}
	}
	f.sent = 0
	return nil
}
