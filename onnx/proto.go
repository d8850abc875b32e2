package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Limits on what a file may declare, checked as it is read: far above any
// autoencoder, far below what would exhaust a device. Tensor data is never
// copied out of the file until a layer needs it.
const (
	MaxFileBytes  = 256 << 20
	maxNodes      = 1 << 14
	maxTensors    = 1 << 14
	maxAttributes = 64
	maxRank       = 8
	maxElements   = 1 << 26
)

// ONNX tensor element types.
const (
	typeFloat = 1
	typeUint8 = 2
	typeInt8  = 3
	typeInt32 = 6
	typeInt64 = 7
)

// tensor is an ONNX TensorProto.
type tensor struct {
	name  string
	dims  []int
	dtype int
	raw   []byte    // raw_data, little-endian
	f32   []float32 // float_data
	i64   []int64   // int32_data or int64_data
}

func (t *tensor) elements() int {
	n := 1
	for _, d := range t.dims {
		n *= d
	}
	return n
}

// floats returns a float tensor's values.
func (t *tensor) floats() ([]float32, error) {
	if t.dtype != typeFloat {
		return nil, fmt.Errorf("tensor %q has element type %d, not float", t.name, t.dtype)
	}
	n := t.elements()
	switch {
	case t.raw != nil:
		if len(t.raw) != 4*n {
			return nil, fmt.Errorf("tensor %q: %d bytes of raw data for %d floats", t.name, len(t.raw), n)
		}
		v := make([]float32, n)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.raw[4*i:]))
		}
		return v, nil
	case len(t.f32) == n:
		return t.f32, nil
	}
	return nil, fmt.Errorf("tensor %q: %d values for shape %v", t.name, len(t.f32), t.dims)
}

// ints returns an integer tensor's values (int8, uint8, int32, int64).
func (t *tensor) ints() ([]int64, error) {
	n := t.elements()
	size := map[int]int{typeInt8: 1, typeUint8: 1, typeInt32: 4, typeInt64: 8}[t.dtype]
	if size == 0 {
		return nil, fmt.Errorf("tensor %q has element type %d, not an integer", t.name, t.dtype)
	}
	if t.raw == nil {
		if len(t.i64) != n {
			return nil, fmt.Errorf("tensor %q: %d values for shape %v", t.name, len(t.i64), t.dims)
		}
		return t.i64, nil
	}
	if len(t.raw) != size*n {
		return nil, fmt.Errorf("tensor %q: %d bytes of raw data for %d values", t.name, len(t.raw), n)
	}
	v := make([]int64, n)
	for i := range v {
		switch t.dtype {
		case typeInt8:
			v[i] = int64(int8(t.raw[i]))
		case typeUint8:
			v[i] = int64(t.raw[i])
		case typeInt32:
			v[i] = int64(int32(binary.LittleEndian.Uint32(t.raw[4*i:])))
		case typeInt64:
			v[i] = int64(binary.LittleEndian.Uint64(t.raw[8*i:]))
		}
	}
	return v, nil
}

// attr is an AttributeProto.
type attr struct {
	name   string
	f      float32
	i      int64
	s      []byte
	t      *tensor
	floats []float32
	ints   []int64
	kind   int
}

// node is a NodeProto.
type node struct {
	index   int
	name    string
	op      string
	domain  string
	inputs  []string
	outputs []string
	attrs   map[string]*attr
}

func (n *node) where() string {
	if n.name != "" {
		return fmt.Sprintf("node %d (%s %q)", n.index, n.op, n.name)
	}
	return fmt.Sprintf("node %d (%s)", n.index, n.op)
}

// mapping is the node's line of the import report.
func (n *node) mapping(edge string) Mapping {
	return Mapping{Index: n.index, Op: n.op, Name: n.name, Edge: edge}
}

func (n *node) int(name string, def int64) int64 {
	if a, ok := n.attrs[name]; ok {
		return a.i
	}
	return def
}

func (n *node) float(name string, def float32) float32 {
	if a, ok := n.attrs[name]; ok {
		return a.f
	}
	return def
}

func (n *node) intList(name string) []int64 {
	if a, ok := n.attrs[name]; ok {
		return a.ints
	}
	return nil
}

// valueInfo is a graph input or output: name and shape (-1: symbolic).
type valueInfo struct {
	name  string
	dtype int
	shape []int
}

// graph is the model's main graph.
type graph struct {
	nodes   []*node
	inits   map[string]*tensor
	inputs  []valueInfo
	outputs []valueInfo
	opset   int64
	prod    string
}

// reader walks protobuf fields with bounds checks.
type reader struct {
	b   []byte
	err error
}

// next returns the next field; ok is false at the end or on error.
func (r *reader) next() (num protowire.Number, typ protowire.Type, val []byte, v uint64, ok bool) {
	if r.err != nil || len(r.b) == 0 {
		return 0, 0, nil, 0, false
	}
	num, typ, n := protowire.ConsumeTag(r.b)
	if n < 0 {
		r.err = protowire.ParseError(n)
		return 0, 0, nil, 0, false
	}
	r.b = r.b[n:]
	switch typ {
	case protowire.VarintType:
		v, n = protowire.ConsumeVarint(r.b)
	case protowire.Fixed32Type:
		var x uint32
		x, n = protowire.ConsumeFixed32(r.b)
		v = uint64(x)
	case protowire.Fixed64Type:
		v, n = protowire.ConsumeFixed64(r.b)
	case protowire.BytesType:
		val, n = protowire.ConsumeBytes(r.b)
	default:
		n = protowire.ConsumeFieldValue(num, typ, r.b)
	}
	if n < 0 {
		r.err = protowire.ParseError(n)
		return 0, 0, nil, 0, false
	}
	r.b = r.b[n:]
	return num, typ, val, v, true
}

// packed appends the values of a repeated varint field, packed or not.
func packedVarints(dst []int64, typ protowire.Type, val []byte, v uint64, limit int) ([]int64, error) {
	if typ == protowire.VarintType {
		if len(dst) >= limit {
			return nil, fmt.Errorf("more than %d values", limit)
		}
		return append(dst, int64(v)), nil
	}
	if typ != protowire.BytesType {
		return nil, errors.New("a repeated integer of the wrong wire type")
	}
	for len(val) > 0 {
		x, n := protowire.ConsumeVarint(val)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		if len(dst) >= limit {
			return nil, fmt.Errorf("more than %d values", limit)
		}
		dst = append(dst, int64(x))
		val = val[n:]
	}
	return dst, nil
}

func packedFloats(dst []float32, typ protowire.Type, val []byte, v uint64, limit int) ([]float32, error) {
	if typ == protowire.Fixed32Type {
		return append(dst, math.Float32frombits(uint32(v))), nil
	}
	if typ != protowire.BytesType || len(val)%4 != 0 {
		return nil, errors.New("a repeated float of the wrong wire type or length")
	}
	if len(dst)+len(val)/4 > limit {
		return nil, fmt.Errorf("more than %d values", limit)
	}
	for i := 0; i < len(val); i += 4 {
		dst = append(dst, math.Float32frombits(binary.LittleEndian.Uint32(val[i:])))
	}
	return dst, nil
}

func parseTensor(b []byte) (*tensor, error) {
	t := &tensor{}
	r := &reader{b: b}
	for {
		num, typ, val, v, ok := r.next()
		if !ok {
			break
		}
		if err := t.field(num, typ, val, v); err != nil {
			return nil, err
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("tensor: %w", r.err)
	}
	if err := t.checkShape(); err != nil {
		return nil, err
	}
	// int32-typed data comes as int32_data varints: sign-extend.
	if t.dtype == typeInt32 || t.dtype == typeInt8 {
		for i, x := range t.i64 {
			t.i64[i] = int64(int32(x))
		}
	}
	return t, nil
}

// field reads one field of a TensorProto.
func (t *tensor) field(num protowire.Number, typ protowire.Type, val []byte, v uint64) error {
	var err error
	switch num {
	case 1:
		var dims []int64
		if dims, err = packedVarints(nil, typ, val, v, maxRank+1); err != nil {
			return fmt.Errorf("tensor dims: %w", err)
		}
		for _, d := range dims {
			t.dims = append(t.dims, int(d))
		}
	case 2:
		t.dtype = int(v)
	case 4:
		if t.f32, err = packedFloats(t.f32, typ, val, v, maxElements); err != nil {
			return fmt.Errorf("tensor float_data: %w", err)
		}
	case 5, 7:
		if t.i64, err = packedVarints(t.i64, typ, val, v, maxElements); err != nil {
			return fmt.Errorf("tensor integer data: %w", err)
		}
	case 8:
		t.name = string(val)
	case 9:
		t.raw = val
	case 13, 14:
		if num == 14 && v == 1 || num == 13 {
			return fmt.Errorf("tensor %q keeps its data in an external file; edge imports self-contained models (save with save_as_external_data=False)", t.name)
		}
	}
	return nil
}

// checkShape holds the tensor's rank and size within the limits.
func (t *tensor) checkShape() error {
	if len(t.dims) > maxRank {
		return fmt.Errorf("tensor %q: rank %d (limit %d)", t.name, len(t.dims), maxRank)
	}
	n := 1
	for _, d := range t.dims {
		if d < 0 || d > maxElements {
			return fmt.Errorf("tensor %q: dimension %d", t.name, d)
		}
		n *= d
		if n > maxElements {
			return fmt.Errorf("tensor %q: shape %v holds more than %d values", t.name, t.dims, maxElements)
		}
	}
	return nil
}

func parseAttr(b []byte) (*attr, error) {
	a := &attr{}
	r := &reader{b: b}
	var err error
	for {
		num, typ, val, v, ok := r.next()
		if !ok {
			break
		}
		switch num {
		case 1:
			a.name = string(val)
		case 2:
			a.f = math.Float32frombits(uint32(v))
		case 3:
			a.i = int64(v)
		case 4:
			a.s = val
		case 5:
			if a.t, err = parseTensor(val); err != nil {
				return nil, err
			}
		case 7:
			if a.floats, err = packedFloats(a.floats, typ, val, v, maxElements); err != nil {
				return nil, err
			}
		case 8:
			if a.ints, err = packedVarints(a.ints, typ, val, v, 1<<16); err != nil {
				return nil, err
			}
		case 20:
			a.kind = int(v)
		}
	}
	return a, r.err
}

func parseNode(b []byte, index int) (*node, error) {
	n := &node{index: index, attrs: map[string]*attr{}}
	r := &reader{b: b}
	for {
		num, _, val, _, ok := r.next()
		if !ok {
			break
		}
		switch num {
		case 1:
			if len(n.inputs) >= 64 {
				return nil, errors.New("more than 64 inputs")
			}
			n.inputs = append(n.inputs, string(val))
		case 2:
			if len(n.outputs) >= 64 {
				return nil, errors.New("more than 64 outputs")
			}
			n.outputs = append(n.outputs, string(val))
		case 3:
			n.name = string(val)
		case 4:
			n.op = string(val)
		case 5:
			if len(n.attrs) >= maxAttributes {
				return nil, fmt.Errorf("more than %d attributes", maxAttributes)
			}
			a, err := parseAttr(val)
			if err != nil {
				return nil, fmt.Errorf("attribute: %w", err)
			}
			n.attrs[a.name] = a
		case 7:
			n.domain = string(val)
		}
	}
	if r.err == nil && len(n.outputs) == 0 {
		return nil, errors.New("a node without an output") // every operator has one; the converter relies on it
	}
	return n, r.err
}

func parseValueInfo(b []byte) (valueInfo, error) {
	var vi valueInfo
	r := &reader{b: b}
	for {
		num, _, val, _, ok := r.next()
		if !ok {
			break
		}
		switch num {
		case 1:
			vi.name = string(val)
		case 2: // TypeProto
			tr := &reader{b: val}
			for {
				num, _, val, _, ok := tr.next()
				if !ok {
					break
				}
				if num != 1 { // tensor_type
					continue
				}
				tt := &reader{b: val}
				for {
					num, _, val, v, ok := tt.next()
					if !ok {
						break
					}
					switch num {
					case 1:
						vi.dtype = int(v)
					case 2: // shape
						sr := &reader{b: val}
						for {
							num, _, val, _, ok := sr.next()
							if !ok {
								break
							}
							if num != 1 {
								continue
							}
							if len(vi.shape) >= maxRank {
								return vi, fmt.Errorf("value %q: rank over %d", vi.name, maxRank)
							}
							d := -1
							dr := &reader{b: val}
							for {
								num, _, _, v, ok := dr.next()
								if !ok {
									break
								}
								if num == 1 {
									d = int(min(v, maxElements+1))
								}
							}
							if dr.err != nil {
								return vi, dr.err
							}
							vi.shape = append(vi.shape, d)
						}
						if sr.err != nil {
							return vi, sr.err
						}
					}
				}
				if tt.err != nil {
					return vi, tt.err
				}
			}
			if tr.err != nil {
				return vi, tr.err
			}
		}
	}
	return vi, r.err
}

// parse reads a ModelProto's main graph.
func parse(data []byte) (*graph, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("onnx: %d bytes is over the %d-byte limit", len(data), MaxFileBytes)
	}
	g := &graph{inits: map[string]*tensor{}}
	var graphBytes []byte
	r := &reader{b: data}
	for {
		num, _, val, _, ok := r.next()
		if !ok {
			break
		}
		switch num {
		case 2:
			g.prod = string(val)
		case 7:
			graphBytes = val
		case 8:
			if err := g.opsetImport(val); err != nil {
				return nil, err
			}
		}
	}
	if r.err != nil {
		return nil, fmt.Errorf("onnx: not an ONNX model (the protobuf does not parse: %v)", r.err)
	}
	if graphBytes == nil {
		return nil, errors.New("onnx: no graph: not an ONNX model")
	}
	gr := &reader{b: graphBytes}
	for {
		num, _, val, _, ok := gr.next()
		if !ok {
			break
		}
		if err := g.graphField(num, val); err != nil {
			return nil, err
		}
	}
	if gr.err != nil {
		return nil, fmt.Errorf("onnx: graph: %w", gr.err)
	}
	return g, nil
}

// opsetImport reads one OperatorSetIdProto: the default domain's version
// is the model's opset.
func (g *graph) opsetImport(b []byte) error {
	or := &reader{b: b}
	domain, version := "", int64(0)
	for {
		num, _, val, v, ok := or.next()
		if !ok {
			break
		}
		if num == 1 {
			domain = string(val)
		} else if num == 2 {
			version = int64(v)
		}
	}
	if or.err != nil {
		return fmt.Errorf("onnx: opset import: %w", or.err)
	}
	if domain == "" || domain == "ai.onnx" {
		g.opset = version
	}
	return nil
}

// graphField reads one field of the GraphProto: a node, an initializer,
// a graph input or output; others are skipped.
func (g *graph) graphField(num protowire.Number, val []byte) error {
	switch num {
	case 1:
		if len(g.nodes) >= maxNodes {
			return fmt.Errorf("onnx: more than %d nodes", maxNodes)
		}
		n, err := parseNode(val, len(g.nodes))
		if err != nil {
			return fmt.Errorf("onnx: node %d: %w", len(g.nodes), err)
		}
		g.nodes = append(g.nodes, n)
	case 5:
		if len(g.inits) >= maxTensors {
			return fmt.Errorf("onnx: more than %d initializers", maxTensors)
		}
		t, err := parseTensor(val)
		if err != nil {
			return fmt.Errorf("onnx: initializer %d: %w", len(g.inits), err)
		}
		g.inits[t.name] = t
	case 11, 12:
		if len(g.inputs)+len(g.outputs) >= maxTensors {
			return errors.New("onnx: too many graph inputs and outputs")
		}
		vi, err := parseValueInfo(val)
		if err != nil {
			return fmt.Errorf("onnx: graph input or output: %w", err)
		}
		if num == 11 {
			g.inputs = append(g.inputs, vi)
		} else {
			g.outputs = append(g.outputs, vi)
		}
	}
	return nil
}
