package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// MaxLineBytes bounds one CSV line, so a file without line breaks cannot
// make a reader buffer without limit.
const MaxLineBytes = 1 << 20

// Reader reads a CSV of readings one row at a time: the header, the
// optional timestamp column and the chosen channels, with every error
// naming the file, line and column.
type Reader struct {
	cr      *csv.Reader
	name    string
	header  []string
	timeCol int
	cols    []int
	names   []string
	// AllowMissing makes empty fields and NaN, NA, N/A, null and None
	// read as NaN, and ±Inf as themselves, instead of errors: streams
	// impute them (see package stream). Missing counts them and
	// MissingAt names the first few places.
	AllowMissing bool
	Missing      int
	MissingAt    []string
	// TimeIsText says the last row's time was a date, not a number.
	TimeIsText bool
}

// missingWords are the spellings of a missing value AllowMissing accepts.
var missingWords = []string{"", "nan", "na", "n/a", "null", "none"}

// NewReader reads the header of a CSV and prepares to read its rows.
func NewReader(r io.Reader, name string, opt CSVOptions) (*Reader, error) {
	cr := csv.NewReader(&lineLimiter{r: r})
	cr.FieldsPerRecord = -1 // ragged rows get our own message
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: want a header row and data", name)
	}
	if err != nil {
		return nil, readError(name, err)
	}
	header = slices.Clone(header)
	if len(header) > MaxColumns {
		return nil, fmt.Errorf("%s:1: %d columns exceed the limit of %d", name, len(header), MaxColumns)
	}
	index := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		header[i] = h
		if h == "" {
			return nil, fmt.Errorf("%s:1: column %d has no name", name, i+1)
		}
		if _, dup := index[h]; dup {
			return nil, fmt.Errorf("%s:1: column name %q appears twice", name, h)
		}
		index[h] = i
	}
	rd := &Reader{cr: cr, name: name, header: header, timeCol: -1}
	switch opt.TimeColumn {
	case "-":
	case "":
		for i, h := range header {
			if slices.Contains(timeNames, strings.ToLower(h)) {
				rd.timeCol = i
				break
			}
		}
	default:
		i, ok := index[opt.TimeColumn]
		if !ok {
			return nil, fmt.Errorf("%s:1: no time column %q (columns: %s)", name, opt.TimeColumn, strings.Join(header, ", "))
		}
		rd.timeCol = i
	}
	if len(opt.Channels) == 0 {
		for i := range header {
			if i != rd.timeCol {
				rd.cols = append(rd.cols, i)
			}
		}
	} else {
		for _, c := range opt.Channels {
			i, ok := index[c]
			if !ok {
				return nil, fmt.Errorf("%s:1: no column %q (columns: %s)", name, c, strings.Join(header, ", "))
			}
			if i == rd.timeCol {
				return nil, fmt.Errorf("%s:1: column %q is the time column", name, c)
			}
			rd.cols = append(rd.cols, i)
		}
	}
	if len(rd.cols) == 0 {
		return nil, fmt.Errorf("%s:1: no data columns", name)
	}
	for _, c := range rd.cols {
		rd.names = append(rd.names, header[c])
	}
	return rd, nil
}

// Names returns the chosen channels' names, in order.
func (r *Reader) Names() []string { return r.names }

// HasTime reports whether the file has a timestamp column.
func (r *Reader) HasTime() bool { return r.timeCol >= 0 }

// TimeName returns the timestamp column's name ("" if none).
func (r *Reader) TimeName() string {
	if r.timeCol < 0 {
		return ""
	}
	return r.header[r.timeCol]
}

// Next reads the next data row into values (one per channel) and returns
// its time (NaN without a time column) and line; io.EOF after the last.
// Empty lines are skipped.
func (r *Reader) Next(values []float32) (t float64, line int, err error) {
	if len(values) != len(r.cols) {
		return 0, 0, fmt.Errorf("%s: a buffer of %d values for %d channels", r.name, len(values), len(r.cols))
	}
	for {
		rec, err := r.cr.Read()
		if err == io.EOF {
			return 0, 0, io.EOF
		}
		if err != nil {
			return 0, 0, readError(r.name, err)
		}
		line, _ = r.cr.FieldPos(0) // rec has at least one field here
		if len(rec) != len(r.header) {
			return 0, line, fmt.Errorf("%s:%d: %d fields, the header has %d", r.name, line, len(rec), len(r.header))
		}
		t = math.NaN()
		if r.timeCol >= 0 {
			if t, r.TimeIsText, err = parseTime(rec[r.timeCol]); err != nil {
				return 0, line, fmt.Errorf("%s:%d: column %d (%s): %v", r.name, line, r.timeCol+1, r.header[r.timeCol], err)
			}
		}
		for i, c := range r.cols {
			f := strings.TrimSpace(rec[c])
			v, err := strconv.ParseFloat(f, 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				if r.AllowMissing && slices.Contains(missingWords, strings.ToLower(f)) {
					values[i] = float32(math.NaN())
					r.missing(line, c)
					continue
				}
				return 0, line, fmt.Errorf("%s:%d: column %d (%s): %q is not a number", r.name, line, c+1, r.header[c], f)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) || errors.Is(err, strconv.ErrRange) {
				if !r.AllowMissing {
					return 0, line, fmt.Errorf("%s:%d: column %d (%s): %s is not a finite number", r.name, line, c+1, r.header[c], f)
				}
				r.missing(line, c)
			}
			values[i] = float32(v)
		}
		return t, line, nil
	}
}

func (r *Reader) missing(line, col int) {
	r.Missing++
	if len(r.MissingAt) < 10 {
		r.MissingAt = append(r.MissingAt, fmt.Sprintf("%s:%d: column %d (%s)", r.name, line, col+1, r.header[col]))
	}
}

func readError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s:%d: %v", name, pe.Line, pe.Err)
	}
	return fmt.Errorf("%s: %w", name, err)
}

// lineLimiter fails a read once a line exceeds MaxLineBytes.
type lineLimiter struct {
	r   io.Reader
	run int // bytes since the last newline
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			l.run = 0
			continue
		}
		l.run++
		if l.run > MaxLineBytes {
			return i, fmt.Errorf("a line longer than %d bytes (not a CSV of readings?)", MaxLineBytes)
		}
	}
	return n, err
}
