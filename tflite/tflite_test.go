package tflite

import (
	"bytes"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeml/edge/internal/mutate"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/quant"
)

func randn(rng *rand.Rand, n int, s float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(s * rng.NormFloat64())
	}
	return v
}

// denseAE is a float32 dense autoencoder 12-6-3-6-12 over 3 steps x 4 channels.
func denseAE(rng *rand.Rand) *model.Model {
	l := func(in, out int, act model.Activation) model.Layer {
		return model.Layer{Kind: model.Dense, In: in, Out: out, Act: act, W: randn(rng, in*out, 1/math.Sqrt(float64(in))), B: randn(rng, out, 0.1)}
	}
	return &model.Model{Steps: 3, Channels: 4, Norm: model.Normalization{Kind: model.NormNone},
		Encoder: []model.Layer{l(12, 6, model.ReLU), l(6, 3, model.ReLU)},
		Decoder: []model.Layer{l(3, 6, model.ReLU), l(6, 12, model.Identity)}}
}

// fcOpts is FullyConnectedOptions with a fused activation.
func fcOpts(act model.Activation) fbTable {
	if act == model.ReLU {
		return fbTable{fbU8(actRelu)}
	}
	return fbTable{fbU8(actNone)}
}

// exportFloat writes a float32 dense model as TFLite.
func exportFloat(m *model.Model) []byte {
	t := newTFL()
	layers := append(append([]model.Layer{}, m.Encoder...), m.Decoder...)
	in := t.tensor("input", typeFloat32, []int32{1, int32(m.Steps * m.Channels)}, nil, nil, nil)
	cur := in
	for i, l := range layers {
		w := t.tensor("w", typeFloat32, []int32{int32(l.Out), int32(l.In)}, f32bytes(l.W), nil, nil)
		b := t.tensor("b", typeFloat32, []int32{int32(l.Out)}, f32bytes(l.B), nil, nil)
		y := t.tensor("y"+string(rune('0'+i)), typeFloat32, []int32{1, int32(l.Out)}, nil, nil, nil)
		t.op(opFullyConnected, []int32{cur, w, b}, []int32{y}, fcOpts(l.Act))
		cur = y
	}
	return t.bytes(in, cur)
}

// exportInt8 writes an int8 dense model (from quant) as TFLite with int8
// input and output tensors.
func exportInt8(q *model.Model) []byte {
	t := newTFL()
	qt := func(name string, n int, p *model.QParams) int32 {
		return t.tensor(name, typeInt8, []int32{1, int32(n)}, nil, []float32{p.Scale}, []int64{int64(p.ZeroPoint)})
	}
	in := qt("input", q.Steps*q.Channels, q.InputQ)
	cur := in
	layers := append(append([]model.Layer{}, q.Encoder...), q.Decoder...)
	for i, l := range layers {
		outQ := l.OutQ
		if i == len(q.Encoder)-1 {
			outQ = q.LatentQ
		}
		zeros := make([]int64, l.Out)
		w := t.tensor("w", typeInt8, []int32{int32(l.Out), int32(l.In)}, i8bytes(l.QW), l.QScale, zeros)
		b := t.tensor("b", typeInt32, []int32{int32(l.Out)}, i32bytes(l.QB), nil, nil)
		y := qt("y", l.Out, outQ)
		t.op(opFullyConnected, []int32{cur, w, b}, []int32{y}, fcOpts(l.Act))
		cur = y
	}
	return t.bytes(in, cur)
}

func reconstruct(t *testing.T, m *model.Model, x []float32) []float32 {
	t.Helper()
	win := m.Steps * m.Channels
	s, err := m.NewSession(len(x) / win)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(x))
	if err := s.Reconstruct(out, x); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportFloatDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := denseAE(rng)
	got, rep, err := Import(exportFloat(m), Options{Steps: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got.Steps != 3 || got.Channels != 4 || len(got.Encoder) != 2 || len(got.Decoder) != 2 || got.Latent() != 3 || got.Quantized() {
		t.Fatalf("imported %dx%d, %d+%d layers, latent %d", got.Steps, got.Channels, len(got.Encoder), len(got.Decoder), got.Latent())
	}
	x := randn(rng, 12*7, 1)
	a, b := reconstruct(t, m, x), reconstruct(t, got, x)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("value %d: imported %v, original %v", i, b[i], a[i])
		}
	}
	var sb strings.Builder
	rep.WriteTo(&sb)
	if !strings.Contains(sb.String(), "encoder.1 dense 6->3 relu, float32") || !strings.Contains(sb.String(), "decoder.1 dense 6->12 identity") {
		t.Errorf("report:\n%s", sb.String())
	}
}

func TestImportInt8Dense(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := denseAE(rng)
	calib := randn(rng, 12*200, 1)
	q, _, err := quant.Quantize(m, calib, quant.Options{Method: quant.MinMax})
	if err != nil {
		t.Fatal(err)
	}
	got, rep, err := Import(exportInt8(q), Options{Steps: 3})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Quantized() || !rep.Int8 || got.OutputQ == nil {
		t.Fatalf("imported int8 %v, output encoding %v", got.Quantized(), got.OutputQ)
	}
	// The output encoding survives the model file.
	var file bytes.Buffer
	if err := got.Write(&file); err != nil {
		t.Fatal(err)
	}
	back, err := model.Read(&file)
	if err != nil || back.OutputQ == nil || *back.OutputQ != *got.OutputQ {
		t.Fatalf("output encoding after a file round trip: %v, %v", back, err)
	}
	got = back
	x := randn(rng, 12*9, 1)
	a, b := reconstruct(t, q, x), reconstruct(t, got, x)
	step := float64(got.OutputQ.Scale)
	for i := range a {
		// The imported model rounds its output to the int8 grid, as the
		// file's int8 output tensor does; otherwise the same arithmetic.
		if d := math.Abs(float64(a[i] - b[i])); d > step/2*1.001 {
			t.Fatalf("value %d: imported %v, quantised original %v: %.3g apart, over half a step %.3g", i, b[i], a[i], d, step/2)
		}
	}
}

// TestImportConv: a CONV_2D of height 1 becomes a Conv1D with edge's
// weight layout, SAME padding becomes symmetric padding.
func TestImportConv(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const T, C, F = 16, 4, 8
	conv := model.Layer{Kind: model.Conv1D, In: C, Out: F, Kernel: 3, Stride: 1, Padding: 1, Dilation: 1, Act: model.ReLU,
		W: randn(rng, F*3*C, 0.3), B: randn(rng, F, 0.1)}
	d1 := model.Layer{Kind: model.Dense, In: T * F, Out: 6, Act: model.ReLU, W: randn(rng, T*F*6, 0.1), B: randn(rng, 6, 0.1)}
	d2 := model.Layer{Kind: model.Dense, In: 6, Out: T * C, Act: model.Identity, W: randn(rng, 6*T*C, 0.3), B: randn(rng, T*C, 0.1)}
	m := &model.Model{Steps: T, Channels: C, Norm: model.Normalization{Kind: model.NormNone},
		Encoder: []model.Layer{conv, d1}, Decoder: []model.Layer{d2}}
	tb := newTFL()
	in := tb.tensor("input", typeFloat32, []int32{1, 1, T, C}, nil, nil, nil)
	w := tb.tensor("conv_w", typeFloat32, []int32{F, 1, 3, C}, f32bytes(conv.W), nil, nil)
	b := tb.tensor("conv_b", typeFloat32, []int32{F}, f32bytes(conv.B), nil, nil)
	y := tb.tensor("conv_y", typeFloat32, []int32{1, 1, T, F}, nil, nil, nil)
	tb.op(opConv2D, []int32{in, w, b}, []int32{y}, fbTable{fbU8(0), fbI32(1), fbI32(1), fbU8(actRelu), fbI32(1), fbI32(1)})
	flat := tb.tensor("flat", typeFloat32, []int32{1, T * F}, nil, nil, nil)
	tb.op(opReshape, []int32{y}, []int32{flat}, nil)
	cur := flat
	for i, l := range []model.Layer{d1, d2} {
		w := tb.tensor("w", typeFloat32, []int32{int32(l.Out), int32(l.In)}, f32bytes(l.W), nil, nil)
		b := tb.tensor("b", typeFloat32, []int32{int32(l.Out)}, f32bytes(l.B), nil, nil)
		y := tb.tensor("d"+string(rune('0'+i)), typeFloat32, []int32{1, int32(l.Out)}, nil, nil, nil)
		tb.op(opFullyConnected, []int32{cur, w, b}, []int32{y}, fcOpts(l.Act))
		cur = y
	}
	got, _, err := Import(tb.bytes(in, cur), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Steps != T || got.Channels != C || got.Encoder[0].Kind != model.Conv1D || got.Encoder[0].Padding != 1 {
		t.Fatalf("imported %dx%d, first layer %+v", got.Steps, got.Channels, got.Encoder[0].Kind)
	}
	x := randn(rng, T*C*3, 1)
	a, c := reconstruct(t, m, x), reconstruct(t, got, x)
	for i := range a {
		if a[i] != c[i] {
			t.Fatalf("value %d: imported %v, original %v", i, c[i], a[i])
		}
	}
}

// TestImportErrors: what is not supported or malformed says what and where.
func TestImportErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	good := exportFloat(denseAE(rng))
	// An unsupported operator names itself and its index.
	tb := newTFL()
	in := tb.tensor("input", typeFloat32, []int32{1, 4}, nil, nil, nil)
	y := tb.tensor("y", typeFloat32, []int32{1, 4}, nil, nil, nil)
	tb.op(41, []int32{in, in}, []int32{y}, nil) // SUB
	if _, _, err := Import(tb.bytes(in, y), Options{}); err == nil || !strings.Contains(err.Error(), "operator 0 (SUB)") {
		t.Errorf("SUB: %v", err)
	}
	if _, _, err := Import([]byte("not a model at all"), Options{}); err == nil || !strings.Contains(err.Error(), "TFL3") {
		t.Errorf("text: %v", err)
	}
	if _, _, err := Import(good, Options{Steps: 5}); err == nil || !strings.Contains(err.Error(), "5 steps") {
		t.Errorf("12 values in 5 steps: %v", err)
	}
	// Every truncation and many corruptions: an error, never a panic.
	for n := 0; n < len(good); n += 1 + n/50 {
		if _, _, err := Import(good[:n], Options{}); err == nil {
			t.Fatalf("the first %d of %d bytes imported", n, len(good))
		}
	}
	for i := 0; i < 2000; i++ {
		bad := bytes.Clone(good)
		for j := 0; j < 1+rng.IntN(4); j++ {
			bad[rng.IntN(len(bad))] = byte(rng.Uint32())
		}
		Import(bad, Options{}) // must not panic
	}
}

func FuzzImport(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	f.Add(exportFloat(denseAE(rng)))
	m := denseAE(rng)
	q, _, err := quant.Quantize(m, randn(rng, 12*50, 1), quant.Options{Method: quant.MinMax})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(exportInt8(q))
	if data, err := os.ReadFile(filepath.Join("testdata", "dense_int8.tflite")); err == nil {
		f.Add(data)
		for _, m := range mutate.Of(data, 24) {
			f.Add(m)
		}
	}
	for _, m := range mutate.Of(exportInt8(q), 24) {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, _, err := Import(data, Options{})
		if err != nil {
			return
		}
		if m.Validate() != nil {
			t.Fatal("Import returned a model that does not validate")
		}
		s, err := m.NewSession(1)
		if err != nil {
			return
		}
		x := make([]float32, m.Steps*m.Channels)
		s.Reconstruct(x, x)
	})
}

var update = flag.Bool("update", false, "rewrite testdata/dense_int8.tflite")

// fixtureInt8 is the int8 model of testdata/dense_int8.tflite (used by the
// example): deterministic, written by the test flatbuffer writer.
func fixtureInt8(t *testing.T) []byte {
	rng := rand.New(rand.NewPCG(11, 12))
	m := denseAE(rng)
	q, _, err := quant.Quantize(m, randn(rng, 12*200, 1), quant.Options{Method: quant.MinMax})
	if err != nil {
		t.Fatal(err)
	}
	return exportInt8(q)
}

// TestFixtureUpToDate: the committed example file is what the writer
// makes (go test -run FixtureUpToDate -update ./tflite rewrites it).
func TestFixtureUpToDate(t *testing.T) {
	want := fixtureInt8(t)
	path := filepath.Join("testdata", "dense_int8.tflite")
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is stale: go test -run FixtureUpToDate -update ./tflite", path)
	}
}
