// Package anomaly scores sensor windows by how badly an autoencoder
// trained on normal data reconstructs them, and raises flags.
//
// The raw score of a window is its mean squared reconstruction error in
// the model's normalised units, each value's squared error capped at
// Clip² so that one impulse (a lone glitch the training data also had)
// cannot outweigh a window-wide deviation. The reconstruction is robust
// (model.Session.ReconstructRobust): values far off the first
// reconstruction are replaced and the window reconstructed again, so a
// faulty channel does not drag the others' reconstruction towards itself
// and hide. Imputed values are left out of the error. Each channel's
// share of the raw score says which sensor is off.
//
// Reconstruction error cannot see a stuck sensor in noisy data (a frozen
// reading is as close to the normal pattern as a noisy one), so the
// scorer also tracks runs of identical readings: a run of Stuck or more
// adds Threshold × run/Stuck to the raw score.
//
// The score in [0, 1] is raw/(raw+threshold): 0.5 at the threshold. A
// threshold is calibrated on normal windows (a percentile of their raw
// scores, or mean + k standard deviations) and stored with the model.
// Flags follow the threshold with hysteresis (a flag ends only when the
// score falls below Hysteresis × threshold) and a minimum duration (a flag
// starts only after MinWindows windows in a row above the threshold).
// Optional slow adaptation lets the threshold follow a drift of the
// normal scores.
package anomaly

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// AppName is the key of the scorer's settings in model.Model.Apps.
const AppName = "anomaly"

// Settings are the scorer's parameters, stored in the model file.
type Settings struct {
	Threshold float64 `json:"threshold"` // raw score at which a window is anomalous
	// Rule that set the threshold: "percentile" (of the calibration
	// scores) or "sigma" (mean + K standard deviations).
	Rule       string  `json:"rule"`
	Percentile float64 `json:"percentile,omitempty"`
	K          float64 `json:"k,omitempty"`
	// Mean and Std of the calibration windows' raw scores, and how many.
	Mean    float64 `json:"mean"`
	Std     float64 `json:"std"`
	Windows int     `json:"windows"`
	// Clip caps each value's error, in normalised units (default 4).
	Clip float64 `json:"clip"`
	// Outlier and Passes configure the robust reconstruction (see
	// model.Session.ReconstructRobust). Outlier default: 3 × the model's
	// RMS validation error, else 1; negative: plain reconstruction.
	// Passes default 2.
	Outlier float64 `json:"outlier,omitempty"`
	Passes  int     `json:"passes,omitempty"`
	// Stuck is the run of identical readings of one channel that counts
	// as a stuck sensor. Calibrate sets it to twice the longest run in the
	// normal data, at least 8; negative: no check.
	Stuck int `json:"stuck,omitempty"`
	// Hysteresis: a flag ends when the score falls below Hysteresis ×
	// threshold (default 0.8).
	Hysteresis float64 `json:"hysteresis"`
	// MinWindows: windows in a row above the threshold before a flag
	// starts (default 2).
	MinWindows int `json:"min_windows"`
	// Adapt is the rate (per window) at which the threshold follows the
	// normal windows' scores; 0: fixed. The adapted threshold stays within
	// [0.5, 4] × Threshold.
	Adapt float64 `json:"adapt,omitempty"`
	// Hop between scored windows (0: the training hop).
	Hop int `json:"hop,omitempty"`
}

// resolve fills the defaults, some of which depend on the model.
func (s Settings) resolve(m *model.Model) Settings {
	if s.Clip == 0 {
		s.Clip = 4
	}
	if s.Hysteresis == 0 {
		s.Hysteresis = 0.8
	}
	if s.MinWindows == 0 {
		s.MinWindows = 2
	}
	if s.Passes == 0 {
		s.Passes = 2
	}
	if s.Outlier == 0 && m != nil {
		s.Outlier = 1
		var t struct {
			ValMSE float64 `json:"val_mse"`
		}
		if raw, ok := m.Apps["train"]; ok && json.Unmarshal(raw, &t) == nil && t.ValMSE > 0 {
			s.Outlier = 3 * math.Sqrt(t.ValMSE)
		}
	}
	return s
}

func (s *Settings) check() error {
	switch {
	case !(s.Threshold > 0) || math.IsInf(s.Threshold, 0):
		return fmt.Errorf("anomaly: threshold %v must be positive and finite", s.Threshold)
	case !(s.Clip > 0) || math.IsInf(s.Clip, 0):
		return fmt.Errorf("anomaly: clip %v must be positive", s.Clip)
	case math.IsNaN(s.Outlier) || math.IsInf(s.Outlier, 0) || s.Passes < 1 || s.Passes > 16:
		return fmt.Errorf("anomaly: outlier level %v and passes %d (1 to 16)", s.Outlier, s.Passes)
	case !(s.Hysteresis > 0 && s.Hysteresis <= 1):
		return fmt.Errorf("anomaly: hysteresis %v outside (0, 1]", s.Hysteresis)
	case s.MinWindows < 1 || s.MinWindows > 1<<20:
		return fmt.Errorf("anomaly: min windows %d", s.MinWindows)
	case !(s.Adapt >= 0 && s.Adapt < 1):
		return fmt.Errorf("anomaly: adaptation rate %v outside [0, 1)", s.Adapt)
	case s.Hop < 0 || s.Stuck > 1<<20:
		return fmt.Errorf("anomaly: hop %d, stuck run %d", s.Hop, s.Stuck)
	}
	return nil
}

// ErrNoSettings says the model has no calibrated threshold.
var ErrNoSettings = errors.New("anomaly: the model has no calibrated threshold (calibrate it on normal data: edge calibrate, or anomaly.Calibrate)")

// Load returns the settings stored in m, with defaults filled in.
func Load(m *model.Model) (Settings, error) {
	raw, ok := m.Apps[AppName]
	if !ok {
		return Settings{}, ErrNoSettings
	}
	var s Settings
	if err := json.Unmarshal(raw, &s); err != nil {
		return Settings{}, fmt.Errorf("anomaly: the model's settings: %w", err)
	}
	s = s.resolve(m)
	if err := s.check(); err != nil {
		return Settings{}, err
	}
	return s, nil
}

// Store writes s into m's settings.
func Store(m *model.Model, s Settings) error {
	if r := s.resolve(m); r.check() != nil {
		return r.check()
	}
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("anomaly: encoding the settings: %w", err)
	}
	if m.Apps == nil {
		m.Apps = map[string]json.RawMessage{}
	}
	m.Apps[AppName] = raw
	return nil
}

// windowScorer computes a window's raw score: the capped squared errors
// in normalised units (skipping imputed values), and the longest run of
// identical readings.
type windowScorer struct {
	sess     *model.Session
	set      Settings
	inv      []float32 // per channel: 1/scale
	clip2    float32
	ch       int
	recon    []float32
	runs     []int // per channel: current run of identical readings
	longest  []int
	outliers int64
}

func newWindowScorer(m *model.Model, set Settings, batch int) (*windowScorer, error) {
	sess, err := m.NewSession(batch)
	if err != nil {
		return nil, err
	}
	w := &windowScorer{sess: sess, set: set, inv: make([]float32, m.Channels), clip2: float32(set.Clip * set.Clip),
		ch: m.Channels, recon: make([]float32, m.Steps*m.Channels), runs: make([]int, m.Channels), longest: make([]int, m.Channels)}
	for c := range w.inv {
		w.inv[c] = 1
		if m.Norm.Kind == model.NormMeanStd || m.Norm.Kind == model.NormMinMax {
			w.inv[c] = 1 / m.Norm.Scale[c]
		}
	}
	return w, nil
}

// errorScore reconstructs one window (x raw; missing nil or one flag per
// value) and returns the sum of its capped squared errors, with each
// channel's part in contrib, the values used and left out; w.longest then
// holds each channel's longest run of identical valid readings.
func (w *windowScorer) errorScore(x []float32, missing []bool, contrib []float32) (sum float64, used, left int, err error) {
	n, err := w.sess.ReconstructRobust(w.recon, x, missing, float32(max(w.set.Outlier, 0)), w.set.Passes)
	if err != nil {
		return 0, 0, 0, err
	}
	w.outliers += int64(n)
	clear(contrib)
	clear(w.runs)
	clear(w.longest)
	c := w.ch
	for i, v := range x {
		ch := i % c
		if missing != nil && missing[i] {
			left++
			w.runs[ch] = 0
			continue
		}
		d := (v - w.recon[i]) * w.inv[ch]
		e := min(d*d, w.clip2)
		contrib[ch] += e
		sum += float64(e)
		used++
		if i >= c && x[i-c] == v && w.runs[ch] > 0 {
			w.runs[ch]++
		} else {
			w.runs[ch] = 1
		}
		w.longest[ch] = max(w.longest[ch], w.runs[ch])
	}
	return sum, used, left, nil
}

// CalibOptions choose the threshold rule.
type CalibOptions struct {
	// Rule: "percentile" (default) or "sigma".
	Rule       string
	Percentile float64 // default 99.5
	K          float64 // default 4
	// The rest of the settings (Clip, Outlier, Passes, Stuck, Hysteresis,
	// MinWindows, Adapt, Hop) are copied from Base.
	Base Settings
}

// Scores returns the reconstruction-error scores of windows (raw units,
// time-major, Steps×Channels values each) under model m with the settings'
// clip and robust reconstruction (stuck runs not included), and the
// longest run of identical readings in any channel of any window.
func Scores(m *model.Model, windows []float32, set Settings) ([]float64, int, error) {
	win := m.Steps * m.Channels
	if len(windows) == 0 || len(windows)%win != 0 {
		return nil, 0, fmt.Errorf("anomaly: %d values are not whole %d-value windows", len(windows), win)
	}
	set = set.resolve(m)
	ws, err := newWindowScorer(m, set, 1)
	if err != nil {
		return nil, 0, err
	}
	contrib := make([]float32, m.Channels)
	n := len(windows) / win
	out := make([]float64, n)
	longest := 0
	for i := 0; i < n; i++ {
		sum, used, _, err := ws.errorScore(windows[i*win:(i+1)*win], nil, contrib)
		if err != nil {
			return nil, 0, err
		}
		out[i] = sum / float64(used)
		longest = max(longest, slices.Max(ws.longest))
	}
	return out, longest, nil
}

// Calibrate sets the threshold from the scores of normal windows, and the
// stuck-run length from their longest run of identical readings.
func Calibrate(m *model.Model, normal []float32, opt CalibOptions) (Settings, error) {
	sc, longest, err := Scores(m, normal, opt.Base)
	if err != nil {
		return Settings{}, err
	}
	if opt.Base.Stuck == 0 {
		opt.Base.Stuck = max(8, 2*longest)
	}
	return Threshold(sc, opt)
}

// CalibrateSeries calibrates like Calibrate on a whole normal series
// (time-major raw values, NaN for missing ones), streamed through a
// scorer exactly as it will be scored: the same windows and hop, the same
// imputation, the same robust reconstruction.
func CalibrateSeries(m *model.Model, series []float32, opt CalibOptions) (Settings, error) {
	if len(series)%m.Channels != 0 {
		return Settings{}, fmt.Errorf("anomaly: %d values are not whole rows of %d channels", len(series), m.Channels)
	}
	probe := opt.Base
	probe.Threshold, probe.Stuck, probe.Adapt = 1, -1, 0
	var scores []float64
	longest := 0
	sc, err := New(m, Config{Settings: probe}, func(s *Score) error {
		scores = append(scores, s.Raw)
		longest = max(longest, s.Run)
		return nil
	})
	if err != nil {
		return Settings{}, err
	}
	c := m.Channels
	for t := 0; t < len(series)/c; t++ {
		if err := sc.Push(stream.Row{Values: series[t*c : (t+1)*c], Line: t + 1}); err != nil {
			return Settings{}, err
		}
	}
	if err := sc.Close(); err != nil {
		return Settings{}, err
	}
	if opt.Base.Stuck == 0 {
		opt.Base.Stuck = max(8, 2*longest)
	}
	return Threshold(scores, opt)
}

// Threshold sets the threshold from raw scores of normal windows (see
// Calibrate). The returned settings hold the base's other fields as given
// (defaults that depend on the model are filled in when a scorer loads
// them).
func Threshold(scores []float64, opt CalibOptions) (Settings, error) {
	s := opt.Base
	if len(scores) < 2 {
		return Settings{}, fmt.Errorf("anomaly: %d calibration windows; need at least 2", len(scores))
	}
	var sum, sq float64
	for _, v := range scores {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Settings{}, fmt.Errorf("anomaly: a calibration score is %v", v)
		}
		sum += v
		sq += v * v
	}
	n := float64(len(scores))
	s.Mean = sum / n
	s.Std = math.Sqrt(math.Max(0, sq/n-s.Mean*s.Mean))
	s.Windows = len(scores)
	if opt.Rule == "" {
		opt.Rule = "percentile"
	}
	s.Rule = opt.Rule
	s.Percentile, s.K = 0, 0
	switch opt.Rule {
	case "percentile":
		p := opt.Percentile
		if p == 0 {
			p = 99.5
		}
		if !(p > 0 && p <= 100) {
			return Settings{}, fmt.Errorf("anomaly: percentile %v outside (0, 100]", p)
		}
		s.Percentile = p
		s.Threshold = Quantile(scores, p/100)
	case "sigma":
		k := opt.K
		if k == 0 {
			k = 4
		}
		if !(k > 0) {
			return Settings{}, fmt.Errorf("anomaly: k %v must be positive", k)
		}
		s.K = k
		s.Threshold = s.Mean + k*s.Std
	default:
		return Settings{}, fmt.Errorf("anomaly: unknown threshold rule %q (percentile or sigma)", opt.Rule)
	}
	if !(s.Threshold > 0) {
		s.Threshold = math.Max(s.Mean, 1e-12) // every calibration window reconstructed perfectly
	}
	r := s.resolve(nil)
	if r.Outlier == 0 {
		r.Outlier = 1 // checked as the model-independent default
	}
	return s, r.check()
}

// Quantile returns the q-quantile (0..1) of v by linear interpolation.
func Quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	i := int(pos)
	if i >= len(s)-1 {
		return s[len(s)-1]
	}
	f := pos - float64(i)
	return s[i]*(1-f) + s[i+1]*f
}

// Score is one window's verdict. Its slices are reused: copy to keep.
type Score struct {
	Segment int64
	End     int64 // index of the window's newest row in the segment
	// The window's newest row (what the score is reported at) and its
	// oldest.
	Time, StartTime float64
	HasTime         bool
	Line, StartLine int
	Raw             float64 // reconstruction error (plus any stuck-run term)
	Score           float64 // Raw/(Raw+Threshold) in [0, 1]
	Threshold       float64 // in use (adapted, if adaptation is on)
	// Above: Raw is at or above the threshold. Flag: the window is in a
	// confirmed anomaly (hysteresis and minimum duration applied). Onset:
	// this window confirms a new one, which began at EventTime/EventLine
	// (the first window of the run above the threshold).
	Above, Flag, Onset bool
	EventTime          float64
	EventLine          int
	Contrib            []float32 // each channel's share of Raw (sums to 1)
	Top                int       // the channel with the largest share
	Stuck              int       // the longest run of identical readings, if it counted (else 0)
	Run                int       // the longest run of identical valid readings in any channel
	Missing            int       // imputed values left out
}

// Scorer is one stream's anomaly scorer.
type Scorer struct {
	st    *stream.Stream
	ws    *windowScorer
	set   Settings
	steps int
	out   Score
	emit  func(*Score) error
	flags flagger
	ema   float64
}

// flagger turns per-window threshold crossings into flags with a minimum
// duration and hysteresis.
type flagger struct {
	minRun    int
	run       int // windows in a row above the threshold
	active    bool
	startTime float64
	startLine int
}

// step takes one window: above (at or over the threshold), below (under
// the hysteresis level) and where the window starts; it returns whether
// the window is flagged and whether it starts a new flag.
func (f *flagger) step(above, below bool, t float64, line int) (flag, onset bool) {
	switch {
	case f.active && below:
		f.active, f.run = false, 0
	case !f.active && above:
		if f.run == 0 {
			f.startTime, f.startLine = t, line
		}
		f.run++
		if f.run >= f.minRun {
			f.active, onset = true, true
		}
	case !f.active:
		f.run = 0
	}
	return f.active, onset
}

func (f *flagger) reset() { f.active, f.run = false, 0 }

// Config configures a Scorer.
type Config struct {
	// Settings override the model's stored ones if Threshold is set.
	Settings Settings
	// Stream: the data policy; Hop overrides the settings' hop.
	Stream stream.Config
}

// New returns a scorer for model m, calling emit for every scored
// window. The model must hold calibrated settings unless cfg supplies
// them.
func New(m *model.Model, cfg Config, emit func(*Score) error) (*Scorer, error) {
	set := cfg.Settings
	if set.Threshold == 0 {
		var err error
		if set, err = Load(m); err != nil {
			return nil, err
		}
	}
	set = set.resolve(m)
	if err := set.check(); err != nil {
		return nil, err
	}
	hop := cfg.Stream.Hop
	if hop == 0 {
		hop = set.Hop
	}
	sc := stream.ForModel(m, hop)
	sc.Period, sc.Confirm = cfg.Stream.Period, cfg.Stream.Confirm
	if cfg.Stream.MaxGap != 0 {
		sc.MaxGap = cfg.Stream.MaxGap // else the model's default (see stream.ForModel)
	}
	if cfg.Stream.Fill != nil {
		sc.Fill = cfg.Stream.Fill
	}
	ws, err := newWindowScorer(m, set, 1)
	if err != nil {
		return nil, err
	}
	s := &Scorer{ws: ws, set: set, steps: m.Steps, emit: emit, ema: set.Mean, flags: flagger{minRun: set.MinWindows}}
	s.out.Contrib = make([]float32, m.Channels)
	if s.st, err = stream.New(sc, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Settings returns the settings in use.
func (s *Scorer) Settings() Settings { return s.set }

// Stream returns the underlying stream (for its statistics).
func (s *Scorer) Stream() *stream.Stream { return s.st }

// Outliers returns how many values the robust reconstruction replaced.
func (s *Scorer) Outliers() int64 { return s.ws.outliers }

// Push adds a sample; a Score is emitted for every complete window.
func (s *Scorer) Push(r stream.Row) error { return s.st.Push(r) }

// Close finishes the stream (scoring one last window aligned to its end,
// if rows are left unscored).
func (s *Scorer) Close() error { return s.st.Close() }

// threshold returns the threshold in use.
func (s *Scorer) threshold() float64 {
	if s.set.Adapt == 0 || !(s.set.Mean > 0) {
		return s.set.Threshold
	}
	f := math.Min(math.Max(s.ema/s.set.Mean, 0.5), 4)
	return s.set.Threshold * f
}

// Window implements stream.Processor.
func (s *Scorer) Window(st *stream.Stream, end int64, x []float32) error {
	o := &s.out
	sum, used, missing, err := s.ws.errorScore(x, st.MissingRows(end, s.steps), o.Contrib)
	if err != nil {
		return err
	}
	thr := s.threshold()
	var raw float64
	if used > 0 {
		raw = sum / float64(used)
	}
	// A stuck channel adds thr × run/Stuck, shared out as its own.
	o.Stuck, o.Run = 0, slices.Max(s.ws.longest)
	if s.set.Stuck > 0 {
		for ch, run := range s.ws.longest {
			if run >= s.set.Stuck {
				extra := thr * float64(run) / float64(s.set.Stuck)
				raw += extra
				if used > 0 {
					o.Contrib[ch] += float32(extra * float64(used))
					sum += extra * float64(used)
				}
				o.Stuck = max(o.Stuck, run)
			}
		}
	}
	o.Top = 0
	if sum > 0 {
		inv := float32(1 / sum)
		for ch := range o.Contrib {
			o.Contrib[ch] *= inv
			if o.Contrib[ch] > o.Contrib[o.Top] {
				o.Top = ch
			}
		}
	}
	start := end - int64(s.steps) + 1
	first, last := st.RowAt(start), st.RowAt(end)
	o.Segment, o.End = st.Segment(), end
	o.Time, o.StartTime, o.HasTime, o.Line, o.StartLine = last.Time, first.Time, last.HasTime, last.Line, first.Line
	o.Raw, o.Missing, o.Threshold = raw, missing, thr
	o.Score = raw / (raw + thr)
	o.Above = raw >= thr
	o.Flag, o.Onset = s.flags.step(o.Above, raw < s.set.Hysteresis*thr, first.Time, first.Line)
	if o.Onset {
		o.EventTime, o.EventLine = s.flags.startTime, s.flags.startLine
	}
	if s.set.Adapt > 0 && !o.Flag && !o.Above && used > 0 {
		s.ema += s.set.Adapt * (raw - s.ema)
	}
	return s.emit(o)
}

// EndSegment implements stream.Processor: rows after the last window get
// one more window aligned to the segment's end; an open flag ends.
func (s *Scorer) EndSegment(st *stream.Stream) error {
	defer s.flags.reset()
	n := st.Len()
	if n < int64(s.steps) || st.LastWindowEnd() == n-1 {
		return nil
	}
	return s.Window(st, n-1, st.Rows(n-1, s.steps))
}
