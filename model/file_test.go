package model

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func encode(t testing.TB, m *Model) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := m.Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sameModel reports the first difference between two models' definitions
// and weights (bit for bit), or "".
func sameModel(a, b *Model) string {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		return "architecture JSON differs:\n" + string(ja) + "\n" + string(jb)
	}
	ta, tb := a.tensors(), b.tensors()
	for i := range ta {
		switch {
		case ta[i].f32 != nil:
			for j, v := range *ta[i].f32 {
				if math.Float32bits(v) != math.Float32bits((*tb[i].f32)[j]) {
					return ta[i].name + " differs"
				}
			}
		case ta[i].i8 != nil:
			if !bytes.Equal(int8Bytes(*ta[i].i8), int8Bytes(*tb[i].i8)) {
				return ta[i].name + " differs"
			}
		case ta[i].i32 != nil:
			for j, v := range *ta[i].i32 {
				if v != (*tb[i].i32)[j] {
					return ta[i].name + " differs"
				}
			}
		}
	}
	return ""
}

func int8Bytes(v []int8) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func TestFileRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	dir := t.TempDir()
	for name, build := range testModels() {
		m := randomWeights(build(), rng)
		m.Name = name
		m.Provenance = map[string]string{"trainer": "test", "seed": "11"}
		m.Apps = map[string]json.RawMessage{"anomaly": json.RawMessage(`{"threshold":0.25}`)}
		path := filepath.Join(dir, name+".edge")
		if err := m.Save(path); err != nil {
			t.Fatal(err)
		}
		got, err := Load(path)
		if err != nil {
			t.Fatal(err)
		}
		if d := sameModel(m, got); d != "" {
			t.Fatalf("%s: round trip: %s", name, d)
		}
		// The reloaded model computes the same bits.
		x := randomWindows(rng, m, 1)
		a, b := make([]float32, len(x)), make([]float32, len(x))
		s1, _ := m.NewSession(1)
		s2, _ := got.NewSession(1)
		_ = s1.Reconstruct(a, x)
		_ = s2.Reconstruct(b, x)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s: reloaded model output %d differs", name, i)
			}
		}
		// Writing again gives the same bytes.
		if !bytes.Equal(encode(t, m), encode(t, got)) {
			t.Fatalf("%s: re-encoding a loaded model changes the file", name)
		}
	}
}

// TestFileIsSafetensors checks the layout common tools expect: the header
// length, a JSON header whose tensors tile the data, 8-byte alignment.
func TestFileIsSafetensors(t *testing.T) {
	b := encode(t, randomWeights(testModels()["conv"](), rand.New(rand.NewPCG(1, 1))))
	n := binary.LittleEndian.Uint64(b)
	if (8+n)%8 != 0 {
		t.Errorf("data starts at %d, not 8-byte aligned", 8+n)
	}
	var h map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		t.Fatal(err)
	}
	var end int64
	for k, v := range h {
		if k == "__metadata__" {
			continue
		}
		var e tensorEntry
		if err := json.Unmarshal(v, &e); err != nil {
			t.Fatal(err)
		}
		end = max(end, e.DataOffsets[1])
	}
	if int64(len(b))-int64(8+n) != end {
		t.Errorf("data section is %d bytes, tensors end at %d", int64(len(b))-int64(8+n), end)
	}
}

func TestFileCorruption(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	good := encode(t, randomWeights(testModels()["conv"](), rng))
	hlen := int(binary.LittleEndian.Uint64(good))
	header := func(edit func(h map[string]any)) []byte {
		var h map[string]any
		if err := json.Unmarshal(good[8:8+hlen], &h); err != nil {
			t.Fatal(err)
		}
		edit(h)
		hj, _ := json.Marshal(h)
		out := binary.LittleEndian.AppendUint64(nil, uint64(len(hj)))
		return append(append(out, hj...), good[8+hlen:]...)
	}
	meta := func(h map[string]any) map[string]any { return h["__metadata__"].(map[string]any) }
	archEdit := func(edit func(a map[string]any)) func(h map[string]any) {
		return func(h map[string]any) {
			var a map[string]any
			_ = json.Unmarshal([]byte(meta(h)["model"].(string)), &a)
			edit(a)
			j, _ := json.Marshal(a)
			meta(h)["model"] = string(j)
			meta(h)["sha256"] = sha256Hex(j, good[8+hlen:]) // so that validation is reached
		}
	}
	flip := append([]byte(nil), good...)
	flip[len(flip)-3] ^= 0x10
	cases := map[string]struct {
		file []byte
		want string
	}{
		"empty":          {nil, "truncated"},
		"short header":   {good[:20], "truncated"},
		"truncated data": {good[:len(good)-7], "truncated"},
		"trailing bytes": {append(append([]byte(nil), good...), 1, 2, 3), "trailing"},
		"flipped bit":    {flip, "checksum"},
		"huge header":    {binary.LittleEndian.AppendUint64(nil, 1<<40), "header length"},
		"not json":       {append(binary.LittleEndian.AppendUint64(nil, 4), []byte("{{{{")...), "JSON"},
		"no metadata":    {header(func(h map[string]any) { delete(h, "__metadata__") }), "__metadata__"},
		"wrong format":   {header(func(h map[string]any) { meta(h)["format"] = "onnx" }), "format"},
		"future version": {header(func(h map[string]any) { meta(h)["format_version"] = "9" }), "newer"},
		"bad checksum":   {header(func(h map[string]any) { meta(h)["sha256"] = "00" }), "checksum"},
		"missing tensor": {header(func(h map[string]any) { delete(h, "encoder.0.bias") }), "tensors"},
		"extra tensor": {header(func(h map[string]any) {
			h["x"] = map[string]any{"dtype": "F32", "shape": []int{1}, "data_offsets": []int{0, 4}}
		}), "tensors"},
		"wrong dtype":      {header(func(h map[string]any) { h["encoder.0.bias"].(map[string]any)["dtype"] = "I8" }), "dtype"},
		"wrong shape":      {header(func(h map[string]any) { h["encoder.0.weight"].(map[string]any)["shape"] = []int{8, 20} }), "shape"},
		"huge offsets":     {header(func(h map[string]any) { h["encoder.0.bias"].(map[string]any)["data_offsets"] = []int64{0, 1 << 50} }), "data_offsets"},
		"negative offsets": {header(func(h map[string]any) { h["encoder.0.bias"].(map[string]any)["data_offsets"] = []int64{-32, 0} }), "data_offsets"},
		"overlap": {header(func(h map[string]any) {
			h["encoder.0.bias"].(map[string]any)["data_offsets"] = h["encoder.0.weight"].(map[string]any)["data_offsets"]
		}), "data_offsets"},
		"negative dimension": {header(archEdit(func(a map[string]any) { a["steps"] = -4 })), "steps"},
		"huge dimension":     {header(archEdit(func(a map[string]any) { a["channels"] = int64(1) << 40 })), "channels"},
		"unknown field":      {header(archEdit(func(a map[string]any) { a["colour"] = "red" })), "unknown field"},
		"bad layer":          {header(archEdit(func(a map[string]any) { a["encoder"].([]any)[0].(map[string]any)["kernel"] = 0 })), "kernel"},
		"nan normalisation": {header(archEdit(func(a map[string]any) {
			a["normalization"].(map[string]any)["scale"] = []any{0, 1, 1, 1}
		})), "normalization"},
	}
	sentinels := map[string]error{"empty": ErrTruncated, "short header": ErrTruncated, "truncated data": ErrTruncated,
		"flipped bit": ErrChecksum, "bad checksum": ErrChecksum, "huge header": ErrLimit, "not json": ErrNotModel,
		"no metadata": ErrNotModel, "wrong format": ErrNotModel, "future version": ErrTooNew}
	for name, c := range cases {
		_, err := Read(bytes.NewReader(c.file))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
		if want := sentinels[name]; want != nil && !errors.Is(err, want) {
			t.Errorf("%s: error %v is not %v", name, err, want)
		}
	}
	// Quantisation scales must be positive: NaN cannot be written as JSON,
	// so use a negative one.
	q := quantizedTestModel(t)
	q.InputQ.Scale = -1
	b := encodeUnchecked(t, q)
	if _, err := Read(bytes.NewReader(b)); err == nil || !strings.Contains(err.Error(), "scale") {
		t.Errorf("negative quantisation scale: %v", err)
	}
}

// encodeUnchecked writes a model without validating it first, to build
// broken files.
func encodeUnchecked(t testing.TB, m *Model) []byte {
	t.Helper()
	saved := *m.InputQ
	m.InputQ.Scale = 1
	b := encode(t, m)
	*m.InputQ = saved
	hlen := int(binary.LittleEndian.Uint64(b))
	var h map[string]any
	_ = json.Unmarshal(b[8:8+hlen], &h)
	meta := h["__metadata__"].(map[string]any)
	var a map[string]any
	_ = json.Unmarshal([]byte(meta["model"].(string)), &a)
	a["input_q"].(map[string]any)["scale"] = saved.Scale
	j, _ := json.Marshal(a)
	meta["model"] = string(j)
	data := b[8+hlen:]
	sum := sha256Hex(j, data)
	meta["sha256"] = sum
	hj, _ := json.Marshal(h)
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(hj)))
	return append(append(out, hj...), data...)
}

// TestFileTruncatedHugeAllocatesLittle: a header that declares 262 MB of
// tensors on a file that holds a few bytes costs about the bytes present.
func TestFileTruncatedHugeAllocatesLittle(t *testing.T) {
	const in, lat = 1 << 16, 500
	m := &Model{Steps: 1024, Channels: 64,
		Encoder: []Layer{{Kind: Dense, In: in, Out: lat}},
		Decoder: []Layer{{Kind: Dense, In: lat, Out: in}}}
	arch, _ := json.Marshal(m)
	w := int64(in*lat) * 4
	h := map[string]any{
		"__metadata__":     map[string]string{"format": FormatName, "format_version": "1", "model": string(arch), "sha256": "x"},
		"encoder.0.weight": tensorEntry{"F32", []int64{lat, in}, [2]int64{0, w}},
		"encoder.0.bias":   tensorEntry{"F32", []int64{lat}, [2]int64{w, w + 4*lat}},
		"decoder.0.weight": tensorEntry{"F32", []int64{in, lat}, [2]int64{w + 4*lat, 2*w + 4*lat}},
		"decoder.0.bias":   tensorEntry{"F32", []int64{in}, [2]int64{2*w + 4*lat, 2*w + 4*lat + 4*in}},
	}
	hj, _ := json.Marshal(h)
	file := append(binary.LittleEndian.AppendUint64(nil, uint64(len(hj))), hj...)
	file = append(file, make([]byte, 100)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := Read(bytes.NewReader(file))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Fatalf("error %v, want truncated", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("reading a truncated %d-byte file allocated %d bytes", len(file), grew)
	}
}

// FuzzRead feeds the loader mutated model files: it must return a model
// that validates, or an error, and never panic. Run it with a short
// minimisation time, since model files are kilobytes long:
//
//	go test -run XXX -fuzz FuzzRead -fuzzminimizetime 2s ./model
func FuzzRead(f *testing.F) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, name := range []string{"dense", "vae", "conv"} {
		f.Add(encode(f, randomWeights(testModels()[name](), rng)))
	}
	f.Add(encode(f, quantizedTestModel(f)))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Read(bytes.NewReader(b))
		if err != nil {
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("Read accepted a model that does not validate: %v", err)
		}
		if _, err := m.NewSession(1); err != nil {
			t.Fatalf("Read accepted a model that cannot run: %v", err)
		}
	})
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "none.edge")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

// TestFormatDocExample rebuilds the worked example of docs/model-format.md
// and checks the figures the page quotes.
func TestFormatDocExample(t *testing.T) {
	m := &Model{Name: "example", Steps: 4, Channels: 2,
		Norm: Normalization{Kind: NormMeanStd, Shift: []float32{20, 0}, Scale: []float32{5, 1}},
		Encoder: []Layer{{Kind: Dense, In: 8, Out: 2, Act: ReLU,
			W: []float32{0.25, 0, 0.25, 0, 0.25, 0, 0.25, 0, 0, 0.25, 0, 0.25, 0, 0.25, 0, 0.25}, B: []float32{0, 0}}},
		Decoder:    []Layer{{Kind: Dense, In: 2, Out: 8, W: []float32{1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1}, B: make([]float32, 8)}},
		Apps:       map[string]json.RawMessage{"anomaly": json.RawMessage(`{"threshold":0.5}`)},
		Provenance: map[string]string{"trainer": "hand-written"}}
	b := encode(t, m)
	if len(b) != 952 || binary.LittleEndian.Uint64(b) != 776 {
		t.Errorf("example is %d bytes with a %d-byte header; the doc says 952 and 776", len(b), binary.LittleEndian.Uint64(b))
	}
	if !bytes.HasPrefix(b, []byte{0x08, 0x03, 0, 0, 0, 0, 0, 0, '{', '"', '_', '_', 'm', 'e', 't', 'a'}) {
		t.Errorf("first bytes % x differ from the doc", b[:16])
	}
	if !bytes.Contains(b, []byte("559dd6340f0e519b645834b5e9a7b44e1764557d4d4d8664ca022c20ff371a37")) {
		t.Error("the example's sha256 differs from the doc")
	}
	doc, err := os.ReadFile("../docs/model-format.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte("559dd6340f0e519b645834b5e9a7b44e1764557d4d4d8664ca022c20ff371a37")) {
		t.Error("docs/model-format.md no longer quotes the example's sha256")
	}
}

// TestReadChecksRequantisation: a quantised model whose requantisation
// scale underflows (an output scale far larger than input × weight
// scale) is refused on load, before any weights are packed.
func TestReadChecksRequantisation(t *testing.T) {
	q := quantizedTestModel(t)
	var l *Layer
	for i := 0; i+1 < len(q.Encoder); i++ { // an encoder layer before the code writes int8
		if q.Encoder[i].QW != nil && q.Encoder[i+1].QW != nil {
			l = &q.Encoder[i]
			break
		}
	}
	if l == nil {
		t.Fatal("no int8 layer with an int8 output")
	}
	bad := *l.OutQ
	bad.Scale = 3e38
	l.OutQ = &bad
	if l.PreQ != nil {
		pre := *l.PreQ
		pre.Scale = 3e38
		l.PreQ = &pre
	}
	var buf bytes.Buffer
	if err := q.Write(&buf); err != nil {
		t.Fatalf("writing: %v", err)
	}
	if _, err := Read(&buf); err == nil || !strings.Contains(err.Error(), "requantisation scale") {
		t.Errorf("a model whose requantisation scale underflows was read: %v", err)
	}
}
