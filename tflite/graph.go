package tflite

import (
	"fmt"
)

// Limits on what a file may declare, checked before anything is built from
// it: far above any autoencoder, far below what would exhaust a device.
const (
	MaxFileBytes = 256 << 20
	maxTensors   = 1 << 16
	maxOperators = 1 << 14
	maxRank      = 8
	maxElements  = 1 << 26
)

// Tensor types (TensorType in the TFLite schema).
const (
	typeFloat32 = 0
	typeInt32   = 2
	typeInt8    = 9
)

// Builtin operators the importer knows (BuiltinOperator in the schema).
const (
	opConv2D         = 3
	opDequantize     = 6
	opFullyConnected = 9
	opLogistic       = 14
	opRelu           = 19
	opReshape        = 22
	opTanh           = 28
	opLeakyRelu      = 98
	opQuantize       = 114
)

// opNames names the builtin operators in messages.
var opNames = map[int32]string{0: "ADD", 1: "AVERAGE_POOL_2D", 2: "CONCATENATION", 3: "CONV_2D", 4: "DEPTHWISE_CONV_2D",
	6: "DEQUANTIZE", 9: "FULLY_CONNECTED", 14: "LOGISTIC", 17: "MAX_POOL_2D", 18: "MUL", 19: "RELU", 21: "RELU6",
	22: "RESHAPE", 25: "SOFTMAX", 28: "TANH", 32: "CUSTOM", 34: "PAD", 39: "TRANSPOSE", 40: "MEAN", 41: "SUB",
	43: "SQUEEZE", 67: "TRANSPOSE_CONV", 70: "EXPAND_DIMS", 98: "LEAKY_RELU", 114: "QUANTIZE", 126: "BATCH_MATMUL"}

func opName(code int32) string {
	if n, ok := opNames[code]; ok {
		return n
	}
	return fmt.Sprintf("builtin operator %d", code)
}

// Fused activations (ActivationFunctionType).
const (
	actNone = 0
	actRelu = 1
)

// tensor is one tensor of the graph.
type tensor struct {
	index  int
	name   string
	shape  []int
	typ    byte
	data   []byte // constant data, or nil
	scale  []float32
	zero   []int64
	qdim   int
	hasQ   bool
	consts bool
}

// elements returns the number of values the shape holds.
func (t *tensor) elements() int {
	n := 1
	for _, d := range t.shape {
		n *= d
	}
	return n
}

// operator is one node of the graph.
type operator struct {
	index   int
	code    int32
	inputs  []int
	outputs []int
	opts    table
	hasOpts bool
}

// graph is the main subgraph of a model.
type graph struct {
	tensors []*tensor
	ops     []*operator
	inputs  []int
	outputs []int
	desc    string
}

// parse reads the model's first subgraph.
func parse(data []byte) (*graph, error) {
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("tflite: %d bytes is over the %d-byte limit", len(data), MaxFileBytes)
	}
	if len(data) < 8 {
		return nil, fmt.Errorf("tflite: %d bytes is too short for a model", len(data))
	}
	if string(data[4:8]) != "TFL3" {
		return nil, fmt.Errorf("tflite: no TFL3 identifier at bytes 4-7 (found %q): not a TFLite model", data[4:8])
	}
	b := buf(data)
	root, err := b.u32(0)
	if err != nil {
		return nil, err
	}
	m, err := b.tableAt(int(root))
	if err != nil {
		return nil, fmt.Errorf("tflite: the model table: %w", err)
	}
	g := &graph{}
	if g.desc, err = m.stringField(3); err != nil {
		return nil, err
	}
	codes, err := readCodes(m)
	if err != nil {
		return nil, err
	}
	bufsV, err := m.vectorField(4, 4)
	if err != nil {
		return nil, fmt.Errorf("tflite: buffers: %w", err)
	}
	if bufsV.n > maxTensors {
		return nil, fmt.Errorf("tflite: %d buffers (limit %d)", bufsV.n, maxTensors)
	}
	subs, err := m.vectorField(2, 4)
	if err != nil {
		return nil, fmt.Errorf("tflite: subgraphs: %w", err)
	}
	if subs.n != 1 {
		return nil, fmt.Errorf("tflite: %d subgraphs; edge imports models with exactly one", subs.n)
	}
	sg, err := subs.table(0)
	if err != nil {
		return nil, fmt.Errorf("tflite: subgraph 0: %w", err)
	}
	if err := g.readTensors(sg, bufsV); err != nil {
		return nil, err
	}
	if err := g.readOps(sg, codes); err != nil {
		return nil, err
	}
	return g, nil
}

// readCodes reads the operator codes (-1 for a custom operator).
func readCodes(m table) ([]int32, error) {
	codesV, err := m.vectorField(1, 4)
	if err != nil {
		return nil, fmt.Errorf("tflite: operator codes: %w", err)
	}
	if codesV.n > maxOperators {
		return nil, fmt.Errorf("tflite: %d operator codes (limit %d)", codesV.n, maxOperators)
	}
	codes := make([]int32, codesV.n)
	for i := range codes {
		c, err := codesV.table(i)
		if err != nil {
			return nil, fmt.Errorf("tflite: operator code %d: %w", i, err)
		}
		dep, err := c.byteField(0, 0)
		if err != nil {
			return nil, err
		}
		code, err := c.int32Field(3, 0)
		if err != nil {
			return nil, err
		}
		codes[i] = max(int32(int8(dep)), code)
		if custom, _ := c.stringField(1); custom != "" {
			codes[i] = -1
		}
	}
	return codes, nil
}

// readTensors reads the subgraph's tensors, inputs and outputs.
func (g *graph) readTensors(sg table, bufsV vector) error {
	tv, err := sg.vectorField(0, 4)
	if err != nil {
		return fmt.Errorf("tflite: tensors: %w", err)
	}
	if tv.n > maxTensors {
		return fmt.Errorf("tflite: %d tensors (limit %d)", tv.n, maxTensors)
	}
	g.tensors = make([]*tensor, tv.n)
	for i := range g.tensors {
		if g.tensors[i], err = readTensor(tv, i, bufsV); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		field int
		dst   *[]int
		what  string
	}{{1, &g.inputs, "inputs"}, {2, &g.outputs, "outputs"}} {
		v, err := sg.vectorField(f.field, 4)
		if err != nil {
			return fmt.Errorf("tflite: subgraph %s: %w", f.what, err)
		}
		if v.n > maxTensors {
			return fmt.Errorf("tflite: %d subgraph %s", v.n, f.what)
		}
		*f.dst = v.ints()
		for _, t := range *f.dst {
			if t < 0 || t >= len(g.tensors) {
				return fmt.Errorf("tflite: subgraph %s name tensor %d of %d", f.what, t, len(g.tensors))
			}
		}
	}
	return nil
}

// readOps reads the subgraph's operators.
func (g *graph) readOps(sg table, codes []int32) error {
	ov, err := sg.vectorField(3, 4)
	if err != nil {
		return fmt.Errorf("tflite: operators: %w", err)
	}
	if ov.n > maxOperators {
		return fmt.Errorf("tflite: %d operators (limit %d)", ov.n, maxOperators)
	}
	g.ops = make([]*operator, ov.n)
	for i := range g.ops {
		if g.ops[i], err = g.readOp(ov, i, codes); err != nil {
			return err
		}
	}
	return nil
}

// readOp reads operator i: its code, tensors and options.
func (g *graph) readOp(ov vector, i int, codes []int32) (*operator, error) {
	t, err := ov.table(i)
	if err != nil {
		return nil, fmt.Errorf("tflite: operator %d: %w", i, err)
	}
	op := &operator{index: i}
	ci, err := t.uint32Field(0, 0)
	if err != nil {
		return nil, err
	}
	if int(ci) >= len(codes) {
		return nil, fmt.Errorf("tflite: operator %d: opcode index %d of %d", i, ci, len(codes))
	}
	op.code = codes[ci]
	for _, f := range []struct {
		field int
		dst   *[]int
	}{{1, &op.inputs}, {2, &op.outputs}} {
		v, err := t.vectorField(f.field, 4)
		if err != nil {
			return nil, fmt.Errorf("tflite: operator %d: %w", i, err)
		}
		if v.n > 16 {
			return nil, fmt.Errorf("tflite: operator %d (%s) has %d tensors on one side", i, opName(op.code), v.n)
		}
		*f.dst = v.ints()
		for _, x := range *f.dst {
			if x < -1 || x >= len(g.tensors) {
				return nil, fmt.Errorf("tflite: operator %d (%s) names tensor %d of %d", i, opName(op.code), x, len(g.tensors))
			}
		}
	}
	if op.opts, op.hasOpts, err = t.subtable(4); err != nil {
		return nil, fmt.Errorf("tflite: operator %d (%s) options: %w", i, opName(op.code), err)
	}
	return op, nil
}

// readTensor reads tensor i and its constant data.
func readTensor(tv vector, i int, bufs vector) (*tensor, error) {
	t, err := tv.table(i)
	if err != nil {
		return nil, fmt.Errorf("tflite: tensor %d: %w", i, err)
	}
	x := &tensor{index: i}
	if err := x.read(t, bufs); err != nil {
		return nil, fmt.Errorf("tflite: tensor %d (%s): %w", i, x.name, err)
	}
	return x, nil
}

// read fills x from its table: name, shape, type, data, quantisation.
func (x *tensor) read(t table, bufs vector) error {
	var err error
	if x.name, err = t.stringField(3); err != nil {
		return err
	}
	if err := x.readShape(t); err != nil {
		return err
	}
	if x.typ, err = t.byteField(1, 0); err != nil {
		return err
	}
	bi, err := t.uint32Field(2, 0)
	if err != nil {
		return err
	}
	if err := x.readBuffer(bufs, bi); err != nil {
		return err
	}
	q, ok, err := t.subtable(4)
	if err != nil {
		return fmt.Errorf("quantization: %w", err)
	}
	if ok {
		return x.readQuant(q)
	}
	return nil
}

// readShape reads the shape, within the rank and size limits.
func (x *tensor) readShape(t table) error {
	sv, err := t.vectorField(0, 4)
	if err != nil {
		return err
	}
	if sv.n > maxRank {
		return fmt.Errorf("rank %d (limit %d)", sv.n, maxRank)
	}
	x.shape = sv.ints()
	n := 1
	for _, d := range x.shape {
		if d < 0 || d > maxElements {
			return fmt.Errorf("dimension %d in shape %v", d, x.shape)
		}
		n *= d
		if n > maxElements {
			return fmt.Errorf("shape %v holds more than %d values", x.shape, maxElements)
		}
	}
	return nil
}

// readBuffer takes the tensor's constant data from buffer bi (0: none).
func (x *tensor) readBuffer(bufs vector, bi uint32) error {
	if bi == 0 {
		return nil
	}
	if int(bi) >= bufs.n {
		return fmt.Errorf("buffer %d of %d", bi, bufs.n)
	}
	bt, err := bufs.table(int(bi))
	if err != nil {
		return fmt.Errorf("buffer %d: %w", bi, err)
	}
	dv, err := bt.vectorField(0, 1)
	if err != nil {
		return fmt.Errorf("buffer %d: %w", bi, err)
	}
	if off, _ := bt.uint32Field(1, 0); off > 1 {
		return fmt.Errorf("buffer %d is stored outside the flatbuffer (models over 2 GB); not supported", bi)
	}
	if dv.n > 0 {
		x.data = dv.bytes()
		x.consts = true
	}
	return nil
}

// readQuant reads the quantisation parameters: scales, zero points and
// the quantised dimension.
func (x *tensor) readQuant(q table) error {
	sc, err := q.vectorField(2, 4)
	if err != nil {
		return err
	}
	zp, err := q.vectorField(3, 8)
	if err != nil {
		return err
	}
	if sc.n > maxElements/4 || zp.n > maxElements/4 {
		return fmt.Errorf("%d scales", sc.n)
	}
	if sc.n == 0 {
		return nil
	}
	x.hasQ = true
	x.scale = make([]float32, sc.n)
	for j := range x.scale {
		x.scale[j] = sc.float32(j)
	}
	x.zero = make([]int64, zp.n)
	for j := range x.zero {
		x.zero[j] = zp.int64(j)
	}
	qd, err := q.int32Field(6, 0)
	if err != nil {
		return err
	}
	x.qdim = int(qd)
	return nil
}
