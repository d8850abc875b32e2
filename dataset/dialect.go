package dataset

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Delimiters are the field delimiters NewReader detects, in order of
// preference when the header and first data line leave a tie.
const Delimiters = ",;\t|"

// ParseDelimiter reads a delimiter as written on a command line: one
// character, or comma, semicolon, tab (or \t), pipe; "" or auto: detect.
func ParseDelimiter(s string) (rune, error) {
	switch strings.ToLower(s) {
	case "", "auto":
		return 0, nil
	case "comma":
		return ',', nil
	case "semicolon":
		return ';', nil
	case "tab", `\t`:
		return '\t', nil
	case "pipe":
		return '|', nil
	}
	r, n := utf8.DecodeRuneInString(s)
	if n != len(s) || !validDelimiter(r) {
		return 0, fmt.Errorf("delimiter %q: want one character such as , ; | or tab", s)
	}
	return r, nil
}

func validDelimiter(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && r != utf8.RuneError && r != '\uFEFF'
}

// delimiterName names a delimiter in messages.
func delimiterName(r rune) string {
	if r == '\t' {
		return "tabs"
	}
	return strconv.QuoteRune(r)
}

// detectDelimiter picks the delimiter that splits the header line and the
// first data line into the same number of fields, the most of them; if
// none does, the one that splits the header most; a header without any
// is one column (',').
func detectDelimiter(header, data string) rune {
	best, most := ',', 1
	for _, d := range Delimiters {
		n := countFields(header, d)
		if n > most && (data == "" || countFields(data, d) == n) {
			best, most = d, n
		}
	}
	if most > 1 {
		return best
	}
	for _, d := range Delimiters {
		if n := countFields(header, d); n > most {
			best, most = d, n
		}
	}
	return best
}

// CountFields counts the fields of a line split at d outside double
// quotes.
func CountFields(line string, d rune) int { return countFields(line, d) }

// countFields counts the fields of a line split at d outside quotes.
func countFields(line string, d rune) int {
	n, quoted := 1, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == d && !quoted:
			n++
		}
	}
	return n
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// sniff reads what NewReader needs before the CSV parser starts: it skips
// a byte-order mark and skip preamble lines, then reads the header line
// and the first data line (blank lines skipped) for delimiter detection.
// It returns those bytes, to be parsed again, and the header and data
// lines as text.
func sniff(br *bufio.Reader, name string, skip int) (head []byte, header, data string, err error) {
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3)
	}
	for i := 0; i < skip; i++ {
		if err := skipLine(br); err != nil {
			return nil, "", "", fmt.Errorf("%s: %d lines, fewer than the %d to skip before the header: %w", name, i, skip, err)
		}
	}
	var lines []string
	for len(lines) < 2 {
		line, err := br.ReadBytes('\n')
		head = append(head, line...)
		if text := strings.TrimSpace(string(line)); text != "" {
			lines = append(lines, text)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", "", fmt.Errorf("%s: %w", name, err)
		}
	}
	lines = append(lines, "", "")
	return head, lines[0], lines[1], nil
}

// skipLine reads past the next newline.
func skipLine(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice('\n')
		if err == nil {
			return nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

// missingWords are the spellings of a missing value (besides an empty
// field).
var missingWords = []string{"nan", "na", "n/a", "null", "none"}

// isMissing reports whether a trimmed field spells a missing value.
func isMissing(f string) bool {
	if f == "" {
		return true
	}
	for _, w := range missingWords {
		if strings.EqualFold(f, w) {
			return true
		}
	}
	return false
}

// errNotNumber is parseNumber's error for text that is no number in the
// file's dialect.
var errNotNumber = errors.New("not a number")

// ParseNumber reads a number of the given bit size (32 or 64) as a
// Reader does: with decimalComma, 1,5 is 1.5 (see Reader).
func ParseNumber(f string, bits int, decimalComma bool) (float64, error) {
	v, _, err := parseNumber(f, bits, decimalComma)
	return v, err
}

// parseNumber reads a number of the given bit size. With decimalComma, a
// field with one comma and no point reads the comma as a decimal point
// (1,5 is 1.5; grouping separators, as in 1.234,5, are not read); comma
// says it did. It allocates nothing unless the field is not a number.
func parseNumber(f string, bits int, decimalComma bool) (v float64, comma bool, err error) {
	i := strings.IndexByte(f, ',')
	if !decimalComma || i < 0 {
		v, err = strconv.ParseFloat(f, bits)
		return v, false, err
	}
	if len(f) > 40 || strings.IndexByte(f[i+1:], ',') >= 0 || strings.IndexByte(f, '.') >= 0 {
		return 0, false, errNotNumber
	}
	var buf [40]byte
	b := append(buf[:0], f...)
	b[i] = '.'
	v, err = strconv.ParseFloat(string(b), bits)
	return v, true, err
}
