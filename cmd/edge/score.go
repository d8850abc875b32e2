package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/internal/lineproto"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// scoreFlags override the model's stored scorer settings.
type scoreFlags struct {
	rate, hysteresis float64
	minRows, drift   int
	settle           int
	events           bool
	per              string
}

func (f *scoreFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&f.rate, "rate", 0, "target false-alarm rate per row: the thresholds follow from the learned tails (default: the model's, 0.0005)")
	fs.Float64Var(&f.hysteresis, "hysteresis", 0, "a flag ends when the score falls below this fraction of 0.5 (default: the model's, 0.8)")
	fs.IntVar(&f.minRows, "min-rows", 0, "rows in a row over the threshold before a flag starts (default: the model's, 1)")
	fs.IntVar(&f.settle, "settle", 0, "an alarm that lasts this many rows is taken as a new normal level, a new_level event (default: the model's, twice the learning rows; -1: never)")
	fs.IntVar(&f.drift, "drift", 0, "each channel's centre follows the level of normal rows by at most 4 units over this many rows (default: the model's, the learning rows; -1: fixed)")
	fs.BoolVar(&f.events, "events", false, "write only the rows that start an anomaly or a channel finding (one line per event)")
	fs.StringVar(&f.per, "per", "row", "row: a line per input row; window: a line per scored window (its newest row)")
}

// check validates the flags (a usage error), before anything is read.
func (f *scoreFlags) check() error {
	if !(f.rate >= 0 && f.rate < 0.5) || f.hysteresis < 0 || f.hysteresis > 1 || f.minRows < 0 || (f.per != "row" && f.per != "window") {
		return fmt.Errorf("%w: --rate in (0, 0.5), --hysteresis in (0, 1], --min-rows positive, --per row or window", errUsage)
	}
	return nil
}

// settings applies the flags (see check) to the model's settings.
func (f *scoreFlags) settings(m *model.Model) (anomaly.Settings, error) {
	if err := f.check(); err != nil {
		return anomaly.Settings{}, err
	}
	set, err := anomaly.Load(m)
	if err != nil {
		return set, err
	}
	if f.rate > 0 {
		set.Rate = f.rate
	}
	if f.hysteresis > 0 {
		set.Hysteresis = f.hysteresis
	}
	if f.minRows > 0 {
		set.MinRows = f.minRows
	}
	switch {
	case f.drift > 0:
		set.Drift = f.drift
	case f.drift < 0:
		set.Drift = 0
	}
	switch {
	case f.settle > 0:
		set.Settle = f.settle
	case f.settle < 0:
		set.Settle = 0
	}
	return set, nil
}

func cmdScore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("score", stderr)
	var sf streamFlags
	sf.register(fs)
	var scf scoreFlags
	scf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge score MODEL [FILE.csv|-] [flags]

Scores a CSV of readings (a file, or stdin) for anomalies with the model
and its learned thresholds: one line per input row (or per window, --per
window), in input order, as CSV or JSON lines on stdout: the input line
and time, the score in [0, 1] (0.5 at the threshold), the row's p-value
under normal operation, whether it is flagged (after the minimum duration
and hysteresis, or because a channel stopped reporting or froze), the
event an onset starts, the channel to blame, the four statistics, the
change score and each channel's share of the error.

The score says how abnormal the data are now: it stays up while they
stay abnormal, as the flag does. The change score (same scale, 0.5 at
the same false-alarm rate) says how much more surprising a row is than
the 16 before it: high where an anomaly begins, back down while it
lasts. Rank rows by change to count detections (as streaming benchmarks
such as NAB do); by score to measure how long the data were abnormal. The exit status is 3 if values were missing
or rows dropped, unless --lenient.

Flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return fmt.Errorf("%w: want MODEL and an optional input file", errUsage)
	}
	if err := sf.check(); err != nil {
		return err
	}
	if err := scf.check(); err != nil {
		return err
	}
	m, err := model.Load(pos[0])
	if err != nil {
		return err
	}
	set, err := scf.settings(m)
	if err != nil {
		return err
	}
	src := "-"
	if len(pos) == 2 {
		src = pos[1]
	}
	in, err := openInput(src, m, &sf, stdin)
	if err != nil {
		return err
	}
	defer in.close()
	o := newOut(stdout, sf.format)
	sc, counts, err := newScoreWriter(m, set, sf.config(), in, o, &scf)
	if err != nil {
		return err
	}
	runErr := pump(in, sc.Push, sc.Close)
	if err := o.flush(); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	fmt.Fprintf(stderr, "edge score: %d rows scored, %d flagged; %s\n", counts.rows, counts.flagged, counts.events())
	return reportStream(stderr, "score", in, sc.Stream(), sf.lenient)
}

// scoreCounts counts what a score writer saw.
type scoreCounts struct {
	rows, flagged int
	kinds         map[string]int
}

func (c *scoreCounts) events() string {
	if len(c.kinds) == 0 {
		return "no events"
	}
	var parts []string
	for _, k := range []string{"anomaly", "missing", "frozen"} {
		if n := c.kinds[k]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, k))
		}
	}
	return strings.Join(parts, ", ") + " events"
}

// appendScoreInflux appends a scored row as line protocol: measurement
// edge_score, with the score, p, change, the statistics, flag and onset
// as booleans, top (and event) as strings, share_<channel>, the time in
// nanoseconds.
func appendScoreInflux(b []byte, s *anomaly.Score, names []string) []byte {
	b = append(b, "edge_score "...)
	first := true
	b = appendInfluxField(b, &first, "score", s.Score, 64)
	b = appendInfluxField(b, &first, "p", s.P, 64)
	b = appendInfluxField(b, &first, "change", s.Change, 64)
	for i, v := range s.Stats {
		b = appendInfluxField(b, &first, anomaly.StatName(i), v, 32)
	}
	if !first {
		b = append(b, ',')
	}
	b = fmt.Appendf(b, "flag=%t,onset=%t,line=%di,top=%s", s.Flag, s.Onset, s.Line, lineproto.Quote(names[s.Top]))
	if s.Onset {
		b = fmt.Appendf(b, ",event=%s,event_line=%di", lineproto.Quote(s.Kind), s.EventLine)
	}
	for i, v := range s.Contrib {
		b = appendInfluxField(b, &first, "share_"+names[i], float64(v), 32)
	}
	return append(appendInfluxTime(b, s.HasTime, s.Time), '\n')
}

// newScoreWriter returns a scorer that writes each row (or window, or
// only event onsets) to o, and its counts.
func newScoreWriter(m *model.Model, set anomaly.Settings, sc stream.Config, in *input, o *out, f *scoreFlags) (*anomaly.Scorer, *scoreCounts, error) {
	names := in.rd.Names()
	if o.csv() {
		b := o.buf[:0]
		if in.rd.HasTime() {
			b = append(b, csvName(in.rd.TimeName())...)
			b = append(b, ',')
		}
		b = append(b, "line,score,p,flag,onset,event,event_line,top,spe,peak,range,smooth,change"...)
		for _, n := range names {
			b = append(b, ',')
			b = append(b, csvName("share_"+n)...)
		}
		b = append(b, '\n')
		o.w.Write(b)
		o.buf = b
	}
	counts := &scoreCounts{kinds: map[string]int{}}
	s, err := anomaly.New(m, anomaly.Config{Settings: set, Stream: sc}, func(s *anomaly.Score) error {
		counts.rows++
		if s.Flag {
			counts.flagged++
		}
		if s.Onset {
			counts.kinds[s.Kind]++
		}
		if (f.events && !s.Onset) || (f.per == "window" && !s.Window && !s.Onset) {
			return nil
		}
		o.follow(in.rd)
		o.buf = appendScore(o.buf[:0], o, s, names)
		_, err := o.w.Write(o.buf)
		return err
	})
	return s, counts, err
}

// appendScore appends one scored row as CSV, a JSON line or a line of
// line protocol.
func appendScore(b []byte, o *out, s *anomaly.Score, names []string) []byte {
	top := names[s.Top]
	if o.influx {
		return appendScoreInflux(b, s, names)
	}
	if o.jsonl {
		b = append(b, `{"line":`...)
		b = appendInt(b, s.Line)
		if s.HasTime {
			b = append(b, `,"time":`...)
			b = o.appendTime(b, s.Time)
		}
		b = append(b, `,"score":`...)
		b = appendFloat(b, s.Score, 64)
		b = append(b, `,"p":`...)
		b = appendFloat(b, s.P, 64)
		b = append(b, `,"change":`...)
		b = appendFloat(b, s.Change, 64)
		b = fmt.Appendf(b, `,"flag":%t,"onset":%t`, s.Flag, s.Onset)
		if s.Onset {
			b = fmt.Appendf(b, `,"event":%q,"event_line":`, s.Kind)
			b = appendInt(b, s.EventLine)
			if s.HasTime {
				b = append(b, `,"event_time":`...)
				b = o.appendTime(b, s.EventTime)
			}
		}
		if s.Finding != anomaly.NoFinding {
			b = fmt.Appendf(b, `,"finding":%q`, s.Finding.String())
		}
		b = fmt.Appendf(b, `,"top":%q`, top)
		for i, v := range s.Stats {
			b = fmt.Appendf(b, `,%q:`, anomaly.StatName(i))
			b = appendFloat(b, v, 32)
		}
		b = append(b, `,"shares":{`...)
		for i, v := range s.Contrib {
			if i > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, "%q:", names[i])
			b = appendFloat(b, float64(v), 32)
		}
		return append(b, "}}\n"...)
	}
	if s.HasTime {
		b = o.appendTime(b, s.Time)
		b = append(b, ',')
	}
	b = appendInt(b, s.Line)
	b = append(b, ',')
	b = appendFloat(b, s.Score, 64)
	b = append(b, ',')
	b = appendFloat(b, s.P, 64)
	b = fmt.Appendf(b, ",%d,%d,", b2i(s.Flag), b2i(s.Onset))
	if s.Onset {
		b = append(b, s.Kind...)
		b = append(b, ',')
		b = appendInt(b, s.EventLine)
	} else {
		b = append(b, ',')
	}
	b = append(b, ',')
	b = append(b, csvName(top)...)
	for _, v := range s.Stats {
		b = append(b, ',')
		b = appendFloat(b, v, 32)
	}
	b = append(b, ',')
	b = appendFloat(b, s.Change, 64)
	for _, v := range s.Contrib {
		b = append(b, ',')
		b = appendFloat(b, float64(v), 32)
	}
	return append(b, '\n')
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func cmdCalibrate(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("calibrate", stderr)
	var sf streamFlags
	sf.register(fs)
	data := fs.String("data", "", "CSV of normal readings the model did NOT train on (required; - reads stdin)")
	out := fs.String("o", "", "where to write the model with its new settings (default: replace MODEL, atomically)")
	rate := fs.Float64("rate", anomaly.DefaultAlarmRate, "target false-alarm rate per row")
	hysteresis := fs.Float64("hysteresis", 0.8, "a flag ends when the score falls below this fraction of 0.5")
	minRows := fs.Int("min-rows", 1, "rows in a row over the threshold before a flag starts")
	replace := fs.Bool("replace", false, "use these readings' thresholds even where they are lower than the model's learned ones")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge calibrate MODEL --data NORMAL.csv [-o OUT] [flags]

Streams readings known to be normal through the scorer and learns its
settings from them: each channel's typical error, the smoothing, the tails
of the four statistics (peaks over threshold, a generalised Pareto fit) and
the missing and frozen limits; stores them in the model for edge score and
edge run. Use readings the model did not train on: a model reconstructs
its own training rows too well, which would put the thresholds too low.
edge train and edge watch already learn the settings from held-out rows
(cross-fitting); calibrate to move a model to a new site or season. Unless
--replace, no threshold goes below the model's learned one.

Flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one MODEL argument", errUsage)
	}
	if *data == "" {
		return fmt.Errorf("%w: --data NORMAL.csv is required", errUsage)
	}
	if err := sf.check(); err != nil {
		return err
	}
	if !(*rate > 0 && *rate < 0.5) || !(*hysteresis > 0 && *hysteresis <= 1) || *minRows < 1 {
		return fmt.Errorf("%w: --rate in (0, 0.5), --hysteresis in (0, 1], --min-rows positive", errUsage)
	}
	m, err := model.Load(pos[0])
	if err != nil {
		return err
	}
	in, err := openInput(*data, m, &sf, stdin)
	if err != nil {
		return err
	}
	defer in.close()
	series, timing, err := gather(in, sf.config(), 1<<27)
	if err != nil {
		return err
	}
	if len(series) == 0 {
		return fmt.Errorf("%s: no data rows after the header", in.name)
	}
	old, oldErr := anomaly.Load(m)
	base := calibrationBase(anomaly.Settings{Rate: *rate, Hop: sf.hop, Hysteresis: *hysteresis, MinRows: *minRows}, old, oldErr == nil, len(series)/m.Channels, m.Steps)
	set, err := anomaly.Calibrate(m, series, anomaly.LearnOptions{Base: base})
	if err != nil {
		return err
	}
	kept := 0
	if oldErr == nil && !*replace {
		kept = set.NoLower(old)
	}
	if err := anomaly.Store(m, set); err != nil {
		return err
	}
	dst := *out
	if dst == "" {
		dst = pos[0]
	}
	if err := m.Save(dst); err != nil {
		return err
	}
	thr := set.Thresholds()
	fmt.Fprintf(stdout, "calibrated on %d normal rows from %s: thresholds at a false-alarm rate of %g: spe %.4g, peak %.4g, range %.4g, smooth %.4g (weight %.3g)\n",
		set.Rows, in.name, set.Rate, thr[0], thr[1], thr[2], thr[3], set.Alpha)
	if kept > 0 {
		fmt.Fprintf(stdout, "%d of the %d statistics kept the model's higher learned tail (--replace to lower them)\n", kept, anomaly.NumStats)
	}
	fmt.Fprintf(stdout, "wrote %s\n", dst)
	reportGathered(stderr, "calibrate", in, timing)
	return nil
}

// calibrationBase completes the settings edge calibrate learns from: the
// old settings' hop (unless --hop), drift, settle and cycle where the
// model has settings (had), else drift over the rows, settle after twice
// them, and a cycle of a window (the period that chose it is not stored).
func calibrationBase(base, old anomaly.Settings, had bool, rows, steps int) anomaly.Settings {
	base.Drift, base.Settle, base.Cycle = rows, 2*rows, steps
	if !had {
		return base
	}
	if base.Hop == 0 {
		base.Hop = old.Hop
	}
	base.Drift, base.Settle = old.Drift, old.Settle
	if old.Cycle > 0 {
		base.Cycle = old.Cycle
	}
	return base
}

// reportGathered says on stderr what was imputed and what the timestamp
// policy did to gathered rows.
func reportGathered(stderr io.Writer, cmd string, in *input, timing stream.Timing) {
	if in.rd.Missing > 0 {
		fmt.Fprintf(stderr, "edge %s: %d missing values were imputed (first at %s)\n", cmd, in.rd.Missing, strings.Join(in.rd.MissingAt[:1], ""))
	}
	if dropped, notes := timingReport(timing, 0); len(dropped)+len(notes) > 0 {
		fmt.Fprintf(stderr, "edge %s: %s: %s\n", cmd, in.name, strings.Join(append(dropped, notes...), "; "))
	}
}

// gather reads every row of in through the timestamp policy and returns
// the rows kept, time-major, at most limit values.
func gather(in *input, cfg stream.Config, limit int) ([]float32, stream.Timing, error) {
	var vals []float32
	clock, err := stream.NewClock(stream.ClockConfig{Period: cfg.Period, MaxGap: cfg.MaxGap, Confirm: cfg.Confirm}, len(in.values), func(r stream.Row, _ stream.Gap) error {
		if len(vals)+len(r.Values) > limit {
			return fmt.Errorf("%s: more than %d values; use a sample", in.name, limit)
		}
		vals = append(vals, r.Values...)
		return nil
	})
	if err != nil {
		return nil, stream.Timing{}, err
	}
	for {
		row, err := in.next()
		if err == io.EOF {
			err = clock.Flush()
			return vals, clock.Timing(), err
		}
		if err == nil {
			err = clock.Push(row)
		}
		if err != nil {
			return nil, stream.Timing{}, err
		}
	}
}
