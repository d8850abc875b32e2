package service

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/edgeml/edge/dataset"
)

// MaxPayload bounds one reading's payload (a JSON object or a CSV line).
const MaxPayload = 64 << 10

// ParseJSON reads a reading for a group with the given channels from a
// JSON object: the channels by name (numbers; null or absent: missing),
// an optional timestamp "ts", "time" or "timestamp", or "values": an
// array in channel order; "device" names the installation the reading
// comes from (its own stream). A channel whose name has dots is also
// found as a path in nested objects (AM2301.Temperature in Tasmota's
// {"AM2301": {"Temperature": 21.4}}). Telegraf's JSON metrics
// ({"fields": {...}, "tags": {...}, "name", "timestamp"}) are read from
// their fields, with the device from the "device" tag. Other fields are
// ignored. A timestamp is a
// number of epoch seconds, milliseconds, microseconds or nanoseconds
// (told apart by magnitude, see dataset.GuessUnit), or a date as text
// (RFC 3339, with Z or an offset, and the forms of dataset.ParseDate); a
// null or impossible one reads as a missing time (NaN), which the
// timestamp policy drops.
func ParseJSON(payload []byte, group string, names []string) (Reading, error) {
	return parseJSON(payload, group, names, dataset.UnitAuto)
}

// parseJSON is ParseJSON with numeric timestamps in unit.
func parseJSON(payload []byte, group string, names []string, unit dataset.TimeUnit) (Reading, error) {
	r := Reading{Group: group}
	if len(payload) > MaxPayload {
		return r, fmt.Errorf("payload of %d bytes (limit %d)", len(payload), MaxPayload)
	}
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&obj); err != nil {
		return r, fmt.Errorf("not a JSON object: %w", err)
	}
	if obj == nil {
		return r, errors.New("not a JSON object")
	}
	r.Values = make([]float32, len(names))
	for i := range r.Values {
		r.Values[i] = float32(math.NaN())
	}
	src := obj
	if f, ok := telegrafFields(obj); ok { // Telegraf's JSON: {"fields", "tags", "name", "timestamp"}
		src = f
		if err := telegrafDevice(obj, &r); err != nil {
			return r, err
		}
	}
	if err := readTime(obj, unit, &r); err != nil {
		return r, err
	}
	if raw, ok := obj["device"]; ok {
		if err := json.Unmarshal(raw, &r.Device); err != nil {
			return r, &dataset.DataError{Field: "device", Err: errors.New("want a string")}
		}
	}
	if raw, ok := src["values"]; ok {
		return r, readValues(raw, names, &r)
	}
	found := 0
	for i, n := range names {
		raw, ok := lookup(src, n)
		if !ok {
			continue
		}
		x, err := parseNum(raw)
		if err != nil {
			return r, &dataset.DataError{Field: n, Err: err}
		}
		r.Values[i] = x
		found++
	}
	if found == 0 {
		return r, fmt.Errorf("none of the group's channels (%s) is in the payload", strings.Join(names, ", "))
	}
	return r, nil
}

// readTime takes the reading's time from "ts", "time" or "timestamp".
func readTime(obj map[string]json.RawMessage, unit dataset.TimeUnit, r *Reading) error {
	for _, key := range []string{"ts", "time", "timestamp"} {
		raw, ok := obj[key]
		if !ok {
			continue
		}
		t, err := parseTime(raw, unit)
		if err != nil {
			return &dataset.DataError{Field: key, Err: err}
		}
		r.Time, r.HasTime = t, true
		return nil
	}
	return nil
}

// readValues reads "values": an array in channel order.
func readValues(raw json.RawMessage, names []string, r *Reading) error {
	var vs []json.RawMessage
	if err := json.Unmarshal(raw, &vs); err != nil || len(vs) != len(names) {
		return fmt.Errorf(`field "values": want an array of %d numbers`, len(names))
	}
	for i, v := range vs {
		x, err := parseNum(v)
		if err != nil {
			return &dataset.DataError{Field: names[i], Err: fmt.Errorf(`in "values"[%d]: %w`, i, err)}
		}
		r.Values[i] = x
	}
	return nil
}

// telegrafFields returns the "fields" object of a Telegraf JSON metric.
func telegrafFields(obj map[string]json.RawMessage) (map[string]json.RawMessage, bool) {
	raw, ok := obj["fields"]
	if !ok {
		return nil, false
	}
	var f map[string]json.RawMessage
	if json.Unmarshal(raw, &f) != nil || f == nil {
		return nil, false
	}
	return f, true
}

// telegrafDevice takes the device from a Telegraf metric's "device" tag.
func telegrafDevice(obj map[string]json.RawMessage, r *Reading) error {
	raw, ok := obj["tags"]
	if !ok {
		return nil
	}
	var tags map[string]string
	if err := json.Unmarshal(raw, &tags); err != nil {
		return &dataset.DataError{Field: "tags", Err: errors.New("want an object of strings")}
	}
	r.Device = tags["device"]
	return nil
}

// maxPathDepth bounds a channel's JSON path (a.b.c).
const maxPathDepth = 8

// lookup finds a channel's value: the field of that name, else, for a
// name with dots, the nested field it is the path of (Tasmota's
// {"AM2301": {"Temperature": 21.4}} for the channel AM2301.Temperature).
func lookup(obj map[string]json.RawMessage, name string) (json.RawMessage, bool) {
	if raw, ok := obj[name]; ok {
		return raw, true
	}
	path := strings.SplitN(name, ".", maxPathDepth+1)
	if len(path) < 2 || len(path) > maxPathDepth {
		return nil, false
	}
	cur := obj
	for i, seg := range path {
		raw, ok := cur[seg]
		if !ok {
			return nil, false
		}
		if i == len(path)-1 {
			return raw, true
		}
		cur = nil
		if json.Unmarshal(raw, &cur) != nil || cur == nil {
			return nil, false
		}
	}
	return nil, false
}

func parseNum(raw json.RawMessage) (float32, error) {
	s := string(bytes.TrimSpace(raw))
	if s == "null" {
		return float32(math.NaN()), nil
	}
	if len(s) > 0 && s[0] == '"' {
		return 0, fmt.Errorf("%s is text, not a number", s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if math.Abs(v) > math.MaxFloat32 {
		return 0, fmt.Errorf("%s is out of float32 range", s)
	}
	return float32(v), nil
}

// parseTime reads a JSON timestamp: a number in unit, or text (a date or
// a number); null reads as NaN.
func parseTime(raw json.RawMessage, unit dataset.TimeUnit) (float64, error) {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 0 && s[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
	} else if s == "null" {
		return math.NaN(), nil
	}
	t, _, err := dataset.ParseTime(s, unit, false)
	return t, err
}

// csvParser reads CSV lines of named columns.
type csvParser struct {
	group string
	cols  []int // per column: channel index, -1 for the timestamp, -2 ignored
	n     int
	delim rune // 0: detected from the first line
	unit  dataset.TimeUnit
}

func newCSVParser(columns, names []string, group string) (*csvParser, error) {
	p := &csvParser{group: group, n: len(names)}
	idx := map[string]int{}
	for i, n := range names {
		idx[n] = i
	}
	seen := map[int]bool{}
	for _, c := range columns {
		switch c {
		case "ts", "time", "timestamp":
			p.cols = append(p.cols, -1)
			continue
		case "", "-":
			p.cols = append(p.cols, -2)
			continue
		}
		i, ok := idx[c]
		if !ok {
			return nil, fmt.Errorf("input.columns: %q is not a channel of group %s (%s)", c, group, strings.Join(names, ", "))
		}
		seen[i] = true
		p.cols = append(p.cols, i)
	}
	if len(seen) != len(names) {
		return nil, fmt.Errorf("input.columns name %d of group %s's %d channels", len(seen), group, len(names))
	}
	return p, nil
}

// parse reads one line. The first line fixes the delimiter, unless it
// was set: the one of , ; tab | that splits it into the configured
// columns. With ';' a decimal comma is read (1,5 is 1.5).
func (p *csvParser) parse(line string) (Reading, error) {
	r := Reading{Group: p.group, Values: make([]float32, p.n)}
	if len(line) > MaxPayload {
		return r, fmt.Errorf("line of %d bytes (limit %d)", len(line), MaxPayload)
	}
	line = strings.TrimRight(line, "\r")
	if p.delim == 0 {
		p.delim = p.detect(line)
	}
	fields, err := p.split(line)
	if err != nil {
		return r, err
	}
	if len(fields) != len(p.cols) {
		return r, fmt.Errorf("%d fields, want %d (fields separated by %q)", len(fields), len(p.cols), p.delim)
	}
	comma := p.delim == ';'
	for i, f := range fields {
		f = strings.TrimSpace(f)
		switch c := p.cols[i]; c {
		case -2:
		case -1:
			t, _, err := dataset.ParseTime(f, p.unit, comma)
			if err != nil {
				return r, fmt.Errorf("column %d: %w", i+1, err)
			}
			r.Time, r.HasTime = t, true
		default:
			if f == "" || strings.EqualFold(f, "nan") || strings.EqualFold(f, "null") {
				r.Values[c] = float32(math.NaN())
				continue
			}
			v, err := dataset.ParseNumber(f, 32, comma)
			if err != nil {
				return r, fmt.Errorf("column %d: %q is not a number", i+1, f)
			}
			r.Values[c] = float32(v)
		}
	}
	return r, nil
}

// detect returns the delimiter that splits line into the configured
// columns (',' if none does).
func (p *csvParser) detect(line string) rune {
	for _, d := range dataset.Delimiters {
		if dataset.CountFields(line, d) == len(p.cols) {
			return d
		}
	}
	return ','
}

// split cuts a line into fields, quoted ones included.
func (p *csvParser) split(line string) ([]string, error) {
	if !strings.Contains(line, `"`) {
		return strings.Split(line, string(p.delim)), nil
	}
	cr := csv.NewReader(strings.NewReader(line))
	cr.Comma, cr.FieldsPerRecord = p.delim, -1
	fields, err := cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("column %d: %w", pe.Column, pe.Err)
		}
		return nil, err
	}
	return fields, nil
}
