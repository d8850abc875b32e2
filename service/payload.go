package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// MaxPayload bounds one reading's payload (a JSON object or a CSV line).
const MaxPayload = 64 << 10

// ParseJSON reads a reading for a group with the given channels from a
// JSON object: the channels by name (numbers; null or absent: missing),
// an optional timestamp "ts" (seconds since the epoch), "time" or
// "timestamp" (the same, or RFC 3339 text), or "values": an array in
// channel order. Other fields are ignored.
func ParseJSON(payload []byte, group string, names []string) (Reading, error) {
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
	for _, key := range []string{"ts", "time", "timestamp"} {
		raw, ok := obj[key]
		if !ok {
			continue
		}
		t, err := parseTime(raw)
		if err != nil {
			return r, fmt.Errorf("field %q: %w", key, err)
		}
		r.Time, r.HasTime = t, true
		break
	}
	if raw, ok := obj["values"]; ok {
		var vs []json.RawMessage
		if err := json.Unmarshal(raw, &vs); err != nil || len(vs) != len(names) {
			return r, fmt.Errorf(`field "values": want an array of %d numbers`, len(names))
		}
		for i, v := range vs {
			x, err := parseNum(v)
			if err != nil {
				return r, fmt.Errorf(`field "values"[%d] (%s): %w`, i, names[i], err)
			}
			r.Values[i] = x
		}
		return r, nil
	}
	found := 0
	for i, n := range names {
		raw, ok := obj[n]
		if !ok {
			continue
		}
		x, err := parseNum(raw)
		if err != nil {
			return r, fmt.Errorf("field %q: %w", n, err)
		}
		r.Values[i] = x
		found++
	}
	if found == 0 {
		return r, fmt.Errorf("none of the group's channels (%s) is in the payload", strings.Join(names, ", "))
	}
	return r, nil
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

func parseTime(raw json.RawMessage) (float64, error) {
	s := string(bytes.TrimSpace(raw))
	if len(s) > 0 && s[0] == '"' {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return 0, err
		}
		t, err := time.Parse(time.RFC3339Nano, str)
		if err != nil {
			return 0, fmt.Errorf("%q is not an RFC 3339 time", str)
		}
		return float64(t.UnixNano()) / 1e9, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("%q is not a time in seconds", s)
	}
	return v, nil
}

// csvParser reads CSV lines of named columns.
type csvParser struct {
	group string
	cols  []int // per column: channel index, -1 for the timestamp, -2 ignored
	n     int
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

// parse reads one line.
func (p *csvParser) parse(line string) (Reading, error) {
	r := Reading{Group: p.group, Values: make([]float32, p.n)}
	if len(line) > MaxPayload {
		return r, fmt.Errorf("line of %d bytes (limit %d)", len(line), MaxPayload)
	}
	fields := strings.Split(strings.TrimRight(line, "\r"), ",")
	if len(fields) != len(p.cols) {
		return r, fmt.Errorf("%d fields, want %d", len(fields), len(p.cols))
	}
	for i, f := range fields {
		f = strings.TrimSpace(f)
		switch c := p.cols[i]; c {
		case -2:
		case -1:
			t, err := parseTime(json.RawMessage(strconv.Quote(f)))
			if err != nil {
				if t, err = parseTime(json.RawMessage(f)); err != nil {
					return r, fmt.Errorf("column %d: %q is not a time", i+1, f)
				}
			}
			r.Time, r.HasTime = t, true
		default:
			if f == "" || strings.EqualFold(f, "nan") || strings.EqualFold(f, "null") {
				r.Values[c] = float32(math.NaN())
				continue
			}
			v, err := strconv.ParseFloat(f, 32)
			if err != nil {
				return r, fmt.Errorf("column %d: %q is not a number", i+1, f)
			}
			r.Values[c] = float32(v)
		}
	}
	return r, nil
}
