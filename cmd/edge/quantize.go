package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/quant"
)

func cmdQuantize(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quantize", stderr)
	calib := fs.String("calib", "", "CSV of representative readings to calibrate the activation ranges on (required; - reads stdin)")
	out := fs.String("o", "", "where to write the int8 model (default: MODEL with .int8.edge)")
	method := fs.String("method", "minmax", "activation range calibration: minmax, mse (minimise the expected quantisation error on the calibration data) or percentile")
	headroom := fs.Float64("headroom", 0.25, "widen every activation range by this fraction, so readings that drift past the calibration data are not clipped")
	pct := fs.Float64("percentile", 99.99, "for -method percentile: the two-sided percentile kept")
	keep := fs.String("keep-float", "", "comma-separated layers to keep in float32, e.g. encoder.0,decoder.3 (names as in the report)")
	timeCol := fs.String("time-column", "", `the timestamp column (default: time, timestamp, ts, date or datetime if present; "-": none)`)
	channels := fs.String("channels", "", "comma-separated columns, in the model's channel order (default: the model's channel names)")
	hop := fs.Int("hop", 0, "rows between calibration windows (default: window/4)")
	maxWindows := fs.Int("max-windows", 4096, "at most this many calibration windows, spread evenly over the file")
	fs.Bool("impute", true, "ignored, kept so older scripts run: missing values are always imputed (the channel's previous reading) and counted")
	spread := fs.Float64("input-spread", quant.DefaultInputSpread, "keep the first layer in float32 when the widest input channel spans more than this many times the narrowest moving channel's range (0: never)")
	inRange := fs.Float64("input-range", quant.DefaultInputRange, "the int8 input covers at least ±this many normalised units, so readings beyond the calibration data are not clipped (0: the calibrated range; ignored for models without a normalisation)")
	floatBottleneck := fs.Bool("float-bottleneck", true, "keep the two small layers around the code in float32 (the int8 model's accuracy gains most there, at almost no cost)")
	var cf csvFlags
	cf.register(fs)
	fs.Usage = usageFunc(fs, stderr, quantizeUsage)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one MODEL argument, got %d", errUsage, len(pos))
	}
	if *calib == "" {
		return fmt.Errorf("%w: --calib FILE.csv is required", errUsage)
	}
	if *maxWindows < 1 || *hop < 0 {
		return fmt.Errorf("%w: --max-windows must be positive and --hop not negative", errUsage)
	}
	switch quant.Method(*method) {
	case quant.MinMax, quant.MSE, quant.Percentile:
	default:
		return fmt.Errorf("%w: --method %q: minmax, mse or percentile", errUsage, *method)
	}
	if err := cf.check(); err != nil {
		return err
	}
	in := pos[0]
	m, err := model.Load(in)
	if err != nil {
		return err
	}
	if m.Quantized() {
		return fmt.Errorf("%s is already int8; quantise the float32 model it came from", in)
	}
	cols := *channels
	if cols == "" {
		cols = strings.Join(m.ChannelNames, ",")
	}
	series, err := readSeries(*calib, *timeCol, cols, true, &cf, stderr)
	if err != nil {
		return err
	}
	if series.Channels() != m.Channels {
		return fmt.Errorf("%s: %d channels (%s), the model takes %d; choose them with --channels", series.Source, series.Channels(), strings.Join(series.Names, ", "), m.Channels)
	}
	x, n, h, err := calibrationWindows(series, m, *hop, *maxWindows)
	if err != nil {
		return err
	}
	opt := quant.Options{Method: quant.Method(*method), Percentile: *pct, Headroom: *headroom, FloatBottleneck: *floatBottleneck,
		InputSpread: *spread, InputRange: *inRange, KeepFloat: splitList(*keep)}
	q, rep, err := quant.Quantize(m, x, opt)
	if err != nil {
		return err
	}
	if q.Provenance == nil {
		q.Provenance = map[string]string{}
	}
	q.Provenance["calibration_data"] = filepath.Base(series.Source)
	q.Provenance["calibration_windows"] = fmt.Sprint(n)
	// The anomaly settings learned for the float32 model carry over,
	// each channel's typical error widened by int8's extra error on the
	// calibration windows.
	var thr string
	if _, err := anomaly.Load(m); err == nil {
		if err := learn.CarryOver(m, q, x); err != nil {
			return fmt.Errorf("carrying the anomaly settings over to int8: %w", err)
		}
		thr = "anomaly settings carried over, channel scales widened by int8's error on the calibration windows\n"
	}
	dst := *out
	if dst == "" {
		dst = strings.TrimSuffix(in, filepath.Ext(in)) + ".int8.edge"
	}
	if dst == in {
		return fmt.Errorf("%w: -o %s would overwrite the float32 model", errUsage, dst)
	}
	if err := q.Save(dst); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "calibrated on %d windows of %d rows (hop %d) from %s\n\n", n, m.Steps, h, series.Source)
	return reportQuantized(stdout, rep, in, dst, thr)
}

// calibrationWindows cuts the calibration rows into windows every hop
// rows (0: a quarter window), at most most of them spread evenly over the
// file, and returns them, their number and the hop.
func calibrationWindows(series *dataset.Series, m *model.Model, hop, most int) ([]float32, int, int, error) {
	if hop == 0 {
		hop = max(1, m.Steps/4)
	}
	x, n, err := series.Windows(m.Steps, hop)
	if err != nil || n <= most {
		return x, n, hop, err
	}
	win := m.Steps * m.Channels
	sub := make([]float32, 0, most*win)
	for i := 0; i < most; i++ {
		j := i * n / most
		sub = append(sub, x[j*win:(j+1)*win]...)
	}
	return sub, most, hop, nil
}

// reportQuantized prints the calibration report and the files' sizes.
func reportQuantized(stdout io.Writer, rep *quant.Report, in, dst, thr string) error {
	if _, err := rep.WriteTo(stdout); err != nil {
		return err
	}
	fi, err := os.Stat(in)
	if err != nil {
		return err
	}
	fo, err := os.Stat(dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%swrote %s (int8, %d bytes; the float32 model is %d)\n", thr, dst, fo.Size(), fi.Size())
	return nil
}

// quantizeUsage is edge quantize -h's text before the flags.
const quantizeUsage = `Usage: edge quantize MODEL --calib FILE.csv [-o OUT] [flags]

Quantises a float32 model to int8: per-channel symmetric int8 weights,
per-tensor asymmetric int8 activations calibrated on windows of the CSV,
int32 biases. Prints the calibration report: per layer, the int8 tensor's
range, encoding and error against float32 (SQNR, relative RMS), and end to
end, the reconstruction error of both models.

Flags:`
