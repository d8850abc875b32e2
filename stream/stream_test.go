package stream

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/edgeml/edge/model"
)

// recorder keeps copies of the windows and segment ends it sees.
type recorder struct {
	windows [][]float32
	ends    []int64
	segs    []int64 // segment of each window
	closed  []int64 // Len at each EndSegment
	fail    error
}

func (r *recorder) Window(s *Stream, end int64, x []float32) error {
	r.windows = append(r.windows, slices.Clone(x))
	r.ends = append(r.ends, end)
	r.segs = append(r.segs, s.Segment())
	return r.fail
}

func (r *recorder) EndSegment(s *Stream) error {
	r.closed = append(r.closed, s.Len())
	return nil
}

func push(t *testing.T, s *Stream, tm float64, vals ...float32) {
	t.Helper()
	if err := s.Push(Row{Time: tm, HasTime: true, Values: vals}); err != nil {
		t.Fatal(err)
	}
}

func TestWindows(t *testing.T) {
	rec := &recorder{}
	s, err := New(Config{Steps: 4, Hop: 2, Channels: 2}, rec)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 11; i++ {
		push(t, s, float64(i), float32(i), float32(-i))
	}
	// Windows end at rows 3, 5, 7, 9.
	if !slices.Equal(rec.ends, []int64{3, 5, 7, 9}) {
		t.Fatalf("window ends %v", rec.ends)
	}
	for k, w := range rec.windows {
		start := int(rec.ends[k]) - 3
		for i := 0; i < 4; i++ {
			if w[2*i] != float32(start+i) || w[2*i+1] != float32(-(start+i)) {
				t.Fatalf("window %d = %v", k, w)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rec.closed, []int64{11}) || s.LastWindowEnd() != -1 {
		t.Errorf("end of segment: %v", rec.closed)
	}
	if err := s.Push(Row{Values: []float32{1, 2}}); !errors.Is(err, ErrClosed) {
		t.Errorf("push after close: %v", err)
	}
	st := s.Stats()
	if st.Rows != 11 || st.Accepted != 11 || st.Windows != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestPolicy(t *testing.T) {
	rec := &recorder{}
	s, err := New(Config{Steps: 3, Hop: 1, Channels: 2, Fill: []float32{100, 200}}, rec)
	if err != nil {
		t.Fatal(err)
	}
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	push(t, s, 0, nan, 1) // channel 0 never seen: fill 100
	push(t, s, 1, 5, inf) // channel 1: last valid 1
	push(t, s, 1, 9, 9)   // duplicate: dropped
	push(t, s, 0.5, 9, 9) // out of order: dropped
	push(t, s, 2, nan, 7) // channel 0: last valid 5
	push(t, s, 3, 6, nan) // channel 1: last valid 7
	if len(rec.windows) != 2 {
		t.Fatalf("%d windows", len(rec.windows))
	}
	want := []float32{100, 1, 5, 1, 5, 7}
	if !slices.Equal(rec.windows[0], want) {
		t.Errorf("first window %v, want %v", rec.windows[0], want)
	}
	info := s.RowAt(3)
	if info.Flags&Imputed == 0 || !info.Missing[1] || info.Missing[0] || info.Values[1] != 7 || info.Time != 3 {
		t.Errorf("row 3: %+v", info)
	}
	if s.RowAt(1).Flags != Imputed || s.RowAt(1).Values[1] != 1 {
		t.Errorf("row 1: %+v", s.RowAt(1))
	}
	st := s.Stats()
	if st.Rows != 6 || st.Accepted != 4 || st.Duplicates != 1 || st.OutOfOrder != 1 || st.Imputed != 4 || st.ImputedRow != 4 {
		t.Errorf("stats %+v", st)
	}
	if err := s.Push(Row{Values: []float32{1}}); err == nil {
		t.Error("a row of 1 value for 2 channels was accepted")
	}
}

func TestGapsSplitSegments(t *testing.T) {
	rec := &recorder{}
	s, err := New(Config{Steps: 4, Hop: 4, Channels: 1, MaxGap: 5}, rec)
	if err != nil {
		t.Fatal(err)
	}
	tm := 0.0
	for i := 0; i < 14; i++ { // period learned from the first 9 intervals: 10
		push(t, s, tm, 1)
		tm += 10
	}
	if s.Period() != 10 {
		t.Fatalf("period %v", s.Period())
	}
	tm += 1000 // an outage of 100 periods
	for i := 0; i < 6; i++ {
		push(t, s, tm, 2)
		tm += 10
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s.Stats().Restarts != 1 || !slices.Equal(rec.closed, []int64{14, 6}) {
		t.Fatalf("restarts %d, segment ends %v", s.Stats().Restarts, rec.closed)
	}
	// Segment 0: windows end at 3, 7, 11; segment 1 starts afresh: 3.
	if !slices.Equal(rec.ends, []int64{3, 7, 11, 3}) || !slices.Equal(rec.segs, []int64{0, 0, 0, 1}) {
		t.Errorf("ends %v segments %v", rec.ends, rec.segs)
	}
	// The new segment's window holds only its own rows.
	if !slices.Equal(rec.windows[3], []float32{2, 2, 2, 2}) {
		t.Errorf("window across the gap: %v", rec.windows[3])
	}
	// A short gap (3 periods) does not split.
	rec2 := &recorder{}
	s2, _ := New(Config{Steps: 2, Hop: 1, Channels: 1, Period: 1, MaxGap: 5}, rec2)
	push(t, s2, 0, 1)
	push(t, s2, 3, 1)
	if s2.Stats().Restarts != 0 || len(rec2.windows) != 1 {
		t.Errorf("a short gap split the stream")
	}
}

func TestNoTimeNoOrderChecks(t *testing.T) {
	rec := &recorder{}
	s, _ := New(Config{Steps: 2, Hop: 1, Channels: 1}, rec)
	for i := 0; i < 5; i++ {
		if err := s.Push(Row{Values: []float32{float32(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	if s.Stats().Accepted != 5 || len(rec.windows) != 4 {
		t.Errorf("rows without time: %+v", s.Stats())
	}
}

func TestProcessorErrorStops(t *testing.T) {
	rec := &recorder{fail: errors.New("boom")}
	s, _ := New(Config{Steps: 2, Hop: 1, Channels: 1}, rec)
	_ = s.Push(Row{Values: []float32{1}})
	if err := s.Push(Row{Values: []float32{1}}); err == nil || err.Error() != "boom" {
		t.Errorf("processor error %v", err)
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Steps: 0, Hop: 1, Channels: 1},
		{Steps: 4, Hop: 5, Channels: 1},
		{Steps: 4, Hop: 1, Channels: 0},
		{Steps: 4, Hop: 1, Channels: 2, Fill: []float32{1}},
		{Steps: 4, Hop: 1, Channels: 1, Period: -1},
	} {
		if _, err := New(c, nil); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

type nop struct{}

func (nop) Window(*Stream, int64, []float32) error { return nil }
func (nop) EndSegment(*Stream) error               { return nil }

func TestPushAllocatesNothing(t *testing.T) {
	s, _ := New(Config{Steps: 64, Hop: 16, Channels: 8}, nop{})
	row := Row{HasTime: true, Values: make([]float32, 8)}
	row.Values[3] = float32(math.NaN())
	n := testing.AllocsPerRun(2000, func() {
		row.Time++
		if err := s.Push(row); err != nil {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Push allocates %v times per row", n)
	}
}

// TestForModel: the model's training hop and longest gap set the
// stream's defaults.
func TestForModel(t *testing.T) {
	m := &model.Model{Steps: 16, Channels: 2, Norm: model.Normalization{Kind: model.NormMeanStd, Shift: []float32{5, 6}, Scale: []float32{1, 1}}}
	cfg := ForModel(m, 0)
	if cfg.Hop != 4 || cfg.MaxGap != 0 || !slices.Equal(cfg.Fill, []float32{5, 6}) {
		t.Errorf("no training settings: %+v", cfg)
	}
	if err := model.TrainingSection.Put(m, model.Training{Hop: 8, MaxGap: 312.5}); err != nil {
		t.Fatal(err)
	}
	if cfg = ForModel(m, 0); cfg.Hop != 8 || cfg.MaxGap != 313 {
		t.Errorf("trained with hop 8 across gaps of 312.5 periods: %+v", cfg)
	}
	if err := model.TrainingSection.Put(m, model.Training{Hop: 8, MaxGap: 12}); err != nil {
		t.Fatal(err)
	}
	if cfg = ForModel(m, 2); cfg.Hop != 2 || cfg.MaxGap != 0 {
		t.Errorf("short training gaps keep the default: %+v", cfg)
	}
	s, _ := New(cfg, nil)
	if s.Config().MaxGap != DefaultMaxGap || s.Config().Confirm != DefaultConfirm {
		t.Errorf("defaults: %+v", s.Config())
	}
}
