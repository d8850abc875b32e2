package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/train"
)

// parseLearn reads --learn: a number of samples, or a duration such as
// 90m, 12h or 7d.
func parseLearn(s string) (samples int, seconds float64, err error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n < 1 {
			return 0, 0, fmt.Errorf("%w: --learn %d must be positive", errUsage, n)
		}
		return n, 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		if days, err := strconv.ParseFloat(d, 64); err == nil && days > 0 {
			return 0, days * 86400, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, 0, fmt.Errorf("%w: --learn %q: a number of samples or a duration like 90m, 12h or 7d", errUsage, s)
	}
	return 0, d.Seconds(), nil
}

func cmdWatch(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("watch", stderr)
	var sf streamFlags
	sf.register(fs)
	var scf scoreFlags
	scf.register(fs)
	learnFlag := fs.String("learn", "", "learn from the first N samples, or the first duration of timestamps (90m, 12h, 7d), then score the rest (required)")
	save := fs.String("o", "", "also save the learned int8 model here")
	window := fs.Int("window", 0, "model window in rows (default: the data's dominant period, or 16; shorter for short learning periods)")
	epochs := fs.Int("epochs", 30, "training epochs")
	threads := fs.Int("threads", 0, "training threads (default: all cores)")
	fs.Usage = usageFunc(fs, stderr, watchUsage)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return fmt.Errorf("%w: want at most one input file", errUsage)
	}
	if *learnFlag == "" {
		return fmt.Errorf("%w: --learn N or --learn DURATION is required", errUsage)
	}
	samples, seconds, err := parseLearn(*learnFlag)
	if err != nil {
		return err
	}
	if err := sf.check(); err != nil {
		return err
	}
	if err := scf.check(); err != nil {
		return err
	}
	if *window < 0 || *epochs < 1 || *threads < 0 {
		return fmt.Errorf("%w: --window, --epochs and --threads must be positive", errUsage)
	}
	src := "-"
	if len(pos) == 1 {
		src = pos[0]
	}
	// The channels are the file's (or --channels): a placeholder model of
	// the right width tells openInput to take them all.
	in, err := openInputAll(src, &sf)
	if err != nil {
		return err
	}
	defer in.close()
	if seconds > 0 && !in.rd.HasTime() {
		return fmt.Errorf("%w: --learn %s is a duration, but %s has no time column; give a number of samples", errUsage, *learnFlag, in.name)
	}
	buf, err := learn.NewBuffer(in.rd.Names(), samples, seconds)
	if err != nil {
		return err
	}
	spill, learnTiming, err := collect(in, buf, sf.config())
	if err != nil {
		if err == io.EOF {
			return fmt.Errorf("%s: the input ended after %d rows, before the learning period (--learn %s) was over", in.name, buf.Rows(), *learnFlag)
		}
		return err
	}
	fmt.Fprintf(stderr, "edge watch: collected %d rows of %s (%s) to learn from\n", buf.Rows(), in.name, strings.Join(in.rd.Names(), ", "))
	cfg := learn.Options{Log: prefixed{stderr, "edge watch: "}, Window: *window, ScoreHop: sf.hop,
		Train: train.Config{Epochs: *epochs, Threads: *threads, Seed: 1}}
	if scf.rate > 0 {
		cfg.Rate = scf.rate
	}
	ctx, stop := interruptible()
	defer stop()
	m, rep, err := buf.FitContext(ctx, cfg)
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted while learning: no model saved (%w)", err)
	}
	if err != nil {
		return fmt.Errorf("learning from the first %d rows: %w", buf.Rows(), err)
	}
	m.ChannelNames = in.rd.Names()
	m.Name = "watch"
	if *save != "" {
		if err := m.Save(*save); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "edge watch: saved the model to %s\n", *save)
	}
	from := in.lastLine() + 1
	if len(spill) > 0 {
		from = spill[0].Line
	}
	fmt.Fprintf(stderr, "edge watch: learned in %s; scoring from line %d on\n", rep.Elapsed.Round(time.Millisecond), from)
	return watchScore(ctx, m, in, spill, learnTiming, &sf, &scf, stdout, stderr)
}

// watchScore scores the rows after the learning period (spill: rows the
// timestamp policy still held when learning ended) until the input ends
// or ctx is done, and reports.
func watchScore(ctx context.Context, m *model.Model, in *input, spill []stream.Row, learnTiming stream.Timing, sf *streamFlags, scf *scoreFlags, stdout, stderr io.Writer) error {
	set, err := scf.settings(m)
	if err != nil {
		return err
	}
	o := newOut(stdout, sf.format)
	sc, flags, err := newScoreWriter(m, set, sf.config(), in, o, scf)
	if err != nil {
		return err
	}
	push := func(r stream.Row) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("interrupted at line %d: the lines scored before it are written (%w)", r.Line, err)
		}
		err := sc.Push(r)
		if err == nil && o.w.Buffered() > 0 && !isFile(stdout) {
			err = o.flush() // a pipe or terminal sees each window as it is scored
		}
		return err
	}
	for _, r := range spill {
		if err := push(r); err != nil {
			return err
		}
	}
	readErr := pump(in, push, sc.Close)
	if err := o.flush(); err != nil {
		return err
	}
	if readErr != nil {
		return readErr
	}
	fmt.Fprintf(stderr, "edge watch: %d rows scored, %d flagged; %s\n", flags.rows, flags.flagged, flags.events())
	st := sc.Stream().Stats()
	st.Timing = learnTiming.Add(st.Timing)
	return reportStats(stderr, "watch", in, st, sc.Stream().Config().MaxGap, sf.lenient)
}

// collect reads rows of in through the timestamp policy into buf until it
// is full (io.EOF if the input ends first). Rows the policy still held
// then are returned, copied, for the scorer, with what the policy did.
func collect(in *input, buf *learn.Buffer, cfg stream.Config) ([]stream.Row, stream.Timing, error) {
	var spill []stream.Row
	clock, err := stream.NewClock(stream.ClockConfig{Period: cfg.Period, MaxGap: cfg.MaxGap, Confirm: cfg.Confirm}, len(in.values), func(r stream.Row, _ stream.Gap) error {
		if buf.Full() {
			r.Values = slices.Clone(r.Values)
			spill = append(spill, r)
			return nil
		}
		_, err := buf.Add(r)
		return err
	})
	if err != nil {
		return nil, stream.Timing{}, err
	}
	for !buf.Full() {
		row, err := in.next()
		if err == io.EOF {
			if err := clock.Flush(); err != nil || buf.Full() {
				return spill, clock.Timing(), err
			}
			return nil, clock.Timing(), io.EOF
		}
		if err == nil {
			err = clock.Push(row)
		}
		if err != nil {
			return nil, clock.Timing(), err
		}
	}
	err = clock.Flush()
	return spill, clock.Timing(), err
}

// openInputAll opens an input with every channel (or --channels).
func openInputAll(path string, f *streamFlags) (*input, error) {
	probe := &model.Model{}
	if f.channels != "" {
		probe.ChannelNames = strings.Split(f.channels, ",")
		probe.Channels = len(probe.ChannelNames)
		return openInput(path, probe, f, stdin)
	}
	probe.Channels = -1 // any
	return openInput(path, probe, f, stdin)
}

// lastLine returns the line of the last row read.
func (in *input) lastLine() int { return in.line }

// isFile reports whether w is a regular file (output worth buffering).
func isFile(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return true // a buffer in tests: no need to flush per row
	}
	st, err := f.Stat()
	return err == nil && st.Mode().IsRegular()
}

// prefixed writes each line with a prefix.
type prefixed struct {
	w      io.Writer
	prefix string
}

func (p prefixed) Write(b []byte) (int, error) {
	if _, err := io.WriteString(p.w, p.prefix); err != nil {
		return 0, err
	}
	return p.w.Write(b)
}

// watchUsage is edge watch -h's text before the flags.
const watchUsage = `Usage: edge watch --learn N|DURATION [FILE.csv|-] [flags]

For deployments that start with no data: reads a CSV of readings (a file,
or stdin as it arrives), learns a model from the first N samples or the
first DURATION (a denoising autoencoder, quantised to int8, its threshold
calibrated on the last quarter of what it learned from), then scores every
later row like edge score. Progress goes to stderr.

Learn from a period that shows the normal range: the model flags what it
has not seen, so a week of data with a monthly cycle makes the rest of the
month look anomalous and cleans it poorly (on 8 generated sensors with a
30-day cycle, a model learned from 10 days gained no SNR on the next days;
one learned from 31 days gained 14 dB).

Flags:`
