// Package denoise cleans sensor streams with an autoencoder: it
// reconstructs overlapping windows and blends the reconstructions into one
// cleaned sample per input sample, in order.
//
// Two modes trade latency for quality:
//
//   - Centred: every sample is the taper-weighted average of all the
//     windows that cover it (overlap-add with a Hann-like taper, so each
//     window's uncertain edges count least). A sample is final once no
//     later window covers it: Steps-Hop samples after it arrives.
//   - Causal: every window contributes its newest Hop samples, which no
//     earlier window covered. A sample waits at most Hop-1 samples (after
//     the first window, which needs Steps samples).
//
// Each window is reconstructed robustly (model.Session.ReconstructRobust):
// values far from the first reconstruction (impulses, glitches) and
// imputed values are replaced by it and the window is reconstructed
// again, so one bad value does not smear over its window. Imputed input
// values come out as the model's reconstruction. A segment shorter than
// one window passes through unchanged, flagged.
package denoise

import (
	"fmt"
	"math"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// Mode selects how windows are blended.
type Mode int

// The modes.
const (
	Centred Mode = iota
	Causal
)

func (m Mode) String() string {
	if m == Causal {
		return "causal"
	}
	return "centred"
}

// ParseMode parses "centred" (or "centered") and "causal".
func ParseMode(s string) (Mode, error) {
	switch s {
	case "centred", "centered", "center", "centre":
		return Centred, nil
	case "causal":
		return Causal, nil
	}
	return 0, fmt.Errorf("denoise: unknown mode %q (centred or causal)", s)
}

// Sample is one cleaned sample. Its slices are reused: copy to keep.
type Sample struct {
	Segment, Index int64 // position in the stream's segment
	Time           float64
	HasTime        bool
	Line           int
	Input          []float32 // the input after imputation
	Missing        []bool    // which inputs were imputed
	Values         []float32 // cleaned
	// Passthrough: the segment was shorter than one window, so Values
	// are the input.
	Passthrough bool
}

// Config configures a Denoiser.
type Config struct {
	Mode Mode
	// Stream: window and hop (Steps and Channels come from the model),
	// and the data policy. A zero Hop takes the model's training hop.
	Stream stream.Config
	// Settings override the model's stored ones where set (see Load).
	Settings Settings
	// Program, if set, is the model compiled once for many streams (edge
	// run's devices): the denoiser's session comes from it (see
	// model.SessionOf). Nil: the model is compiled for this denoiser.
	Program *model.Program
}

// AppName is the name of the denoiser's Section in a model file.
const AppName = "denoise"

// The methods a model's denoiser can use.
const (
	// MethodPredictor: the blind-spot predictors learned from the data
	// (see Predictor), the default where the model has them.
	MethodPredictor = "predictor"
	// MethodAutoencoder: the model's windows reconstructed and
	// overlap-added.
	MethodAutoencoder = "autoencoder"
	// MethodFilter: the mode's classical filter (Settings.CentredFilter,
	// CausalFilter), where it beat the predictor on the learning rows.
	MethodFilter = "filter"
	// MethodBlend: per channel, a weighted mean of the predictor's value
	// and the mode's classical filter's (Settings.CentredBlend,
	// CausalBlend: the predictor's weight), where learn found the blend
	// better than either on held-back learning rows.
	MethodBlend = "blend"
)

// Settings are the denoiser's parameters, stored in the model file.
type Settings struct {
	// Method, if set, is the method of both modes: MethodPredictor,
	// MethodFilter or MethodAutoencoder. Otherwise each mode uses its own
	// (CentredMethod, CausalMethod, chosen by learn on the learning rows),
	// or the predictor if the model has one, else the autoencoder.
	Method        string `json:"method,omitempty"`
	CentredMethod string `json:"centred_method,omitempty"`
	CausalMethod  string `json:"causal_method,omitempty"`
	// Centred and Causal are the blind-spot predictors of each mode,
	// learned with the model (see learn.Fit).
	Centred *Predictor `json:"centred,omitempty"`
	Causal  *Predictor `json:"causal,omitempty"`
	// CentredFilter and CausalFilter, if set, are the classical filters a
	// mode uses instead of its predictor, learn having found them better
	// on the learning rows (by Risk).
	CentredFilter *FilterSpec `json:"centred_filter,omitempty"`
	CausalFilter  *FilterSpec `json:"causal_filter,omitempty"`
	// CentredBlend and CausalBlend hold, per channel, the predictor's
	// weight (0 to 1) in MethodBlend; the filter has the rest.
	CentredBlend []float32 `json:"centred_blend,omitempty"`
	CausalBlend  []float32 `json:"causal_blend,omitempty"`
	// Outlier is the error, in normalised units, beyond which an input
	// value counts as an outlier in the robust reconstruction. Default:
	// OutlierSigmas times the model's RMS validation error (from its
	// training settings), else 1. Negative: no robust pass.
	Outlier float64 `json:"outlier,omitempty"`
	// Passes is the number of reconstructions per window (default 2).
	Passes int `json:"passes,omitempty"`
}

// OutlierSigmas sets the default outlier level: this many RMS
// reconstruction errors of the validation windows.
const OutlierSigmas = 3

// Section is the denoiser's settings in a model file (Apps["denoise"]),
// validated (with defaults filled in) on load and store.
var Section = model.NewSection(AppName, 1, func(m *model.Model, s *Settings) error {
	return s.withDefaults(m).check(m.Channels)
})

// Load returns the model's denoiser settings, with defaults filled in.
func Load(m *model.Model) (Settings, error) {
	s, _, err := Section.Get(m)
	if err != nil {
		return Settings{}, err
	}
	return s.withDefaults(m), nil
}

func (s Settings) withDefaults(m *model.Model) Settings {
	def := MethodAutoencoder
	if s.Centred != nil && s.Causal != nil {
		def = MethodPredictor
	}
	if s.Method != "" {
		s.CentredMethod, s.CausalMethod = s.Method, s.Method
	}
	if s.CentredMethod == "" {
		s.CentredMethod = def
	}
	if s.CausalMethod == "" {
		s.CausalMethod = def
	}
	if s.Outlier == 0 {
		s.Outlier = 1
		if t, _, err := model.TrainingSection.Get(m); err == nil && t.ValMSE > 0 {
			s.Outlier = OutlierSigmas * math.Sqrt(t.ValMSE)
		}
	}
	if s.Passes == 0 {
		s.Passes = 2
	}
	return s
}

func (s Settings) check(c int) error {
	if math.IsNaN(s.Outlier) || math.IsInf(s.Outlier, 0) || s.Passes < 1 || s.Passes > 16 {
		return fmt.Errorf("denoise: outlier level %v and passes %d (1 to 16)", s.Outlier, s.Passes)
	}
	for _, mode := range []struct {
		method string
		f      *FilterSpec
		blend  []float32
	}{{s.CentredMethod, s.CentredFilter, s.CentredBlend}, {s.CausalMethod, s.CausalFilter, s.CausalBlend}} {
		switch mode.method {
		case MethodAutoencoder:
		case MethodPredictor, MethodFilter, MethodBlend:
			if s.Centred == nil || s.Causal == nil {
				return fmt.Errorf("denoise: method %s, but the model has no predictors (learn it with edge train)", mode.method)
			}
			if mode.method != MethodPredictor && mode.f == nil {
				return fmt.Errorf("denoise: method %s, but the model has no filter for the mode", mode.method)
			}
			if mode.method == MethodBlend && len(mode.blend) != c {
				return fmt.Errorf("denoise: method %s, but the model has %d blend weights for %d channels", mode.method, len(mode.blend), c)
			}
		default:
			return fmt.Errorf("denoise: unknown method %q (%s, %s, %s or %s)", mode.method, MethodPredictor, MethodBlend, MethodFilter, MethodAutoencoder)
		}
		for _, w := range mode.blend {
			if !(w >= 0 && w <= 1) {
				return fmt.Errorf("denoise: a blend weight is %v, outside [0, 1]", w)
			}
		}
	}
	for _, p := range []*Predictor{s.Centred, s.Causal} {
		if p != nil {
			if err := p.check(c); err != nil {
				return err
			}
		}
	}
	for _, f := range []*FilterSpec{s.CentredFilter, s.CausalFilter} {
		if f != nil {
			if err := f.check(); err != nil {
				return err
			}
		}
	}
	return nil
}

// methodOf returns the method of a mode (settings with defaults).
func (s Settings) methodOf(mode Mode) string {
	if mode == Causal {
		return s.CausalMethod
	}
	return s.CentredMethod
}

// MethodOf returns the method a model's denoiser uses in a mode.
func MethodOf(m *model.Model, mode Mode) (string, error) {
	s, err := Load(m)
	return s.methodOf(mode), err
}

// Store writes s into m's settings.
func Store(m *model.Model, s Settings) error {
	return Section.Put(m, s)
}

// Denoiser is one stream's denoiser.
type Denoiser struct {
	st      *stream.Stream
	sess    *model.Session
	mode    Mode
	steps   int
	hop     int
	ch      int
	taper   []float32
	recon   []float32
	acc     []float32 // ring: (steps+hop) rows x channels
	wsum    []float32 // ring: rows
	cap     int
	touched int64 // highest row whose accumulator is initialised
	emitted int64 // next row to emit
	out     Sample
	emit    func(*Sample) error
	tau     float32
	passes  int
	// Outliers counts the input values the robust passes replaced.
	outliers int64
	// bs, if set, cleans with a blind-spot predictor instead; filt with a
	// classical filter.
	bs   *cleaner
	filt *filterer
	mix  *blender
}

// New returns a denoiser running model m that calls emit for every
// cleaned sample, in order. The model is only read, so any number of
// denoisers may share it.
func New(m *model.Model, cfg Config, emit func(*Sample) error) (*Denoiser, error) {
	sc := stream.ForModel(m, cfg.Stream.Hop)
	sc.Period, sc.Confirm, sc.Grace = cfg.Stream.Period, cfg.Stream.Confirm, cfg.Stream.Grace
	if cfg.Stream.MaxGap != 0 {
		sc.MaxGap = cfg.Stream.MaxGap // else the model's default (see stream.ForModel)
	}
	if cfg.Stream.Fill != nil {
		sc.Fill = cfg.Stream.Fill
	}
	if cfg.Mode != Centred && cfg.Mode != Causal {
		return nil, fmt.Errorf("denoise: unknown mode %d", cfg.Mode)
	}
	set, err := Load(m)
	if err != nil {
		return nil, err
	}
	if cfg.Settings.Outlier != 0 {
		set.Outlier = cfg.Settings.Outlier
	}
	if cfg.Settings.Passes != 0 {
		set.Passes = cfg.Settings.Passes
	}
	if cfg.Settings.Method != "" {
		set.Method, set.CentredMethod, set.CausalMethod = cfg.Settings.Method, cfg.Settings.Method, cfg.Settings.Method
	}
	if err := set.check(m.Channels); err != nil {
		return nil, err
	}
	if method := set.methodOf(cfg.Mode); method != MethodAutoencoder {
		return newPredicting(m, cfg.Mode, method, set, sc, emit)
	}
	sess, err := model.SessionOf(m, cfg.Program, 1)
	if err != nil {
		return nil, err
	}
	d := &Denoiser{sess: sess, mode: cfg.Mode, steps: m.Steps, hop: sc.Hop, ch: m.Channels, emit: emit,
		tau: float32(max(set.Outlier, 0)), passes: set.Passes}
	if sc.History < sc.Steps {
		sc.History = sc.Steps // rows waiting for output at the segment's end
	}
	d.st, err = stream.New(sc, d)
	if err != nil {
		return nil, err
	}
	d.cap = m.Steps + sc.Hop
	d.taper = Taper(m.Steps)
	d.recon = make([]float32, m.Steps*m.Channels)
	d.acc = make([]float32, d.cap*m.Channels)
	d.wsum = make([]float32, d.cap)
	d.out.Values = make([]float32, m.Channels)
	d.touched = -1
	return d, nil
}

// newPredicting returns a denoiser that cleans row by row with the
// mode's blind-spot predictor, or its classical filter where learn chose
// one (MethodFilter).
func newPredicting(m *model.Model, mode Mode, method string, set Settings, sc stream.Config, emit func(*Sample) error) (*Denoiser, error) {
	p, f, w := set.Centred, set.CentredFilter, set.CentredBlend
	if mode == Causal {
		p, f, w = set.Causal, set.CausalFilter, set.CausalBlend
	}
	if method == MethodFilter {
		d := &Denoiser{mode: mode, steps: 1, hop: 1, ch: m.Channels, emit: emit}
		d.out.Values = make([]float32, m.Channels)
		d.filt = newFilterer(*f, mode == Causal, m.Channels, func(s *stream.Stream, r int64, v []float32) error {
			copy(d.out.Values, v)
			return d.send(s, r, s.RowAt(r), false)
		})
		sc.Steps, sc.Hop, sc.History = 1, 1, d.filt.latency()+2
		var err error
		d.st, err = stream.New(sc, d)
		return d, err
	}
	c := m.Channels
	shift, scale := m.Norm.Affine(c)
	d := &Denoiser{mode: mode, steps: 1, hop: 1, ch: c, emit: emit}
	d.out.Values = make([]float32, c)
	out := func(s *stream.Stream, r int64, v []float32) error {
		copy(d.out.Values, v)
		return d.send(s, r, s.RowAt(r), false)
	}
	if method == MethodBlend {
		d.mix = newBlender(p, *f, w, mode == Causal, c, shift, scale, out)
		sc.Steps, sc.Hop, sc.History = 1, 1, d.mix.latency()+2
		var err error
		d.st, err = stream.New(sc, d)
		return d, err
	}
	d.bs = newCleaner(p, c, shift, scale, out)
	sc.Steps, sc.Hop, sc.History = 1, 1, d.bs.latency()+2
	var err error
	d.st, err = stream.New(sc, d)
	return d, err
}

// Taper returns the overlap-add weights of a window of n samples:
// sin²(π(i+½)/n), a Hann window that never reaches zero.
func Taper(n int) []float32 {
	w := make([]float32, n)
	for i := range w {
		s := math.Sin(math.Pi * (float64(i) + 0.5) / float64(n))
		w[i] = float32(s * s)
	}
	return w
}

// Stream returns the underlying stream (for its statistics).
func (d *Denoiser) Stream() *stream.Stream { return d.st }

// Push adds a sample; cleaned samples are emitted as they become final.
func (d *Denoiser) Push(r stream.Row) error { return d.st.Push(r) }

// Close finishes the stream, emitting every remaining sample.
func (d *Denoiser) Close() error { return d.st.Close() }

// Latency returns how many samples after its arrival a sample is emitted,
// at most, once the first window is complete.
func (d *Denoiser) Latency() int {
	switch {
	case d.bs != nil:
		return d.bs.latency()
	case d.filt != nil:
		return d.filt.latency()
	case d.mix != nil:
		return d.mix.latency()
	}
	if d.mode == Causal {
		return d.hop - 1
	}
	return d.steps - 1
}

// Outliers returns how many input values the robust passes have replaced.
func (d *Denoiser) Outliers() int64 { return d.outliers }

// reconstruct reconstructs the window ending at end robustly.
func (d *Denoiser) reconstruct(s *stream.Stream, end int64, x []float32) error {
	n, err := d.sess.ReconstructRobust(d.recon, x, s.MissingRows(end, d.steps), d.tau, d.passes)
	d.outliers += int64(n)
	return err
}

// Window implements stream.Processor.
func (d *Denoiser) Window(s *stream.Stream, end int64, x []float32) error {
	switch {
	case d.bs != nil:
		return d.bs.push(s, end, x, s.MissingRows(end, 1))
	case d.filt != nil:
		return d.filt.push(s, end, x)
	case d.mix != nil:
		return d.mix.push(s, end, x, s.MissingRows(end, 1))
	}
	if err := d.reconstruct(s, end, x); err != nil {
		return err
	}
	start := end - int64(d.steps) + 1
	if d.mode == Causal {
		return d.emitRecon(s, start, d.emitted, end)
	}
	d.accumulate(start)
	return d.flush(s, min(start+int64(d.hop), end+1))
}

// EndSegment implements stream.Processor: the rows no window has finished
// get one last window aligned to the segment's end, or pass through if
// the segment is shorter than a window.
func (d *Denoiser) EndSegment(s *stream.Stream) error {
	switch {
	case d.bs != nil:
		return d.bs.finish(s, s.Len())
	case d.filt != nil:
		return d.filt.finish(s, s.Len())
	case d.mix != nil:
		return d.mix.finish(s, s.Len())
	}
	n := s.Len()
	defer func() { d.emitted, d.touched = 0, -1 }()
	if d.emitted >= n {
		return nil
	}
	if n < int64(d.steps) {
		for r := d.emitted; r < n; r++ {
			info := s.RowAt(r)
			copy(d.out.Values, info.Values)
			if err := d.send(s, r, info, true); err != nil {
				return err
			}
		}
		return nil
	}
	end := n - 1
	if s.LastWindowEnd() == end {
		return d.flush(s, n) // centred: the last window ended here already
	}
	if err := d.reconstruct(s, end, s.Rows(end, d.steps)); err != nil {
		return err
	}
	start := end - int64(d.steps) + 1
	if d.mode == Causal {
		return d.emitRecon(s, start, d.emitted, end)
	}
	d.accumulate(start)
	return d.flush(s, n)
}

// accumulate adds the reconstruction of the window starting at start to
// the rows not yet emitted.
func (d *Denoiser) accumulate(start int64) {
	c := d.ch
	for i := 0; i < d.steps; i++ {
		r := start + int64(i)
		if r < d.emitted {
			continue
		}
		slot := int(r % int64(d.cap))
		acc := d.acc[slot*c : (slot+1)*c]
		if r > d.touched {
			clear(acc)
			d.wsum[slot] = 0
			d.touched = r
		}
		w := d.taper[i]
		rec := d.recon[i*c : (i+1)*c]
		for j, v := range rec {
			acc[j] += float32(w * v)
		}
		d.wsum[slot] += w
	}
}

// flush emits the accumulated rows before upto.
func (d *Denoiser) flush(s *stream.Stream, upto int64) error {
	c := d.ch
	for ; d.emitted < upto; d.emitted++ {
		r := d.emitted
		slot := int(r % int64(d.cap))
		inv := 1 / d.wsum[slot]
		acc := d.acc[slot*c : (slot+1)*c]
		for j := range d.out.Values {
			d.out.Values[j] = acc[j] * inv
		}
		if err := d.send(s, r, s.RowAt(r), false); err != nil {
			return err
		}
	}
	return nil
}

// emitRecon emits rows from..to (inclusive) straight from the
// reconstruction of the window starting at start.
func (d *Denoiser) emitRecon(s *stream.Stream, start, from, to int64) error {
	c := d.ch
	for r := from; r <= to; r++ {
		i := int(r - start)
		copy(d.out.Values, d.recon[i*c:(i+1)*c])
		if err := d.send(s, r, s.RowAt(r), false); err != nil {
			return err
		}
	}
	d.emitted = to + 1
	return nil
}

func (d *Denoiser) send(s *stream.Stream, r int64, info stream.RowInfo, pass bool) error {
	o := &d.out
	o.Segment, o.Index, o.Time, o.HasTime, o.Line = s.Segment(), r, info.Time, info.HasTime, info.Line
	o.Input, o.Missing, o.Passthrough = info.Values, info.Missing, pass
	return d.emit(o)
}
