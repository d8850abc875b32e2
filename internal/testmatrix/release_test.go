//go:build !purego

package testmatrix

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestRelease runs the documented release command and checks its four
// binaries: the right ELF machine and ARM level, static, stripped; then
// runs edge info and edge bench from each (under qemu-user for ARM).
func TestRelease(t *testing.T) {
	skipShort(t, "the release build")
	needMatrix(t, "the release build (scripts/release.sh, its binaries under qemu-user)", "15 s with a warm build cache, 1.5 min with a cold one")
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("SKIPPED: bash not found: scripts/release.sh was NOT run")
	}
	root := moduleRoot(t)
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "release.sh"), out)
	cmd.Env = append(os.Environ(), "EDGE_VERSION=test")
	msg, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scripts/release.sh: %v\n%s", err, msg)
	}
	t.Logf("%s", msg)
	checkPackages(t, out)
	checkDebs(t, out)
	checkImageContext(t, out)
	defer serviceUnderQemu(t, out)
	type bin struct {
		name    string
		machine elf.Machine
		qemu    string
		cpu     string
	}
	for _, b := range []bin{
		{"edge-linux-arm64", elf.EM_AARCH64, "qemu-aarch64", "cortex-a72"},
		{"edge-linux-armv7", elf.EM_ARM, "qemu-arm", "cortex-a7"},
		{"edge-linux-armv6", elf.EM_ARM, "qemu-arm", "arm1176"},
		{"edge-linux-amd64", elf.EM_X86_64, "", ""},
	} {
		path := filepath.Join(out, b.name)
		f, err := elf.Open(path)
		if err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		if f.Machine != b.machine {
			t.Errorf("%s: ELF machine %v, want %v", b.name, f.Machine, b.machine)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Errorf("%s: dynamically linked (has an interpreter)", b.name)
			}
		}
		if f.Section(".symtab") != nil {
			t.Errorf("%s: not stripped (.symtab present)", b.name)
		}
		f.Close()
		if st, err := os.Stat(path); err != nil || st.Size() > 12<<20 {
			t.Errorf("%s: size %v (err %v), want at most 12 MB", b.name, st.Size(), err)
		}
		args := []string{path}
		if b.qemu != "" {
			q, err := exec.LookPath(b.qemu)
			if err != nil {
				t.Logf("NOT RUN: %s (%s not installed)", b.name, b.qemu)
				continue
			}
			args = []string{q, "-cpu", b.cpu, path}
		}
		for _, sub := range [][]string{{"version"}, {"info"}, {"bench", "-kinds", "chain", "-chain", "64,8,64", "-batches", "1", "-iters", "3"}} {
			c := exec.Command(args[0], append(args[1:], sub...)...)
			o, err := c.CombinedOutput()
			if err != nil {
				t.Errorf("%s %s: %v\n%s", b.name, strings.Join(sub, " "), err, o)
			}
			if sub[0] == "version" && !strings.Contains(string(o), "edge test") {
				t.Errorf("%s version printed %q, want the release version", b.name, o)
			}
		}
	}
}
