package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// scoreFlags override the model's stored scorer settings.
type scoreFlags struct {
	threshold, hysteresis, adapt float64
	minWindows, stuck            int
	events                       bool
}

func (f *scoreFlags) register(fs *flag.FlagSet) {
	fs.Float64Var(&f.threshold, "threshold", 0, "raw-score threshold (default: the model's calibrated one)")
	fs.Float64Var(&f.hysteresis, "hysteresis", 0, "a flag ends below this fraction of the threshold (default: the model's, 0.8)")
	fs.IntVar(&f.minWindows, "min-windows", 0, "windows in a row over the threshold before a flag starts (default: the model's, 2)")
	fs.Float64Var(&f.adapt, "adapt", -1, "rate at which the threshold follows slow drift of normal scores, per window (default: the model's; 0: off)")
	fs.IntVar(&f.stuck, "stuck", 0, "identical readings in a row that count as a stuck sensor (default: the model's; negative: off)")
	fs.BoolVar(&f.events, "events", false, "write only the windows that start a flag (one line per anomaly)")
}

// settings applies the flags to the model's settings.
func (f *scoreFlags) settings(m *model.Model) (anomaly.Settings, error) {
	set, err := anomaly.Load(m)
	if err != nil && f.threshold == 0 {
		return set, err
	}
	if f.threshold < 0 || f.hysteresis < 0 || f.hysteresis > 1 || f.minWindows < 0 || f.adapt >= 1 {
		return set, fmt.Errorf("%w: --threshold must be positive, --hysteresis in (0, 1], --min-windows positive, --adapt in [0, 1)", errUsage)
	}
	if f.threshold > 0 {
		set.Threshold = f.threshold
	}
	if f.hysteresis > 0 {
		set.Hysteresis = f.hysteresis
	}
	if f.minWindows > 0 {
		set.MinWindows = f.minWindows
	}
	if f.adapt >= 0 {
		set.Adapt = f.adapt
	}
	if f.stuck != 0 {
		set.Stuck = f.stuck
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
and its calibrated threshold: one line per window, at its newest row, as
CSV or JSON lines on stdout: the raw score (reconstruction error), the
score in [0, 1] (0.5 at the threshold), whether the window is flagged
(after hysteresis and the minimum duration), and each channel's share.
The exit status is 3 if values were missing or rows dropped, unless
--lenient.

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
	sc, flags, err := newScoreWriter(m, set, sf.config(), in, o, scf.events)
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
	fmt.Fprintf(stderr, "edge score: %d windows scored, %d anomalies flagged (threshold %.4g)\n", sc.Stream().Stats().Windows, *flags, sc.Settings().Threshold)
	return reportStream(stderr, "score", in, sc.Stream(), sf.lenient)
}

// newScoreWriter returns a scorer that writes each window (or only onsets)
// to o, and a counter of the anomalies it flags.
func newScoreWriter(m *model.Model, set anomaly.Settings, sc stream.Config, in *input, o *out, events bool) (*anomaly.Scorer, *int, error) {
	names := in.rd.Names()
	if !o.jsonl {
		b := o.buf[:0]
		if in.rd.HasTime() {
			b = append(b, csvName(in.rd.TimeName())...)
			b = append(b, ',')
		}
		b = append(b, "line,start_line,raw,score,threshold,above,flag,onset,top,stuck"...)
		for _, n := range names {
			b = append(b, ',')
			b = append(b, csvName("share_"+n)...)
		}
		b = append(b, '\n')
		o.w.Write(b)
		o.buf = b
	}
	flags := new(int)
	s, err := anomaly.New(m, anomaly.Config{Settings: set, Stream: sc}, func(s *anomaly.Score) error {
		if s.Onset {
			*flags++
		}
		if events && !s.Onset {
			return nil
		}
		o.follow(in.rd)
		b := o.buf[:0]
		line := s.Line
		if s.Onset {
			line = s.EventLine
		}
		if o.jsonl {
			b = append(b, `{"line":`...)
			b = appendInt(b, s.Line)
			if s.HasTime {
				b = append(b, `,"time":`...)
				b = o.appendTime(b, s.Time)
			}
			b = append(b, `,"start_line":`...)
			b = appendInt(b, s.StartLine)
			b = append(b, `,"raw":`...)
			b = appendFloat(b, s.Raw, 64)
			b = append(b, `,"score":`...)
			b = appendFloat(b, s.Score, 64)
			b = append(b, `,"threshold":`...)
			b = appendFloat(b, s.Threshold, 64)
			b = fmt.Appendf(b, `,"above":%t,"flag":%t,"onset":%t`, s.Above, s.Flag, s.Onset)
			if s.Onset {
				b = append(b, `,"event_line":`...)
				b = appendInt(b, line)
				if s.HasTime {
					b = append(b, `,"event_time":`...)
					b = o.appendTime(b, s.EventTime)
				}
			}
			b = append(b, `,"top":`...)
			b = fmt.Appendf(b, "%q", names[s.Top])
			if s.Stuck > 0 {
				b = append(b, `,"stuck":`...)
				b = appendInt(b, s.Stuck)
			}
			b = append(b, `,"shares":{`...)
			for i, v := range s.Contrib {
				if i > 0 {
					b = append(b, ',')
				}
				b = fmt.Appendf(b, "%q:", names[i])
				b = appendFloat(b, float64(v), 32)
			}
			b = append(b, "}}\n"...)
		} else {
			if s.HasTime {
				b = o.appendTime(b, s.Time)
				b = append(b, ',')
			}
			b = appendInt(b, s.Line)
			b = append(b, ',')
			b = appendInt(b, s.StartLine)
			b = append(b, ',')
			b = appendFloat(b, s.Raw, 64)
			b = append(b, ',')
			b = appendFloat(b, s.Score, 64)
			b = append(b, ',')
			b = appendFloat(b, s.Threshold, 64)
			b = fmt.Appendf(b, ",%d,%d,%d,", b2i(s.Above), b2i(s.Flag), b2i(s.Onset))
			b = append(b, csvName(names[s.Top])...)
			b = append(b, ',')
			b = appendInt(b, s.Stuck)
			for _, v := range s.Contrib {
				b = append(b, ',')
				b = appendFloat(b, float64(v), 32)
			}
			b = append(b, '\n')
		}
		o.buf = b
		_, err := o.w.Write(b)
		return err
	})
	return s, flags, err
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
	data := fs.String("data", "", "CSV of normal readings to calibrate on (required; - reads stdin)")
	out := fs.String("o", "", "where to write the model with its threshold (default: overwrite MODEL)")
	rule := fs.String("rule", "percentile", "threshold rule: percentile (of the normal windows' scores) or sigma (mean + k standard deviations)")
	pct := fs.Float64("percentile", 99.5, "for --rule percentile")
	k := fs.Float64("k", 4, "for --rule sigma")
	var scf scoreFlags
	fs.Float64Var(&scf.hysteresis, "hysteresis", 0.8, "a flag ends below this fraction of the threshold")
	fs.IntVar(&scf.minWindows, "min-windows", 2, "windows in a row over the threshold before a flag starts")
	fs.Float64Var(&scf.adapt, "adapt", 0, "rate at which the threshold follows slow drift of normal scores (0: off)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge calibrate MODEL --data NORMAL.csv [-o OUT] [flags]

Streams readings known to be normal through the scorer and stores the
anomaly threshold (and the stuck-sensor run length) in the model, for
edge score and edge watch.

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
	base := anomaly.Settings{Hop: sf.hop, Hysteresis: scf.hysteresis, MinWindows: scf.minWindows, Adapt: scf.adapt}
	set, err := anomaly.CalibrateSeries(m, series, anomaly.CalibOptions{Rule: *rule, Percentile: *pct, K: *k, Base: base})
	if err != nil {
		return err
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
	desc := fmt.Sprintf("the %gth percentile", set.Percentile)
	if set.Rule == "sigma" {
		desc = fmt.Sprintf("mean + %g standard deviations", set.K)
	}
	fmt.Fprintf(stdout, "calibrated on %d normal windows from %s: scores mean %.4g, std %.4g; threshold %.4g (%s); a stuck sensor is %d identical readings\nwrote %s\n",
		set.Windows, in.name, set.Mean, set.Std, set.Threshold, desc, set.Stuck, dst)
	if in.rd.Missing > 0 {
		fmt.Fprintf(stderr, "edge calibrate: %d missing values were imputed and left out (first at %s)\n", in.rd.Missing, strings.Join(in.rd.MissingAt[:1], ""))
	}
	if dropped, notes := timingReport(timing, 0); len(dropped)+len(notes) > 0 {
		fmt.Fprintf(stderr, "edge calibrate: %s: %s\n", in.name, strings.Join(append(dropped, notes...), "; "))
	}
	return nil
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
