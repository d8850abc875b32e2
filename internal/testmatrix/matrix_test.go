//go:build !purego

// Package testmatrix runs the parts of the test suite that need another
// build of the module: the purego build (no assembly), every kernel family
// forced through EDGE_KERNELS, vet and builds for other architectures, the
// race detector, the ARM matrix under qemu-user, the arm64 WORD encodings
// and the release build.
//
// Plain `go test ./...`, the README's command, must stay well under Go's
// 10-minute default on 2 cores, so the expensive checks here are opt-in:
// they run only with EDGE_MATRIX=1 (MatrixVar) and otherwise skip, saying
// what did not run and how to run it (go test -v shows it). .ci/run sets
// it and runs each of them as its own step with its own time budget, so
// CI never skips them. The split, from timings on a 2-core VM with a warm
// build cache / a cold one:
//
//	in the default run (cheap; Go only):
//	  TestGenerated       2 s / 14 s     the committed assembly is the generator's
//	  TestForcedFamilies  8 s / 14 s     each EDGE_KERNELS family this CPU has
//	  TestCIRunsMatrix    0 s            .ci/run runs every EDGE_MATRIX test
//	with EDGE_MATRIX=1 only:
//	  TestPurego         35 s / 2 min    the tag also changes the standard
//	                                     library's crypto and all that imports
//	                                     it; the whole suite's tests took 4.5
//	                                     to 7 min (see puregoSkipped)
//	  TestCrossBuilds    15 s / 10 min   the standard library for 6 more targets
//	  TestRace            3 s / 1.5 min  a race-instrumented standard library
//	  TestARMMatrix       8 to 13 min    6 CPUs under qemu-user
//	  TestARM64Words      6 s / 1.5 min  an arm64 build, Debian's objdump
//	  TestRelease        15 s / 1.5 min  four -trimpath builds, qemu-user
//
// The default run is then about 2 minutes on 2 cores (4 from a cold
// cache), all of it the packages' own tests. -short skips everything here.
package testmatrix

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edgeml/edge/kernels"
)

// goTool returns the go command that built this test.
func goTool(t *testing.T) string {
	t.Helper()
	if out, err := exec.Command("go", "env", "GOROOT").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "go")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("no go command found: %v", err)
	}
	return p
}

// moduleRoot returns the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func skipShort(t *testing.T, what string) {
	t.Helper()
	if testing.Short() {
		t.Skipf("SKIPPED with -short: %s is not run", what)
	}
}

// MatrixVar names the environment variable that turns on the slow checks.
const MatrixVar = "EDGE_MATRIX"

// matrixTests are the tests MatrixVar gates. .ci/run runs each of them
// (TestCIRunsMatrix checks that it names them all).
var matrixTests = []string{"TestPurego", "TestCrossBuilds", "TestRace", "TestARMMatrix", "TestARM64Words", "TestRelease"}

// needMatrix skips the test, loudly, unless EDGE_MATRIX=1.
func needMatrix(t *testing.T, what, cost string) {
	t.Helper()
	if !slices.Contains(matrixTests, t.Name()) {
		t.Fatalf("%s is gated by %s but not listed in matrixTests, so CI would not run it", t.Name(), MatrixVar)
	}
	if os.Getenv(MatrixVar) != "1" {
		t.Skipf("SKIPPED: %s did NOT run (%s). It runs with %s=1: %s=1 go test -timeout 30m -run '^%s$' ./internal/testmatrix (.ci/run always runs it)",
			what, cost, MatrixVar, MatrixVar, t.Name())
	}
}

// TestCIRunsMatrix checks that .ci/run runs every EDGE_MATRIX test, so
// that gating a test never means CI skips it.
func TestCIRunsMatrix(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moduleRoot(t), ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), MatrixVar+"=1") {
		t.Errorf(".ci/run does not set %s=1", MatrixVar)
	}
	for _, name := range matrixTests {
		if !regexp.MustCompile(`\b` + name + `\b`).Match(b) {
			t.Errorf(".ci/run does not run %s, so CI would skip it", name)
		}
	}
}

// run runs the go command in the module root with extra environment and
// fails the test with its output on error.
func run(t *testing.T, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(goTool(t), args...)
	cmd.Dir = moduleRoot(t)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s go %s: %v\n%s", strings.Join(env, " "), strings.Join(args, " "), err, out)
	}
	return string(out)
}

// puregoSkipped are the packages whose tests TestPurego does not rerun
// with -tags purego. The tag changes the files of kernels and kernels/internal/asm
// only; demo and train have no assembly and no tagged files, and their
// tests are 6 of the purego run's 7 CPU-minutes (float32 training with the
// generic kernels). Their code still runs on the generic kernels in the
// purego run of cmd/edge (edge demo, train, eval) and on 32-bit ARM in
// TestARMMatrix, and vet compiles their tests with the tag.
var puregoSkipped = []string{"demo", "train"}

// TestPurego builds the whole suite with -tags purego (no assembly, the
// Generic family only): vet compiles every package and test, and the tests
// run for every package but puregoSkipped.
func TestPurego(t *testing.T) {
	skipShort(t, "the purego build of the suite")
	needMatrix(t, "the purego build of the suite", "35 s with a warm build cache, 2 min with a cold one")
	run(t, nil, "vet", "-tags", "purego", "./...")
	var pkgs []string
	for _, p := range strings.Fields(run(t, nil, "list", "-tags", "purego", "./...")) {
		rel := strings.TrimPrefix(strings.TrimPrefix(p, "github.com/edgeml/edge"), "/")
		if !slices.Contains(puregoSkipped, rel) {
			pkgs = append(pkgs, p)
		}
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found %d packages: %v", len(pkgs), pkgs)
	}
	// TestFaultTable (service) kills processes and brokers: what it tests
	// does not depend on the kernel family, and the README's run has it.
	out := run(t, nil, append([]string{"test", "-tags", "purego", "-count=1", "-skip", "^TestFaultTable$"}, pkgs...)...)
	t.Logf("go vet -tags purego ./... passed; go test -tags purego (all but %v):\n%s", puregoSkipped, out)
}

// TestForcedFamilies runs the kernel tests once per supported family with
// EDGE_KERNELS set, checking (TestEnvForced) that the forced family is the
// one that runs, and that forcing a family the CPU lacks is refused.
func TestForcedFamilies(t *testing.T) {
	skipShort(t, "the per-family EDGE_KERNELS runs")
	for _, f := range kernels.Supported() {
		out := run(t, []string{kernels.EnvVar + "=" + f.String()}, "test", "-count=1", "-run", "TestEnvForced|Q8AllTails|F32AllTails|FloatVectorOps", "-v", "./kernels")
		if !strings.Contains(out, "--- PASS: TestEnvForced") {
			t.Errorf("EDGE_KERNELS=%s: TestEnvForced did not pass:\n%s", f, out)
		}
	}
	for _, f := range kernels.Families() {
		if f.Supported() {
			continue
		}
		cmd := exec.Command(goTool(t), "run", "./cmd/edge", "info")
		cmd.Dir = moduleRoot(t)
		cmd.Env = append(os.Environ(), kernels.EnvVar+"="+f.String())
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "lacks") {
			t.Errorf("EDGE_KERNELS=%s on a CPU without it: err=%v, output:\n%s", f, err, out)
		}
	}
}

// TestCrossBuilds vets the module for amd64 and arm64 (asmdecl checks the
// assembly's frame offsets) and builds it for the Raspberry Pi targets.
func TestCrossBuilds(t *testing.T) {
	skipShort(t, "cross-architecture vet and builds")
	needMatrix(t, "vet for amd64, arm64 and arm, and the builds for 6 targets", "15 s with a warm build cache, 10 min with a cold one")
	for _, target := range []struct{ env []string }{
		{[]string{"GOOS=linux", "GOARCH=amd64"}},
		{[]string{"GOOS=linux", "GOARCH=arm64"}},
		{[]string{"GOOS=linux", "GOARCH=arm", "GOARM=6"}}, // 32-bit: vet compiles the tests too
	} {
		run(t, append(target.env, "CGO_ENABLED=0"), "vet", "./...")
	}
	for _, target := range [][]string{
		{"GOOS=linux", "GOARCH=arm64"},
		{"GOOS=linux", "GOARCH=arm", "GOARM=7"},
		{"GOOS=linux", "GOARCH=arm", "GOARM=6"},
		{"GOOS=linux", "GOARCH=386"},
		{"GOOS=darwin", "GOARCH=arm64"},
		{"GOOS=windows", "GOARCH=amd64"},
	} {
		run(t, append(target, "CGO_ENABLED=0"), "build", "./...")
	}
}

// TestGenerated checks that the committed assembly is what the generator
// writes today.
func TestGenerated(t *testing.T) {
	skipShort(t, "the assembly generator check")
	dir := t.TempDir()
	gen := exec.Command(goTool(t), "run", ".", "-out", dir)
	gen.Dir = filepath.Join(moduleRoot(t), "kernels", "internal", "asm", "_gen")
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, out)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("generator wrote nothing (%v)", err)
	}
	for _, f := range files {
		want, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		have, err := os.ReadFile(filepath.Join(moduleRoot(t), "kernels", "internal", "asm", filepath.Base(f)))
		if err != nil {
			t.Fatalf("generated file %s is not committed: %v", filepath.Base(f), err)
		}
		if string(have) != string(want) {
			t.Errorf("kernels/internal/asm/%s is stale: run go generate ./kernels/internal/asm", filepath.Base(f))
		}
	}
}

// TestRace runs the concurrency tests of the model runtime under the race
// detector (which needs cgo and a C compiler).
func TestRace(t *testing.T) {
	skipShort(t, "the race-detector run")
	needMatrix(t, "the race-detector run of model and kernels", "3 s with a warm build cache, 1.5 min with a cold one")
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("SKIPPED: no C compiler, so the race detector did NOT run (it needs cgo)")
	}
	out := run(t, []string{"CGO_ENABLED=1"}, "test", "-race", "-count=1", "-run", "Concurrent|Pool|Example", "./model", "./kernels")
	t.Logf("%s", out)
}
