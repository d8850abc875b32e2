package stream

import (
	"fmt"
	"math"
)

// The timestamp policy's defaults and limits.
const (
	// DefaultMaxGap is the gap, in sampling periods, beyond which a
	// stream restarts its segment; shorter gaps are bridged.
	DefaultMaxGap = 100
	// DefaultConfirm is the forward jump, in sampling periods, beyond
	// which a row waits for the next one to confirm its time.
	DefaultConfirm = 10
	// MaxTime is the latest time a row may carry: 9999-12-31T23:59:59Z
	// in Unix seconds. Rows beyond it (or before -MaxTime) are dropped.
	MaxTime = 253402300799
	// bridgeFactor: an interval longer than this many periods is a gap
	// (at least one sample missing, allowing for jitter).
	bridgeFactor = 1.5
	// learnIntervals is how many intervals the period is learned from.
	learnIntervals = 9
)

// ValidTime reports whether t can be a row's time: finite and within
// ±MaxTime seconds.
func ValidTime(t float64) bool { return !math.IsNaN(t) && math.Abs(t) <= MaxTime }

// Gap says how an accepted row follows the row accepted before it.
type Gap uint8

// The gaps a Clock reports with each accepted row.
const (
	// Steady: within 1.5 sampling periods, or no time to compare.
	Steady Gap = iota
	// Bridged: a gap longer than 1.5 periods and at most MaxGap: the
	// rows go on as consecutive samples.
	Bridged
	// Restart: a gap longer than MaxGap periods: the segment ends.
	Restart
)

// Timing counts what the timestamp policy did.
type Timing struct {
	Duplicates int64 // dropped: the time of the last accepted row again
	OutOfOrder int64 // dropped: earlier than the last accepted row
	FarFuture  int64 // dropped: a jump forward the next row did not continue
	BadTime    int64 // dropped: a missing, non-finite or impossible time
	Bridged    int64 // gaps of 1.5 to MaxGap periods the rows flowed across
	Restarts   int64 // gaps longer than MaxGap periods: the segment restarted
	// FirstDropped is the line of the first dropped row (0: none, or
	// rows without lines).
	FirstDropped int
}

// Dropped returns how many rows the policy dropped.
func (t Timing) Dropped() int64 { return t.Duplicates + t.OutOfOrder + t.FarFuture + t.BadTime }

// Add returns the sum of two counts; FirstDropped is t's if set, else u's.
func (t Timing) Add(u Timing) Timing {
	t.Duplicates += u.Duplicates
	t.OutOfOrder += u.OutOfOrder
	t.FarFuture += u.FarFuture
	t.BadTime += u.BadTime
	t.Bridged += u.Bridged
	t.Restarts += u.Restarts
	if t.FirstDropped == 0 {
		t.FirstDropped = u.FirstDropped
	}
	return t
}

// ClockConfig sets a Clock's limits.
type ClockConfig struct {
	// Period is the expected time between rows (0: learned as the median
	// of the first nine intervals; until then, of those seen so far).
	Period float64
	// MaxGap: a gap longer than this many periods restarts the segment
	// (0: DefaultMaxGap; negative: never).
	MaxGap float64
	// Confirm: a row that jumps forward by more than this many periods
	// is held until the next row confirms it (0: DefaultConfirm;
	// negative: never hold, and accept the first row at once).
	Confirm float64
	// Grace: a row may arrive up to Grace rows late and still take its
	// place in time order; a later one is dropped as out of order. The
	// rows wait for Grace more rows before the policy sees them (0, the
	// default: taken in arrival order, no wait; at most MaxGrace).
	Grace int
}

// Clock applies the timestamp policy to rows in arrival order and hands
// the accepted ones, in order, to its emit function:
//
//   - A row whose time is missing (NaN), infinite or beyond ±MaxTime is
//     dropped (BadTime).
//   - A row at the time of the last accepted row is dropped (Duplicates);
//     an earlier one is dropped (OutOfOrder). Neither moves the clock.
//   - A row that jumps forward by more than Confirm periods is held until
//     the next row shows whether the jump was real. If the next row goes
//     on after it, the held row is accepted. If the next row lies between
//     the last accepted time and the held one, closer to the former, the
//     held row was a glitch: it is dropped (FarFuture) without moving the
//     clock, and the rows after it are kept. Until the period is known
//     (the first rows of a stream), every row is held this way, the first
//     one included, so a bad first timestamp cannot shut out the rest.
//   - An accepted row after a gap of more than 1.5 periods and at most
//     MaxGap periods is Bridged: it follows as the next sample. A longer
//     gap is a Restart.
//
// Latency: a held row is released when the next row arrives (or at
// Flush): one row, only at the start and after a jump. Memory: two held
// rows, allocated by NewClock. Pushing a row allocates nothing.
type Clock struct {
	cfg  ClockConfig
	emit func(Row, Gap) error
	// the last accepted time
	last     float64
	haveLast bool
	// the period, fixed once learnIntervals intervals are in
	period    float64
	intervals [learnIntervals]float64 // sorted
	learned   int
	// held rows: the one waiting for confirmation, and, at the start
	// only, an earlier rival that came after it
	held, rival         Row
	holding, rivalFirst bool
	timing              Timing
	grace               *reorder // nil without a grace window
}

// NewClock returns a clock for rows of the given number of channels that
// passes each accepted row, with its gap, to emit. Values handed to emit
// may alias the clock's buffers: copy them to keep them.
func NewClock(cfg ClockConfig, channels int, emit func(Row, Gap) error) (*Clock, error) {
	if cfg.Period < 0 || math.IsNaN(cfg.Period) || math.IsInf(cfg.Period, 0) {
		return nil, fmt.Errorf("stream: period %v", cfg.Period)
	}
	if math.IsNaN(cfg.MaxGap) || math.IsNaN(cfg.Confirm) || channels < 1 || emit == nil || cfg.Grace < 0 || cfg.Grace > MaxGrace {
		return nil, fmt.Errorf("stream: clock of %d channels, max gap %v, confirm %v, grace %d", channels, cfg.MaxGap, cfg.Confirm, cfg.Grace)
	}
	if cfg.MaxGap == 0 {
		cfg.MaxGap = DefaultMaxGap
	}
	if cfg.Confirm == 0 {
		cfg.Confirm = DefaultConfirm
	}
	c := &Clock{cfg: cfg, emit: emit, period: cfg.Period}
	c.held.Values = make([]float32, channels)
	c.rival.Values = make([]float32, channels)
	if cfg.Grace > 0 {
		c.grace = newReorder(cfg.Grace, channels, c.decide)
	}
	return c, nil
}

// Config returns the clock's configuration, defaults filled in.
func (c *Clock) Config() ClockConfig { return c.cfg }

// Timing returns the counts so far.
func (c *Clock) Timing() Timing { return c.timing }

// Period returns the sampling period in use (0 while unknown).
func (c *Clock) Period() float64 { return c.period }

// Push applies the policy to a row. Its values are copied if it is held.
// An error comes only from emit.
func (c *Clock) Push(r Row) error {
	if !r.HasTime {
		if err := c.Flush(); err != nil {
			return err
		}
		return c.emit(r, Steady)
	}
	if !ValidTime(r.Time) {
		c.drop(&c.timing.BadTime, r.Line)
		return nil
	}
	if c.grace != nil {
		return c.grace.push(r)
	}
	return c.decide(r)
}

// decide applies the policy to a row with a valid time, in the order the
// grace window hands them on.
func (c *Clock) decide(r Row) error {
	switch {
	case c.rivalFirst:
		return c.resolveRival(r)
	case c.holding && !c.haveLast:
		return c.resolveFirst(r)
	case c.holding:
		return c.resolve(r)
	}
	return c.arrive(r)
}

// Flush releases a held row (the end of the input confirms nothing, and
// drops nothing): call it at the end of a stream.
func (c *Clock) Flush() error {
	if c.grace != nil {
		if err := c.grace.flush(); err != nil {
			return err
		}
	}
	if c.rivalFirst {
		// Two rows going back at the start, and no third to tell which
		// was wrong: keep the first, as if nothing had been held.
		c.rivalFirst = false
		c.drop(&c.timing.OutOfOrder, c.rival.Line)
	}
	return c.release()
}

// arrive handles a row when nothing is held.
func (c *Clock) arrive(r Row) error {
	if !c.haveLast {
		if c.cfg.Confirm < 0 {
			return c.accept(r, Steady)
		}
		c.hold(&c.held, r)
		c.holding = true
		return nil
	}
	dt := r.Time - c.last
	switch {
	case dt == 0:
		c.drop(&c.timing.Duplicates, r.Line)
		return nil
	case dt < 0:
		c.drop(&c.timing.OutOfOrder, r.Line)
		return nil
	case c.suspect(dt):
		c.hold(&c.held, r)
		c.holding = true
		return nil
	}
	return c.acceptAfter(r, dt)
}

// suspect reports whether a forward jump of dt waits for confirmation.
func (c *Clock) suspect(dt float64) bool {
	return c.cfg.Confirm >= 0 && (c.period == 0 || dt > c.cfg.Confirm*c.period)
}

// resolve decides a held row by the next one, r.
func (c *Clock) resolve(r Row) error {
	t, h := r.Time, c.held.Time
	switch {
	case t > h: // the jump goes on: it was real
		if err := c.release(); err != nil {
			return err
		}
		return c.arrive(r)
	case t == h:
		c.drop(&c.timing.Duplicates, r.Line)
	case t == c.last:
		c.drop(&c.timing.Duplicates, r.Line)
	case t < c.last: // r is wrong either way; wait for another
		c.drop(&c.timing.OutOfOrder, r.Line)
	case h-t > t-c.last: // r goes on from the clock: the held row was a glitch
		c.holding = false
		c.drop(&c.timing.FarFuture, c.held.Line)
		return c.arrive(r)
	default: // r is just behind the held row: r is late
		c.drop(&c.timing.OutOfOrder, r.Line)
		return c.release()
	}
	return nil
}

// resolveFirst decides a held first row by the next one, r.
func (c *Clock) resolveFirst(r Row) error {
	switch t, h := r.Time, c.held.Time; {
	case t > h:
		if err := c.release(); err != nil {
			return err
		}
		return c.arrive(r)
	case t == h:
		c.drop(&c.timing.Duplicates, r.Line)
	default: // which of the two is wrong? A third row will tell
		c.hold(&c.rival, r)
		c.rivalFirst = true
	}
	return nil
}

// resolveRival decides between a held first row and an earlier second
// one by a third row, r.
func (c *Clock) resolveRival(r Row) error {
	t, h, e := r.Time, c.held.Time, c.rival.Time
	switch {
	case t > h: // the first row was right; the second came late
		c.rivalFirst = false
		c.drop(&c.timing.OutOfOrder, c.rival.Line)
		if err := c.release(); err != nil {
			return err
		}
		return c.arrive(r)
	case t == h || t == e:
		c.drop(&c.timing.Duplicates, r.Line)
	case t > e: // the second row goes on: the first was a glitch
		c.rivalFirst = false
		c.drop(&c.timing.FarFuture, c.held.Line)
		c.hold(&c.held, c.rival)
		if err := c.release(); err != nil {
			return err
		}
		return c.arrive(r)
	default:
		c.drop(&c.timing.OutOfOrder, r.Line)
	}
	return nil
}

// hold copies r into a held slot.
func (c *Clock) hold(slot *Row, r Row) {
	vals := slot.Values
	copy(vals, r.Values)
	*slot = r
	slot.Values = vals
}

// release accepts the held row, if any.
func (c *Clock) release() error {
	if !c.holding {
		return nil
	}
	c.holding = false
	if !c.haveLast {
		return c.accept(c.held, Steady)
	}
	return c.acceptAfter(c.held, c.held.Time-c.last)
}

// acceptAfter accepts a row dt after the last accepted one: it learns the
// period and classifies the gap.
func (c *Clock) acceptAfter(r Row, dt float64) error {
	c.learn(dt)
	gap := Steady
	switch p := c.period; {
	case p == 0:
	case c.cfg.MaxGap > 0 && dt > c.cfg.MaxGap*p:
		gap = Restart
		c.timing.Restarts++
	case dt > bridgeFactor*p:
		gap = Bridged
		c.timing.Bridged++
	}
	return c.accept(r, gap)
}

func (c *Clock) accept(r Row, gap Gap) error {
	c.last, c.haveLast = r.Time, true
	return c.emit(r, gap)
}

// learn adds an interval to the period's estimate: the median of the
// first learnIntervals intervals (of those so far until then).
func (c *Clock) learn(dt float64) {
	if c.cfg.Period > 0 || c.learned == learnIntervals {
		return
	}
	i := c.learned
	for i > 0 && c.intervals[i-1] > dt {
		c.intervals[i] = c.intervals[i-1]
		i--
	}
	c.intervals[i] = dt
	c.learned++
	c.period = c.intervals[c.learned/2]
}

func (c *Clock) drop(count *int64, line int) {
	*count++
	if c.timing.FirstDropped == 0 {
		c.timing.FirstDropped = line
	}
}
