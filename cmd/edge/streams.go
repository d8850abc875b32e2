package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/internal/lineproto"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// errDataProblems marks a run that completed but imputed missing values or
// dropped rows (exit status 3 unless --lenient).
var errDataProblems = errors.New("data problems")

// streamFlags are the flags every streaming command shares.
type streamFlags struct {
	csv                       csvFlags
	timeCol, channels, format string
	hop, grace                int
	maxGap, period            float64
	lenient                   bool
}

func (f *streamFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.timeCol, "time-column", "", `the timestamp column (default: time, timestamp, ts, date or datetime if present; "-": none)`)
	fs.StringVar(&f.channels, "channels", "", "comma-separated columns in the model's channel order (default: the model's channel names)")
	fs.StringVar(&f.format, "format", "csv", "output: csv, jsonl (one JSON object per line) or influx (InfluxDB line protocol, timestamps in nanoseconds)")
	fs.IntVar(&f.hop, "hop", 0, "rows between windows (default: the model's setting)")
	fs.Float64Var(&f.maxGap, "max-gap", 0, fmt.Sprintf("a time gap longer than this many sampling periods restarts the stream; shorter gaps are bridged, the rows going on as consecutive samples (default %d, or the longest gap in the model's training data; negative: never restart)", stream.DefaultMaxGap))
	fs.Float64Var(&f.period, "period", 0, "sampling period in seconds (default: learned from the first rows)")
	fs.IntVar(&f.grace, "grace", 0, fmt.Sprintf("a row may arrive up to this many rows late and still take its place in time order (later: dropped and counted); output waits as many rows (0-%d)", stream.MaxGrace))
	fs.BoolVar(&f.lenient, "lenient", false, "exit 0 even if values were missing (imputed) or rows dropped for their timestamps (repeated, going back, far-future, missing)")
	f.csv.register(fs)
}

func (f *streamFlags) check() error {
	if f.format != "csv" && f.format != "jsonl" && f.format != "influx" {
		return fmt.Errorf("%w: --format %q: csv, jsonl or influx", errUsage, f.format)
	}
	if f.hop < 0 || f.period < 0 {
		return fmt.Errorf("%w: --hop and --period must not be negative", errUsage)
	}
	if f.grace < 0 || f.grace > stream.MaxGrace {
		return fmt.Errorf("%w: --grace %d outside [0, %d]", errUsage, f.grace, stream.MaxGrace)
	}
	return f.csv.check()
}

func (f *streamFlags) config() stream.Config {
	return stream.Config{Hop: f.hop, MaxGap: f.maxGap, Period: f.period, Grace: f.grace}
}

// input is an open CSV of readings for a model.
type input struct {
	name   string
	rd     *dataset.Reader
	close  func() error
	values []float32
	line   int // of the last row read
}

// openInput opens path ("-" or "": stdin) and selects the model's channels
// (m.Channels < 0: any number).
func openInput(path string, m *model.Model, f *streamFlags, stdin io.Reader) (*input, error) {
	in := &input{name: path, close: func() error { return nil }}
	var r io.Reader
	if path == "" || path == "-" {
		in.name, r = "stdin", stdin
	} else {
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		r, in.close = file, file.Close
	}
	cols := f.channels
	if cols == "" {
		cols = strings.Join(m.ChannelNames, ",")
	}
	opt, err := f.csv.options(f.timeCol, cols)
	if err != nil {
		in.close()
		return nil, err
	}
	rd, err := dataset.NewReader(r, in.name, opt)
	if err != nil {
		in.close()
		return nil, err
	}
	if m.Channels >= 0 && len(rd.Names()) != m.Channels {
		in.close()
		return nil, fmt.Errorf("%s: %d data columns (%s), the model takes %d channels; choose them with --channels", in.name, len(rd.Names()), strings.Join(rd.Names(), ", "), m.Channels)
	}
	rd.AllowMissing = true
	in.rd, in.values = rd, make([]float32, len(rd.Names()))
	return in, nil
}

// next reads a row into a stream.Row (its Values alias in.values).
func (in *input) next() (stream.Row, error) {
	t, line, err := in.rd.Next(in.values)
	if err != nil {
		return stream.Row{}, err
	}
	in.line = line
	return stream.Row{Time: t, HasTime: in.rd.HasTime(), Line: line, Values: in.values}, nil
}

// pump feeds every row of in to push, then closes the stream with end. An
// input error still closes the stream first, so every valid row before it
// is processed and written.
func pump(in *input, push func(stream.Row) error, end func() error) error {
	var readErr error
	for rows := 0; ; rows++ {
		row, err := in.next()
		if err == io.EOF {
			if rows == 0 && in.line == 0 {
				readErr = fmt.Errorf("%s: no data rows after the header", in.name)
			}
			break
		}
		if err != nil {
			readErr = err
			break
		}
		if err := push(row); err != nil {
			return err
		}
	}
	if err := end(); err != nil {
		return err
	}
	return readErr
}

// reportStream prints what the stream policy did, and returns
// errDataProblems if anything was imputed or dropped (unless lenient).
func reportStream(w io.Writer, cmd string, in *input, s *stream.Stream, lenient bool) error {
	return reportStats(w, cmd, in, s.Stats(), s.Config().MaxGap, lenient)
}

// reportStats is reportStream for stream statistics and a stream's max gap.
func reportStats(w io.Writer, cmd string, in *input, st stream.Stats, maxGap float64, lenient bool) error {
	fmt.Fprintf(w, "edge %s: %s: %d rows", cmd, in.name, st.Rows)
	var problems []string
	if in.rd.Missing > 0 {
		problems = append(problems, fmt.Sprintf("%d missing or invalid values imputed (first at %s)", in.rd.Missing, strings.Join(in.rd.MissingAt[:min(3, len(in.rd.MissingAt))], "; ")))
	}
	dropped, notes := timingReport(st.Timing, maxGap)
	problems = append(problems, dropped...)
	for _, n := range notes {
		fmt.Fprintf(w, ", %s", n)
	}
	if len(problems) == 0 {
		fmt.Fprintln(w)
		return nil
	}
	fmt.Fprintf(w, "; %s\n", strings.Join(problems, "; "))
	if lenient {
		return nil
	}
	return fmt.Errorf("%w: the output is complete, but values were imputed or rows dropped (--lenient to accept)", errDataProblems)
}

// out writes rows as CSV or JSON lines, with reused buffers.
type out struct {
	w      *bufio.Writer
	jsonl  bool
	influx bool // line protocol
	buf    []byte
	text   bool               // times as dates, in the input's layout
	dates  dataset.DateLayout // the input's layout, or RFC 3339 in UTC
	unit   dataset.TimeUnit   // else numbers in the input's unit
}

func newOut(w io.Writer, format string) *out {
	return &out{w: bufio.NewWriterSize(w, 64<<10), jsonl: format == "jsonl", influx: format == "influx"}
}

// csv reports whether the output is CSV (with a header).
func (o *out) csv() bool { return !o.jsonl && !o.influx }

// appendInfluxTime appends a line's timestamp: nanoseconds since the
// epoch, none for a row without a time.
func appendInfluxTime(b []byte, has bool, t float64) []byte {
	if !has || math.IsNaN(t) {
		return b
	}
	b = append(b, ' ')
	return strconv.AppendInt(b, int64(math.Round(t*1e9)), 10)
}

// appendInfluxField appends ,name=value (or name=value first) for a valid
// float; nothing for NaN or infinity, which line protocol cannot carry.
func appendInfluxField(b []byte, first *bool, name string, v float64, bits int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return b
	}
	if !*first {
		b = append(b, ',')
	}
	*first = false
	b = lineproto.AppendKey(b, name)
	b = append(b, '=')
	return strconv.AppendFloat(b, v, 'g', -1, bits)
}

func (o *out) flush() error { return o.w.Flush() }

// appendTime appends a row's time: a date in the input's own layout
// (separators, precision, zone and offset) if the input's times were
// dates, else a number in the input's unit (whole milli-, micro- or
// nanoseconds).
func (o *out) appendTime(b []byte, t float64) []byte {
	if math.IsNaN(t) {
		return b
	}
	if o.text {
		if o.jsonl {
			b = append(b, '"')
			return append(o.dates.Append(b, t), '"')
		}
		return o.dates.Append(b, t)
	}
	if o.unit > dataset.Seconds {
		return strconv.AppendFloat(b, math.Round(t*o.unit.PerSecond()), 'f', -1, 64)
	}
	return strconv.AppendFloat(b, t, 'f', -1, 64)
}

// follow makes the output's times follow the input's format.
// The layout is the last one read: rows written after a file's offset
// changed (daylight saving time) carry the new offset, the same instant.
func (o *out) follow(rd *dataset.Reader) {
	o.text, o.dates, o.unit = rd.TimeIsText, rd.DateLayout(), rd.TimeUnit()
}

func appendFloat(b []byte, v float64, bits int) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, bits)
}

// csvName quotes a header name if CSV needs it.
func csvName(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
