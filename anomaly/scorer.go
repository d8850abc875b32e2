package anomaly

import (
	"fmt"
	"math"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// Finding says why a channel's data are suspect, apart from the model.
type Finding uint8

// The findings.
const (
	NoFinding Finding = iota
	// Missing: the channel has reported no valid value for Settings.Missing
	// rows in a row.
	Missing
	// Frozen: the channel has repeated one reading for Settings.Frozen rows
	// in a row.
	Frozen
)

func (f Finding) String() string {
	switch f {
	case Missing:
		return "missing"
	case Frozen:
		return "frozen"
	}
	return ""
}

// Score is one row's verdict. Its slices are reused: copy to keep.
type Score struct {
	Segment, Index int64 // the row's place in the stream's segment
	Time           float64
	HasTime        bool
	Line           int
	// Window: the row is the newest of a scored window.
	Window bool
	Stats  [NumStats]float64
	// P is the row's p-value: NumStats × the smallest tail probability of
	// its statistics, at most 1; LogP its natural log (finite where P
	// underflows).
	P, LogP float64
	// Score is log P / (log P + log Rate), in [0, 1): 0 for P = 1, 0.5 at
	// the threshold (P = Rate), approaching 1 as P falls, without ties.
	Score float64
	// Change scores how much more surprising the row is than the rows
	// just before it, on the same scale (0.5 where normal rows' change
	// statistic is exceeded with probability Rate): high where an anomaly
	// begins, falling back while it lasts, where Score and Flag stay up.
	// Rank rows by Change to count detections (onsets); by Score to
	// measure how abnormal the data are.
	Change float64
	// Above: P is at most Rate. Flag: the row is in a confirmed anomaly
	// (minimum duration and hysteresis applied) or a finding. Onset: this
	// row confirms a new anomaly or a new finding, which began at
	// EventTime/EventLine.
	Above, Flag, Onset bool
	EventTime          float64
	EventLine          int
	// Kind names what Onset starts: "anomaly", "missing" or "frozen";
	// or KindNewLevel where a lasting alarm that began at EventLine was
	// taken as a new normal level (Settings.Settle).
	Kind string
	// Finding and FindingChannel: the channel finding in force, if any.
	Finding        Finding
	FindingChannel int
	// Contrib holds each channel's share of spe (sums to 1); Top is the
	// channel with the largest share (or the finding's channel).
	Contrib []float32
	Top     int
	Missing int // imputed values in the row
}

// Probe is one row's reconstruction residuals, in the model's normalised
// units, for learning settings (see Residuals). Slices are reused.
type Probe struct {
	Segment, Index int64
	Residual       []float32 // (x - reconstruction) / normalisation scale
	Value          []float32 // (x - centre) / normalisation scale
	Missing        []bool
}

// Config configures a Scorer.
type Config struct {
	// Settings override the model's stored ones if Version is set.
	Settings Settings
	// Stream: the data policy; Hop overrides the settings' hop.
	Stream stream.Config
	// Probe, if set, makes a scorer that only reconstructs and hands each
	// row's residuals to Probe (for learning settings); emit is not called.
	// Only Settings.Hop, Outlier (0: a plain reconstruction) and Passes
	// are used.
	Probe func(*Probe) error
	// Program, if set, is the model compiled once for many streams (edge
	// run's devices): the scorer's session comes from it (see
	// model.SessionOf). Nil: the model is compiled for this scorer.
	Program *model.Program
}

// Scorer is one stream's anomaly scorer.
type Scorer struct {
	st     *stream.Stream
	sess   *model.Session
	set    Settings
	steps  int
	c      int
	tau    float32
	recon  []float32
	centre []float32 // per channel
	unit   []float32 // per channel: the normalisation's scale
	weight []float32 // per channel: 1/(unit·scale)
	clip2  float32
	logR   float64
	next   int64 // the next row to score in the segment
	ewma   float64
	recent [maxPersist]float64 // the last rows' spe, a ring
	drift  []float32           // per channel: the level's offset from centre (Settings.Drift)
	beta   float32             // the most an offset moves per row, in units: 4/Drift
	side   []int32             // per channel: rows in a row on one side of its level (+ above, - below)
	hold   int32               // rows on one side before the level moves: a Cycle
	adj    []float32           // the window with the offsets taken off
	rows   int64               // rows scored in the segment (for the EWMA start)
	settle settler
	chg    changer
	flags  flagger
	chans  channelWatch
	out    Score
	probe  Probe
	onProb func(*Probe) error
	emit   func(*Score) error
}

// New returns a scorer for model m, calling emit for every row, in order.
// The model must hold learned settings unless cfg supplies them.
func New(m *model.Model, cfg Config, emit func(*Score) error) (*Scorer, error) {
	set := cfg.Settings
	if cfg.Probe == nil {
		if set.Version == 0 {
			var err error
			if set, err = Load(m); err != nil {
				return nil, err
			}
		}
		set = set.resolve()
		if err := set.check(m.Channels, m.Steps); err != nil {
			return nil, err
		}
	} else {
		set = set.resolve()
	}
	hop := cfg.Stream.Hop
	if hop == 0 {
		hop = set.Hop
	}
	sc := stream.ForModel(m, hop)
	sc.Period, sc.Confirm, sc.Grace = cfg.Stream.Period, cfg.Stream.Confirm, cfg.Stream.Grace
	if cfg.Stream.MaxGap != 0 {
		sc.MaxGap = cfg.Stream.MaxGap // else the model's default (see stream.ForModel)
	}
	if cfg.Stream.Fill != nil {
		sc.Fill = cfg.Stream.Fill
	}
	sess, err := model.SessionOf(m, cfg.Program, 1)
	if err != nil {
		return nil, err
	}
	c := m.Channels
	s := &Scorer{sess: sess, set: set, steps: m.Steps, c: c, recon: make([]float32, m.Steps*c),
		centre: make([]float32, c), unit: make([]float32, c), weight: make([]float32, c),
		clip2: float32(set.Clip * set.Clip), logR: math.Log(set.Rate), onProb: cfg.Probe, emit: emit}
	s.tau = float32(max(set.Outlier, 0)) // a probe without Outlier: plain reconstructions
	if (set.Drift > 0 || set.Settle > 0) && cfg.Probe == nil {
		s.drift, s.adj = make([]float32, c), make([]float32, m.Steps*c)
		if set.Drift > 0 {
			s.beta = 4 / float32(set.Drift)
		}
		if set.Settle > 0 {
			s.settle = settler{limit: set.Settle, dev: make([]float32, c), sq: make([]float32, c)}
		}
	}
	m.Norm.Centre(s.centre, s.unit)
	if s.beta > 0 {
		s.side, s.hold = make([]int32, c), int32(max(set.Cycle, 1))
	}
	for ch := range s.weight {
		w := 1 / s.unit[ch]
		if set.Scale != nil {
			w /= float32(set.Scale[ch])
		}
		s.weight[ch] = w
	}
	s.out.Contrib = make([]float32, c)
	s.probe = Probe{Residual: make([]float32, c), Value: make([]float32, c)}
	s.flags.minRun = set.MinRows
	s.chans = newChannelWatch(c, set.Missing, set.Frozen)
	if s.st, err = stream.New(sc, s); err != nil {
		return nil, err
	}
	return s, nil
}

// Settings returns the settings in use.
func (s *Scorer) Settings() Settings { return s.set }

// Stream returns the underlying stream (for its statistics).
func (s *Scorer) Stream() *stream.Stream { return s.st }

// Push adds a row; rows are emitted as windows cover them.
func (s *Scorer) Push(r stream.Row) error { return s.st.Push(r) }

// Close finishes the stream, scoring the rows left.
func (s *Scorer) Close() error { return s.st.Close() }

// Window implements stream.Processor: it reconstructs the window and
// scores the rows it is the first window to cover.
func (s *Scorer) Window(st *stream.Stream, end int64, x []float32) error {
	miss := st.MissingRows(end, s.steps)
	raw := x
	if s.drift != nil {
		for i, v := range x {
			s.adj[i] = v - s.drift[i%s.c]
		}
		x = s.adj
	}
	if _, err := s.sess.ReconstructRobust(s.recon, x, miss, s.tau, s.set.Passes); err != nil {
		return err
	}
	start := end - int64(s.steps) + 1
	for r := s.next; r <= end; r++ {
		i := int(r - start)
		row, rec, m := x[i*s.c:(i+1)*s.c], s.recon[i*s.c:(i+1)*s.c], miss[i*s.c:(i+1)*s.c]
		var err error
		if s.onProb != nil {
			err = s.probeRow(st, r, row, rec, m)
		} else {
			err = s.scoreRow(st, r, r == end, row, raw[i*s.c:(i+1)*s.c], rec, m)
		}
		if err != nil {
			return err
		}
	}
	s.next = end + 1
	return nil
}

func (s *Scorer) probeRow(st *stream.Stream, r int64, row, rec []float32, miss []bool) error {
	p := &s.probe
	p.Segment, p.Index, p.Missing = st.Segment(), r, miss
	for ch, v := range row {
		inv := 1 / s.unit[ch]
		p.Residual[ch] = (v - rec[ch]) * inv
		p.Value[ch] = (v - s.centre[ch]) * inv
	}
	return s.onProb(p)
}

// scoreRow computes a row's statistics, p-value, flags and findings: row
// is the row as the model sees it (drift taken off), raw as it came.
func (s *Scorer) scoreRow(st *stream.Stream, r int64, window bool, row, raw, rec []float32, miss []bool) error {
	o := &s.out
	var spe, peak, rng float64
	missing := 0
	clear(o.Contrib)
	for ch, v := range row {
		if miss[ch] {
			missing++
			o.Contrib[ch] = 1 // an imputed value counts as a typical error
			spe++
			continue
		}
		d := (v - rec[ch]) * s.weight[ch]
		e := min(d*d, s.clip2)
		o.Contrib[ch] = e
		spe += float64(e)
		peak = max(peak, float64(e))
		rng = max(rng, math.Abs(float64((v-s.centre[ch])/s.unit[ch])))
	}
	spe /= float64(s.c)
	if s.rows == 0 {
		s.ewma = s.set.Tails[StatSmooth].centre()
	}
	s.recent[s.rows%maxPersist] = spe
	least := spe
	for k := int64(1); k < min(int64(s.set.Persist), s.rows+1); k++ {
		least = min(least, s.recent[(s.rows-k)%maxPersist])
	}
	s.ewma += float64(s.set.Alpha * (least - s.ewma)) // unfused: the same bits on every architecture
	s.rows++
	o.Stats = [NumStats]float64{spe, peak, rng, s.ewma}
	lp, lpModel := 0.0, 0.0 // lpModel leaves range out
	for i, v := range o.Stats {
		l := s.set.Tails[i].LogProb(v)
		lp = min(lp, l)
		if i != StatRange {
			lpModel = min(lpModel, l)
		}
	}
	o.Change = s.changeScore(-lp)
	lp = min(0, lp+math.Log(NumStats))
	o.LogP, o.P = lp, math.Exp(lp)
	o.Score = lp / (lp + s.logR) // -log p over itself plus -log Rate: 0.5 at the threshold
	if lp == 0 {
		o.Score = 0
	}
	o.Above = lp <= s.logR
	info := st.RowAt(r)
	o.Segment, o.Index, o.Time, o.HasTime, o.Line, o.Window, o.Missing = st.Segment(), r, info.Time, info.HasTime, info.Line, window, missing
	o.Top = 0
	if spe > 0 {
		inv := float32(1 / (spe * float64(s.c)))
		for ch := range o.Contrib {
			o.Contrib[ch] *= inv
			if o.Contrib[ch] > o.Contrib[o.Top] {
				o.Top = ch
			}
		}
	}
	flag, onset := s.flags.step(o.Above, o.Score < 0.5*s.set.Hysteresis, info.Time, info.Line)
	o.Kind, o.EventTime, o.EventLine = "", 0, 0
	if onset {
		o.Kind, o.EventTime, o.EventLine = "anomaly", s.flags.startTime, s.flags.startLine
	}
	f, ch, fOnset := s.chans.step(raw, miss, info.Time, info.Line)
	if s.settle.step(flag && f == NoFinding, row, s.centre, s.unit, s.drift, miss) && !onset {
		onset = true
		o.Kind, o.EventTime, o.EventLine = KindNewLevel, s.flags.startTime, s.flags.startLine
	}
	o.Finding, o.FindingChannel = f, ch
	if f != NoFinding {
		o.Top = ch
		flag = true
		if fOnset && !onset {
			onset = true
			o.Kind, o.EventTime, o.EventLine = f.String(), s.chans.startTime[ch], s.chans.startLine[ch]
		}
	}
	o.Flag, o.Onset = flag, onset
	// The level follows rows the model finds normal: a reading outside
	// the learned range alone (a season, a slow sensor drift) does not
	// stop it, or the first drift past the range would stop it for good.
	if s.beta > 0 && lpModel+math.Log(NumStats) > s.logR && f == NoFinding {
		s.follow(row, miss)
	}
	return s.emit(o)
}

// follow moves each channel's level offset one step of beta units
// towards a normal row's value (taken off the offset already) once the
// channel's readings have stayed on that side of it for a whole Cycle: a
// median tracker, which follows ramps of up to beta units per row, takes a
// step of S units S/beta rows to absorb, is not moved further by a wild
// reading than by any other, and does not follow the channel's own
// cycle. (Moving on every row, it swung by beta × P/2 on a wave of period
// P: at 4 units per 150 learning rows, 0.41 units on a 31-row sine, seven
// typical errors, and the model flagged 88% of the rows it had learned
// from.)
func (s *Scorer) follow(row []float32, miss []bool) {
	for ch, v := range row {
		if miss[ch] {
			continue
		}
		side := &s.side[ch]
		switch d := v - s.centre[ch]; {
		case d > 0:
			*side = max(*side, 0) + 1
		case d < 0:
			*side = min(*side, 0) - 1
		default:
			*side = 0
		}
		switch {
		case *side >= s.hold:
			s.drift[ch] += float32(s.beta * s.unit[ch])
		case *side <= -s.hold:
			s.drift[ch] -= float32(s.beta * s.unit[ch])
		}
	}
}

// EndSegment implements stream.Processor: rows after the last window get
// one more window aligned to the segment's end; an open flag ends.
func (s *Scorer) EndSegment(st *stream.Stream) error {
	defer func() {
		s.flags.reset()
		s.chans.reset()
		clear(s.side)
		s.settle.run, s.settle.done = 0, false
		s.chg.reset()
		s.next, s.rows = 0, 0
	}()
	n := st.Len()
	if n < int64(s.steps) || s.next >= n {
		return nil
	}
	return s.Window(st, n-1, st.Rows(n-1, s.steps))
}

// flagger turns rows above the threshold into flags with a minimum
// duration and hysteresis.
type flagger struct {
	minRun    int
	run       int // rows in a row above the threshold
	active    bool
	startTime float64
	startLine int
}

// step takes one row: above (at or over the threshold), below (under the
// hysteresis level) and where the row is; it returns whether the row is
// flagged and whether it starts a new flag.
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

// channelWatch tracks, per channel, runs of missing values and of
// identical readings.
type channelWatch struct {
	missLimit, frozenLimit []int
	miss, same             []int
	last                   []float32
	have                   []bool
	startTime              []float64
	startLine              []int
	active                 []Finding
}

func newChannelWatch(c int, missing, frozen []int) channelWatch {
	w := channelWatch{missLimit: missing, frozenLimit: frozen, miss: make([]int, c), same: make([]int, c),
		last: make([]float32, c), have: make([]bool, c), startTime: make([]float64, c), startLine: make([]int, c),
		active: make([]Finding, c)}
	return w
}

// step updates the runs with one row and returns the finding in force
// (the first channel's, by channel order), its channel, and whether it
// started at this row.
func (w *channelWatch) step(row []float32, miss []bool, t float64, line int) (Finding, int, bool) {
	found, fch, onset := NoFinding, 0, false
	for ch, v := range row {
		if miss[ch] {
			if w.miss[ch] == 0 {
				w.startTime[ch], w.startLine[ch] = t, line
			}
			w.miss[ch]++
			w.same[ch] = 0
		} else {
			w.miss[ch] = 0
			if w.have[ch] && v == w.last[ch] {
				w.same[ch]++
			} else {
				w.same[ch] = 1
				w.startTime[ch], w.startLine[ch] = t, line
			}
			w.last[ch], w.have[ch] = v, true
		}
		f := NoFinding
		switch {
		case w.missLimit != nil && w.missLimit[ch] > 0 && w.miss[ch] >= w.missLimit[ch]:
			f = Missing
		case w.frozenLimit != nil && w.frozenLimit[ch] > 0 && w.same[ch] >= w.frozenLimit[ch]:
			f = Frozen
		}
		if f != NoFinding && w.active[ch] != f && !onset {
			onset = true
			found, fch = f, ch
		}
		w.active[ch] = f
		if f != NoFinding && found == NoFinding {
			found, fch = f, ch
		}
	}
	return found, fch, onset
}

func (w *channelWatch) reset() {
	clear(w.miss)
	clear(w.same)
	clear(w.have)
	clear(w.active)
}

// String describes a score briefly (for logs and tests).
func (o *Score) String() string {
	return fmt.Sprintf("row %d line %d: p %.3g score %.3f flag %v", o.Index, o.Line, o.P, o.Score, o.Flag)
}
