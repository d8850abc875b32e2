package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/model"
)

func runEdge(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func TestInfo(t *testing.T) {
	code, out, errOut := runEdge("info")
	if code != 0 {
		t.Fatalf("edge info: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"CPU:", "Kernel families", "In use: " + kernels.Current().String(), "int8 GEMM", "float32 GEMM"} {
		if !strings.Contains(out, want) {
			t.Errorf("edge info output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range kernels.Families() {
		if !strings.Contains(out, f.String()) {
			t.Errorf("edge info does not list family %s", f)
		}
	}
}

func TestBench(t *testing.T) {
	code, out, errOut := runEdge("bench", "-families", "generic", "-kinds", "int8,chain", "-shapes", "64x8", "-batches", "1,3", "-chain", "16,8,16", "-iters", "3")
	if code != 0 {
		t.Fatalf("edge bench: exit %d: %s", code, errOut)
	}
	rows := 0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 7 && f[0] == "generic" {
			rows++
		}
	}
	if rows != 4 { // int8 64x8 at batch 1 and 3, chain at batch 1 and 3
		t.Errorf("edge bench printed %d rows, want 4:\n%s", rows, out)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"frobnicate"},
		{"bench", "-batches", "0"},
		{"bench", "-shapes", "12"},
		{"bench", "-families", "sse9"},
		{"bench", "-chain", "8"},
		{"info", "a", "b"},
		{"bench", "-nosuchflag"},
		{"bench", "-iters", "-1"},
	} {
		if code, _, errOut := runEdge(args...); code != 2 || errOut == "" {
			t.Errorf("edge %v: exit %d, stderr %q; want exit 2 with a message", args, code, errOut)
		}
	}
	for _, f := range kernels.Families() {
		if !f.Supported() {
			code, _, errOut := runEdge("bench", "-families", f.String(), "-time", "1ms")
			if code == 0 || !strings.Contains(errOut, "lacks") {
				t.Errorf("bench -families %s on a CPU without it: exit %d, %q", f, code, errOut)
			}
		}
	}
	if code, out, _ := runEdge(); code != 0 || !strings.Contains(out, "Commands:") {
		t.Errorf("edge without arguments: exit %d, output %q", code, out)
	}
}

func TestInfoModel(t *testing.T) {
	m := &model.Model{Name: "tiny", Steps: 4, Channels: 2,
		Encoder:    []model.Layer{{Kind: model.Dense, In: 8, Out: 3, Act: model.ReLU, W: make([]float32, 24), B: make([]float32, 3)}},
		Decoder:    []model.Layer{{Kind: model.Dense, In: 3, Out: 8, W: make([]float32, 24), B: make([]float32, 8)}},
		Provenance: map[string]string{"trainer": "test"}}
	path := filepath.Join(t.TempDir(), "tiny.edge")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runEdge("info", path)
	if code != 0 {
		t.Fatalf("edge info MODEL: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"model tiny: float32", "4 steps x 2 channels", "latent 3", "encoder.0", "dense 8->3 relu", "48 MACs per window", "59 parameters", "provenance trainer: test"} {
		if !strings.Contains(out, want) {
			t.Errorf("edge info MODEL lacks %q:\n%s", want, out)
		}
	}
	if code, _, errOut := runEdge("info", filepath.Join(t.TempDir(), "missing.edge")); code != 1 || !strings.Contains(errOut, "missing.edge") {
		t.Errorf("missing model: exit %d, %q", code, errOut)
	}
}

func TestBenchStream(t *testing.T) {
	code, out, errOut := runEdge("bench", "-families", "generic", "-kinds", "stream", "-time", "1ms")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"streaming throughput", "denoise-centred", "score", "8ch"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestHelpAndVersion: edge help CMD prints the command's flags on stdout
// and exits 0; --version and version print the version; an unknown
// command is exit status 2.
func TestHelpAndVersion(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"help", "score"}, 0, "Usage: edge score"},
		{[]string{"help", "version"}, 0, "Usage: edge version"},
		{[]string{"help"}, 0, "Commands:"},
		{[]string{"--version"}, 0, "edge "},
		{[]string{"version"}, 0, "edge "},
		{[]string{"help", "nosuch"}, 2, ""},
		{[]string{"version", "x"}, 2, ""},
	} {
		code, out, errOut := runEdge(c.args...)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("edge %v: exit %d, stdout %q, stderr %q; want exit %d and %q", c.args, code, out, errOut, c.code, c.want)
		}
	}
}

// TestFlagsCheckedBeforeData: a bad flag value is a usage error (exit 2)
// even where the model or data named would fail to open: flags are
// checked before anything is read.
func TestFlagsCheckedBeforeData(t *testing.T) {
	for _, args := range [][]string{
		{"score", "no.edge", "no.csv", "--per", "nonsense"},
		{"score", "no.edge", "no.csv", "--format", "xml"},
		{"denoise", "no.edge", "no.csv", "--mode", "sideways"},
		{"train", "--data", "no.csv", "--norm", "nonsense"},
		{"train", "--data", "no.csv", "--arch", "nonsense"},
		{"train", "--data", "no.csv", "--variant", "nonsense"},
		{"quantize", "no.edge", "--calib", "no.csv", "--method", "nonsense"},
		{"watch", "--learn", "100", "no.csv", "--per", "nonsense"},
		{"calibrate", "no.edge", "--data", "no.csv", "--rate", "5"},
		{"plot", "no.edge", "no.csv", "-o", "x.bmp"},
		{"bench", "-kinds", "nonsense"},
	} {
		if code, _, errOut := runEdge(args...); code != 2 {
			t.Errorf("edge %v: exit %d, want 2: %s", args, code, errOut)
		}
	}
}
