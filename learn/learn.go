// Package learn builds a scoring model on the device from the first part
// of a stream, for deployments that start with no data: collect the first
// N samples (or minutes), train a denoising autoencoder on them, quantise
// it to int8, calibrate its anomaly threshold on the held-out end of the
// collected data, and hand back a model ready for anomaly.New and
// denoise.New.
package learn

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/quant"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/train"
)

// MaxSamples bounds what a Buffer collects.
const MaxSamples = 1 << 22

// Buffer collects the first rows of a stream.
type Buffer struct {
	names    []string
	samples  int
	duration float64
	values   []float32
	times    []float64
	first    float64
	hasFirst bool
}

// NewBuffer returns a buffer for rows of these channels that is full after
// samples rows, or, if duration > 0, once the rows span duration seconds
// of their timestamps (rows without one count as samples only).
func NewBuffer(names []string, samples int, duration float64) (*Buffer, error) {
	if len(names) == 0 {
		return nil, errors.New("learn: no channels")
	}
	if samples <= 0 && !(duration > 0) {
		return nil, errors.New("learn: say how much to learn from: a number of samples or a duration")
	}
	if samples > MaxSamples {
		return nil, fmt.Errorf("learn: %d samples exceed the limit of %d", samples, MaxSamples)
	}
	return &Buffer{names: slices.Clone(names), samples: samples, duration: duration}, nil
}

// Add stores a row (NaN marks missing values) and reports whether the
// buffer is now full.
func (b *Buffer) Add(r stream.Row) (bool, error) {
	if len(r.Values) != len(b.names) {
		return false, fmt.Errorf("learn: line %d: %d values for %d channels", r.Line, len(r.Values), len(b.names))
	}
	if b.Rows() >= MaxSamples {
		return true, nil
	}
	b.values = append(b.values, r.Values...)
	t := math.NaN()
	if r.HasTime {
		t = r.Time
		if !b.hasFirst {
			b.first, b.hasFirst = t, true
		}
	}
	b.times = append(b.times, t)
	return b.Full(), nil
}

// Full reports whether the buffer holds what it was asked to.
func (b *Buffer) Full() bool {
	if b.samples > 0 && b.Rows() >= b.samples {
		return true
	}
	if b.duration > 0 && b.hasFirst {
		last := b.times[len(b.times)-1]
		return !math.IsNaN(last) && last-b.first >= b.duration
	}
	return b.Rows() >= MaxSamples
}

// Rows returns the rows collected.
func (b *Buffer) Rows() int { return len(b.values) / len(b.names) }

// Values returns the collected rows, time-major, NaN where missing.
func (b *Buffer) Values() []float32 { return b.values }

// Config configures Fit.
type Config struct {
	// Train configures the model (Window, Hop, Arch, Config). Defaults:
	// window 64 (shortened to fit short buffers), a dense 64-32 encoder, a
	// code of 8, 30 epochs, the denoising variant.
	Train train.SeriesOptions
	// Calib sets the threshold rule (default: 99.5th percentile).
	Calib anomaly.CalibOptions
	// HoldOut is the share of rows, at the end, kept out of training to
	// validate and calibrate the threshold on (default 0.25).
	HoldOut float64
	Log     io.Writer
}

// Report says what Fit did.
type Report struct {
	Rows, TrainRows, CalibRows int
	Train                      *train.SeriesResult
	Quant                      *quant.Report
	Settings                   anomaly.Settings
	Elapsed                    time.Duration
}

// Fit trains, quantises and calibrates a model on the buffer.
func (b *Buffer) Fit(cfg Config) (*model.Model, *Report, error) {
	start := time.Now()
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			fmt.Fprintf(cfg.Log, format+"\n", args...)
		}
	}
	if cfg.HoldOut == 0 {
		cfg.HoldOut = 0.25
	}
	if !(cfg.HoldOut > 0 && cfg.HoldOut < 0.9) {
		return nil, nil, fmt.Errorf("learn: hold-out share %v outside (0, 0.9)", cfg.HoldOut)
	}
	o := cfg.Train
	n := b.Rows()
	if o.Window == 0 {
		o.Window = 64
		for o.Window > 8 && float64(n)*cfg.HoldOut < float64(4*o.Window) {
			o.Window /= 2 // short buffers: shorter windows, so the hold-out still holds a few
		}
	}
	if o.Hop == 0 {
		// Overlapping windows: a learning buffer is short, and the model
		// (and the PCA it starts from) needs many windows per dimension.
		o.Hop = max(1, o.Window/16)
	}
	if o.Arch.Hidden == nil {
		o.Arch.Hidden = []int{64, 32}
	}
	if o.Arch.Latent == 0 {
		o.Arch.Latent = 8
	}
	if o.Config.Epochs == 0 {
		o.Config.Epochs = 30
	}
	if !o.Config.Corrupt.Active() {
		o.Config.Corrupt = train.Corruption{Gaussian: 0.2, Mask: 0.05}
	}
	o.ValFraction = cfg.HoldOut
	// Training reads finite values: impute the gaps as a stream would.
	vals := slices.Clone(b.values)
	denoise.ImputeHold(vals, len(b.names), nil)
	s := &dataset.Series{Source: "stream", Names: b.names, Values: vals, Times: b.times, Lines: make([]int, n)}
	logf("learning from %d rows: training on the first %.0f%%, calibrating on the rest", n, 100*(1-cfg.HoldOut))
	fm, tr, err := train.FitSeries(s, o)
	if err != nil {
		return nil, nil, err
	}
	logf("trained in %s: validation error %.4f (PCA %.4f)", time.Since(start).Round(time.Millisecond), tr.ValMSE, tr.PCAMSE)
	trainPart, _ := s.Split(cfg.HoldOut)
	calWin, _, err := trainPart.Windows(fm.Steps, max(1, fm.Steps/4))
	if err != nil {
		return nil, nil, err
	}
	// Min/max ranges with headroom: a stream may drift past what the first
	// samples showed (see demo.Config.Quant).
	qm, qr, err := quant.Quantize(fm, calWin, quant.Options{Method: quant.MinMax, Headroom: 0.25, FloatBottleneck: true})
	if err != nil {
		return nil, nil, err
	}
	logf("quantised to int8: reconstruction error %+.2f%% against float32", 100*qr.Growth)
	cut := trainPart.Len()
	calib := cfg.Calib
	if calib.Base.Hop == 0 {
		calib.Base.Hop = o.Hop
	}
	set, err := anomaly.CalibrateSeries(qm, b.values[cut*len(b.names):], calib)
	if err != nil {
		return nil, nil, fmt.Errorf("learn: calibrating the threshold on the last %d rows: %w", n-cut, err)
	}
	if err := anomaly.Store(qm, set); err != nil {
		return nil, nil, err
	}
	if qm.Provenance == nil {
		qm.Provenance = map[string]string{}
	}
	qm.Provenance["trainer"] = "edge learn"
	qm.Provenance["rows"] = fmt.Sprint(n)
	logf("threshold %.4g from %d held-out windows", set.Threshold, set.Windows)
	return qm, &Report{Rows: n, TrainRows: cut, CalibRows: n - cut, Train: tr, Quant: qr, Settings: set, Elapsed: time.Since(start)}, nil
}
