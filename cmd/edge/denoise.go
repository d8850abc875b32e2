package main

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/model"
)

// stdin is where "-" reads from (tests replace it).
var stdin io.Reader = os.Stdin

func cmdDenoise(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("denoise", stderr)
	var sf streamFlags
	sf.register(fs)
	mode := fs.String("mode", "centred", "centred (each value from the rows on both sides; latency: the model's reach, printed) or causal (from the rows before it; no latency)")
	method := fs.String("method", "", "force a method on both modes (default: each mode's, as edge train chose it): predictor (the blind-spot predictors learned with the model), blend (the predictor and the classical filter learned with it, weighted per channel), filter (that filter alone) or autoencoder (overlap-added reconstructions)")
	withInput := fs.Bool("with-input", false, "also write each input value (after imputation), as NAME_in")
	outlier := fs.Float64("outlier", 0, "--method autoencoder: error (normalised units) beyond which a value is an outlier (default: the model's setting; negative: off)")
	passes := fs.Int("passes", 0, "--method autoencoder: reconstructions per window (default: the model's setting, 2)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge denoise MODEL [FILE.csv|-] [flags]

Cleans a CSV of readings (a file, or stdin) with the model and writes one
cleaned row per input row, in order, to stdout as CSV or JSON lines.
Missing values are imputed and come out as the model's estimate; rows
whose timestamp is missing, repeated, earlier or far-future (not
continued by the next row) are dropped and counted, and time gaps up to
--max-gap periods are bridged (see the README's data policy). A summary
goes to stderr; the exit status is 3 if values were missing or rows
dropped (the output is still complete) unless --lenient.

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
	md, err := denoise.ParseMode(*mode)
	if err != nil {
		return fmt.Errorf("%w: --mode: %v", errUsage, err)
	}
	m, err := model.Load(pos[0])
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
	if o.csv() {
		o.buf = appendCleanHeader(o.buf[:0], in, *withInput)
		o.w.Write(o.buf)
	}
	d, err := denoise.New(m, denoise.Config{Mode: md, Stream: sf.config(), Settings: denoise.Settings{Method: *method, Outlier: *outlier, Passes: *passes}},
		func(s *denoise.Sample) error {
			o.follow(in.rd)
			o.buf = appendCleanRow(o.buf[:0], o, s, *withInput, in.rd.Names())
			_, err := o.w.Write(o.buf)
			return err
		})
	if err != nil {
		return err
	}
	runErr := pump(in, d.Push, d.Close)
	if err := o.flush(); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	st := d.Stream().Stats()
	if n := d.Outliers(); n > 0 && st.Windows > 0 {
		// Each value sits in window/hop overlapping windows and is counted
		// in each one that set it aside.
		fmt.Fprintf(stderr, "edge denoise: the robust pass set aside %.2f%% of the values in %d windows as outliers (impulses, dropouts, anomalies)\n",
			100*float64(n)/float64(st.Windows*int64(m.Steps*m.Channels)), st.Windows)
	}
	return reportStream(stderr, "denoise", in, d.Stream(), sf.lenient)
}

func appendInt(b []byte, v int) []byte { return strconv.AppendInt(b, int64(v), 10) }

// appendCleanInflux appends a cleaned row as line protocol: measurement
// edge_clean, a field per channel (its input as <channel>_in with
// --with-input), imputed as an integer, the time in nanoseconds.
func appendCleanInflux(b []byte, s *denoise.Sample, withInput bool, names []string, imputed int) []byte {
	b = append(b, "edge_clean "...)
	first := true
	for c, v := range s.Values {
		b = appendInfluxField(b, &first, names[c], float64(v), 32)
	}
	if withInput {
		for c, v := range s.Input {
			b = appendInfluxField(b, &first, names[c]+"_in", float64(v), 32)
		}
	}
	if !first {
		b = append(b, ',')
	}
	b = append(b, "imputed="...)
	b = append(appendInt(b, imputed), 'i')
	return append(appendInfluxTime(b, s.HasTime, s.Time), '\n')
}

// appendCleanHeader appends edge denoise's CSV header: the time column,
// the channels, their inputs (withInput), imputed.
func appendCleanHeader(b []byte, in *input, withInput bool) []byte {
	if in.rd.HasTime() {
		b = append(b, csvName(in.rd.TimeName())...)
		b = append(b, ',')
	}
	names := in.rd.Names()
	for _, n := range names {
		b = append(b, csvName(n)...)
		b = append(b, ',')
	}
	if withInput {
		for _, n := range names {
			b = append(b, csvName(n+"_in")...)
			b = append(b, ',')
		}
	}
	return append(b, "imputed\n"...)
}

// appendCleanRow appends one cleaned row as CSV, a JSON line or a line
// of line protocol.
func appendCleanRow(b []byte, o *out, s *denoise.Sample, withInput bool, names []string) []byte {
	imputed := 0
	for _, miss := range s.Missing {
		if miss {
			imputed++
		}
	}
	if o.influx {
		return appendCleanInflux(b, s, withInput, names, imputed)
	}
	if !o.jsonl {
		if s.HasTime {
			b = o.appendTime(b, s.Time)
			b = append(b, ',')
		}
		for _, v := range s.Values {
			b = appendFloat(b, float64(v), 32)
			b = append(b, ',')
		}
		if withInput {
			for _, v := range s.Input {
				b = appendFloat(b, float64(v), 32)
				b = append(b, ',')
			}
		}
		b = appendInt(b, imputed)
		return append(b, '\n')
	}
	b = append(b, `{"line":`...)
	b = appendInt(b, s.Line)
	if s.HasTime {
		b = append(b, `,"time":`...)
		b = o.appendTime(b, s.Time)
	}
	b = appendFloatArray(append(b, `,"clean":`...), s.Values)
	if withInput {
		b = appendFloatArray(append(b, `,"input":`...), s.Input)
	}
	b = append(b, `,"imputed":`...)
	b = appendInt(b, imputed)
	if s.Passthrough {
		b = append(b, `,"passthrough":true`...)
	}
	return append(b, "}\n"...)
}

// appendFloatArray appends values as a JSON array.
func appendFloatArray(b []byte, values []float32) []byte {
	b = append(b, '[')
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendFloat(b, float64(v), 32)
	}
	return append(b, ']')
}
