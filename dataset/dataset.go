// Package dataset reads multi-channel sensor series from CSV files and
// cuts them into the windows models train and calibrate on: channel
// selection, an optional timestamp column, windows of length L with hop H,
// a time-ordered train/validation split, and per-channel normalisation.
//
// CSV dialects are detected (see Reader): a byte-order mark, the
// delimiter (, ; tab |), quoted fields, decimal commas with ';'.
// Timestamps are numbers (epoch seconds, milliseconds, microseconds or
// nanoseconds, guessed from their magnitude or set) or dates (see
// ParseDate), and follow the stream package's timestamp policy
// (stream.Clock): rows with a missing, repeated, earlier or far-future
// time are dropped and counted, never an error.
//
// Bad input is an error naming the file, line and column, never a panic:
// ragged rows, fields that are not numbers, NaN or infinite values, and too
// little data for a window. Limits bound what a file can make it allocate.
package dataset

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// Limits on CSV input.
const (
	MaxColumns = 4096
	MaxRows    = 1 << 24
)

// Series is a multi-channel time series, time-major: value (t, c) is at
// Values[t*len(Names)+c].
type Series struct {
	Source string   // file name, for messages
	Names  []string // channel names
	Times  []float64
	Values []float32
	// Lines holds the file line of each row (for messages about it).
	Lines []int
	// Timing counts the rows the timestamp policy dropped and the gaps
	// between the rows kept (see stream.Clock).
	Timing stream.Timing
}

// Channels returns the number of channels.
func (s *Series) Channels() int { return len(s.Names) }

// Len returns the number of time steps (rows).
func (s *Series) Len() int {
	if len(s.Names) == 0 {
		return 0
	}
	return len(s.Values) / len(s.Names)
}

// CSVOptions select what ReadCSV reads.
type CSVOptions struct {
	// TimeColumn names the timestamp column. Empty: a column named "time",
	// "timestamp", "ts" or "date" (any case) if there is one. "-": none.
	TimeColumn string
	// Channels names the columns to use, in order. Empty: every other
	// column but label-like ones (see IsLabelColumn).
	Channels []string
	// KeepLabels keeps label-like columns among every other column.
	KeepLabels bool
	// Delimiter separates fields (0: detected from the header line,
	// checked against the first data line: , ; tab or |).
	Delimiter rune
	// SkipRows is the number of lines (a preamble) before the header.
	SkipRows int
	// TimeUnit is the unit of numeric timestamps (default UnitAuto).
	TimeUnit TimeUnit
	// Note, if set, is told in one line of each choice made for the
	// user: a detected delimiter, decimal commas, a guessed time unit,
	// label columns left out.
	Note func(string)
	// Clock sets the timestamp policy's limits (ReadCSV).
	Clock stream.ClockConfig
	// MaxRows bounds the rows read (0: MaxRows).
	MaxRows int
	// AllowMissing reads empty fields, NaN and ±Inf as NaN instead of
	// rejecting them (see Reader.AllowMissing); ImputeHold then fills them.
	AllowMissing bool
}

// check rejects options no file can satisfy.
func (o *CSVOptions) check() error {
	switch {
	case o.SkipRows < 0:
		return fmt.Errorf("%d rows to skip", o.SkipRows)
	case o.Delimiter != 0 && !validDelimiter(o.Delimiter):
		return fmt.Errorf("delimiter %q: want one character such as , ; | or tab", o.Delimiter)
	case o.TimeUnit > Nanoseconds:
		return fmt.Errorf("time unit %d", o.TimeUnit)
	}
	return nil
}

var timeNames = []string{"time", "timestamp", "ts", "date", "datetime"}

// labelColumns are the column names (in lower case) IsLabelColumn
// recognises: ground truth that labelled data sets carry beside the
// sensors.
var labelColumns = []string{
	"label", "labels", "anomaly", "anomalies", "is_anomaly", "anomaly_label",
	"outlier", "outliers", "is_outlier", "changepoint", "change_point",
	"fault", "faults", "attack", "class", "target", "y", "ground_truth",
	"event", "events", "is_event",
}

// IsLabelColumn reports whether a column's name (any case) says it holds
// labels, not readings: such columns are left out of "every column". A
// column y is a label unless the header also has x or z (an
// accelerometer's axes).
func IsLabelColumn(name string, header []string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "y" && slices.ContainsFunc(header, func(h string) bool {
		h = strings.ToLower(strings.TrimSpace(h))
		return h == "x" || h == "z"
	}) {
		return false
	}
	return slices.Contains(labelColumns, name)
}

// ReadCSVFile reads a CSV file (see ReadCSV).
func ReadCSVFile(path string, opt CSVOptions) (*Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadCSV(f, path, opt)
}

// ReadCSV reads a CSV with a header row (see Reader for the dialects and
// CSVOptions for the choices). Every selected field must be a finite
// number unless AllowMissing. Rows pass the timestamp policy
// (stream.Clock): those it drops are counted in Series.Timing, and the
// rest are in time order.
func ReadCSV(r io.Reader, name string, opt CSVOptions) (*Series, error) {
	maxRows := opt.MaxRows
	if maxRows <= 0 || maxRows > MaxRows {
		maxRows = MaxRows
	}
	rd, err := NewReader(r, name, opt)
	if err != nil {
		return nil, err
	}
	rd.AllowMissing = opt.AllowMissing
	s := &Series{Source: name, Names: rd.Names()}
	clock, err := stream.NewClock(opt.Clock, len(s.Names), func(row stream.Row, _ stream.Gap) error {
		if s.Len() >= maxRows {
			return fmt.Errorf("%s:%d: more than %d rows", name, row.Line, maxRows)
		}
		if row.HasTime {
			s.Times = append(s.Times, row.Time)
		}
		s.Values = append(s.Values, row.Values...)
		s.Lines = append(s.Lines, row.Line)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := pushRows(rd, clock); err != nil {
		return nil, err
	}
	s.Timing = clock.Timing()
	if s.Len() == 0 {
		if d := s.Timing.Dropped(); d > 0 {
			return nil, fmt.Errorf("%s: no data rows kept: all %d were dropped for their timestamps (missing, repeated or going back)", name, d)
		}
		return nil, fmt.Errorf("%s: no data rows after the header", name)
	}
	return s, nil
}

// pushRows reads every row into the clock, then flushes it.
func pushRows(rd *Reader, clock *stream.Clock) error {
	row := make([]float32, len(rd.Names()))
	for {
		t, line, err := rd.Next(row)
		if err == io.EOF {
			return clock.Flush()
		}
		if err != nil {
			return err
		}
		if err := clock.Push(stream.Row{Time: t, HasTime: rd.HasTime(), Line: line, Values: row}); err != nil {
			return err
		}
	}
}

// Sampling returns the series' sampling period, the median interval
// between its timestamps, and its longest interval in periods (0, 0
// without two timestamps).
func (s *Series) Sampling() (period, longest float64) {
	var dts []float64
	for i := 1; i < len(s.Times); i++ {
		if dt := s.Times[i] - s.Times[i-1]; dt > 0 {
			dts = append(dts, dt)
		}
	}
	if len(dts) == 0 {
		return 0, 0
	}
	hi := slices.Max(dts)
	slices.Sort(dts)
	period = dts[len(dts)/2]
	return period, hi / period
}

// ImputeHold fills missing values (NaN, ±Inf) with the channel's previous
// valid value, or its first valid value at the start, and returns how many
// it filled. A channel with no valid value at all is an error.
func (s *Series) ImputeHold() (int, error) {
	c := s.Channels()
	n := s.Len()
	filled := 0
	for ch := 0; ch < c; ch++ {
		first := -1
		for t := 0; t < n; t++ {
			if v := float64(s.Values[t*c+ch]); !math.IsNaN(v) && !math.IsInf(v, 0) {
				first = t
				break
			}
		}
		if first < 0 {
			return filled, fmt.Errorf("%s: column %s has no valid value", s.Source, s.Names[ch])
		}
		last := s.Values[first*c+ch]
		for t := 0; t < n; t++ {
			v := s.Values[t*c+ch]
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				s.Values[t*c+ch] = last
				filled++
				continue
			}
			last = v
		}
	}
	return filled, nil
}

// Split cuts the series in time: the first part holds 1-frac of the rows,
// the second the rest. Windows cut from each part never overlap, so a
// validation split cannot leak training data.
func (s *Series) Split(frac float64) (*Series, *Series) {
	n := s.Len()
	cut := int(math.Round(float64(n) * (1 - frac)))
	cut = max(0, min(n, cut))
	return s.slice(0, cut), s.slice(cut, n)
}

func (s *Series) slice(a, b int) *Series {
	c := s.Channels()
	out := &Series{Source: s.Source, Names: s.Names, Values: s.Values[a*c : b*c], Lines: s.Lines[a:b]}
	if s.Times != nil {
		out.Times = s.Times[a:b]
	}
	return out
}

// Windows cuts windows of length steps every hop rows and returns them
// concatenated (time-major, steps*channels values each) with their count.
func (s *Series) Windows(steps, hop int) ([]float32, int, error) {
	if steps < 1 || hop < 1 {
		return nil, 0, fmt.Errorf("dataset: window %d and hop %d must be positive", steps, hop)
	}
	n := s.Len()
	if n < steps {
		return nil, 0, fmt.Errorf("%s: %d rows, too few for one window of %d", s.Source, n, steps)
	}
	count := (n-steps)/hop + 1
	c := s.Channels()
	out := make([]float32, 0, count*steps*c)
	for w := 0; w < count; w++ {
		out = append(out, s.Values[w*hop*c:(w*hop+steps)*c]...)
	}
	return out, count, nil
}

// Robust asks FitNormalization for a shift and scale that one outlier
// cannot set: the median, and the interquartile range / 1.349 (the
// standard deviation of a normal distribution with that range), falling
// back to the standard deviation of the values between the 1st and 99th
// percentiles where the quartiles coincide; at least a ten-thousandth of
// the median's size. It is stored as meanstd.
const Robust model.NormKind = "robust"

// FitNormalization returns the per-channel normalisation of kind (meanstd,
// minmax or Robust) fitted on the series. A constant channel gets scale 1, so it
// maps to 0 instead of dividing by zero.
func (s *Series) FitNormalization(kind model.NormKind) (model.Normalization, error) {
	c, n := s.Channels(), s.Len()
	if n == 0 {
		return model.Normalization{}, fmt.Errorf("%s: no rows to fit the normalisation on", s.Source)
	}
	norm := model.Normalization{Kind: kind, Shift: make([]float32, c), Scale: make([]float32, c)}
	switch kind {
	case model.NormNone, "":
		return model.Normalization{Kind: model.NormNone}, nil
	case model.NormMeanStd:
		for ch := 0; ch < c; ch++ {
			var sum, sq float64
			for t := 0; t < n; t++ {
				v := float64(s.Values[t*c+ch])
				sum += v
				sq += float64(v * v)
			}
			mean := sum / float64(n)
			std := math.Sqrt(math.Max(0, sq/float64(n)-float64(mean*mean)))
			norm.Shift[ch], norm.Scale[ch] = float32(mean), float32(std)
		}
	case Robust:
		norm.Kind = model.NormMeanStd
		col := make([]float64, n)
		for ch := 0; ch < c; ch++ {
			for t := 0; t < n; t++ {
				col[t] = float64(s.Values[t*c+ch])
			}
			norm.Shift[ch], norm.Scale[ch] = robustShiftScale(col)
		}
	case model.NormMinMax:
		for ch := 0; ch < c; ch++ {
			lo, hi := math.Inf(1), math.Inf(-1)
			for t := 0; t < n; t++ {
				v := float64(s.Values[t*c+ch])
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
			norm.Shift[ch], norm.Scale[ch] = float32(lo), float32(hi-lo)
		}
	default:
		return model.Normalization{}, fmt.Errorf("dataset: unknown normalisation %q", kind)
	}
	for ch := range norm.Scale {
		if !(float64(norm.Scale[ch]) > 1e-12*math.Max(1, math.Abs(float64(norm.Shift[ch])))) {
			norm.Scale[ch] = 1 // a constant channel
		}
	}
	return norm, nil
}

// robustShiftScale returns the median and a robust standard deviation of
// v (sorted in place): IQR/1.349, or the standard deviation of the central
// 98% where the quartiles coincide.
func robustShiftScale(v []float64) (float32, float32) {
	slices.Sort(v)
	q := func(p float64) float64 {
		pos := float64(p * float64(len(v)-1))
		i := int(pos)
		if i >= len(v)-1 {
			return v[len(v)-1]
		}
		return v[i] + float64((pos-float64(i))*(v[i+1]-v[i]))
	}
	med := q(0.5)
	// A spread below a ten-thousandth of the level is the channel's
	// numeric resolution, not its variation: a reading that never moved
	// by more must not make its smallest move thousands of units.
	floor := 1e-4 * math.Abs(med)
	if iqr := q(0.75) - q(0.25); iqr > 0 {
		return float32(med), float32(max(iqr/1.349, floor))
	}
	lo, hi := q(0.01), q(0.99)
	var sum, sq float64
	k := 0
	for _, x := range v {
		if x >= lo && x <= hi {
			sum += x
			sq += float64(x * x)
			k++
		}
	}
	m := sum / float64(k)
	sd := math.Sqrt(math.Max(sq/float64(k)-float64(m*m), 0))
	if sd == 0 { // all but a few values equal: the full standard deviation
		sum, sq = 0, 0
		for _, x := range v {
			sum += x
			sq += float64(x * x)
		}
		m = sum / float64(len(v))
		sd = math.Sqrt(math.Max(sq/float64(len(v))-float64(m*m), 0))
	}
	return float32(med), float32(max(sd, floor))
}

// Normalize applies a normalisation to time-major values with c channels, in place.
func Normalize(v []float32, norm model.Normalization, c int) {
	if !norm.Scaled() {
		return
	}
	for i := range v {
		ch := i % c
		v[i] = (v[i] - norm.Shift[ch]) / norm.Scale[ch]
	}
}
