package tflite

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeml/edge/model"
)

// mlperfDir holds the MLPerf Tiny anomaly-detection reference models
// (outside the repository: a fresh clone has none).
const mlperfDir = "../../shared/data/mlperf-tiny-ad"

func mlperfFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mlperfDir, name))
	if os.IsNotExist(err) {
		t.Skipf("SKIPPED: %s not found: the MLPerf Tiny reference check needs %s (outside the repository)", name, mlperfDir)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// clipScore scores a clip as the benchmark does: windows of 5 frames of
// 128 log-mel bins, stride one frame; the mean over windows of the mean
// squared reconstruction error.
func clipScore(t testing.TB, m *model.Model, frames []float32) float64 {
	t.Helper()
	const bins, span = 128, 5
	n := len(frames)/bins - span + 1
	win := make([]float32, 0, n*span*bins)
	for i := 0; i < n; i++ {
		win = append(win, frames[i*bins:(i+span)*bins]...)
	}
	s, err := m.NewSession(n)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]float32, len(win))
	if err := s.Reconstruct(out, win); err != nil {
		t.Fatal(err)
	}
	var total float64
	for w := 0; w < n; w++ {
		var e float64
		for i := w * span * bins; i < (w+1)*span*bins; i++ {
			d := float64(out[i]) - float64(win[i])
			e += d * d
		}
		total += e / (span * bins)
	}
	return total / float64(n)
}

// TestMLPerfTinyAD imports the published ToyCar models and reproduces the
// published clip scores within the stated tolerances.
func TestMLPerfTinyAD(t *testing.T) {
	raw := mlperfFile(t, "normal_id_01_00000000_hist_librosa.bin")
	if len(raw) != 200*128*4 {
		t.Fatalf("clip: %d bytes, want %d", len(raw), 200*128*4)
	}
	frames := make([]float32, 200*128)
	for i := range frames {
		frames[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	for _, c := range []struct {
		file string
		want float64
		tol  float64
		int8 bool
	}{
		{"ad01_fp32.tflite", 9.70710781339692, 1e-5, false},
		{"model_ToyCar_quant_fullint.tflite", 10.260287884484411, 1e-3, true},
		{"ad01_int8.tflite", 10.2645, 1e-3, true},
	} {
		t.Run(c.file, func(t *testing.T) {
			m, rep, err := Import(mlperfFile(t, c.file), Options{Steps: 5})
			if err != nil {
				t.Fatal(err)
			}
			if m.Quantized() != c.int8 || m.Steps != 5 || m.Channels != 128 || m.Latent() != 8 {
				t.Fatalf("imported: int8 %v, %dx%d, latent %d", m.Quantized(), m.Steps, m.Channels, m.Latent())
			}
			got := clipScore(t, m, frames)
			rel := math.Abs(got-c.want) / c.want
			t.Logf("%s: clip score %.6f, reference %.6f (relative difference %.2g, tolerance %g); %d layers mapped", c.file, got, c.want, rel, c.tol, len(rep.Mappings))
			if !(rel <= c.tol) {
				t.Errorf("clip score %.8f differs from the reference %.8f by %.3g relative (tolerance %g)", got, c.want, rel, c.tol)
			}
		})
	}
}
