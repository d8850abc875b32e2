package tflite

import (
	"encoding/binary"
	"math"
)

// A small flatbuffer writer for tests: it lays every object out after the
// one that refers to it, so all offsets point forward, and writes each
// table's vtable right before the table.

// fbTable is a table: its fields in order (nil: absent).
type fbTable []any

// Field kinds.
type (
	fbU8     uint8
	fbI32    int32
	fbU32    uint32
	fbF32    float32
	fbString string
	fbBytes  []byte
	fbInts   []int32
	fbFloats []float32
	fbLongs  []int64
	fbTables []fbTable
)

type fbWriter struct{ b []byte }

func (w *fbWriter) align(n int) {
	for len(w.b)%n != 0 {
		w.b = append(w.b, 0)
	}
}

func (w *fbWriter) u32At(pos int, v uint32) { binary.LittleEndian.PutUint32(w.b[pos:], v) }

func (w *fbWriter) u32(v uint32) int {
	w.align(4)
	p := len(w.b)
	w.b = binary.LittleEndian.AppendUint32(w.b, v)
	return p
}

// object writes a child object (table, vector or string) and returns its position.
func (w *fbWriter) object(v any) int {
	switch v := v.(type) {
	case fbTable:
		return w.table(v)
	case fbString:
		return w.object(fbBytes(v))
	case fbBytes:
		p := w.u32(uint32(len(v)))
		w.b = append(w.b, v...)
		return p
	case fbInts:
		p := w.u32(uint32(len(v)))
		for _, x := range v {
			w.b = binary.LittleEndian.AppendUint32(w.b, uint32(x))
		}
		return p
	case fbFloats:
		p := w.u32(uint32(len(v)))
		for _, x := range v {
			w.b = binary.LittleEndian.AppendUint32(w.b, math.Float32bits(x))
		}
		return p
	case fbLongs:
		w.align(8)
		w.b = append(w.b, 0, 0, 0, 0) // the length sits right before 8-aligned data
		p := len(w.b) - 4
		binary.LittleEndian.PutUint32(w.b[p:], uint32(len(v)))
		for _, x := range v {
			w.b = binary.LittleEndian.AppendUint64(w.b, uint64(x))
		}
		return p
	case fbTables:
		p := w.u32(uint32(len(v)))
		slots := make([]int, len(v))
		for i := range v {
			slots[i] = w.u32(0)
		}
		for i, t := range v {
			q := w.table(t)
			w.u32At(slots[i], uint32(q-slots[i]))
		}
		return p
	}
	panic("fbWriter: unknown object")
}

func (w *fbWriter) table(t fbTable) int {
	// vtable
	w.align(4)
	vt := len(w.b)
	n := len(t)
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(4+2*n))
	w.b = binary.LittleEndian.AppendUint16(w.b, 0) // table size, patched
	offs := len(w.b)
	w.b = append(w.b, make([]byte, 2*n)...)
	w.align(4)
	tp := len(w.b)
	w.b = binary.LittleEndian.AppendUint32(w.b, uint32(int32(tp-vt)))
	var children []struct {
		slot int
		v    any
	}
	for i, f := range t {
		if f == nil {
			continue
		}
		var p int
		switch f := f.(type) {
		case fbU8:
			p = len(w.b)
			w.b = append(w.b, byte(f))
		case fbI32:
			p = w.u32(uint32(f))
		case fbU32:
			p = w.u32(uint32(f))
		case fbF32:
			p = w.u32(math.Float32bits(float32(f)))
		default:
			p = w.u32(0)
			children = append(children, struct {
				slot int
				v    any
			}{p, f})
		}
		binary.LittleEndian.PutUint16(w.b[offs+2*i:], uint16(p-tp))
	}
	w.align(4)
	binary.LittleEndian.PutUint16(w.b[vt+2:], uint16(len(w.b)-tp))
	for _, c := range children {
		q := w.object(c.v)
		w.u32At(c.slot, uint32(q-c.slot))
	}
	return tp
}

// fbFile writes a TFLite file with the given root (Model) table.
func fbFile(root fbTable) []byte {
	w := &fbWriter{b: make([]byte, 8)}
	copy(w.b[4:], "TFL3")
	p := w.table(root)
	binary.LittleEndian.PutUint32(w.b, uint32(p))
	return w.b
}

// tfl builds a TFLite model: tensors, operators and buffers.
type tfl struct {
	tensors fbTables
	buffers fbTables
	ops     fbTables
	codes   []int32
}

func newTFL() *tfl { return &tfl{buffers: fbTables{fbTable{}}} }

// tensor adds a tensor (data nil: an activation) and returns its index.
func (m *tfl) tensor(name string, typ byte, shape []int32, data []byte, scale []float32, zero []int64) int32 {
	buf := fbU32(0)
	if data != nil {
		m.buffers = append(m.buffers, fbTable{fbBytes(data)})
		buf = fbU32(len(m.buffers) - 1)
	}
	var q any
	if scale != nil {
		q = fbTable{nil, nil, fbFloats(scale), fbLongs(zero)}
	}
	m.tensors = append(m.tensors, fbTable{fbInts(shape), fbU8(typ), buf, fbString(name), q})
	return int32(len(m.tensors) - 1)
}

// op adds an operator with its builtin options table (or nil).
func (m *tfl) op(code int32, in, out []int32, opts fbTable) {
	idx := -1
	for i, c := range m.codes {
		if c == code {
			idx = i
		}
	}
	if idx < 0 {
		m.codes = append(m.codes, code)
		idx = len(m.codes) - 1
	}
	var o any
	if opts != nil {
		o = opts
	}
	m.ops = append(m.ops, fbTable{fbU32(idx), fbInts(in), fbInts(out), fbU8(1), o})
}

func (m *tfl) bytes(in, out int32) []byte {
	var codes fbTables
	for _, c := range m.codes {
		dep := c
		if dep > 127 {
			dep = 127
		}
		codes = append(codes, fbTable{fbU8(dep), nil, fbI32(1), fbI32(c)})
	}
	sub := fbTable{m.tensors, fbInts{in}, fbInts{out}, m.ops, fbString("main")}
	return fbFile(fbTable{fbU32(3), codes, fbTables{sub}, fbString("test model"), m.buffers})
}

func f32bytes(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func i32bytes(v []int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], uint32(x))
	}
	return b
}

func i8bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}
