package service

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/edgeml/edge/dataset"
)

// InfluxDB line protocol (what Telegraf's outputs.file, outputs.mqtt and
// processors.execd speak):
//
//	measurement[,tag=value...] field=value[,field=value...] [timestamp]
//
// Commas, spaces and (in keys) equals signs are escaped with a backslash;
// string field values are double-quoted. Floats are plain, integers end in
// i, unsigned integers in u, booleans are t/true/f/false in any common
// case; the timestamp is an integer, nanoseconds unless the input's
// time unit says otherwise.

// kv is one tag or field: a key and its raw value.
type kv struct{ key, value string }

// lineMetric is one parsed line.
type lineMetric struct {
	name   string
	tags   []kv
	fields []kv
	ts     string // "" when absent
}

// parseLine parses one line of line protocol.
func parseLine(line string) (lineMetric, error) {
	var m lineMetric
	if len(line) > MaxPayload {
		return m, fmt.Errorf("line of %d bytes (limit %d)", len(line), MaxPayload)
	}
	line = strings.TrimRight(line, "\r\n")
	head, rest, err := cutUnescaped(line, ' ', false)
	if err != nil {
		return m, err
	}
	parts := splitUnescaped(head, ',', false)
	if m.name = unescape(parts[0]); m.name == "" {
		return m, errors.New("no measurement name")
	}
	for _, p := range parts[1:] {
		k, v, ok := cutKV(p)
		if !ok {
			return m, fmt.Errorf("tag %q: want key=value", p)
		}
		m.tags = append(m.tags, kv{k, unescape(v)})
	}
	rest = strings.TrimLeft(rest, " ")
	fieldSet, ts, err := cutUnescaped(rest, ' ', true)
	if err != nil {
		return m, err
	}
	if fieldSet == "" {
		return m, errors.New("no fields")
	}
	for _, p := range splitUnescaped(fieldSet, ',', true) {
		k, v, ok := cutKV(p)
		if !ok || v == "" {
			return m, fmt.Errorf("field %q: want key=value", p)
		}
		m.fields = append(m.fields, kv{k, v})
	}
	m.ts = strings.TrimSpace(ts)
	return m, nil
}

// cutUnescaped cuts s at the first unescaped sep (outside double quotes
// if quotes).
func cutUnescaped(s string, sep byte, quotes bool) (before, after string, err error) {
	in := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case quotes && c == '"':
			in = !in
		case c == sep && !in:
			return s[:i], s[i+1:], nil
		}
	}
	if in {
		return "", "", errors.New("a string field value has no closing quote")
	}
	return s, "", nil
}

// splitUnescaped splits s at every unescaped sep.
func splitUnescaped(s string, sep byte, quotes bool) []string {
	var out []string
	for {
		before, after, _ := cutUnescaped(s, sep, quotes)
		out = append(out, before)
		if len(before) == len(s) {
			return out
		}
		s = after
	}
}

// cutKV cuts key=value at the first unescaped '=' and unescapes the key.
func cutKV(s string) (key, value string, ok bool) {
	k, v, _ := cutUnescaped(s, '=', false)
	if len(k) == len(s) || k == "" {
		return "", "", false
	}
	return unescape(k), v, true
}

// unescape removes the backslashes before , = space and backslash.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`, ="\`, s[i+1]) >= 0 {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// fieldNumber reads a field value as a number: a float, an integer (i),
// an unsigned integer (u) or a boolean (1 or 0). A string is an error.
func fieldNumber(v string) (float32, error) {
	switch v {
	case "t", "T", "true", "True", "TRUE":
		return 1, nil
	case "f", "F", "false", "False", "FALSE":
		return 0, nil
	}
	if strings.HasPrefix(v, `"`) {
		return 0, fmt.Errorf("%s is text, not a number", v)
	}
	num := strings.TrimRight(v, "iu")
	if len(v)-len(num) > 1 {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || (num != v && strings.ContainsAny(num, ".eE")) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	if math.Abs(f) > math.MaxFloat32 {
		return 0, fmt.Errorf("%s is out of float32 range", v)
	}
	return float32(f), nil
}

// reading turns a line into a reading of a group with the given channels:
// the fields by name (others ignored), the device from the "device" tag,
// the timestamp in unit (auto: by magnitude, which reads nanoseconds).
func (m lineMetric) reading(group string, names []string, unit dataset.TimeUnit) (Reading, error) {
	r := Reading{Group: group, Values: make([]float32, len(names))}
	for i := range r.Values {
		r.Values[i] = float32(math.NaN())
	}
	idx := make(map[string]int, len(names))
	for i, n := range names {
		idx[n] = i
	}
	found := 0
	for _, f := range m.fields {
		i, ok := idx[f.key]
		if !ok {
			continue
		}
		v, err := fieldNumber(f.value)
		if err != nil {
			return r, &dataset.DataError{Field: f.key, Err: err}
		}
		r.Values[i] = v
		found++
	}
	if found == 0 {
		return r, fmt.Errorf("none of the group's channels (%s) is a field of %s", strings.Join(names, ", "), m.name)
	}
	for _, t := range m.tags {
		if t.key == "device" {
			r.Device = t.value
		}
	}
	if m.ts != "" {
		if _, err := strconv.ParseInt(m.ts, 10, 64); err != nil {
			return r, &dataset.DataError{Field: "timestamp", Err: fmt.Errorf("%q is not an integer", m.ts)}
		}
		t, _, err := dataset.ParseTime(m.ts, unit, false)
		if err != nil {
			return r, &dataset.DataError{Field: "timestamp", Err: err}
		}
		r.Time, r.HasTime = t, true
	}
	return r, nil
}
