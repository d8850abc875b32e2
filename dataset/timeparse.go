package dataset

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/edgeml/edge/stream"
)

// TimeUnit is the unit of numeric timestamps.
type TimeUnit uint8

// The units of numeric timestamps.
const (
	// UnitAuto guesses the unit from the magnitude of the first
	// plausible timestamp (see GuessUnit).
	UnitAuto TimeUnit = iota
	Seconds
	Milliseconds
	Microseconds
	Nanoseconds
)

// ParseTimeUnit reads a unit as written on a command line: s, ms, us
// (or µs), ns or auto.
func ParseTimeUnit(s string) (TimeUnit, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return UnitAuto, nil
	case "s", "sec", "seconds":
		return Seconds, nil
	case "ms", "milliseconds":
		return Milliseconds, nil
	case "us", "µs", "microseconds":
		return Microseconds, nil
	case "ns", "nanoseconds":
		return Nanoseconds, nil
	}
	return UnitAuto, fmt.Errorf("time unit %q: want s, ms, us, ns or auto", s)
}

// String returns the unit's short name (s, ms, us, ns or auto).
func (u TimeUnit) String() string {
	switch u {
	case Seconds:
		return "s"
	case Milliseconds:
		return "ms"
	case Microseconds:
		return "us"
	case Nanoseconds:
		return "ns"
	}
	return "auto"
}

// PerSecond returns how many units make a second (1 for UnitAuto).
func (u TimeUnit) PerSecond() float64 {
	switch u {
	case Milliseconds:
		return 1e3
	case Microseconds:
		return 1e6
	case Nanoseconds:
		return 1e9
	}
	return 1
}

// describe names the unit in a note.
func (u TimeUnit) describe() string {
	switch u {
	case Milliseconds:
		return "epoch milliseconds"
	case Microseconds:
		return "epoch microseconds"
	case Nanoseconds:
		return "epoch nanoseconds"
	}
	return "seconds"
}

// GuessUnit returns the unit a numeric timestamp's magnitude suggests:
// beyond 1e17 nanoseconds, 1e14 microseconds, 1e11 milliseconds, else
// seconds (1e11 s is the year 5138; 1e11 ms is March 1973).
func GuessUnit(v float64) TimeUnit {
	switch a := math.Abs(v); {
	case a > 1e17:
		return Nanoseconds
	case a > 1e14:
		return Microseconds
	case a > 1e11:
		return Milliseconds
	}
	return Seconds
}

// MinEpoch is the earliest numeric timestamp accepted: 1900-01-01 in
// Unix seconds. Earlier ones, and ones beyond stream.MaxTime (the year
// 9999), read as a missing time, which the timestamp policy drops.
const MinEpoch = -2208988800

// EpochSeconds converts a numeric timestamp in unit u (not UnitAuto) to
// seconds, or NaN if it is not finite or lies before 1900 or after 9999.
func EpochSeconds(v float64, u TimeUnit) float64 {
	t := v / u.PerSecond()
	if !(t >= MinEpoch && t <= stream.MaxTime) {
		return math.NaN()
	}
	return t
}

// ParseTime reads a timestamp field: a number in unit u (UnitAuto:
// guessed from its own magnitude), or a date (see ParseDate). It returns
// seconds since the Unix epoch and whether the field was a date. An
// empty field, NaN, NA, null or None, and a number out of range (see
// EpochSeconds), read as NaN: a missing time.
func ParseTime(f string, u TimeUnit, decimalComma bool) (t float64, date bool, err error) {
	t, _, date, err = parseTime(f, u, decimalComma)
	return t, date, err
}

// parseTime is ParseTime that also returns a date's layout.
func parseTime(f string, u TimeUnit, decimalComma bool) (t float64, l DateLayout, date bool, err error) {
	f = strings.TrimSpace(f)
	if t, l, ok := ParseDateLayout(f); ok {
		return t, l, true, nil
	}
	if isMissing(f) {
		return math.NaN(), l, false, nil
	}
	v, _, err := parseNumber(f, 64, decimalComma)
	if errors.Is(err, strconv.ErrRange) {
		return math.NaN(), l, false, nil
	}
	if err != nil {
		return 0, l, false, fmt.Errorf("%q is not a time: want a number (epoch s, ms, us or ns) or a date such as 2024-01-31 13:45:00, 2024-01-31T13:45:00+01:00, 2024/01/31 13:45 or 31.01.2024 13:45:00", f)
	}
	if u == UnitAuto {
		u = GuessUnit(v)
	}
	return EpochSeconds(v, u), l, false, nil
}

// ParseDate reads a date and time, in UTC unless the text gives a zone:
//
//	2024-01-31T13:45:00Z, 2024-01-31T13:45:00.250+01:00, …+0100, …+01
//	2024-01-31 13:45:00[.fff][ UTC]   2024-01-31T13:45   2024-01-31
//	2024/01/31 13:45[:00]             31.01.2024 13:45[:00]
//
// Month, day and hour may have one digit; a fraction of a second may
// follow a point or a comma. It allocates nothing.
func ParseDate(s string) (float64, bool) {
	t, _, ok := ParseDateLayout(s)
	return t, ok
}

// ParseDateLayout is ParseDate that also returns the date's layout, with
// which DateLayout.Append writes times the way s was written.
func ParseDateLayout(s string) (float64, DateLayout, bool) {
	p := dateScanner{s: s}
	var l DateLayout
	y, mo, d, ok := p.date(&l)
	if !ok {
		return 0, l, false
	}
	if p.done() {
		t, ok := civil(y, mo, d, 0, 0, 0, 0, 0)
		return t, l, ok
	}
	l.clock = p.s[p.i]
	if !p.byte('T') && !p.byte(' ') {
		return 0, l, false
	}
	hh, mm, ss, frac, ok := p.clock(&l)
	if !ok {
		return 0, l, false
	}
	off, ok := p.zone(&l)
	if !ok || !p.done() {
		return 0, l, false
	}
	l.offset = int32(off)
	t, ok := civil(y, mo, d, hh, mm, ss, frac, off)
	return t, l, ok
}

// civil returns the Unix time of a validated date and time at offset off
// (seconds east of UTC).
func civil(y, mo, d, hh, mm, ss int, frac float64, off int) (float64, bool) {
	if mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || hh > 23 || mm > 59 || ss > 59 {
		return 0, false
	}
	sec := time.Date(y, time.Month(mo), d, hh, mm, ss, 0, time.UTC).Unix() - int64(off)
	return float64(sec) + frac, true
}

func daysIn(y, mo int) int {
	return time.Date(y, time.Month(mo)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// dateScanner reads the parts of a date from left to right.
type dateScanner struct {
	s string
	i int
}

func (p *dateScanner) done() bool { return p.i == len(p.s) }

// byte consumes c if it is next.
func (p *dateScanner) byte(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// num reads lo to hi decimal digits.
func (p *dateScanner) num(lo, hi int) (int, bool) {
	v, n := 0, 0
	for n < hi && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		v = 10*v + int(p.s[p.i]-'0')
		p.i++
		n++
	}
	return v, n >= lo
}

// date reads YYYY-MM-DD, YYYY/MM/DD or DD.MM.YYYY.
func (p *dateScanner) date(l *DateLayout) (y, mo, d int, ok bool) {
	if y, ok = p.num(4, 4); ok {
		sep := byte('-')
		if !p.byte(sep) {
			sep = '/'
			if !p.byte(sep) {
				return 0, 0, 0, false
			}
		}
		l.order = sep
		mo, ok1 := p.num(1, 2)
		ok2 := p.byte(sep)
		d, ok3 := p.num(1, 2)
		return y, mo, d, ok1 && ok2 && ok3
	}
	p.i = 0
	d, ok1 := p.num(1, 2)
	ok2 := p.byte('.')
	mo, ok3 := p.num(1, 2)
	ok4 := p.byte('.')
	y, ok5 := p.num(4, 4)
	l.order = '.'
	return y, mo, d, ok1 && ok2 && ok3 && ok4 && ok5
}

// clock reads hh:mm[:ss[.fff]].
func (p *dateScanner) clock(l *DateLayout) (hh, mm, ss int, frac float64, ok bool) {
	hh, ok1 := p.num(1, 2)
	ok2 := p.byte(':')
	mm, ok3 := p.num(2, 2)
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, 0, 0, false
	}
	if !p.byte(':') {
		return hh, mm, 0, 0, true
	}
	if ss, ok = p.num(2, 2); !ok {
		return 0, 0, 0, 0, false
	}
	l.seconds = true
	if p.i < len(p.s) {
		l.fracSep = p.s[p.i]
	}
	if p.byte('.') || p.byte(',') {
		scale := 0.1
		start := p.i
		for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
			frac += float64(float64(p.s[p.i]-'0') * scale)
			scale /= 10
			p.i++
		}
		if p.i == start {
			return 0, 0, 0, 0, false
		}
		l.frac = uint8(min(p.i-start, 9))
	} else {
		l.fracSep = 0
	}
	return hh, mm, ss, frac, true
}

// zone reads an optional zone: Z, UTC or GMT (after an optional space),
// or an offset ±hh:mm, ±hhmm or ±hh, and returns it in seconds east.
func (p *dateScanner) zone(l *DateLayout) (int, bool) {
	if p.done() {
		return 0, true
	}
	l.zoneSpace = p.byte(' ')
	rest := p.s[p.i:]
	if rest == "Z" || rest == "z" || strings.EqualFold(rest, "UTC") || strings.EqualFold(rest, "GMT") {
		l.zone = zoneName
		l.zoneText = rest
		p.i = len(p.s)
		return 0, true
	}
	sign := 1
	switch {
	case p.byte('+'):
	case p.byte('-'):
		sign = -1
	default:
		return 0, false
	}
	hh, ok := p.num(2, 2)
	if !ok || hh > 23 {
		return 0, false
	}
	mm := 0
	l.zone = zoneHours
	if !p.done() {
		l.zone = zoneHHMM
		if p.byte(':') {
			l.zone = zoneHHColonMM
		}
		if mm, ok = p.num(2, 2); !ok || mm > 59 {
			return 0, false
		}
	}
	return sign * (hh*3600 + mm*60), true
}
