// Package lineproto writes the names and string values of InfluxDB line
// protocol with its escapes, for every writer of line protocol in edge
// (edge run's output, the CLI's --format influx).
package lineproto

import "strings"

// AppendMeasurement appends a measurement name: comma, space and
// backslash escaped.
func AppendMeasurement(b []byte, s string) []byte { return appendEscaped(b, s, ", \\") }

// AppendKey appends a tag key or value or a field key: comma, equals
// sign, space and backslash escaped.
func AppendKey(b []byte, s string) []byte { return appendEscaped(b, s, ",= \\") }

// Quote returns a string field value: in double quotes, with backslash
// and double quote escaped.
func Quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func appendEscaped(b []byte, s, special string) []byte {
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(special, s[i]) >= 0 {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return b
}
