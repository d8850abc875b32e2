package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeml/edge/model"
)

func TestImportCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "conv.edge")
	code, stdout, errOut := runEdge("import", "../../onnx/testdata/conv.onnx", "-o", out)
	if code != 0 {
		t.Fatalf("import: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"ConvTranspose", "encoder.0", "16 steps x 4 channels", "latent code 6"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("import output lacks %q:\n%s", want, stdout)
		}
	}
	m, err := model.Load(out)
	if err != nil || m.Steps != 16 || m.Channels != 4 || m.Provenance["source"] != "conv.onnx" {
		t.Fatalf("the written model: %v", err)
	}
	if code, _, _ := runEdge("info", out); code != 0 {
		t.Error("edge info on the imported model failed")
	}
	// A corrupt file: exit 1, naming the file; nothing written.
	bad := filepath.Join(dir, "bad.onnx")
	os.WriteFile(bad, []byte("\x0a\xff\xff\xff\xff\x0f garbage"), 0o644)
	code, _, errOut = runEdge("import", bad, "-o", filepath.Join(dir, "bad.edge"))
	if code != 1 || !strings.Contains(errOut, "bad.onnx") {
		t.Errorf("corrupt file: exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "bad.edge")); err == nil {
		t.Error("a model was written for a corrupt file")
	}
	if code, _, errOut := runEdge("import", "../../README.md"); code != 2 || !strings.Contains(errOut, "unknown model format") {
		t.Errorf("unknown format: exit %d: %s", code, errOut)
	}
	if code, _, _ := runEdge("import"); code != 2 {
		t.Errorf("no file: exit %d", code)
	}
}
