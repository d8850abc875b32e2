package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The flatbuffer wire format, read with bounds checks on every access: a
// table starts with a signed offset back to its vtable; the vtable holds
// its own size, the table's size and one 16-bit offset per field (0:
// absent). Offsets to tables, vectors and strings are unsigned and
// relative to where they are stored. A malformed file yields an error,
// never a panic or an allocation sized by the file.

// buf is the whole file.
type buf []byte

// errf builds a format error with the position it concerns.
func errf(pos int, format string, args ...any) error {
	return fmt.Errorf("tflite: byte %d: %s", pos, fmt.Sprintf(format, args...))
}

func (b buf) u32(pos int) (uint32, error) {
	if pos < 0 || pos > len(b)-4 {
		return 0, errf(pos, "4-byte read past the end (%d bytes)", len(b))
	}
	return binary.LittleEndian.Uint32(b[pos:]), nil
}

func (b buf) u16(pos int) (uint16, error) {
	if pos < 0 || pos > len(b)-2 {
		return 0, errf(pos, "2-byte read past the end (%d bytes)", len(b))
	}
	return binary.LittleEndian.Uint16(b[pos:]), nil
}

// table is a flatbuffer table: its position and its vtable's.
type table struct {
	b      buf
	pos    int
	vt     int
	vtSize int
}

// tableAt reads the table at pos.
func (b buf) tableAt(pos int) (table, error) {
	soff, err := b.u32(pos)
	if err != nil {
		return table{}, err
	}
	vt := pos - int(int32(soff))
	size, err := b.u16(vt)
	if err != nil {
		return table{}, errf(pos, "table's vtable at %d is outside the file", vt)
	}
	if size < 4 || size%2 != 0 || vt+int(size) > len(b) {
		return table{}, errf(vt, "vtable size %d", size)
	}
	return table{b: b, pos: pos, vt: vt, vtSize: int(size)}, nil
}

// field returns the absolute position of field i, or 0 if it is absent.
func (t table) field(i int) (int, error) {
	slot := 4 + 2*i
	if slot+2 > t.vtSize {
		return 0, nil
	}
	off, err := t.b.u16(t.vt + slot)
	if err != nil || off == 0 {
		return 0, err
	}
	return t.pos + int(off), nil
}

// uint32Field reads a scalar field (def if absent).
func (t table) uint32Field(i int, def uint32) (uint32, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return def, err
	}
	return t.b.u32(p)
}

func (t table) int32Field(i int, def int32) (int32, error) {
	v, err := t.uint32Field(i, uint32(def))
	return int32(v), err
}

func (t table) float32Field(i int, def float32) (float32, error) {
	v, err := t.uint32Field(i, math.Float32bits(def))
	return math.Float32frombits(v), err
}

func (t table) byteField(i int, def byte) (byte, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return def, err
	}
	if p >= len(t.b) {
		return 0, errf(p, "byte field past the end")
	}
	return t.b[p], nil
}

// indirect follows the offset stored at field i (to a table, vector or
// string); 0 if the field is absent.
func (t table) indirect(i int) (int, error) {
	p, err := t.field(i)
	if err != nil || p == 0 {
		return 0, err
	}
	off, err := t.b.u32(p)
	if err != nil {
		return 0, err
	}
	q := p + int(off)
	if off == 0 || q >= len(t.b) {
		return 0, errf(p, "offset %d leads outside the file", off)
	}
	return q, nil
}

// subtable reads the table at field i; ok is false if absent.
func (t table) subtable(i int) (table, bool, error) {
	p, err := t.indirect(i)
	if err != nil || p == 0 {
		return table{}, false, err
	}
	s, err := t.b.tableAt(p)
	return s, err == nil, err
}

// vector is a flatbuffer vector: the position of its first element and
// its length, checked against the file for elements of elem bytes.
type vector struct {
	b    buf
	pos  int
	n    int
	elem int
}

// vectorField reads the vector at field i (empty if absent).
func (t table) vectorField(i, elem int) (vector, error) {
	p, err := t.indirect(i)
	if err != nil || p == 0 {
		return vector{b: t.b, elem: elem}, err
	}
	n, err := t.b.u32(p)
	if err != nil {
		return vector{}, err
	}
	if uint64(n)*uint64(elem) > uint64(len(t.b)-p-4) {
		return vector{}, errf(p, "a vector of %d %d-byte elements does not fit in the file", n, elem)
	}
	return vector{b: t.b, pos: p + 4, n: int(n), elem: elem}, nil
}

// bytes returns the raw bytes of the vector (no copy).
func (v vector) bytes() []byte { return v.b[v.pos : v.pos+v.n*v.elem] }

// table returns element i of a vector of tables.
func (v vector) table(i int) (table, error) {
	p := v.pos + 4*i
	off, err := v.b.u32(p)
	if err != nil {
		return table{}, err
	}
	q := p + int(off)
	if q >= len(v.b) {
		return table{}, errf(p, "element %d's offset leads outside the file", i)
	}
	return v.b.tableAt(q)
}

func (v vector) int32(i int) int32 {
	return int32(binary.LittleEndian.Uint32(v.b[v.pos+4*i:]))
}

func (v vector) float32(i int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(v.b[v.pos+4*i:]))
}

func (v vector) int64(i int) int64 {
	return int64(binary.LittleEndian.Uint64(v.b[v.pos+8*i:]))
}

// ints returns a vector of int32 as ints.
func (v vector) ints() []int {
	out := make([]int, v.n)
	for i := range out {
		out[i] = int(v.int32(i))
	}
	return out
}

// stringField reads the string at field i ("" if absent).
func (t table) stringField(i int) (string, error) {
	v, err := t.vectorField(i, 1)
	if err != nil {
		return "", err
	}
	return string(v.bytes()), nil
}
