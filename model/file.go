package model

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/edgeml/edge/internal/atomicfile"
)

// The model file is a safetensors file (docs/model-format.md): an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype,
// shape and byte range, then the tensors' bytes, little-endian. The
// header's __metadata__ carries edge's part: the format name and version,
// the model's architecture and settings as JSON (weights excluded), and a
// SHA-256 over that JSON and the tensor bytes. Tools that read safetensors
// see the weights; edge also checks that they match the architecture.
const (
	// FormatName identifies edge model files in the metadata.
	FormatName = "edge-model"
	// FormatVersion is the version this package writes and the newest it reads.
	FormatVersion = 1

	// MaxHeaderBytes bounds the JSON header.
	MaxHeaderBytes = 16 << 20
	// MaxFileBytes bounds the tensor data.
	MaxFileBytes = 1 << 29
	// maxTensors bounds the tensor table.
	maxTensors = 8 * 2 * MaxLayers
)

type tensorEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int64  `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// tensorSpec is a tensor the architecture calls for.
type tensorSpec struct {
	name  string
	dtype string
	shape []int64
	f32   *[]float32
	i8    *[]int8
	i32   *[]int32
}

func (t tensorSpec) elems() int64 {
	n := int64(1)
	for _, d := range t.shape {
		n *= d
	}
	return n
}

func dtypeSize(d string) int64 {
	switch d {
	case "F32", "I32":
		return 4
	case "I8":
		return 1
	}
	return 0
}

// tensors lists the tensors the model's layers hold, in file order.
func (m *Model) tensors() []tensorSpec {
	var out []tensorSpec
	for _, part := range []struct {
		name   string
		layers []Layer
	}{{"encoder", m.Encoder}, {"decoder", m.Decoder}} {
		for i := range part.layers {
			l := &part.layers[i]
			if l.Kind == Reshape {
				continue
			}
			ws := []int64{int64(l.Out), int64(l.In)}
			if l.Kind != Dense {
				ws = []int64{int64(l.Out), int64(l.Kernel), int64(l.In)}
			}
			p := fmt.Sprintf("%s.%d.", part.name, i)
			if l.QW != nil {
				out = append(out, tensorSpec{name: p + "qweight", dtype: "I8", shape: ws, i8: &l.QW},
					tensorSpec{name: p + "qbias", dtype: "I32", shape: []int64{int64(l.Out)}, i32: &l.QB})
			} else {
				out = append(out, tensorSpec{name: p + "weight", dtype: "F32", shape: ws, f32: &l.W},
					tensorSpec{name: p + "bias", dtype: "F32", shape: []int64{int64(l.Out)}, f32: &l.B})
			}
		}
	}
	return out
}

// Save writes the model to a file (see Write), atomically: a crash or a
// full disk leaves the old file whole, never a torn one.
func (m *Model) Save(path string) error {
	return atomicfile.Write(path, 0o644, m.Write)
}

// Write validates the model and writes it in the model file format.
func (m *Model) Write(w io.Writer) error {
	if err := m.Validate(); err != nil {
		return err
	}
	arch, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("model: encoding the architecture: %w", err)
	}
	var data bytes.Buffer
	header := map[string]any{}
	for _, t := range m.tensors() {
		begin := int64(data.Len())
		switch {
		case t.f32 != nil:
			for _, v := range *t.f32 {
				data.Write(binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)))
			}
		case t.i8 != nil:
			for _, v := range *t.i8 {
				data.WriteByte(byte(v))
			}
		case t.i32 != nil:
			for _, v := range *t.i32 {
				data.Write(binary.LittleEndian.AppendUint32(nil, uint32(v)))
			}
		}
		header[t.name] = tensorEntry{Dtype: t.dtype, Shape: t.shape, DataOffsets: [2]int64{begin, int64(data.Len())}}
	}
	sum := sha256.New()
	sum.Write(arch)
	sum.Write(data.Bytes())
	header["__metadata__"] = map[string]string{
		"format":         FormatName,
		"format_version": strconv.Itoa(FormatVersion),
		"model":          string(arch),
		"sha256":         hex.EncodeToString(sum.Sum(nil)),
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("model: encoding the header: %w", err)
	}
	for len(hj)%8 != 0 { // the data starts 8-byte aligned; safetensors pads with spaces
		hj = append(hj, ' ')
	}
	if len(hj) > MaxHeaderBytes || data.Len() > MaxFileBytes {
		return fmt.Errorf("model: header of %d bytes or data of %d bytes beyond the limits", len(hj), data.Len())
	}
	var n [8]byte
	binary.LittleEndian.PutUint64(n[:], uint64(len(hj)))
	for _, b := range [][]byte{n[:], hj, data.Bytes()} {
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}

// Load reads, validates and prepares a model file (see Read).
func Load(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := Read(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// Read reads a model file from r, validating everything before any large
// allocation: the header's size and syntax, the format and version, the
// architecture and its limits, that the tensor table holds exactly the
// tensors the architecture needs with the right types, shapes and byte
// ranges, the checksum, and finally the values (finite weights, positive
// scales, and requantisation scales that packing accepts). It returns the
// model's data: nothing is kept compiled (Compile, or NewSession, compiles
// it for a kernel family). Every failure is
// an error saying what is wrong; a corrupt or hostile file cannot make it
// panic or allocate beyond MaxHeaderBytes plus the bytes actually present
// (at most MaxFileBytes).
func Read(r io.Reader) (*Model, error) {
	raw, err := readHeader(r)
	if err != nil {
		return nil, err
	}
	m, meta, err := decodeMeta(raw)
	if err != nil {
		return nil, err
	}
	specs, total, err := tensorTable(m, raw)
	if err != nil {
		return nil, err
	}
	data, err := readData(r, total, meta)
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		var t tensorEntry
		_ = json.Unmarshal(raw[s.name], &t) // decoded once already
		s.set(data[t.DataOffsets[0]:t.DataOffsets[1]])
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	if err := checkCompiles(m); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	return m, nil
}

// readHeader reads the header's length and its JSON object, within the
// limits.
func readHeader(r io.Reader) (map[string]json.RawMessage, error) {
	var n [8]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, fmt.Errorf("model file: reading the header length: %w", noEOF(err))
	}
	hlen := binary.LittleEndian.Uint64(n[:])
	if hlen < 2 {
		return nil, fmt.Errorf("model file: header length %d: %w", hlen, ErrNotModel)
	}
	if hlen > MaxHeaderBytes {
		return nil, fmt.Errorf("model file: header length %d: %w of %d bytes (not a model file?)", hlen, ErrLimit, MaxHeaderBytes)
	}
	hj := make([]byte, hlen)
	if _, err := io.ReadFull(r, hj); err != nil {
		return nil, fmt.Errorf("model file: reading the %d-byte header: %w", hlen, noEOF(err))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hj, &raw); err != nil {
		return nil, fmt.Errorf("model file: header is not a JSON object (%w): %w", ErrNotModel, err)
	}
	if len(raw) > maxTensors+1 {
		return nil, fmt.Errorf("model file: %d header entries: %w of %d", len(raw), ErrLimit, maxTensors+1)
	}
	return raw, nil
}

// decodeMeta checks the header's metadata (format, version) and decodes
// the architecture, marking the int8 layers the tensors show.
func decodeMeta(raw map[string]json.RawMessage) (*Model, map[string]string, error) {
	var meta map[string]string
	if err := json.Unmarshal(raw["__metadata__"], &meta); err != nil || meta == nil {
		return nil, nil, fmt.Errorf("model file: header has no __metadata__ object of strings (a safetensors file, but %w?)", ErrNotModel)
	}
	if meta["format"] != FormatName {
		return nil, nil, fmt.Errorf("model file: metadata format %q, want %q: %w", meta["format"], FormatName, ErrNotModel)
	}
	v, err := strconv.Atoi(meta["format_version"])
	if err != nil || v < 1 {
		return nil, nil, fmt.Errorf("model file: bad format_version %q", meta["format_version"])
	}
	if v > FormatVersion {
		return nil, nil, fmt.Errorf("model file: format_version %d: %w (this edge reads up to %d)", v, ErrTooNew, FormatVersion)
	}
	m := &Model{}
	dec := json.NewDecoder(strings.NewReader(meta["model"]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return nil, nil, fmt.Errorf("model file: metadata model: %w", err)
	}
	if _, err := m.shapes(); err != nil {
		return nil, nil, fmt.Errorf("model file: %w", err)
	}
	if m.Quantized() || m.LatentQ != nil {
		// int8 layers are marked by their tensors; mark them before listing.
		for _, layers := range [][]Layer{m.Encoder, m.Decoder} {
			for i := range layers {
				if _, ok := raw[tensorPrefix(m, layers, i)+"qweight"]; ok {
					layers[i].QW = []int8{}
				}
			}
		}
	}
	return m, meta, nil
}

// tensorTable checks that the header lists exactly the tensors the
// architecture needs, with their types and shapes, tiling the data, and
// returns them and the data's size.
func tensorTable(m *Model, raw map[string]json.RawMessage) ([]tensorSpec, int64, error) {
	specs := m.tensors()
	if len(raw)-1 != len(specs) {
		names := make([]string, 0, len(raw))
		for k := range raw {
			if k != "__metadata__" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		return nil, 0, fmt.Errorf("model file: %d tensors (%s), the architecture needs %d", len(names), strings.Join(names, ", "), len(specs))
	}
	type span struct {
		b, e int64
		i    int
	}
	spans := make([]span, len(specs))
	var total int64
	for i, s := range specs {
		b, e, err := s.entry(raw)
		if err != nil {
			return nil, 0, fmt.Errorf("model file: tensor %s%w", s.name, err)
		}
		spans[i] = span{b, e, i}
		total += e - b
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].b < spans[b].b })
	var at int64
	for _, s := range spans {
		if s.b != at {
			return nil, 0, fmt.Errorf("model file: tensor %s starts at byte %d; tensors must tile the data without gaps or overlaps (expected %d)", specs[s.i].name, s.b, at)
		}
		at = s.e
	}
	if total > MaxFileBytes {
		return nil, 0, fmt.Errorf("model file: %d bytes of tensors: %w of %d", total, ErrLimit, MaxFileBytes)
	}
	return specs, total, nil
}

// entry decodes the tensor's header entry and returns its byte range; an
// error reads after the tensor's name.
func (s tensorSpec) entry(raw map[string]json.RawMessage) (int64, int64, error) {
	rj, ok := raw[s.name]
	if !ok {
		return 0, 0, errors.New(" missing")
	}
	var t tensorEntry
	d := json.NewDecoder(bytes.NewReader(rj))
	d.DisallowUnknownFields()
	if err := d.Decode(&t); err != nil {
		return 0, 0, fmt.Errorf(": %w", err)
	}
	if t.Dtype != s.dtype {
		return 0, 0, fmt.Errorf(" has dtype %s, want %s", t.Dtype, s.dtype)
	}
	if !slices.Equal(t.Shape, s.shape) {
		return 0, 0, fmt.Errorf(" has shape %v, want %v", t.Shape, s.shape)
	}
	b, e := t.DataOffsets[0], t.DataOffsets[1]
	if b < 0 || e < b || e > MaxFileBytes || e-b != s.elems()*dtypeSize(s.dtype) {
		return 0, 0, fmt.Errorf(": data_offsets [%d, %d) do not hold %d %s values", b, e, s.elems(), s.dtype)
	}
	return b, e, nil
}

// readData reads the tensors' bytes, exactly total of them, and checks
// them and the architecture against the checksum.
func readData(r io.Reader, total int64, meta map[string]string) ([]byte, error) {
	// Read what is there (up to the declared size), so a truncated file
	// costs only the bytes it has.
	data, err := io.ReadAll(io.LimitReader(r, total+1))
	if err != nil {
		return nil, fmt.Errorf("model file: reading the tensors: %w", err)
	}
	if int64(len(data)) > total {
		return nil, fmt.Errorf("model file: trailing bytes after the %d bytes of tensors", total)
	}
	if int64(len(data)) < total {
		return nil, fmt.Errorf("model file: %w: %d of %d tensor bytes present", ErrTruncated, len(data), total)
	}
	sum := sha256.New()
	sum.Write([]byte(meta["model"]))
	sum.Write(data)
	if got := hex.EncodeToString(sum.Sum(nil)); got != meta["sha256"] {
		return nil, fmt.Errorf("model file: %w (sha256 %s, the file says %q): corrupted", ErrChecksum, got, meta["sha256"])
	}
	return data, nil
}

// set decodes the tensor's little-endian bytes into its field.
func (s tensorSpec) set(b []byte) {
	switch {
	case s.f32 != nil:
		v := make([]float32, len(b)/4)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
		*s.f32 = v
	case s.i8 != nil:
		v := make([]int8, len(b))
		for j := range v {
			v[j] = int8(b[j])
		}
		*s.i8 = v
	case s.i32 != nil:
		v := make([]int32, len(b)/4)
		for j := range v {
			v[j] = int32(binary.LittleEndian.Uint32(b[4*j:]))
		}
		*s.i32 = v
	}
}

func tensorPrefix(m *Model, layers []Layer, i int) string {
	part := "decoder"
	if len(m.Encoder) > 0 && &layers[0] == &m.Encoder[0] {
		part = "encoder"
	}
	return fmt.Sprintf("%s.%d.", part, i)
}

func noEOF(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("file ends early (%w)", ErrTruncated)
	}
	return err
}
