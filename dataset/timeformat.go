package dataset

import (
	"math"
	"strconv"
	"time"
)

// DateLayout is the shape in which a file wrote its dates: the order of
// year, month and day, what separates the date from the clock, whether
// seconds and how many digits of a fraction are written, and the zone as
// written (none, Z, UTC, or an offset). ParseDateLayout returns it; its
// Append writes a time back the same way, so that output rows carry the
// input's own timestamps. The zero value writes RFC 3339 in UTC.
type DateLayout struct {
	order     byte // '-' YYYY-MM-DD, '/' YYYY/MM/DD, '.' DD.MM.YYYY; 0: RFC 3339
	clock     byte // 'T' or ' ' before the clock; 0: a date alone
	seconds   bool
	fracSep   byte  // '.' or ','; 0: no fraction
	frac      uint8 // digits of the fraction
	zone      zoneStyle
	zoneSpace bool   // a space before the zone
	zoneText  string // Z, UTC or GMT as written (zoneName)
	offset    int32  // seconds east of UTC
}

type zoneStyle uint8

const (
	zoneNone      zoneStyle = iota // no zone: UTC
	zoneName                       // Z, UTC or GMT
	zoneHours                      // +01
	zoneHHMM                       // +0100
	zoneHHColonMM                  // +01:00
)

// Offset returns the zone offset the layout writes, in seconds east of
// UTC.
func (l DateLayout) Offset() int { return int(l.offset) }

// Append appends t (seconds since the Unix epoch) in the layout, at the
// layout's offset. Month, day and hour are written with two digits. A
// time finer than the layout writes (seconds where it has none, a longer
// fraction) is written with the precision it needs, up to microseconds,
// so that nothing is lost. It allocates nothing when b has room.
func (l DateLayout) Append(b []byte, t float64) []byte {
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return b
	}
	sec, frac := math.Floor(t), t-math.Floor(t)
	us := min(int64(math.Round(frac*1e6)), 999999) // never carries past 9999-12-31
	if l.order == 0 {
		tm := time.Unix(int64(sec), us*1000).UTC()
		return tm.AppendFormat(b, time.RFC3339Nano)
	}
	tm := time.Unix(int64(sec)+int64(l.offset), 0).UTC() // the civil time at the offset
	y, mo, d := tm.Date()
	switch l.order {
	case '.':
		b = append2(b, d, '.')
		b = append2(b, int(mo), '.')
		b = appendYear(b, y)
	default:
		b = appendYear(b, y)
		b = append(b, l.order)
		b = append2(b, int(mo), l.order)
		b = append2(b, d, 0)
	}
	hh, mm, ss := tm.Clock()
	digits := fracDigits(us)
	if l.clock == 0 && hh == 0 && mm == 0 && ss == 0 && digits == 0 && l.offset == 0 {
		return b
	}
	b = append(b, max(l.clock, ' '))
	b = append2(b, hh, ':')
	b = append2(b, mm, 0)
	if l.seconds || ss != 0 || digits > 0 {
		b = append(b, ':')
		b = append2(b, ss, 0)
	}
	if digits = max(digits, int(l.frac)); digits > 0 {
		sep := l.fracSep
		if sep == 0 {
			sep = '.'
		}
		b = append(b, sep)
		b = appendFrac(b, us, digits)
	}
	return l.appendZone(b)
}

// appendZone appends the zone as the layout writes it.
func (l DateLayout) appendZone(b []byte) []byte {
	if l.zone == zoneNone {
		return b
	}
	if l.zoneSpace {
		b = append(b, ' ')
	}
	if l.zone == zoneName {
		return append(b, l.zoneText...)
	}
	off := int(l.offset)
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	b = append(b, sign)
	b = append2(b, off/3600, 0)
	switch l.zone {
	case zoneHHMM:
		b = append2(b, off%3600/60, 0)
	case zoneHHColonMM:
		b = append(b, ':')
		b = append2(b, off%3600/60, 0)
	}
	return b
}

// fracDigits returns how many digits a fraction of us microseconds needs.
func fracDigits(us int64) int {
	if us == 0 {
		return 0
	}
	n := 6
	for us%10 == 0 {
		us /= 10
		n--
	}
	return n
}

// appendFrac appends the first digits of a six-digit fraction, padded
// with zeros past six.
func appendFrac(b []byte, us int64, digits int) []byte {
	var d [6]byte
	for i := 5; i >= 0; i-- {
		d[i] = byte('0' + us%10)
		us /= 10
	}
	for i := range digits {
		if i < 6 {
			b = append(b, d[i])
		} else {
			b = append(b, '0')
		}
	}
	return b
}

// append2 appends v with two digits, then sep unless it is zero.
func append2(b []byte, v int, sep byte) []byte {
	b = append(b, byte('0'+v/10%10), byte('0'+v%10))
	if sep != 0 {
		b = append(b, sep)
	}
	return b
}

// appendYear appends a year with four digits (more where it has them).
func appendYear(b []byte, y int) []byte {
	if y < 0 || y > 9999 {
		return strconv.AppendInt(b, int64(y), 10)
	}
	return append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
}
