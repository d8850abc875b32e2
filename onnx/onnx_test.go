package onnx

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeml/edge/internal/mutate"
	"github.com/edgeml/edge/model"
)

// fixture is a model exported by testdata/gen.py with PyTorch's (or, for
// QDQ, numpy's) outputs on reference inputs.
type fixture struct {
	InputShape  []int     `json:"input_shape"`
	Input       []float32 `json:"input"`
	OutputShape []int     `json:"output_shape"`
	Output      []float32 `json:"output"`
	OutputStep  float64   `json:"output_step"`
}

func load(t *testing.T, name string) ([]byte, *fixture) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name+".onnx"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var f fixture
	if err := json.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	return data, &f
}

// toEdge turns [N, C, T] samples into edge's time-major windows (and back
// with inverse).
func transpose(x []float32, n, a, b int) []float32 {
	out := make([]float32, len(x))
	for s := 0; s < n; s++ {
		for i := 0; i < a; i++ {
			for j := 0; j < b; j++ {
				out[s*a*b+j*a+i] = x[s*a*b+i*b+j]
			}
		}
	}
	return out
}

func run(t *testing.T, m *model.Model, x []float32) []float32 {
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

// TestImportPyTorch: float models exported by PyTorch give PyTorch's
// outputs within 1e-5 relative (of the output's scale).
func TestImportPyTorch(t *testing.T) {
	for _, name := range []string{"dense", "conv", "vae", "timemajor"} {
		t.Run(name, func(t *testing.T) {
			data, f := load(t, name)
			m, rep, err := Import(data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var sb strings.Builder
			rep.WriteTo(&sb)
			t.Logf("report:\n%s", sb.String())
			x, want := f.Input, f.Output
			if name == "timemajor" { // [batch, steps, channels]: edge's own layout
				if m.Steps != f.InputShape[1] || m.Channels != f.InputShape[2] {
					t.Fatalf("imported %d steps x %d channels, want %v", m.Steps, m.Channels, f.InputShape[1:])
				}
			} else if len(f.InputShape) == 3 {
				n, C, T := f.InputShape[0], f.InputShape[1], f.InputShape[2]
				if m.Steps != T || m.Channels != C {
					t.Fatalf("imported %d steps x %d channels, want %d x %d", m.Steps, m.Channels, T, C)
				}
				x, want = transpose(x, n, C, T), transpose(want, n, C, T)
			}
			got := run(t, m, x)
			var scale float64
			for _, v := range want {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			for i := range got {
				if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*scale {
					t.Fatalf("value %d: edge %v, PyTorch %v (|diff| %.3g > 1e-5 x %.3g)", i, got[i], want[i], d, scale)
				}
			}
			if name == "vae" && (len(rep.Ignored) != 1 || !strings.Contains(rep.Ignored[0].Name, "logvar")) {
				t.Errorf("the log-variance head should be reported as left out: %v", rep.Ignored)
			}
		})
	}
}

// TestImportQDQ: an int8 QDQ model runs in int8 with its own scales and
// matches the QDQ graph's own arithmetic within one output step.
func TestImportQDQ(t *testing.T) {
	for _, name := range []string{"qdq", "qdq_conv"} {
		t.Run(name, func(t *testing.T) { testQDQ(t, name) })
	}
}

func testQDQ(t *testing.T, name string) {
	data, f := load(t, name)
	m, rep, err := Import(data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, want := f.Input, f.Output
	if len(f.InputShape) == 3 {
		n, C, T := f.InputShape[0], f.InputShape[1], f.InputShape[2]
		x, want = transpose(x, n, C, T), transpose(want, n, C, T)
	}
	if !m.Quantized() || !rep.Int8 || m.OutputQ == nil || math.Abs(float64(m.OutputQ.Scale)-f.OutputStep) > 1e-6*f.OutputStep {
		t.Fatalf("int8 %v, output encoding %+v (want step %g)", m.Quantized(), m.OutputQ, f.OutputStep)
	}
	got := run(t, m, x)
	off := 0
	for i := range got {
		d := math.Abs(float64(got[i] - want[i]))
		if d > f.OutputStep*1.001 {
			t.Fatalf("value %d: edge %v, reference %v: %.3g apart, over one step %.3g", i, got[i], want[i], d, f.OutputStep)
		}
		if d > f.OutputStep/2 {
			off++
		}
	}
	t.Logf("%d of %d values one step off the reference (rounding of ties and float sums)", off, len(got))
}

// ortModules finds onnxruntime-node: EDGE_ORT_NODE_MODULES, or the peers
// harness's install.
func ortModules(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("SKIPPED: node not found, so the ONNX Runtime cross-check did not run (optional; npm install --ignore-scripts onnxruntime-node and set EDGE_ORT_NODE_MODULES)")
	}
	dirs := []string{os.Getenv("EDGE_ORT_NODE_MODULES")}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, ".cache", "edge-peers", "node_modules"))
	}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "onnxruntime-node")); err == nil {
			return d
		}
	}
	t.Skip("SKIPPED: onnxruntime-node not found, so the ONNX Runtime cross-check did not run (optional; npm install --ignore-scripts onnxruntime-node and set EDGE_ORT_NODE_MODULES to its node_modules)")
	return ""
}

// TestCrossCheckORT runs every fixture through ONNX Runtime too: float
// models agree with edge within 1e-5 relative, the QDQ model within one
// output step.
func TestCrossCheckORT(t *testing.T) {
	mods := ortModules(t)
	for _, name := range []string{"dense", "conv", "vae", "timemajor", "qdq", "qdq_conv"} {
		t.Run(name, func(t *testing.T) {
			data, f := load(t, name)
			cmd := exec.Command("node", "ort_run.js", name+".onnx", name+".json")
			cmd.Dir = "testdata"
			cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
			out, err := cmd.Output()
			if err != nil {
				var stderr string
				if ee, ok := err.(*exec.ExitError); ok {
					stderr = string(ee.Stderr)
				}
				t.Fatalf("onnxruntime: %v: %s", err, stderr)
			}
			var res struct {
				Shape  []int     `json:"shape"`
				Output []float32 `json:"output"`
			}
			if err := json.Unmarshal(out, &res); err != nil {
				t.Fatal(err)
			}
			m, _, err := Import(data, Options{})
			if err != nil {
				t.Fatal(err)
			}
			x, want := f.Input, res.Output
			if len(f.InputShape) == 3 && name != "timemajor" {
				n, C, T := f.InputShape[0], f.InputShape[1], f.InputShape[2]
				x, want = transpose(x, n, C, T), transpose(want, n, C, T)
			}
			got := run(t, m, x)
			tol := 0.0
			for _, v := range want {
				tol = math.Max(tol, 1e-5*math.Abs(float64(v)))
			}
			if f.OutputStep > 0 {
				tol = f.OutputStep * 1.001
			}
			worst := 0.0
			for i := range got {
				d := math.Abs(float64(got[i] - want[i]))
				worst = math.Max(worst, d)
				if d > tol {
					t.Fatalf("value %d: edge %v, ONNX Runtime %v (|diff| %.3g > %.3g)", i, got[i], want[i], d, tol)
				}
			}
			t.Logf("%s: largest difference from ONNX Runtime %.3g (tolerance %.3g)", name, worst, tol)
		})
	}
}

// TestImportErrors: an unsupported operator is named with its node;
// malformed files are errors, never panics.
func TestImportErrors(t *testing.T) {
	data, _ := load(t, "dense")
	soft := bytes.ReplaceAll(data, []byte("Sigmoid"), []byte("Softmax"))
	if _, _, err := Import(soft, Options{}); err == nil || !strings.Contains(err.Error(), `node 8 (Softmax "/dec/dec.3/Softmax")`) || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("Softmax: %v", err)
	}
	if _, _, err := Import([]byte("ir_version: 7\ngraph {}"), Options{}); err == nil || !strings.Contains(err.Error(), "onnx") {
		t.Errorf("text: %v", err)
	}
	if _, _, err := Import(data, Options{Steps: 5}); err == nil || !strings.Contains(err.Error(), "5 steps") {
		t.Errorf("24 values in 5 steps: %v", err)
	}
	if m, _, err := Import(data, Options{Steps: 3}); err != nil || m.Steps != 3 || m.Channels != 8 {
		t.Errorf("24 values in 3 steps: %v", err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, name := range []string{"dense", "conv", "qdq"} {
		good, _ := load(t, name)
		for n := 0; n < len(good); n += 1 + n/40 {
			Import(good[:n], Options{}) // must not panic; a prefix may still parse
		}
		for i := 0; i < 1000; i++ {
			bad := bytes.Clone(good)
			for j := 0; j < 1+rng.IntN(4); j++ {
				bad[rng.IntN(len(bad))] = byte(rng.Uint32())
			}
			if m, _, err := Import(bad, Options{}); err == nil && m.Validate() != nil {
				t.Fatal("a corrupted file imported as a model that does not validate")
			}
		}
	}
}

// TestImportBitFlips: every one-bit corruption of the quantised fixtures
// (whose DequantizeLinear nodes once panicked when a flipped field tag
// took their output away) is an error or a model that validates, never a
// panic.
func TestImportBitFlips(t *testing.T) {
	for _, name := range []string{"qdq", "qdq_conv"} {
		good, _ := load(t, name)
		mutate.BitFlips(good, func(b []byte, at, bit int) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("%s with bit %d of byte %d flipped: panic %v", name, bit, at, r)
				}
			}()
			if m, _, err := Import(b, Options{}); err == nil && m.Validate() != nil {
				t.Fatalf("%s with bit %d of byte %d flipped: a model that does not validate", name, bit, at)
			}
		})
	}
}

// FuzzImport starts from every fixture and from damaged copies of each
// (bit flips, truncations, swapped blocks).
func FuzzImport(f *testing.F) {
	for _, name := range []string{"dense", "conv", "vae", "timemajor", "qdq", "qdq_conv"} {
		data, err := os.ReadFile(filepath.Join("testdata", name+".onnx"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		for _, m := range mutate.Of(data, 24) {
			f.Add(m)
		}
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
