package dataset

import (
	"strconv"
	"strings"
)

// A DataError is a problem at one place of the input: the file (or
// stream, or topic), the line (0: none), the column (1-based; 0: the
// whole line) and the field's name. Every error about a row or a field
// that the Reader, CSV reading and the service's payload parser return
// wraps one, so that a program can find the place with errors.As and the
// cause with errors.Is (ErrMissing, ErrNotFinite, ...).
type DataError struct {
	File   string
	Line   int
	Column int
	Field  string
	Err    error
}

// Error reads "file:line: column 3 (temp): cause", leaving out what is
// not known ("file:line:col: cause" for a CSV syntax error, whose column
// is a byte offset; `field "temp": cause` for a payload's field).
func (e *DataError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Line))
			if e.Column > 0 && e.Field == "" {
				b.WriteByte(':')
				b.WriteString(strconv.Itoa(e.Column))
			}
		}
		b.WriteString(": ")
	}
	switch {
	case e.Column > 0 && e.Field != "":
		b.WriteString("column " + strconv.Itoa(e.Column) + " (" + e.Field + "): ")
	case e.Field != "":
		b.WriteString("field " + strconv.Quote(e.Field) + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *DataError) Unwrap() error { return e.Err }
