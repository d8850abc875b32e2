package dataset

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeml/edge/model"
)

func TestReadCSV(t *testing.T) {
	in := "time,temp,hum, pressure\n" +
		"0,20.5,40,1000\n" +
		"1,21,41,1001\n" +
		"\n" +
		"2,21.5,42,1002\n"
	s, err := ReadCSV(strings.NewReader(in), "x.csv", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 3 || s.Channels() != 3 || strings.Join(s.Names, ",") != "temp,hum,pressure" {
		t.Fatalf("read %d rows of %v", s.Len(), s.Names)
	}
	if s.Values[3] != 21 || s.Times[2] != 2 || s.Lines[2] != 5 {
		t.Errorf("values %v times %v lines %v", s.Values, s.Times, s.Lines)
	}
	s, err = ReadCSV(strings.NewReader(in), "x.csv", CSVOptions{Channels: []string{"pressure", "temp"}})
	if err != nil || s.Values[0] != 1000 || s.Values[1] != 20.5 {
		t.Fatalf("channel selection: %v %v", s, err)
	}
	s, err = ReadCSV(strings.NewReader("a,b\n1,2\n3,4\n"), "y.csv", CSVOptions{})
	if err != nil || s.Times != nil || s.Channels() != 2 {
		t.Fatalf("no time column: %v %v", s, err)
	}
	s, err = ReadCSV(strings.NewReader("timestamp,a\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:01Z,2\n"), "z.csv", CSVOptions{})
	if err != nil || s.Times[1]-s.Times[0] != 1 {
		t.Fatalf("RFC 3339 times: %v %v", s, err)
	}
}

func TestReadCSVErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", "empty file"},
		{"a,b\n", "no data rows"},
		{"a,b\n1,2\n3\n", "x.csv:3: 1 fields, the header has 2"},
		{"a,b\n1,2\n3,x7\n", `x.csv:3: column 2 (b): "x7" is not a number`},
		{"a,b\n1,NaN\n", "x.csv:2: column 2 (b): NaN is not a finite number"},
		{"a,b\n1,+Inf\n", "not a finite number"},
		{"time,a\nnoon,1\n", `x.csv:2: column 1 (time): "noon" is not a time`},
		{"a;b\n1;1.234,5\n", "digit grouping is not read"},
		{"a\tb\n1\t1,5\n", "decimal commas are read only in ';'-separated files"},
		{"a;b\n1;2\n3\n", "x.csv:3: 1 fields, the header has 2 (fields separated by ';'; --delimiter to set)"},
		{"a,b\n1,2\n3,\"4\"x\n", "x.csv:3:5: extraneous or missing \" in quoted-field"},
		{"a,a\n1,2\n", "appears twice"},
		{"a,,b\n1,2,3\n", "column 2 has no name"},
		{"a,\n1,\n1,2\n", `x.csv:3: field 2, "2", is under the header's empty last name`},
		{"a,\"b\n1,2\n", "x.csv:"},
	} {
		_, err := ReadCSV(strings.NewReader(c.in), "x.csv", CSVOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.in, err, c.want)
		}
	}
	if _, err := ReadCSV(strings.NewReader("a,b\n1,2\n"), "x.csv", CSVOptions{Channels: []string{"c"}}); err == nil || !strings.Contains(err.Error(), `no column "c"`) {
		t.Errorf("unknown channel: %v", err)
	}
	if _, err := ReadCSV(strings.NewReader("a,b\n1,2\n3,4\n5,6\n"), "x.csv", CSVOptions{MaxRows: 2}); err == nil || !strings.Contains(err.Error(), "more than 2 rows") {
		t.Errorf("row limit: %v", err)
	}
}

func TestWindowsSplitNormalise(t *testing.T) {
	var b strings.Builder
	b.WriteString("a,b\n")
	for i := 0; i < 100; i++ {
		b.WriteString(strconv.Itoa(i) + "," + strconv.Itoa(2*i) + "\n")
	}
	s, err := ReadCSV(strings.NewReader(b.String()), "w.csv", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, n, err := s.Windows(10, 5)
	if err != nil || n != 19 || len(w) != 19*10*2 || w[2*10] != 5 || w[2*10+1] != 10 {
		t.Fatalf("windows: n=%d len=%d first of second window %v, err %v", n, len(w), w[20:22], err)
	}
	if _, _, err := s.Windows(101, 1); err == nil || !strings.Contains(err.Error(), "too few for one window") {
		t.Errorf("short series: %v", err)
	}
	tr, va := s.Split(0.2)
	if tr.Len() != 80 || va.Len() != 20 || va.Values[0] != 80 {
		t.Errorf("split: %d + %d, validation starts at %v", tr.Len(), va.Len(), va.Values[0])
	}
	norm, err := s.FitNormalization(model.NormMeanStd)
	if err != nil || math.Abs(float64(norm.Shift[0])-49.5) > 1e-4 || math.Abs(float64(norm.Scale[1])-2*28.866) > 1e-2 {
		t.Errorf("meanstd: %+v %v", norm, err)
	}
	mm, _ := s.FitNormalization(model.NormMinMax)
	if mm.Shift[1] != 0 || mm.Scale[1] != 198 {
		t.Errorf("minmax: %+v", mm)
	}
	v := append([]float32(nil), s.Values[:4]...)
	Normalize(v, mm, 2)
	if v[2] != 1.0/99 {
		t.Errorf("normalised %v", v)
	}
	c, _ := ReadCSV(strings.NewReader("a\n3\n3\n3\n"), "c.csv", CSVOptions{})
	cn, _ := c.FitNormalization(model.NormMeanStd)
	if cn.Scale[0] != 1 {
		t.Errorf("constant channel scale %v, want 1", cn.Scale[0])
	}
}

// dialectSeeds are valid files in every dialect the reader detects, and
// mutations of them, for the fuzz targets.
var dialectSeeds = []string{
	"time,a,b\n0,1,2\n1,3,4\n",
	"a\n1\n\n2\n",
	"a,b\n1,\"2\n",
	"\uFEFFtimestamp,temp\n1704067200,20.5\n1704067260,21\n",
	"time;temp;hum\n0;20,5;40\n1;-1,25e1;41,0\n",
	"time;temp\n0;1.234,5\n",
	"time\ttemp\thum\n0\t1.5\t\n1\t2.5\t3\n",
	"time|a\n0|1\n1|2\n",
	"logger v2\nsite: north\ntime,a\n0,1\n",
	"\"time\",\"temp, °C\"\n0,\"1.5\"\n1,\"2\"\n",
	"time,a\n2024-01-01 00:00:00+00:00,1\n2024-01-01T01:01:00+01:00,2\n2024/01/01 00:02,3\n01.01.2024 00:03:00,4\n",
	"ts,a\n1704067200000,1\n1704067200500,2\n",
	"ts,a\n1704067200000000000,1\n",
	"time,a,label\n0,1,0\n1,2,1\n",
	"time,a\n0,1\n1,2\n4070908800,3\n2,4\n1e300,5\n3,6\n2,7\n3,8\n,9\n",
	"time;a\n0;\"1,5\n",
	"\uFEFF\uFEFFtime,a\n0,1\n",
	"time\ta\n2024-13-01\t1\n",
	"time,a\n2024-01-01T00:00:00+99:99,1\n",
	"a;b,c|d\te\n1;2,3|4\t5\n",
}

// FuzzReadCSV: any input gives a series or an error, never a panic, and a
// series read is well formed, in time order.
func FuzzReadCSV(f *testing.F) {
	for _, s := range dialectSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, opt := range []CSVOptions{{}, {SkipRows: 1, TimeUnit: Milliseconds, AllowMissing: true}, {Delimiter: ';', KeepLabels: true}} {
			s, err := ReadCSV(strings.NewReader(in), "f.csv", opt)
			if err != nil {
				continue
			}
			if s.Len()*s.Channels() != len(s.Values) || len(s.Lines) != s.Len() || (s.Times != nil && len(s.Times) != s.Len()) {
				t.Fatalf("malformed series: %d rows x %d channels, %d values, %d lines, %d times", s.Len(), s.Channels(), len(s.Values), len(s.Lines), len(s.Times))
			}
			for i, v := range s.Values {
				if !opt.AllowMissing && (math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)) {
					t.Fatalf("non-finite value %v accepted at %d", v, i)
				}
			}
			for i, tm := range s.Times {
				if !(math.Abs(tm) <= 253402300799) || (i > 0 && tm <= s.Times[i-1]) {
					t.Fatalf("time %v at row %d (before: %v)", tm, i, s.Times[max(0, i-1)])
				}
			}
		}
	})
}

func TestReaderAllowMissing(t *testing.T) {
	in := "ts,a,b\n1,1,\n2,NaN,2\n3,inf,null\n4,x,1\n"
	rd, err := NewReader(strings.NewReader(in), "s.csv", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rd.AllowMissing = true
	if !rd.HasTime() || rd.TimeName() != "ts" || strings.Join(rd.Names(), ",") != "a,b" {
		t.Fatalf("header: time %q, names %v", rd.TimeName(), rd.Names())
	}
	row := make([]float32, 2)
	want := [][2]string{{"1", "NaN"}, {"NaN", "2"}, {"+Inf", "NaN"}}
	for i, w := range want {
		tm, line, err := rd.Next(row)
		if err != nil || tm != float64(i+1) || line != i+2 {
			t.Fatalf("row %d: time %v line %d err %v", i, tm, line, err)
		}
		for j := range row {
			if got := fmt.Sprint(row[j]); got != w[j] {
				t.Errorf("row %d column %d = %s, want %s", i, j, got, w[j])
			}
		}
	}
	if _, _, err := rd.Next(row); err == nil || !strings.Contains(err.Error(), `s.csv:5: column 2 (a): "x" is not a number`) {
		t.Errorf("text in a numeric field: %v", err)
	}
	if rd.Missing != 4 || len(rd.MissingAt) != 4 || rd.MissingAt[0] != "s.csv:2: column 3 (b)" {
		t.Errorf("missing %d at %v", rd.Missing, rd.MissingAt)
	}
	if _, _, err := rd.Next(make([]float32, 3)); err == nil {
		t.Error("a buffer of the wrong size was accepted")
	}
}

func TestReaderLineLimit(t *testing.T) {
	long := "a\n" + strings.Repeat("1", MaxLineBytes+10) + "\n"
	rd, err := NewReader(strings.NewReader(long), "l.csv", CSVOptions{})
	if err == nil {
		_, _, err = rd.Next(make([]float32, 1))
	}
	if err == nil || !strings.Contains(err.Error(), "l.csv: a line longer than") {
		t.Errorf("an over-long line: %v", err)
	}
}

func FuzzReader(f *testing.F) {
	f.Add("time,a,b\n0,1,\n1,NaN,4\n")
	f.Add("a,b\nna,\"2\n")
	for _, s := range dialectSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		rd, err := NewReader(strings.NewReader(in), "f.csv", CSVOptions{})
		if err != nil {
			return
		}
		rd.AllowMissing = true
		row := make([]float32, len(rd.Names()))
		prev := 0
		for {
			_, line, err := rd.Next(row)
			if err != nil {
				return
			}
			if line <= prev {
				t.Fatalf("line %d after %d", line, prev)
			}
			prev = line
		}
	})
}

func TestImputeHold(t *testing.T) {
	s, err := ReadCSV(strings.NewReader("a,b\n,1\n2,\n3,NaN\n,4\n"), "g.csv", CSVOptions{AllowMissing: true})
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.ImputeHold()
	if err != nil || n != 4 {
		t.Fatalf("filled %d, %v", n, err)
	}
	want := []float32{2, 1, 2, 1, 3, 1, 3, 4}
	for i, v := range want {
		if s.Values[i] != v {
			t.Fatalf("values %v, want %v", s.Values, want)
		}
	}
	s2, _ := ReadCSV(strings.NewReader("a,b\n,1\n,2\n"), "g.csv", CSVOptions{AllowMissing: true})
	if _, err := s2.ImputeHold(); err == nil || !strings.Contains(err.Error(), "column a has no valid value") {
		t.Errorf("an empty column: %v", err)
	}
	if _, err := ReadCSV(strings.NewReader("a\n\"\"\n1\n"), "g.csv", CSVOptions{}); err == nil {
		t.Error("an empty field was accepted without AllowMissing")
	}
}

// TestDataErrorPlaces: an error about a row or a field is a *DataError
// that names its place, and keeps its cause for errors.Is.
func TestDataErrorPlaces(t *testing.T) {
	for _, c := range []struct {
		in           string
		line, column int
		field        string
		cause        error
	}{
		{"a,b\n1,2\n3,x7\n", 3, 2, "b", nil},
		{"a,b\n1,NaN\n", 2, 2, "b", ErrNotFinite},
		{"a,b\n1,2\n3\n", 3, 0, "", nil},
		{"a,b\n1,2\n3,\"4\"x\n", 3, 5, "", nil},
		{"a,a\n1,2\n", 1, 0, "", nil},
	} {
		_, err := ReadCSV(strings.NewReader(c.in), "x.csv", CSVOptions{})
		var de *DataError
		if !errors.As(err, &de) {
			t.Errorf("%q: %v is not a *DataError", c.in, err)
			continue
		}
		if de.File != "x.csv" || de.Line != c.line || de.Column != c.column || de.Field != c.field {
			t.Errorf("%q: place %+v, want line %d, column %d, field %q", c.in, *de, c.line, c.column, c.field)
		}
		if c.cause != nil && !errors.Is(err, c.cause) {
			t.Errorf("%q: %v does not wrap %v", c.in, err, c.cause)
		}
	}
}
