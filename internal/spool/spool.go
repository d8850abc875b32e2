// Package spool is a durable first-in first-out queue of byte records in
// a folder: records are appended to segment files (spool-<n>.seg), each
// framed with its length and CRC-32C, and a small head file (written
// atomically) records how far the queue has been consumed. A process killed at any moment loses
// nothing it appended (the data is with the OS at once; Sync, called at
// least every second by the owner, puts it on the disk); a torn last
// record is cut off when the folder is opened again; records after the
// saved head may come out twice (at least once).
package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/edgeml/edge/internal/atomicfile"
)

// Limits.
const (
	MaxRecord   = 1 << 24 // bytes in one record
	segmentSize = 4 << 20 // a segment is closed after this many bytes
	frame       = 8       // length and CRC before each record
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// ErrFull is returned by Append when the spool holds its maximum bytes.
var ErrFull = errors.New("spool: full")

// Spool is a durable FIFO of records. It is safe for concurrent use.
type Spool struct {
	mu       sync.Mutex
	dir      string
	max      int64   // bytes the spool may hold
	segs     []int64 // segment numbers, oldest first
	w        *os.File
	wsize    int64
	r        *os.File
	roff     int64 // read offset in the oldest segment
	bytes    int64 // bytes held
	count    int   // records held
	headDone int64 // roff last saved in the head file
	// The read-ahead cursor (Next): a segment and an offset in it.
	cseg  int64
	coff  int64
	cset  bool
	cfile *os.File
}

// Open opens (creating) a spool in dir that holds at most max bytes. It
// reads every segment, counts the records and cuts a torn last record.
func Open(dir string, max int64) (*Spool, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, max: max}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	for _, e := range ents {
		if n, ok := strings.CutPrefix(e.Name(), "spool-"); ok && strings.HasSuffix(n, ".seg") {
			if v, err := strconv.ParseInt(strings.TrimSuffix(n, ".seg"), 10, 64); err == nil && v >= 0 {
				s.segs = append(s.segs, v)
			}
		}
	}
	sort.Slice(s.segs, func(i, j int) bool { return s.segs[i] < s.segs[j] })
	if err := s.readHead(); err != nil {
		return nil, err
	}
	for i, n := range s.segs {
		from := int64(0)
		if i == 0 && s.roff > 0 {
			if f, err := os.Open(s.segPath(n)); err == nil {
				st, _ := f.Stat()
				if _, err := readRecord(f, s.roff, nil); err != nil && (st == nil || s.roff != st.Size()) {
					s.roff, s.headDone = 0, 0 // a head off the records: from the start (at least once)
				}
				f.Close()
			}
			from = s.roff
		}
		if err := s.scan(n, from, i == len(s.segs)-1); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *Spool) segPath(n int64) string { return filepath.Join(s.dir, fmt.Sprintf("spool-%d.seg", n)) }

// readHead reads the consumed offset of the oldest segment.
func (s *Spool) readHead() error {
	b, err := os.ReadFile(filepath.Join(s.dir, "head"))
	if errors.Is(err, os.ErrNotExist) || len(s.segs) == 0 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return nil // a torn head: start at the oldest segment's start (at least once)
	}
	seg, err1 := strconv.ParseInt(f[0], 10, 64)
	off, err2 := strconv.ParseInt(f[1], 10, 64)
	if err1 != nil || err2 != nil || seg != s.segs[0] || off < 0 {
		return nil
	}
	s.roff, s.headDone = off, off
	return nil
}

// scan counts the records of segment n from offset from; in the last
// segment, a torn or corrupt tail is cut off.
func (s *Spool) scan(n, from int64, last bool) error {
	f, err := os.OpenFile(s.segPath(n), os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	off := from
	for {
		size, err := readRecord(f, off, nil)
		if err != nil {
			break
		}
		off += frame + int64(size)
		s.count++
		s.bytes += int64(size)
	}
	if off < st.Size() {
		if !last {
			return fmt.Errorf("spool: segment %d is corrupt at byte %d", n, off)
		}
		if err := f.Truncate(off); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	return nil
}

// readRecord reads the record at off: its size, and its data into buf if
// buf is not nil (buf must hold it).
func readRecord(f *os.File, off int64, buf *[]byte) (int, error) {
	var h [frame]byte
	if _, err := f.ReadAt(h[:], off); err != nil {
		return 0, err
	}
	size := binary.LittleEndian.Uint32(h[:4])
	if size > MaxRecord {
		return 0, errors.New("spool: record size out of range")
	}
	data := make([]byte, size)
	if _, err := f.ReadAt(data, off+frame); err != nil {
		return 0, err
	}
	if crc32.Checksum(data, crcTable) != binary.LittleEndian.Uint32(h[4:]) {
		return 0, errors.New("spool: bad checksum")
	}
	if buf != nil {
		*buf = data
	}
	return int(size), nil
}

// Len returns the records held.
func (s *Spool) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count
}

// Append adds a record at the end.
func (s *Spool) Append(p []byte) error {
	if len(p) > MaxRecord {
		return fmt.Errorf("spool: a record of %d bytes (limit %d)", len(p), MaxRecord)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bytes+int64(len(p)) > s.max {
		return ErrFull
	}
	if s.w == nil || s.wsize >= segmentSize {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	b := make([]byte, frame+len(p))
	binary.LittleEndian.PutUint32(b[:4], uint32(len(p)))
	binary.LittleEndian.PutUint32(b[4:8], crc32.Checksum(p, crcTable))
	copy(b[frame:], p)
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.wsize += int64(len(b))
	s.bytes += int64(len(p))
	s.count++
	return nil
}

// rotate starts a new segment for appending.
func (s *Spool) rotate() error {
	if s.w != nil {
		if err := s.w.Sync(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		s.w.Close()
	}
	n := int64(0)
	if len(s.segs) > 0 {
		n = s.segs[len(s.segs)-1] + 1
	}
	f, err := os.OpenFile(s.segPath(n), os.O_CREATE|os.O_WRONLY|os.O_APPEND|os.O_EXCL, 0o640)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.w, s.wsize = f, 0
	s.segs = append(s.segs, n)
	return nil
}

// Peek returns the oldest record (io.EOF when empty).
func (s *Spool) Peek() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.count > 0 {
		if s.r == nil {
			f, err := os.Open(s.segPath(s.segs[0]))
			if err != nil {
				return nil, fmt.Errorf("spool: %w", err)
			}
			s.r = f
		}
		var data []byte
		if _, err := readRecord(s.r, s.roff, &data); err == nil {
			return data, nil
		}
		if len(s.segs) == 1 { // the writer's segment: nothing more yet
			break
		}
		if err := s.dropOldest(); err != nil { // consumed to its end
			return nil, err
		}
	}
	return nil, io.EOF
}

// Remove consumes the oldest record.
func (s *Spool) Remove() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == 0 || s.r == nil {
		return io.EOF
	}
	size, err := readRecord(s.r, s.roff, nil)
	if err != nil {
		return err
	}
	s.roff += frame + int64(size)
	s.count--
	s.bytes -= int64(size)
	return nil
}

// dropOldest deletes the oldest segment, consumed to its end.
func (s *Spool) dropOldest() error {
	s.r.Close()
	s.r = nil
	if err := os.Remove(s.segPath(s.segs[0])); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.segs, s.roff, s.headDone = s.segs[1:], 0, -1
	return nil
}

// Sync puts the appended records and the consumed offset on the disk.
func (s *Spool) Sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		if err := s.w.Sync(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
	}
	if len(s.segs) == 0 || s.roff == s.headDone {
		return nil
	}
	head := fmt.Sprintf("%d %d\n", s.segs[0], s.roff)
	if err := atomicfile.Write(filepath.Join(s.dir, "head"), 0o640, func(w io.Writer) error {
		_, err := io.WriteString(w, head)
		return err
	}); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	s.headDone = s.roff
	return nil
}

// Close syncs and closes the files.
func (s *Spool) Close() error {
	err := s.Sync()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil {
		s.w.Close()
		s.w = nil
	}
	if s.r != nil {
		s.r.Close()
		s.r = nil
	}
	s.rewindLocked()
	return err
}

// Next returns the record after the last one Next returned (the oldest
// after a Rewind or at the start), without consuming anything: a reader
// can look ahead of the records it has not yet removed. io.EOF: none yet.
func (s *Spool) Next() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cset {
		if len(s.segs) == 0 {
			return nil, io.EOF
		}
		s.cseg, s.coff, s.cset = s.segs[0], s.roff, true
	}
	for {
		if s.cfile == nil {
			f, err := os.Open(s.segPath(s.cseg))
			if err == nil {
				s.cfile = f
			}
		}
		if s.cfile != nil {
			var data []byte
			if size, err := readRecord(s.cfile, s.coff, &data); err == nil {
				s.coff += frame + int64(size)
				return data, nil
			}
		}
		i := sort.Search(len(s.segs), func(i int) bool { return s.segs[i] > s.cseg })
		if i == len(s.segs) {
			return nil, io.EOF // the writer's segment: nothing more yet
		}
		if s.cfile != nil {
			s.cfile.Close()
			s.cfile = nil
		}
		s.cseg, s.coff = s.segs[i], 0
	}
}

// Rewind makes Next start again at the oldest record.
func (s *Spool) Rewind() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rewindLocked()
}

func (s *Spool) rewindLocked() {
	if s.cfile != nil {
		s.cfile.Close()
		s.cfile = nil
	}
	s.cset = false
}

// Pop consumes the oldest record.
func (s *Spool) Pop() error {
	if _, err := s.Peek(); err != nil {
		return err
	}
	return s.Remove()
}

// Scan calls fn with every record held, oldest first, without consuming
// them (a record's bytes are valid only during the call). It stops at
// fn's first error and returns it.
func (s *Spool) Scan(fn func(rec []byte) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	left := s.count
	for i, n := range s.segs {
		if left == 0 {
			break
		}
		f, err := os.Open(s.segPath(n))
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		off := int64(0)
		if i == 0 {
			off = s.roff
		}
		for left > 0 {
			var data []byte
			size, err := readRecord(f, off, &data)
			if err != nil {
				break // the segment's end
			}
			off += frame + int64(size)
			left--
			if err := fn(data); err != nil {
				f.Close()
				return err
			}
		}
		f.Close()
	}
	return nil
}

// Bytes returns the bytes of the records held.
func (s *Spool) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}
