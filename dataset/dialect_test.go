package dataset

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// t0 is 2024-01-01T00:00:00Z in Unix seconds.
const t0 = 1704067200

func TestDialects(t *testing.T) {
	cases := []struct {
		name   string
		in     string
		opt    CSVOptions
		names  []string
		times  []float64
		values []float32
		lines  []int
		notes  []string // each must appear in one note
	}{
		{name: "comma", in: "ts,a,b\n1,2,3\n2,4,5\n",
			names: []string{"a", "b"}, times: []float64{1, 2}, values: []float32{2, 3, 4, 5}, lines: []int{2, 3}},
		{name: "byte-order mark", in: "\uFEFFtimestamp,temp\n1704067200,20.5\n1704067260,21\n",
			names: []string{"temp"}, times: []float64{t0, t0 + 60}, values: []float32{20.5, 21}},
		{name: "semicolon, decimal commas", in: "time;temp;hum\n0;20,5;40\n1;-1,25e1;41,0\n2;3;42\n",
			names: []string{"temp", "hum"}, values: []float32{20.5, 40, -12.5, 41, 3, 42},
			notes: []string{"fields separated by ';' (detected", "x.csv:2: decimal commas read as decimal points (20,5 is 20.5"}},
		{name: "tab", in: "time\ttemp\thum\n0\t1.5\t\n1\t2.5\t3\n", opt: CSVOptions{AllowMissing: true},
			names: []string{"temp", "hum"}, values: []float32{1.5, float32(math.NaN()), 2.5, 3},
			notes: []string{"fields separated by tabs"}},
		{name: "pipe", in: "time|a\n0|1\n1|2\n", names: []string{"a"}, values: []float32{1, 2}},
		{name: "preamble rows", in: "logger v2\nsite: north\ntime,a\n0,1\n\n1,2\n", opt: CSVOptions{SkipRows: 2},
			names: []string{"a"}, values: []float32{1, 2}, lines: []int{4, 6}},
		{name: "quoted fields", in: "\"time\",\"temp, °C\",\"note\"\n0,\"1.5\",\"a, b\"\n1,2,\"\"\"q\"\"\"\n", opt: CSVOptions{Channels: []string{"temp, °C"}},
			names: []string{"temp, °C"}, values: []float32{1.5, 2}},
		{name: "quoted decimal comma in a semicolon file", in: "time;a\n0;\"1,5\"\n1;\"2,5\"\n", names: []string{"a"}, values: []float32{1.5, 2.5}},
		{name: "forced delimiter", in: "time;a,b\n0;1,5\n", opt: CSVOptions{Delimiter: ';'}, names: []string{"a,b"}, values: []float32{1.5}},
		{name: "CRLF", in: "time,a\r\n0,1\r\n1,2\r\n", names: []string{"a"}, values: []float32{1, 2}},
		{name: "semicolon data line decides", in: "time;a\n0;1,5\n", names: []string{"a"}, values: []float32{1.5}},
		{name: "one column", in: "a\n1\n2\n", names: []string{"a"}, values: []float32{1, 2}},
		{name: "+00:00 offsets", in: "time,a\n2024-01-01 00:00:00+00:00,1\n2024-01-01T01:01:00+01:00,2\n2024-01-01T00:02:00+0000,3\n",
			names: []string{"a"}, times: []float64{t0, t0 + 60, t0 + 120}, values: []float32{1, 2, 3}},
		{name: "epoch milliseconds guessed", in: "ts,a\n1704067200000,1\n1704067200500,2\n",
			names: []string{"a"}, times: []float64{t0, t0 + 0.5}, notes: []string{"time column ts: epoch milliseconds (guessed from 1704067200000; --time-unit to set)"}},
		{name: "epoch milliseconds forced", in: "ts,a\n0,1\n500,2\n", opt: CSVOptions{TimeUnit: Milliseconds},
			names: []string{"a"}, times: []float64{0, 0.5}},
		{name: "epoch microseconds guessed", in: "ts,a\n1704067200000000,1\n1704067201000000,2\n",
			names: []string{"a"}, times: []float64{t0, t0 + 1}, notes: []string{"epoch microseconds"}},
		{name: "epoch nanoseconds guessed", in: "ts,a\n1704067200000000000,1\n1704067202000000000,2\n",
			names: []string{"a"}, times: []float64{t0, t0 + 2}, notes: []string{"epoch nanoseconds"}},
		{name: "label columns left out", in: "time,a,Label,is_anomaly,b\n0,1,0,0,2\n",
			names: []string{"a", "b"}, values: []float32{1, 2}, notes: []string{"left out the label-like columns Label, is_anomaly"}},
		{name: "a label column named", in: "time,a,label\n0,1,0\n", opt: CSVOptions{Channels: []string{"a", "label"}},
			names: []string{"a", "label"}, values: []float32{1, 0}},
		{name: "label columns kept", in: "time,a,y\n0,1,0\n", opt: CSVOptions{KeepLabels: true}, names: []string{"a", "y"}},
		{name: "y as a label", in: "time,a,y\n0,1,0\n", names: []string{"a"}, notes: []string{"left out the label-like column y"}},
		{name: "an event column (GECCO's EVENT)", in: "time,Tp,EVENT\n0,1,0\n", names: []string{"Tp"}, notes: []string{"left out the label-like column EVENT"}},
		{name: "a delimiter ending every line", in: "time,a,b,\n0,1,2,\n1,3,4\n", names: []string{"a", "b"}, values: []float32{1, 2, 3, 4},
			notes: []string{"x.csv:1: the header ends with a delimiter; its empty last column is left out"}},
		{name: "tab ending every line, CRLF", in: "time\ta\t\r\n0\t1\t\r\n1\t2\t\r\n", names: []string{"a"}, values: []float32{1, 2}},
		{name: "y as an axis", in: "time,x,y,z,Anomaly\n0,1,2,3,0\n", names: []string{"x", "y", "z"}, notes: []string{"left out the label-like column Anomaly"}},
	}
	for _, c := range cases {
		var notes []string
		c.opt.Note = func(s string) { notes = append(notes, s) }
		s, err := ReadCSV(strings.NewReader(c.in), "x.csv", c.opt)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if !slices.Equal(s.Names, c.names) {
			t.Errorf("%s: names %q, want %q", c.name, s.Names, c.names)
		}
		if c.times != nil && !closeTimes(s.Times, c.times) {
			t.Errorf("%s: times %v, want %v", c.name, s.Times, c.times)
		}
		if c.values != nil && fmt.Sprint(s.Values) != fmt.Sprint(c.values) {
			t.Errorf("%s: values %v, want %v", c.name, s.Values, c.values)
		}
		if c.lines != nil && !slices.Equal(s.Lines, c.lines) {
			t.Errorf("%s: lines %v, want %v", c.name, s.Lines, c.lines)
		}
		for _, want := range c.notes {
			if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, want) }) {
				t.Errorf("%s: no note says %q: %q", c.name, want, notes)
			}
		}
		header, _, _ := strings.Cut(c.in, "\n")
		if !strings.ContainsAny(header, ";\t|") && slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, "separated") }) {
			t.Errorf("%s: a note on the delimiter of a comma-separated file: %q", c.name, notes)
		}
	}
}

// closeTimes compares times to within a microsecond.
func closeTimes(got, want []float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-6 {
			return false
		}
	}
	return true
}

func TestParseTime(t *testing.T) {
	ok := []struct {
		in   string
		unit TimeUnit
		want float64
		date bool
	}{
		{"2024-01-01T00:00:00Z", UnitAuto, t0, true},
		{"2024-01-01T01:00:00+01:00", UnitAuto, t0, true},
		{"2024-01-01T01:00:00+0100", UnitAuto, t0, true},
		{"2024-01-01T01:00:00+01", UnitAuto, t0, true},
		{"2023-12-31T19:00:00-05:00", UnitAuto, t0, true},
		{"2024-01-01 00:00:00+00:00", UnitAuto, t0, true},
		{"2024-01-01 00:00:00 +00:00", UnitAuto, t0, true},
		{"2024-01-01 00:00:00 UTC", UnitAuto, t0, true},
		{"2024-01-01 00:00:00", UnitAuto, t0, true},
		{"2024-01-01 00:00:00.250", UnitAuto, t0 + 0.25, true},
		{"2024-01-01T00:00:00,5Z", UnitAuto, t0 + 0.5, true},
		{"2024-01-01T00:00:00.123456789Z", UnitAuto, t0 + 0.123456789, true},
		{"2024-01-01T00:00:00", UnitAuto, t0, true},
		{"2024-01-01T00:00", UnitAuto, t0, true},
		{"2024-01-01", UnitAuto, t0, true},
		{"2024/01/01 00:00", UnitAuto, t0, true},
		{"2024/01/01 00:00:30", UnitAuto, t0 + 30, true},
		{"2024/1/1 0:00", UnitAuto, t0, true},
		{"01.01.2024 00:00:00", UnitAuto, t0, true},
		{"1.1.2024 00:01", UnitAuto, t0 + 60, true},
		{"29.02.2024", UnitAuto, t0 + 59*86400, true},
		{" 2024-01-01T00:00:00Z ", UnitAuto, t0, true},
		{"1704067200", UnitAuto, t0, false},
		{"1704067200.5", UnitAuto, t0 + 0.5, false},
		{"1704067200000", UnitAuto, t0, false},
		{"1704067200000000", UnitAuto, t0, false},
		{"1704067200000000000", UnitAuto, t0, false},
		{"1704067200000", Milliseconds, t0, false},
		{"1704067200", Seconds, t0, false},
		{"1704067200", Milliseconds, 1704067.2, false},
		{"0", UnitAuto, 0, false},
		{"-5", UnitAuto, -5, false},
	}
	for _, c := range ok {
		got, date, err := ParseTime(c.in, c.unit, false)
		if err != nil || math.Abs(got-c.want) > 1e-6 || date != c.date {
			t.Errorf("ParseTime(%q, %v) = %v, %v, %v; want %v", c.in, c.unit, got, date, err, c.want)
		}
	}
	if got, _, err := ParseTime("1704067200,5", Seconds, true); err != nil || got != t0+0.5 {
		t.Errorf("a decimal comma: %v %v", got, err)
	}
	// Missing or impossible: NaN, for the policy to drop.
	for _, in := range []string{"", "NaN", "null", "NA", "1e300", "-1e300", "1e400", "inf", "-3e9", "1704067200000", "99999999999999999999999"} {
		unit := UnitAuto
		if in == "1704067200000" {
			unit = Seconds // year 55970
		}
		if got, _, err := ParseTime(in, unit, false); err != nil || !math.IsNaN(got) {
			t.Errorf("ParseTime(%q, %v) = %v, %v; want NaN", in, unit, got, err)
		}
	}
	for _, in := range []string{"noon", "2024-13-01", "2024-02-30 00:00", "2023-02-29", "2024-01-01 24:00", "2024-01-01 12:60",
		"2024-01-01T00:00:60Z", "2024-01-01T00:00:00+25:00", "2024-01-01x", "2024-01-01T", "2024-01-01T00:00:00.Z",
		"24-01-01", "2024.01.01", "01/01/2024 00:00", "2024-01/01", "1,5", "0x", "2024-01-01T00:00:00+01:0"} {
		if got, _, err := ParseTime(in, UnitAuto, false); err == nil {
			t.Errorf("ParseTime(%q) = %v, want an error", in, got)
		}
	}
}

// TestParseDateAgreesWithTime checks ParseDate against time.Parse on a
// spread of RFC 3339 times.
func TestParseDateAgreesWithTime(t *testing.T) {
	for i := 0; i < 2000; i++ {
		tm := time.Unix(int64(i)*7919*3607-1e9, int64(i)*123457).In(time.FixedZone("", (i%27-13)*1800))
		s := tm.Format(time.RFC3339Nano)
		got, ok := ParseDate(s)
		want := float64(tm.Unix()) + float64(tm.Nanosecond())/1e9
		if !ok || math.Abs(got-want) > 1e-6 {
			t.Fatalf("ParseDate(%q) = %v, %v; want %v", s, got, ok, want)
		}
	}
}

func TestTimeUnitsAndDelimiters(t *testing.T) {
	for in, want := range map[string]TimeUnit{"": UnitAuto, "auto": UnitAuto, "s": Seconds, "ms": Milliseconds, "us": Microseconds, "µs": Microseconds, "ns": Nanoseconds} {
		if u, err := ParseTimeUnit(in); err != nil || u != want {
			t.Errorf("ParseTimeUnit(%q) = %v, %v", in, u, err)
		}
	}
	if _, err := ParseTimeUnit("h"); err == nil {
		t.Error("time unit h accepted")
	}
	for in, want := range map[string]rune{"": 0, ",": ',', ";": ';', "tab": '\t', `\t`: '\t', "\t": '\t', "|": '|', "semicolon": ';', ":": ':'} {
		if d, err := ParseDelimiter(in); err != nil || d != want {
			t.Errorf("ParseDelimiter(%q) = %q, %v", in, d, err)
		}
	}
	for _, in := range []string{`"`, "ab", "\n"} {
		if _, err := ParseDelimiter(in); err == nil {
			t.Errorf("delimiter %q accepted", in)
		}
	}
	if _, err := NewReader(strings.NewReader("a\n1\n"), "x.csv", CSVOptions{Delimiter: '"'}); err == nil {
		t.Error("a quote as delimiter accepted")
	}
	if _, err := NewReader(strings.NewReader("x\na\n1\n"), "x.csv", CSVOptions{SkipRows: 5}); err == nil || !strings.Contains(err.Error(), "fewer than the 5 to skip") {
		t.Errorf("skipping more lines than the file has: %v", err)
	}
}

// TestReadCSVTimestampPolicy: the stream package's policy applies to
// whole files: nothing about a timestamp stops the read.
func TestReadCSVTimestampPolicy(t *testing.T) {
	rows := func(n int, from float64) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "%.0f,%d\n", from+60*float64(i), i)
		}
		return b.String()
	}
	cases := []struct {
		name string
		in   string
		kept int
		want func(s *Series) bool
	}{
		{"a row going back", "time,a\n" + rows(10, t0) + fmt.Sprintf("%d,99\n", t0+120) + rows(10, t0+600), 20,
			func(s *Series) bool { return s.Timing.OutOfOrder == 1 && s.Timing.FirstDropped == 12 }},
		{"a duplicate", "time,a\n" + rows(10, t0) + fmt.Sprintf("%d,99\n", t0+540) + rows(10, t0+600), 20,
			func(s *Series) bool { return s.Timing.Duplicates == 1 }},
		{"year 2099 in the middle", "time,a\n" + rows(10, t0) + "4070908800,99\n" + rows(10, t0+600), 20,
			func(s *Series) bool { return s.Timing.FarFuture == 1 && s.Timing.FirstDropped == 12 }},
		{"1e300 and an empty time", "time,a\n" + rows(10, t0) + "1e300,99\n,98\n" + rows(10, t0+600), 20,
			func(s *Series) bool { return s.Timing.BadTime == 2 }},
		{"year 2099 first", "time,a\n4070908800,99\n" + rows(10, t0), 10,
			func(s *Series) bool { return s.Timing.FarFuture == 1 && s.Values[0] == 0 }},
	}
	for _, c := range cases {
		s, err := ReadCSV(strings.NewReader(c.in), "p.csv", CSVOptions{})
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if s.Len() != c.kept || !c.want(s) || slices.Contains(s.Values, 99) {
			t.Errorf("%s: %d rows kept (want %d), %+v, values %v", c.name, s.Len(), c.kept, s.Timing, s.Values)
		}
		for i := 1; i < len(s.Times); i++ {
			if s.Times[i] <= s.Times[i-1] {
				t.Fatalf("%s: times not increasing at %d: %v", c.name, i, s.Times)
			}
		}
	}
	if _, err := ReadCSV(strings.NewReader("time,a\nnan,1\n,2\n"), "p.csv", CSVOptions{}); err == nil || !strings.Contains(err.Error(), "all 2 were dropped") {
		t.Errorf("no valid time at all: %v", err)
	}
}

// TestReadCSVIrregularSampling: 200 small gaps are bridged and counted;
// nothing restarts and nothing is dropped.
func TestReadCSVIrregularSampling(t *testing.T) {
	var b strings.Builder
	b.WriteString("time,a\n")
	x := float64(t0)
	for i := 0; i < 2000; i++ {
		step := 10.0
		if i%10 == 5 {
			step = float64(20 + 10*(i%4))
		}
		x += step
		fmt.Fprintf(&b, "%.0f,%d\n", x, i)
	}
	s, err := ReadCSV(strings.NewReader(b.String()), "i.csv", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 2000 || s.Timing.Bridged != 200 || s.Timing.Restarts != 0 || s.Timing.Dropped() != 0 {
		t.Errorf("%d rows, %+v", s.Len(), s.Timing)
	}
	if p, longest := s.Sampling(); p != 10 || longest != 5 {
		t.Errorf("sampling: period %v, longest gap %v periods; want 10 and 5", p, longest)
	}
	if p, longest := (&Series{Times: []float64{1}}).Sampling(); p != 0 || longest != 0 {
		t.Errorf("one time: %v %v", p, longest)
	}
}

// TestReaderAllocations: a row costs at most the one allocation
// encoding/csv makes per record, in every dialect and time format.
func TestReaderAllocations(t *testing.T) {
	for _, c := range []struct{ header, row string }{
		{"time,a,b", "%d,1.5,2.5"},
		{"time;a;b", "%d;1,5;2,5"},
		{"time\ta\tb", "%d\t1.5\t"},
		{"time,a,b", "%d000,1.5,NaN"},
		{"time,a,b", "2024-01-01T00:00:%02d+01:00,1.5,2"},
		{"time,a,b", "01.01.2024 00:00:%02d,1.5,2"},
	} {
		var b strings.Builder
		b.WriteString(c.header + "\n")
		for i := 0; i < 3000; i++ {
			arg := 1704067200 + i
			if strings.Contains(c.row, "%02d") {
				arg = i % 60
			}
			fmt.Fprintf(&b, c.row+"\n", arg)
		}
		rd, err := NewReader(strings.NewReader(b.String()), "a.csv", CSVOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rd.AllowMissing = true
		row := make([]float32, 2)
		for i := 0; i < 10; i++ {
			rd.Next(row)
		}
		n := testing.AllocsPerRun(1000, func() {
			if _, _, err := rd.Next(row); err != nil && err != io.EOF {
				t.Fatal(err)
			}
		})
		if n > 1 {
			t.Errorf("%s: %v allocations per row", c.header, n)
		}
	}
}

// FuzzParseDate: any text gives a time or not, never a panic, and a date
// read agrees with time.Parse where both read it.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2024-01-01T00:00:00Z", "2024-01-01 00:00:00+00:00", "2024-01-01T01:00:00+0100", "2024/01/01 00:00",
		"01.01.2024 00:00:00", "2024-02-29", "2024-01-01 00:00:00.250 UTC", "9999-12-31T23:59:59.999999999-23:59", "2024-1-1 1:02"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, l, ok := ParseDateLayout(s)
		if !ok {
			return
		}
		if math.IsNaN(got) || math.IsInf(got, 0) {
			t.Fatalf("ParseDate(%q) = %v", s, got)
		}
		if got > 253402300799-86400 { // within a day of 9999-12-31: a carry may need year 10000
			return
		}
		back := string(l.Append(nil, got))
		again, l2, ok := ParseDateLayout(back)
		if !ok || math.Abs(again-got) > 1e-6*math.Max(1, math.Abs(got)/1e9) || l2.Offset() != l.Offset() {
			t.Fatalf("%q written back as %q, read as %v (offset %d), want %v (offset %d)", s, back, again, l2.Offset(), got, l.Offset())
		}
		if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
			want := float64(tm.Unix()) + float64(tm.Nanosecond())/1e9
			if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)/1e9) {
				t.Fatalf("ParseDate(%q) = %v, time.Parse: %v", s, got, want)
			}
		}
	})
}

// TestDateLayoutRoundTrip: a date written back with its own layout is the
// text it was read from (two-digit fields), and a finer time than the
// layout writes keeps its precision.
func TestDateLayoutRoundTrip(t *testing.T) {
	for in, want := range map[string]string{
		"2024-01-31T13:45:00Z":           "",
		"2024-01-31T13:45:00z":           "",
		"2024-01-31T13:45:00.250+01:00":  "",
		"2024-01-31T13:45:00,250-0530":   "",
		"2024-01-31 13:45:00+01":         "",
		"2024-01-31 13:45:00 UTC":        "",
		"2024-01-31 13:45:00.123456 GMT": "",
		"2024-01-31 13:45:00":            "",
		"2024/01/31 13:45":               "",
		"31.01.2024 13:45:00":            "",
		"2024-01-31":                     "",
		"2024-1-5 3:04":                  "2024-01-05 03:04",
		"2024-01-01T00:30:00+01:00":      "", // the previous day in UTC
	} {
		if want == "" {
			want = in
		}
		ts, l, ok := ParseDateLayout(in)
		if !ok {
			t.Fatalf("ParseDateLayout(%q) failed", in)
		}
		if got := string(l.Append(nil, ts)); got != want {
			t.Errorf("%q written back as %q, want %q", in, got, want)
		}
	}
	_, l, _ := ParseDateLayout("2024/01/31 13:45")
	if got := string(l.Append(nil, 1706708700.5)); got != "2024/01/31 13:45:00.5" {
		t.Errorf("a half second in a minute layout: %q", got)
	}
	_, l, _ = ParseDateLayout("2024-01-31")
	if got := string(l.Append(nil, 1706708700)); got != "2024-01-31 13:45" {
		t.Errorf("a clock in a date-only layout: %q", got)
	}
	if got := string((DateLayout{}).Append(nil, 1706708700.25)); got != "2024-01-31T13:45:00.25Z" {
		t.Errorf("the zero layout: %q", got)
	}
	b := make([]byte, 0, 64)
	_, l, _ = ParseDateLayout("2024-01-31T13:45:00.250+01:00")
	if n := testing.AllocsPerRun(100, func() { b = l.Append(b[:0], 1706708700.25) }); n != 0 {
		t.Errorf("Append allocates %v times", n)
	}
}
