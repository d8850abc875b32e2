// Package stream turns pushed multi-channel samples into the overlapping
// windows a model reads, one stream per sensor installation, with a stated
// policy for imperfect data:
//
//   - Missing or invalid values (NaN, ±Inf, empty fields) are imputed with
//     the channel's last valid value in the segment (before any, the
//     centre of the model's normalisation) and the sample is flagged.
//   - Timestamps follow one policy, the Clock's (also used to read whole
//     files, see package dataset): a sample whose time is missing or
//     impossible, repeats the last accepted time (duplicate) or lies
//     before it (out of order) is dropped and counted; a sample that
//     jumps far ahead waits for the next one, and is dropped as
//     far-future if the next one does not go on from it, so one bad
//     clock reading never shuts out the samples after it.
//   - Irregular sampling is bridged: after a gap of up to MaxGap sampling
//     periods (default 100) the samples go on as consecutive ones, and
//     the gap is counted. A longer outage ends the segment: the rows
//     before it are finished as at the end of the stream, and a new
//     segment starts, so no window straddles it.
//
// A Stream allocates its buffers when it is created; pushing a sample
// allocates nothing. Streams share nothing, so any number of them can run
// side by side, each with its own state.
package stream

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeml/edge/model"
)

// Row is one sample of every channel.
type Row struct {
	Time    float64 // seconds (any epoch), if HasTime
	HasTime bool
	Line    int       // input line, for messages (0: unknown)
	Values  []float32 // one per channel; NaN or ±Inf mark a missing value
}

// Config describes a stream's windows and its policy.
type Config struct {
	Steps, Hop, Channels int
	// Fill holds, per channel, the value imputed before the channel has
	// had a valid value in the segment (typically the normalisation's
	// centre; default 0).
	Fill []float32
	// Period is the expected time between samples. 0: learned as the
	// median of the stream's first intervals.
	Period float64
	// MaxGap ends the segment when the time between two samples exceeds
	// MaxGap periods; shorter gaps are bridged (default DefaultMaxGap,
	// 100; negative: never). ForModel raises the default to the longest
	// gap in the model's training data.
	MaxGap float64
	// Confirm: a sample that jumps ahead by more than Confirm periods
	// waits for the next sample to confirm it (default DefaultConfirm,
	// 10; negative: never). See Clock.
	Confirm float64
	// History is how many rows before the newest window's start a
	// processor can still read with RowAt (default Hop).
	History int
	// Grace: a row may arrive up to Grace rows late and still take its
	// place (see ClockConfig.Grace; default 0).
	Grace int
}

// Processor consumes a stream's windows.
type Processor interface {
	// Window is called when the rows end-Steps+1 .. end of the current
	// segment are complete: x holds them, time-major, raw units.
	Window(s *Stream, end int64, x []float32) error
	// EndSegment is called when the segment ends (a gap, or Close) after
	// its last Window call, for the processor to finish its rows.
	EndSegment(s *Stream) error
}

// Stats counts what a stream has seen.
type Stats struct {
	Rows       int64 // rows pushed
	Accepted   int64 // rows kept
	Imputed    int64 // values imputed
	ImputedRow int64 // rows with at least one imputed value
	// Timing counts the rows the timestamp policy dropped, the gaps it
	// bridged and the restarts (segments ended by an outage).
	Timing
	Windows int64 // windows handed to the processor
}

// Flag describes an accepted row.
type Flag uint8

// Row flags.
const (
	// Imputed: at least one value was missing or invalid and was imputed.
	Imputed Flag = 1 << iota
)

// RowInfo describes an accepted row: what a processor needs to emit it.
type RowInfo struct {
	Time    float64
	HasTime bool
	Line    int
	Flags   Flag
	// Values are the row's values after imputation; Missing marks the
	// imputed ones. Both alias the stream's buffers: copy to keep.
	Values  []float32
	Missing []bool
}

// Stream is one sensor stream's state.
type Stream struct {
	cfg  Config
	proc Processor
	cap  int // rows of history kept
	// ring holds each row twice, at slot and slot+cap, so any cap
	// consecutive rows are contiguous.
	ring    []float32
	missing []bool // doubled like ring: 2*cap x C
	times   []float64
	hasTime []bool
	lines   []int
	flags   []Flag
	last    []float32 // last valid value per channel in the segment
	haveVal []bool
	n       int64 // rows in the segment
	nextWin int64 // end index of the next window
	lastWin int64 // end index of the last window (-1: none yet)
	seg     int64
	clock   *Clock
	stats   Stats
	closed  bool
}

// ErrClosed is returned by Push after Close.
var ErrClosed = errors.New("stream: closed")

// New returns a stream that hands its windows to p.
func New(cfg Config, p Processor) (*Stream, error) {
	if cfg.Steps < 1 || cfg.Hop < 1 || cfg.Channels < 1 {
		return nil, fmt.Errorf("stream: steps %d, hop %d and channels %d must be positive", cfg.Steps, cfg.Hop, cfg.Channels)
	}
	if cfg.Steps > 1<<16 || cfg.Channels > 1<<12 || cfg.Hop > cfg.Steps {
		return nil, fmt.Errorf("stream: steps %d (max 65536), channels %d (max 4096), hop %d (at most steps)", cfg.Steps, cfg.Channels, cfg.Hop)
	}
	if cfg.Fill != nil && len(cfg.Fill) != cfg.Channels {
		return nil, fmt.Errorf("stream: %d fill values for %d channels", len(cfg.Fill), cfg.Channels)
	}
	if cfg.History <= 0 {
		cfg.History = cfg.Hop
	}
	c := cfg.Channels
	cp := cfg.Steps + cfg.History
	s := &Stream{cfg: cfg, proc: p, cap: cp,
		ring: make([]float32, 2*cp*c), missing: make([]bool, 2*cp*c),
		times: make([]float64, cp), hasTime: make([]bool, cp), lines: make([]int, cp), flags: make([]Flag, cp),
		last: make([]float32, c), haveVal: make([]bool, c)}
	clock, err := NewClock(ClockConfig{Period: cfg.Period, MaxGap: cfg.MaxGap, Confirm: cfg.Confirm, Grace: cfg.Grace}, c, s.accept)
	if err != nil {
		return nil, err
	}
	s.clock = clock
	cc := clock.Config()
	s.cfg.MaxGap, s.cfg.Confirm = cc.MaxGap, cc.Confirm
	s.nextWin, s.lastWin = int64(cfg.Steps)-1, -1
	return s, nil
}

// Config returns the stream's configuration (with defaults filled in).
func (s *Stream) Config() Config { return s.cfg }

// Stats returns the counts so far.
func (s *Stream) Stats() Stats {
	st := s.stats
	st.Timing = s.clock.Timing()
	return st
}

// Len returns the number of rows in the current segment.
func (s *Stream) Len() int64 { return s.n }

// Segment returns the current segment's number (0 for the first).
func (s *Stream) Segment() int64 { return s.seg }

// Period returns the sampling period in use (0 while unknown).
func (s *Stream) Period() float64 { return s.clock.Period() }

// RowAt returns accepted row i of the current segment. It must be one of
// the last Steps+History rows.
func (s *Stream) RowAt(i int64) RowInfo {
	if i < 0 || i >= s.n || i < s.n-int64(s.cap) {
		panic(fmt.Sprintf("stream: row %d outside the kept history [%d, %d)", i, max(0, s.n-int64(s.cap)), s.n))
	}
	slot := int(i % int64(s.cap))
	c := s.cfg.Channels
	return RowInfo{Time: s.times[slot], HasTime: s.hasTime[slot], Line: s.lines[slot], Flags: s.flags[slot],
		Values: s.ring[slot*c : (slot+1)*c], Missing: s.missing[slot*c : (slot+1)*c]}
}

// Rows returns rows [end-count+1, end] of the current segment, contiguous
// and time-major; count is at most Steps+History.
func (s *Stream) Rows(end int64, count int) []float32 {
	if count < 1 || count > s.cap || end >= s.n || end-int64(count)+1 < max(0, s.n-int64(s.cap)) {
		panic(fmt.Sprintf("stream: rows %d..%d outside the kept history", end-int64(count)+1, end))
	}
	c := s.cfg.Channels
	start := int((end - int64(count) + 1) % int64(s.cap))
	return s.ring[start*c : (start+count)*c]
}

// MissingRows returns the imputed-value flags of the same rows as Rows.
func (s *Stream) MissingRows(end int64, count int) []bool {
	if count < 1 || count > s.cap || end >= s.n || end-int64(count)+1 < max(0, s.n-int64(s.cap)) {
		panic(fmt.Sprintf("stream: rows %d..%d outside the kept history", end-int64(count)+1, end))
	}
	c := s.cfg.Channels
	start := int((end - int64(count) + 1) % int64(s.cap))
	return s.missing[start*c : (start+count)*c]
}

// Push adds a row. Rows the timestamp policy drops are counted, not
// errors, and a row may be held for one row (see Clock); an error comes
// from a wrong number of values or from the processor.
func (s *Stream) Push(r Row) error {
	if s.closed {
		return ErrClosed
	}
	if len(r.Values) != s.cfg.Channels {
		return fmt.Errorf("stream: line %d: %d values, want %d channels", r.Line, len(r.Values), s.cfg.Channels)
	}
	s.stats.Rows++
	return s.clock.Push(r)
}

// accept adds a row the clock accepted: a restart ends the segment first.
func (s *Stream) accept(r Row, gap Gap) error {
	if gap == Restart && s.n > 0 {
		if err := s.endSegment(); err != nil {
			return err
		}
	}
	c := s.cfg.Channels
	slot := int(s.n % int64(s.cap))
	row := s.ring[slot*c : (slot+1)*c]
	miss := s.missing[slot*c : (slot+1)*c]
	var flags Flag
	for ch, v := range r.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			switch {
			case s.haveVal[ch]:
				v = s.last[ch]
			case s.cfg.Fill != nil:
				v = s.cfg.Fill[ch]
			default:
				v = 0
			}
			miss[ch] = true
			flags |= Imputed
			s.stats.Imputed++
		} else {
			s.last[ch], s.haveVal[ch] = v, true
			miss[ch] = false
		}
		row[ch] = v
	}
	copy(s.ring[(slot+s.cap)*c:(slot+s.cap+1)*c], row)
	copy(s.missing[(slot+s.cap)*c:(slot+s.cap+1)*c], miss)
	if flags&Imputed != 0 {
		s.stats.ImputedRow++
	}
	s.times[slot], s.hasTime[slot], s.lines[slot], s.flags[slot] = r.Time, r.HasTime, r.Line, flags
	s.stats.Accepted++
	end := s.n
	s.n++
	if end == s.nextWin {
		s.nextWin += int64(s.cfg.Hop)
		s.lastWin = end
		s.stats.Windows++
		if s.proc != nil {
			return s.proc.Window(s, end, s.Rows(end, s.cfg.Steps))
		}
	}
	return nil
}

// endSegment finishes the current segment and starts a new one.
func (s *Stream) endSegment() error {
	var err error
	if s.proc != nil && s.n > 0 {
		err = s.proc.EndSegment(s)
	}
	s.n = 0
	s.nextWin, s.lastWin = int64(s.cfg.Steps)-1, -1
	clear(s.haveVal)
	s.seg++
	return err
}

// Close ends the stream: a held row is released, and the processor
// finishes the last segment.
func (s *Stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	err := s.clock.Flush()
	if end := s.endSegment(); err == nil {
		err = end
	}
	return err
}

// LastWindowEnd returns the end index of the last window handed to the
// processor in this segment (-1 if none).
func (s *Stream) LastWindowEnd() int64 { return s.lastWin }

// ForModel returns the configuration of a stream feeding model m: its
// window, its channels, the centre of its normalisation as the fill value,
// hop (0: the hop the model was trained with, else a quarter window), and
// MaxGap raised from DefaultMaxGap to the longest gap in the model's
// training data, in periods, if that was longer (the model has seen
// windows across such gaps).
func ForModel(m *model.Model, hop int) Config {
	cfg := Config{Steps: m.Steps, Channels: m.Channels, Hop: hop, Fill: make([]float32, m.Channels)}
	t, _, err := model.TrainingSection.Get(m)
	if err != nil { // a model that was read was validated: only a model built in memory gets here
		t = model.Training{}
	}
	if hop <= 0 {
		cfg.Hop = max(1, m.Steps/4)
		if t.Hop > 0 && t.Hop <= m.Steps {
			cfg.Hop = t.Hop
		}
	}
	if t.MaxGap > DefaultMaxGap && t.MaxGap <= 1e12 {
		cfg.MaxGap = math.Ceil(t.MaxGap)
	}
	m.Norm.Centre(cfg.Fill, make([]float32, m.Channels))
	return cfg
}
