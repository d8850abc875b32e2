package spool

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func drain(t *testing.T, s *Spool) []string {
	t.Helper()
	var out []string
	for {
		b, err := s.Peek()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
		if err := s.Remove(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSpoolOrderAndRestart: records come out in order across segments;
// a spool reopened after Close, or after its process died without Close,
// holds what was not consumed (after a Sync of the head: exactly that;
// without: at least that).
func TestSpoolOrderAndRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("x"), 100<<10)
	var want []string
	for i := 0; i < 60; i++ { // 6 MB: two segments
		rec := fmt.Sprintf("%03d", i) + string(big)
		want = append(want, rec)
		if err := s.Append([]byte(rec)); err != nil {
			t.Fatal(err)
		}
	}
	if s.Len() != 60 || len(s.segs) != 2 {
		t.Fatalf("%d records in %d segments", s.Len(), len(s.segs))
	}
	got := drain(t, s)
	if len(got) != 60 || got[0] != want[0] || got[59] != want[59] {
		t.Fatalf("%d records out", len(got))
	}
	for i := 0; i < 5; i++ {
		s.Append([]byte(fmt.Sprint("r", i)))
	}
	b, _ := s.Peek()
	s.Remove()
	if string(b) != "r0" {
		t.Fatalf("first after the drain: %q", b)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	// The process dies here: no Close. Reopen.
	s2, err := Open(dir, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, s2); fmt.Sprint(got) != "[r1 r2 r3 r4]" {
		t.Errorf("after a restart: %v", got)
	}
	// Consumed without a Sync of the head: they come again (at least once).
	s2.Append([]byte("z"))
	s2.Close()
	s3, _ := Open(dir, 1<<30)
	if got := drain(t, s3); len(got) == 0 || got[len(got)-1] != "z" {
		t.Errorf("after a restart without a head: %v", got)
	}
	s3.Close()
	if entries, _ := os.ReadDir(dir); len(entries) > 3 {
		t.Errorf("consumed segments not removed: %d files", len(entries))
	}
}

// TestSpoolTornTailAndLimits: a record torn by a crash is cut off when
// the spool is opened; the byte limit refuses appends (ErrFull).
func TestSpoolTornTailAndLimits(t *testing.T) {
	dir := t.TempDir()
	s, _ := Open(dir, 100)
	for _, r := range []string{"a", "bb", "ccc"} {
		s.Append([]byte(r))
	}
	if err := s.Append(bytes.Repeat([]byte("d"), 100)); err != ErrFull {
		t.Errorf("over the limit: %v", err)
	}
	s.Close()
	seg := filepath.Join(dir, "spool-0.seg")
	f, _ := os.OpenFile(seg, os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{9, 0, 0, 0, 1, 2}) // half a frame
	f.Close()
	s2, err := Open(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, s2); fmt.Sprint(got) != "[a bb ccc]" {
		t.Errorf("after a torn tail: %v", got)
	}
	s2.Append([]byte("e"))
	if got := drain(t, s2); fmt.Sprint(got) != "[e]" {
		t.Errorf("appended after the cut: %v", got)
	}
}

// FuzzOpen: any bytes in a segment and the head file give a spool that
// opens (or an error) and drains without a panic.
func FuzzOpen(f *testing.F) {
	dir := f.TempDir()
	s, _ := Open(dir, 1<<20)
	for _, r := range []string{"one", "two", "three"} {
		s.Append([]byte(r))
	}
	s.Peek()
	s.Remove()
	s.Close()
	seg, _ := os.ReadFile(filepath.Join(dir, "spool-0.seg"))
	head, _ := os.ReadFile(filepath.Join(dir, "head"))
	f.Add(seg, head)
	f.Add(seg[:len(seg)-3], []byte("0 999999"))
	f.Fuzz(func(t *testing.T, seg, head []byte) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, "spool-0.seg"), seg, 0o640)
		os.WriteFile(filepath.Join(d, "head"), head, 0o640)
		s, err := Open(d, 1<<20)
		if err != nil {
			return
		}
		for i := 0; i < 1000; i++ {
			if _, err := s.Peek(); err != nil {
				break
			}
			if s.Remove() != nil {
				break
			}
		}
		s.Close()
	})
}

// TestSpoolScan: Scan sees the held records in order, across segments,
// from the consumed head on, and consumes none of them.
func TestSpoolScan(t *testing.T) {
	s, err := Open(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	big := bytes.Repeat([]byte("x"), segmentSize/3)
	var want []string
	for i := 0; i < 8; i++ { // about three segments
		r := append([]byte(fmt.Sprintf("r%d:", i)), big...)
		s.Append(r)
		want = append(want, fmt.Sprintf("r%d", i))
	}
	s.Peek()
	s.Remove()
	var got []string
	if err := s.Scan(func(rec []byte) error {
		got = append(got, string(bytes.SplitN(rec, []byte(":"), 2)[0]))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want[1:]) {
		t.Errorf("scan: %v, want %v", got, want[1:])
	}
	if s.Len() != 7 {
		t.Errorf("scan consumed records: %d left", s.Len())
	}
}

// TestSpoolNext: Next reads ahead of the consumed head, across segments,
// sees records appended after it reached the end, and starts again at the
// head after Rewind; Pop consumes in order meanwhile.
func TestSpoolNext(t *testing.T) {
	s, err := Open(t.TempDir(), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	big := bytes.Repeat([]byte("x"), segmentSize/3)
	rec := func(i int) []byte { return append([]byte(fmt.Sprintf("r%d:", i)), big...) }
	name := func(b []byte) string { return string(bytes.SplitN(b, []byte(":"), 2)[0]) }
	for i := 0; i < 5; i++ {
		s.Append(rec(i))
	}
	var got []string
	for {
		b, err := s.Next()
		if err != nil {
			break
		}
		got = append(got, name(b))
	}
	if fmt.Sprint(got) != "[r0 r1 r2 r3 r4]" {
		t.Fatalf("read ahead: %v", got)
	}
	s.Append(rec(5))
	if b, err := s.Next(); err != nil || name(b) != "r5" {
		t.Fatalf("after an append: %v", err)
	}
	for i := 0; i < 4; i++ { // past the first segment
		if err := s.Pop(); err != nil {
			t.Fatal(err)
		}
	}
	s.Rewind()
	if b, err := s.Next(); err != nil || name(b) != "r4" {
		t.Fatalf("after a rewind: %v", err)
	}
	if s.Len() != 2 {
		t.Errorf("%d records held, want 2", s.Len())
	}
}
