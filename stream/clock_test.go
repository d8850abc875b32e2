package stream

import (
	"math"
	"slices"
	"testing"
)

// clockRun pushes rows at times (value: the row's index, line: index+1)
// through a clock and returns the accepted rows' values, their gaps and
// the counts.
func clockRun(t *testing.T, cfg ClockConfig, times []float64) (vals []float32, gaps []Gap, tm Timing) {
	t.Helper()
	c, err := NewClock(cfg, 1, func(r Row, g Gap) error {
		vals = append(vals, r.Values[0])
		gaps = append(gaps, g)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	v := []float32{0}
	for i, x := range times {
		v[0] = float32(i)
		if err := c.Push(Row{Time: x, HasTime: true, Line: i + 1, Values: v}); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	return vals, gaps, c.Timing()
}

// seq returns n times from t0 every dt.
func seq(t0, dt float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = t0 + float64(i)*dt
	}
	return out
}

// idx returns the indices 0..n-1 without skip.
func idx(n int, skip ...int) []float32 {
	var out []float32
	for i := 0; i < n; i++ {
		if !slices.Contains(skip, i) {
			out = append(out, float32(i))
		}
	}
	return out
}

func cat(parts ...[]float64) []float64 { return slices.Concat(parts...) }

const (
	t2024 = 1704067200.0 // 2024-01-01T00:00:00Z
	t2099 = 4070908800.0 // 2099-01-01T00:00:00Z
)

func TestClockPolicy(t *testing.T) {
	cases := []struct {
		name  string
		cfg   ClockConfig
		times []float64
		kept  []float32 // indices of the accepted rows, in order
		want  Timing
	}{
		{"regular", ClockConfig{}, seq(t2024, 60, 20), idx(20), Timing{}},
		{"duplicate and going back", ClockConfig{},
			cat(seq(t2024, 60, 10), []float64{t2024 + 9*60, t2024 + 3*60}, seq(t2024+600, 60, 5)),
			idx(17, 10, 11), Timing{Duplicates: 1, OutOfOrder: 1, FirstDropped: 11}},
		{"year 2099 in the middle", ClockConfig{},
			cat(seq(t2024, 60, 10), []float64{t2099}, seq(t2024+600, 60, 10)),
			idx(21, 10), Timing{FarFuture: 1, FirstDropped: 11}},
		{"1e300 and NaN in the middle", ClockConfig{},
			cat(seq(t2024, 60, 10), []float64{1e300, math.NaN(), math.Inf(1)}, seq(t2024+600, 60, 10)),
			idx(23, 10, 11, 12), Timing{BadTime: 3, FirstDropped: 11}},
		{"year 2099 first", ClockConfig{},
			cat([]float64{t2099}, seq(t2024, 60, 10)),
			idx(11, 0), Timing{FarFuture: 1, FirstDropped: 1}},
		{"year 2099 repeated", ClockConfig{},
			cat(seq(t2024, 60, 10), []float64{t2099, t2099}, seq(t2024+600, 60, 5)),
			idx(17, 10, 11), Timing{FarFuture: 1, Duplicates: 1, FirstDropped: 12}},
		{"a real outage restarts", ClockConfig{},
			cat(seq(0, 1, 12), seq(500, 1, 10)),
			idx(22), Timing{Restarts: 1}},
		{"a late row behind a real jump", ClockConfig{},
			cat(seq(0, 1, 12), []float64{60, 40, 61, 62}),
			idx(16, 13), Timing{OutOfOrder: 1, Bridged: 1, FirstDropped: 14}},
		{"a late row before the clock while a jump is held", ClockConfig{},
			cat(seq(0, 1, 12), []float64{60, 5, 61}),
			idx(15, 13), Timing{OutOfOrder: 1, Bridged: 1, FirstDropped: 14}},
		{"a jump at the end is kept", ClockConfig{},
			cat(seq(0, 1, 12), []float64{5000}),
			idx(13), Timing{Restarts: 1}},
		{"two rows going back at the start, nothing after", ClockConfig{},
			[]float64{t2099, t2024},
			idx(2, 1), Timing{OutOfOrder: 1, FirstDropped: 2}},
		{"the second row late at the start", ClockConfig{},
			cat([]float64{100, 90}, seq(101, 1, 5)),
			idx(7, 1), Timing{OutOfOrder: 1, FirstDropped: 2}},
		{"without confirmation a far-future row shuts out the rest", ClockConfig{Confirm: -1},
			cat(seq(0, 1, 12), []float64{1e6}, seq(12, 1, 5)),
			idx(13), Timing{OutOfOrder: 5, Restarts: 1, FirstDropped: 14}},
		{"a known period", ClockConfig{Period: 1, MaxGap: 5},
			[]float64{0, 3, 10, 11},
			idx(4), Timing{Bridged: 1, Restarts: 1}},
		{"never restart", ClockConfig{MaxGap: -1},
			cat(seq(0, 1, 12), seq(1e6, 1, 3)),
			idx(15), Timing{Bridged: 1}},
	}
	for _, c := range cases {
		kept, _, tm := clockRun(t, c.cfg, c.times)
		if !slices.Equal(kept, c.kept) {
			t.Errorf("%s: kept rows %v, want %v", c.name, kept, c.kept)
		}
		if tm != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, tm, c.want)
		}
	}
}

// TestClockIrregularSampling: 200 gaps of 2 to 6 periods among jittered
// samples are bridged, counted, and restart nothing.
func TestClockIrregularSampling(t *testing.T) {
	var times []float64
	x := t2024
	for i := 0; i < 2000; i++ {
		step := 10 + float64(i%7-3)*0.5 // jitter of ±15%
		if i%10 == 9 {
			step = 10 * float64(2+i%5) // a gap every tenth row
		}
		x += step
		times = append(times, x)
	}
	kept, gaps, tm := clockRun(t, ClockConfig{}, times)
	if len(kept) != 2000 || tm.Restarts != 0 || tm.Dropped() != 0 {
		t.Fatalf("%d of 2000 rows kept; %+v", len(kept), tm)
	}
	if tm.Bridged != 200 {
		t.Errorf("%d gaps bridged, want 200", tm.Bridged)
	}
	if n := countGaps(gaps, Bridged); n != 200 {
		t.Errorf("%d rows flagged as after a gap", n)
	}
}

func countGaps(gaps []Gap, g Gap) int {
	n := 0
	for _, x := range gaps {
		if x == g {
			n++
		}
	}
	return n
}

func TestClockRowsWithoutTime(t *testing.T) {
	var got []float32
	c, _ := NewClock(ClockConfig{}, 1, func(r Row, _ Gap) error { got = append(got, r.Values[0]); return nil })
	_ = c.Push(Row{Time: 5, HasTime: true, Values: []float32{1}}) // held: the first row
	_ = c.Push(Row{Values: []float32{2}})                         // releases it
	_ = c.Push(Row{Time: 6, HasTime: true, Values: []float32{3}})
	_ = c.Flush()
	if !slices.Equal(got, []float32{1, 2, 3}) {
		t.Errorf("rows %v", got)
	}
}

func TestClockConfigErrors(t *testing.T) {
	emit := func(Row, Gap) error { return nil }
	for _, c := range []ClockConfig{{Period: -1}, {Period: math.Inf(1)}, {MaxGap: math.NaN()}, {Confirm: math.NaN()}} {
		if _, err := NewClock(c, 1, emit); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
	if _, err := NewClock(ClockConfig{}, 0, emit); err == nil {
		t.Error("0 channels accepted")
	}
}

// TestStreamFarFutureKeepsWindows: a stream with a year-2099 row in the
// middle keeps every later row, with no restart.
func TestStreamFarFutureKeepsWindows(t *testing.T) {
	rec := &recorder{}
	s, _ := New(Config{Steps: 4, Hop: 4, Channels: 1}, rec)
	times := cat(seq(t2024, 60, 10), []float64{t2099}, seq(t2024+600, 60, 10))
	for i, x := range times {
		push(t, s, x, float32(i))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := s.Stats()
	if st.Accepted != 20 || st.FarFuture != 1 || st.Restarts != 0 || len(rec.windows) != 5 {
		t.Errorf("%+v, %d windows", st, len(rec.windows))
	}
	for _, w := range rec.windows {
		if slices.Contains(w, 10) {
			t.Errorf("the far-future row is in window %v", w)
		}
	}
}

func TestClockAllocatesNothing(t *testing.T) {
	s, _ := New(Config{Steps: 16, Hop: 4, Channels: 4}, nop{})
	row := Row{HasTime: true, Values: make([]float32, 4)}
	i := 0
	n := testing.AllocsPerRun(2000, func() {
		i++
		row.Time = float64(i)
		switch i % 50 {
		case 10:
			row.Time = 1e9 // a far-future glitch, held then dropped
		case 20:
			row.Time = math.NaN()
		case 30:
			row.Time = float64(i - 5) // going back
		}
		if err := s.Push(row); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Push allocates %v times per row", n)
	}
	if st := s.Stats(); st.FarFuture == 0 || st.BadTime == 0 || st.OutOfOrder == 0 {
		t.Errorf("the glitches were not all seen: %+v", st)
	}
}

// TestClockGrace: with a grace window of 4 rows, rows up to 4 late take
// their place in time order; a row later than that is dropped as out of
// order; a far-future row is still dropped as a glitch and moves nothing;
// the rows come out in time order, and pushing allocates nothing.
func TestClockGrace(t *testing.T) {
	swap := func(ts []float64, i, j int) []float64 {
		ts = slices.Clone(ts)
		ts[i], ts[j] = ts[j], ts[i]
		return ts
	}
	late := func(ts []float64, from, by int) []float64 { // row from arrives by rows late
		ts = slices.Clone(ts)
		x := ts[from]
		copy(ts[from:], ts[from+1:from+by+1])
		ts[from+by] = x
		return ts
	}
	base := seq(100, 1, 40)
	for _, c := range []struct {
		what    string
		times   []float64
		n       int // rows accepted
		ooo, ff int64
	}{
		{"in order", base, 40, 0, 0},
		{"two swapped", swap(base, 5, 6), 40, 0, 0},
		{"3 rows late", late(base, 10, 3), 40, 0, 0},
		{"4 rows late", late(base, 10, 4), 40, 0, 0},
		{"6 rows late", late(base, 10, 6), 39, 1, 0},
		{"far future", append(append(slices.Clone(base[:20]), 1e9), base[20:]...), 40, 0, 1},
	} {
		vals, gaps, tm := clockRun(t, ClockConfig{Period: 1, Grace: 4}, c.times)
		if len(vals) == 40 && !slices.IsSortedFunc(vals, func(a, b float32) int { return int(c.times[int(a)] - c.times[int(b)]) }) {
			t.Errorf("%s: rows out of time order", c.what)
		}
		if len(vals) != c.n || tm.OutOfOrder != c.ooo || tm.FarFuture != c.ff {
			t.Errorf("%s: %d rows, %d out of order, %d far future; want %d, %d, %d", c.what, len(vals), tm.OutOfOrder, tm.FarFuture, c.n, c.ooo, c.ff)
		}
		for i, g := range gaps {
			if g != Steady && c.ooo == 0 {
				t.Errorf("%s: row %d came with gap %v", c.what, i, g)
				break
			}
		}
	}
	// Out in time order: the values are the arrival indexes; their times
	// must increase.
	times := late(base, 10, 3)
	c, err := NewClock(ClockConfig{Period: 1, Grace: 4}, 1, func(Row, Gap) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	var last float64
	c2, _ := NewClock(ClockConfig{Period: 1, Grace: 4}, 1, func(r Row, _ Gap) error {
		if r.Time <= last {
			t.Errorf("row at %v after %v", r.Time, last)
		}
		last = r.Time
		return nil
	})
	v := []float32{0}
	for i, x := range times {
		c2.Push(Row{Time: x, HasTime: true, Line: i + 1, Values: v})
	}
	c2.Flush()
	i := 0
	if a := testing.AllocsPerRun(200, func() {
		c.Push(Row{Time: float64(1000 + i), HasTime: true, Values: v})
		i++
	}); a != 0 {
		t.Errorf("a push with a grace window allocates %v times", a)
	}
	if _, err := NewClock(ClockConfig{Grace: MaxGrace + 1}, 1, func(Row, Gap) error { return nil }); err == nil {
		t.Error("a grace window over MaxGrace accepted")
	}
}
