package dataset

import (
	"bufio"
	"bytes"
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

// ErrMissing and ErrNotFinite are wrapped by Next's errors for a missing
// value (an empty field, NaN, NA, N/A, null or None) and for a value out
// of float32 range or infinite, when the Reader does not AllowMissing.
var (
	ErrMissing   = errors.New("a missing value")
	ErrNotFinite = errors.New("not a finite number")
)

// Reader reads a CSV of readings one row at a time: the header, the
// optional timestamp column and the chosen channels, with every error
// naming the file, line and column.
//
// The dialect is detected: a UTF-8 byte-order mark is skipped, the
// delimiter (, ; tab or |) is the one that splits the header and the
// first data line alike (CSVOptions.Delimiter forces one), fields may be
// quoted, and with ';' a decimal comma is read (1,5 is 1.5).
type Reader struct {
	cr         *csv.Reader
	name       string
	header     []string
	headerLine int
	offset     int // lines skipped before the CSV parser's first line
	timeCol    int
	cols       []int
	names      []string
	delim      rune
	comma      bool // decimal commas are read
	commaNoted bool
	trailing   bool // the header ends with a delimiter: rows may too
	unit       TimeUnit
	layout     DateLayout // of the last date read
	note       func(string)
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

// NewReader reads the header of a CSV and prepares to read its rows.
func NewReader(r io.Reader, name string, opt CSVOptions) (*Reader, error) {
	if err := opt.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	br := bufio.NewReaderSize(&lineLimiter{r: r}, 64<<10)
	head, headerText, dataText, err := sniff(br, name, opt.SkipRows)
	if err != nil {
		return nil, err
	}
	rd := &Reader{name: name, offset: opt.SkipRows, timeCol: -1, unit: opt.TimeUnit, note: opt.Note}
	rd.delim = opt.Delimiter
	if rd.delim == 0 {
		rd.delim = detectDelimiter(headerText, dataText)
		if rd.delim != ',' {
			rd.notef("%s: fields separated by %s (detected; --delimiter to set)", name, delimiterName(rd.delim))
		}
	}
	rd.comma = rd.delim == ';'
	cr := csv.NewReader(io.MultiReader(bytes.NewReader(head), br))
	cr.Comma = rd.delim
	cr.FieldsPerRecord = -1 // ragged rows get our own message
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = rd.delim != '\t' // else empty tab-separated fields would vanish
	rd.cr = cr
	if err := rd.readHeader(); err != nil {
		return nil, err
	}
	if err := rd.chooseTime(opt.TimeColumn); err != nil {
		return nil, err
	}
	if err := rd.chooseChannels(opt.Channels, opt.KeepLabels); err != nil {
		return nil, err
	}
	return rd, nil
}

// notef passes a note to CSVOptions.Note.
func (r *Reader) notef(format string, args ...any) {
	if r.note != nil {
		r.note(fmt.Sprintf(format, args...))
	}
}

// at names a place in the file: "name:line".
func (r *Reader) at(line int) string { return r.name + ":" + strconv.Itoa(line) }

// readHeader reads and checks the column names.
func (r *Reader) readHeader() error {
	header, err := r.cr.Read()
	if err == io.EOF {
		return fmt.Errorf("%s: empty file: want a header row and data", r.name)
	}
	if err != nil {
		return r.readError(err)
	}
	line, _ := r.cr.FieldPos(0)
	r.headerLine = line + r.offset
	r.header = slices.Clone(header)
	if n := len(r.header); n > 1 && strings.TrimSpace(r.header[n-1]) == "" {
		// A delimiter at the end of every line, as some loggers and
		// spreadsheets write: an empty last column, not a nameless one.
		r.header, r.trailing = r.header[:n-1], true
		r.notef("%s: the header ends with a delimiter; its empty last column is left out", r.at(r.headerLine))
	}
	if len(r.header) > MaxColumns {
		return fmt.Errorf("%s: %d columns exceed the limit of %d", r.at(r.headerLine), len(r.header), MaxColumns)
	}
	seen := map[string]bool{}
	for i, h := range r.header {
		h = strings.TrimSpace(h)
		r.header[i] = h
		if h == "" {
			return &DataError{File: r.name, Line: r.headerLine, Err: fmt.Errorf("column %d has no name", i+1)}
		}
		if seen[h] {
			return &DataError{File: r.name, Line: r.headerLine, Err: fmt.Errorf("column name %q appears twice", h)}
		}
		seen[h] = true
	}
	return nil
}

// column returns the index of a named column.
func (r *Reader) column(name string) (int, bool) {
	i := slices.Index(r.header, name)
	return i, i >= 0
}

// chooseTime finds the time column: named, "-" for none, or the first
// column named as in CSVOptions.TimeColumn.
func (r *Reader) chooseTime(name string) error {
	switch name {
	case "-":
	case "":
		for i, h := range r.header {
			if slices.Contains(timeNames, strings.ToLower(h)) {
				r.timeCol = i
				break
			}
		}
	default:
		i, ok := r.column(name)
		if !ok {
			return fmt.Errorf("%s: no time column %q (columns: %s)", r.at(r.headerLine), name, strings.Join(r.header, ", "))
		}
		r.timeCol = i
	}
	return nil
}

// chooseChannels picks the named columns, or every column but the time
// and (unless keepLabels) label-like ones.
func (r *Reader) chooseChannels(names []string, keepLabels bool) error {
	var left []string
	for _, c := range names {
		i, ok := r.column(c)
		switch {
		case !ok:
			return fmt.Errorf("%s: no column %q (columns: %s)", r.at(r.headerLine), c, strings.Join(r.header, ", "))
		case i == r.timeCol:
			return fmt.Errorf("%s: column %q is the time column", r.at(r.headerLine), c)
		}
		r.cols = append(r.cols, i)
	}
	if len(names) == 0 {
		for i, h := range r.header {
			switch {
			case i == r.timeCol:
			case !keepLabels && IsLabelColumn(h, r.header):
				left = append(left, h)
			default:
				r.cols = append(r.cols, i)
			}
		}
	}
	switch len(left) {
	case 0:
	case 1:
		r.notef("%s: left out the label-like column %s (not a sensor; name it in --channels to use it)", r.name, left[0])
	default:
		r.notef("%s: left out the label-like columns %s (not sensors; name them in --channels to use them)", r.name, strings.Join(left, ", "))
	}
	if len(r.cols) == 0 {
		return fmt.Errorf("%s: no data columns", r.at(r.headerLine))
	}
	for _, c := range r.cols {
		r.names = append(r.names, r.header[c])
	}
	return nil
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

// TimeUnit returns the unit of numeric timestamps: as set, as guessed
// from the first plausible one, or UnitAuto before any.
func (r *Reader) TimeUnit() TimeUnit { return r.unit }

// DateLayout returns the layout of the last date read in the time
// column (the zero layout, RFC 3339 in UTC, before one): output written
// with it carries the input's own timestamps.
func (r *Reader) DateLayout() DateLayout { return r.layout }

// Delimiter returns the field delimiter in use.
func (r *Reader) Delimiter() rune { return r.delim }

// Next reads the next data row into values (one per channel) and returns
// its time and line; io.EOF after the last. Empty lines are skipped. The
// time is in seconds; NaN without a time column, and NaN for a missing or
// impossible time (see ParseTime), which the timestamp policy drops.
func (r *Reader) Next(values []float32) (t float64, line int, err error) {
	if len(values) != len(r.cols) {
		return 0, 0, fmt.Errorf("%s: a buffer of %d values for %d channels", r.name, len(values), len(r.cols))
	}
	rec, err := r.cr.Read()
	if err == io.EOF {
		return 0, 0, io.EOF
	}
	if err != nil {
		return 0, 0, r.readError(err)
	}
	line, _ = r.cr.FieldPos(0) // rec has at least one field here
	line += r.offset
	if r.trailing && len(rec) == len(r.header)+1 {
		if strings.TrimSpace(rec[len(rec)-1]) != "" {
			return 0, line, &DataError{File: r.name, Line: line, Err: fmt.Errorf("field %d, %q, is under the header's empty last name", len(rec), rec[len(rec)-1])}
		}
		rec = rec[:len(rec)-1]
	}
	if len(rec) != len(r.header) {
		return 0, line, &DataError{File: r.name, Line: line, Err: fmt.Errorf("%d fields, the header has %d%s", len(rec), len(r.header), r.dialectHint())}
	}
	t = math.NaN()
	if r.timeCol >= 0 {
		if t, err = r.readTime(rec[r.timeCol]); err != nil {
			return 0, line, r.fieldError(line, r.timeCol, err)
		}
	}
	for i, c := range r.cols {
		v, err := r.readValue(rec[c], line, c)
		if err != nil {
			return 0, line, r.fieldError(line, c, err)
		}
		values[i] = v
	}
	return t, line, nil
}

func (r *Reader) fieldError(line, col int, err error) error {
	return &DataError{File: r.name, Line: line, Column: col + 1, Field: r.header[col], Err: err}
}

// dialectHint says which delimiter split a ragged row, if not a comma.
func (r *Reader) dialectHint() string {
	if r.delim == ',' {
		return ""
	}
	return fmt.Sprintf(" (fields separated by %s; --delimiter to set)", delimiterName(r.delim))
}

// readTime reads a time field, guessing the unit of numbers once.
func (r *Reader) readTime(f string) (float64, error) {
	t, layout, date, err := parseTime(f, r.unit, r.comma)
	if err != nil {
		return 0, err
	}
	r.TimeIsText = date
	if date {
		r.layout = layout
	}
	if !date && r.unit == UnitAuto && !math.IsNaN(t) {
		v, _, _ := parseNumber(strings.TrimSpace(f), 64, r.comma)
		r.unit = GuessUnit(v)
		r.notef("%s: time column %s: %s (guessed from %s; --time-unit to set)", r.name, r.header[r.timeCol], r.unit.describe(), strings.TrimSpace(f))
	}
	return t, nil
}

// readValue reads a channel's field.
func (r *Reader) readValue(f string, line, col int) (float32, error) {
	f = strings.TrimSpace(f)
	if isMissing(f) && !strings.EqualFold(f, "nan") {
		if !r.AllowMissing {
			return 0, fmt.Errorf("%q is not a number (%w)", f, ErrMissing)
		}
		r.missing(line, col)
		return float32(math.NaN()), nil
	}
	v, comma, err := parseNumber(f, 32, r.comma)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, fmt.Errorf("%q is not a number%s", f, r.numberHint(f))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) || err != nil {
		if !r.AllowMissing {
			return 0, fmt.Errorf("%s is %w", f, ErrNotFinite)
		}
		r.missing(line, col)
	}
	if comma && !r.commaNoted {
		r.commaNoted = true
		r.notef("%s: decimal commas read as decimal points (%s is %v; the delimiter is ';')", r.at(line), f, v)
	}
	return float32(v), nil
}

// numberHint explains why a field that looks numeric is not read.
func (r *Reader) numberHint(f string) string {
	switch {
	case r.comma && strings.Contains(f, ",") && strings.Contains(f, "."):
		return " (digit grouping is not read: write 1234,5, not 1.234,5)"
	case !r.comma && strings.Contains(f, ",") && r.delim != ',':
		return " (decimal commas are read only in ';'-separated files)"
	}
	return ""
}

func (r *Reader) missing(line, col int) {
	r.Missing++
	if len(r.MissingAt) < 10 {
		r.MissingAt = append(r.MissingAt, fmt.Sprintf("%s: column %d (%s)", r.at(line), col+1, r.header[col]))
	}
}

// readError names the place of a CSV syntax error: file:line:column.
func (r *Reader) readError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &DataError{File: r.name, Line: pe.Line + r.offset, Column: pe.Column, Err: pe.Err}
	}
	return fmt.Errorf("%s: %w", r.name, err)
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
