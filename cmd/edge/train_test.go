package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeml/edge/model"
)

// writeCSV writes a two-channel sensor CSV with a timestamp column: a daily
// cycle and a faster one, plus noise from a fixed sequence.
func writeCSV(t *testing.T, rows int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,temp,load\n")
	for i := 0; i < rows; i++ {
		x := float64(i)
		noise := math.Sin(x*12.9898) * 43758.5453
		noise = (noise - math.Floor(noise) - 0.5) * 0.1
		fmt.Fprintf(&b, "%d,%.4f,%.4f\n", 1700000000+60*i, 20+3*math.Sin(2*math.Pi*x/96)+noise, math.Abs(math.Sin(2*math.Pi*x/23))-noise)
	}
	p := filepath.Join(t.TempDir(), "sensors.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrainAndQuantize(t *testing.T) {
	data := writeCSV(t, 1500)
	dir := t.TempDir()
	out := filepath.Join(dir, "m.edge")
	code, stdout, stderr := runEdge("train", "--data", data, "-o", out, "--window", "32", "--epochs", "3", "--latent", "4")
	if code != 0 {
		t.Fatalf("edge train: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"epoch 1/3: train", "epoch 3/3"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("progress log lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "\r") {
		t.Error("the progress output rewrites lines although it is not a terminal")
	}
	for _, want := range []string{"PCA, 4 components", "this autoencoder", "autoencoder / PCA:", "windows of 32 rows every 1", "anomaly thresholds from 1500 out-of-sample rows (5 folds)", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("edge train output lacks %q:\n%s", want, stdout)
		}
	}
	m, err := model.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Steps != 32 || m.Channels != 2 || strings.Join(m.ChannelNames, ",") != "temp,load" || m.Quantized() ||
		m.Provenance["data"] != "sensors.csv" || !model.TrainingSection.Has(m) {
		t.Errorf("model: %d x %d, channels %v, provenance %v", m.Steps, m.Channels, m.ChannelNames, m.Provenance)
	}

	q := filepath.Join(dir, "m.int8.edge")
	code, stdout, stderr = runEdge("quantize", out, "--calib", data, "-method", "percentile")
	if code != 0 {
		t.Fatalf("edge quantize: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"calibrated on", "hop 8", "SQNR", "encoder.0", "wrote " + q} {
		if !strings.Contains(stdout, want) {
			t.Errorf("edge quantize output lacks %q:\n%s", want, stdout)
		}
	}
	qm, err := model.Load(q)
	if err != nil {
		t.Fatal(err)
	}
	if !qm.Quantized() || qm.Provenance["quantization"] != "percentile" || qm.Provenance["calibration_data"] != "sensors.csv" ||
		strings.Join(qm.ChannelNames, ",") != "temp,load" {
		t.Errorf("int8 model: quantized %v, provenance %v, channels %v", qm.Quantized(), qm.Provenance, qm.ChannelNames)
	}
	// The int8 input covers at least ±8 normalised units by default
	// (--input-range), so readings past the calibration file are not clipped.
	in := qm.InputQ
	if lo, hi := float32(-128-int(in.ZeroPoint))*in.Scale, float32(127-int(in.ZeroPoint))*in.Scale; lo > -8+in.Scale || hi < 8-in.Scale {
		t.Errorf("int8 input range [%g, %g], want at least [-8, 8]", lo, hi)
	}
	if code, _, stderr = runEdge("quantize", q, "--calib", data, "-o", filepath.Join(dir, "x.edge")); code != 1 || !strings.Contains(stderr, "already int8") {
		t.Errorf("quantising an int8 model: exit %d, %q", code, stderr)
	}
	if code, _, stderr = runEdge("info", q); code != 0 {
		t.Errorf("edge info on the int8 model: exit %d, %s", code, stderr)
	}
}

func TestTrainVariantsAndArchs(t *testing.T) {
	data := writeCSV(t, 900)
	for _, args := range [][]string{
		{"--variant", "denoising"},
		{"--variant", "sparse"},
		{"--variant", "sparse", "--kl", "0.01"},
		{"--variant", "variational", "--beta", "0.5"},
		{"--arch", "conv", "--hidden", "4,8", "--act", "leaky_relu"},
		{"--init", "random", "--loss", "huber", "--schedule", "constant", "--val", "0", "--norm", "minmax"},
	} {
		out := filepath.Join(t.TempDir(), "m.edge")
		full := append([]string{"train", "-q", "--data", data, "-o", out, "--window", "16", "--epochs", "2", "--latent", "3", "--hidden", "8"}, args...)
		code, stdout, stderr := runEdge(full...)
		if code != 0 {
			t.Errorf("%v: exit %d: %s", args, code, stderr)
			continue
		}
		m, err := model.Load(out)
		if err != nil {
			t.Errorf("%v: %v", args, err)
			continue
		}
		variant := m.Provenance["variant"]
		switch args[1] {
		case "denoising", "variational":
			if variant != args[1] {
				t.Errorf("%v: provenance variant %q", args, variant)
			}
		case "sparse":
			if variant != "sparse" {
				t.Errorf("%v: provenance variant %q", args, variant)
			}
		case "conv":
			if m.Encoder[0].Kind != model.Conv1D || m.Encoder[0].Alpha != 0.01 {
				t.Errorf("%v: first layer %+v", args, m.Encoder[0])
			}
		}
		if args[1] == "variational" != m.Variational {
			t.Errorf("%v: variational %v", args, m.Variational)
		}
		if args[0] == "--init" && !strings.Contains(stdout, "no validation split") {
			t.Errorf("--val 0: output does not say there is no validation split:\n%s", stdout)
		}
	}
}

func TestTrainErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("time,a,b\n1,2,3\n2,4,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	short := writeCSV(t, 40)
	good := writeCSV(t, 400)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"train"}, 2, "--data FILE.csv is required"},
		{[]string{"train", "--data", bad}, 1, "bad.csv:3"},
		{[]string{"train", "--data", filepath.Join(dir, "none.csv")}, 1, "none.csv"},
		{[]string{"train", "--data", short}, 1, "40 rows; learning needs at least 100"},
		{[]string{"train", "--data", good, "--norm", "zscore"}, 2, "--norm"},
		{[]string{"train", "--data", good, "--folds", "1"}, 2, "--folds"},
		{[]string{"train", "--data", good, "--arch", "lstm"}, 2, "--arch"},
		{[]string{"train", "--data", good, "--variant", "contractive"}, 2, "--variant"},
		{[]string{"train", "--data", good, "--hidden", "8,x"}, 2, "--hidden"},
		{[]string{"train", "--data", good, "--channels", "temp,nope"}, 1, "nope"},
		{[]string{"train", "--data", good, "--arch", "conv", "--window", "30"}, 1, "divisible"},
		{[]string{"quantize", "--calib", good}, 2, "one MODEL"},
		{[]string{"quantize", filepath.Join(dir, "none.edge")}, 2, "--calib"},
	} {
		code, _, stderr := runEdge(append(c.args, "-o", filepath.Join(dir, "out.edge"))...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out.edge")); err == nil {
		t.Error("a failed run wrote a model")
	}
	// A model trained on some channels calibrates on the same columns of a
	// wider file, and refuses a file that lacks them.
	out := filepath.Join(dir, "one.edge")
	if code, _, stderr := runEdge("train", "-q", "--data", good, "--channels", "load", "--window", "16", "--epochs", "1", "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if code, _, stderr := runEdge("quantize", out, "--calib", good); code != 0 {
		t.Errorf("calibrating on the model's column of a wider file: exit %d: %s", code, stderr)
	}
	if code, _, stderr := runEdge("quantize", out, "--calib", bad); code != 1 || !strings.Contains(stderr, "load") {
		t.Errorf("calibrating on a file without the column: exit %d: %s", code, stderr)
	}
}
