// Package learn builds a scoring model from normal readings: for
// deployments that start with no data (collect the first N samples or
// minutes of a stream, see Buffer) and for edge train. Fit chooses the
// window, normalisation and size of the autoencoder from the data, trains
// it, sets the anomaly thresholds from scores of rows the models did not
// train on, and quantises it to int8, ready for anomaly.New and
// denoise.New.
package learn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
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

// Series returns the collected rows as a series (sharing the buffer).
func (b *Buffer) Series(source string) *dataset.Series {
	return &dataset.Series{Source: source, Names: b.names, Values: b.values, Times: b.times, Lines: make([]int, b.Rows())}
}

// Fit learns from the buffer (see Fit) and returns the int8 model (the
// float32 one with opt.Float).
func (b *Buffer) Fit(opt Options) (*model.Model, *Report, error) {
	return b.FitContext(context.Background(), opt)
}

// FitContext is Fit that stops when ctx is done (see FitContext).
func (b *Buffer) FitContext(ctx context.Context, opt Options) (*model.Model, *Report, error) {
	fm, qm, rep, err := FitContext(ctx, b.Series("stream"), opt)
	if err != nil {
		return nil, nil, err
	}
	if opt.Float {
		return fm, rep, nil
	}
	return qm, rep, nil
}
