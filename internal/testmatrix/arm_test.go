//go:build !purego

package testmatrix

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// armTarget is one way of building for ARM.
type armTarget struct {
	name   string
	env    []string // GOARCH, GOARM
	qemu   string   // qemu-user binary
	binDir string   // filled by build
}

// armCase is one emulated CPU and the kernel family it must get.
type armCase struct {
	target *armTarget
	cpu    string
	family string
	lacks  string   // a family this CPU lacks, which forcing must refuse
	pkgs   []string // the packages whose tests run on this CPU
	skip   string   // -test.skip for cmd/edge's tests: those another case runs on the same code
	pin    []string // taskset -c CORE, when the case runs pinned
}

// cmd/edge's four slowest tests (training variants, the demo and eval,
// watch) take three quarters of its time under emulation, and the two
// 32-bit cases, which run the same pure-Go code built with another GOARM,
// share them: ARMv6 leaves three to ARMv7 and ARMv7 the fourth to ARMv6,
// so that each of those cases, the matrix's longest, is about as long as
// the arm64 cases that follow on the other core. Every test runs on
// 32-bit ARM; every other package runs on both.
const (
	v6Skip = "^(TestTrainVariantsAndArchs|TestTrainDialects|TestWatchCommand)$"
	v7Skip = "^(TestDemoAndEvalCommands)$"
)

// packages whose tests run under emulation; testdata is read relative to
// each package directory.
var armPackages = []string{"kernels", "model", "quant", "bench", "cmd/edge"}

// kernelsOnly is for a CPU that gets the same binary and the same kernel
// family as another case: only the kernels (whose code depends on the CPU)
// run again; model, quant, bench and cmd/edge would run the same code.
var kernelsOnly = []string{"kernels"}

func lookQemu(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("SKIPPED: %s not found, so the ARM test matrix did NOT run. Install Debian's qemu-user (apt-get install -y qemu-user); .ci/run does.", name)
	}
	return p
}

// buildARM cross-compiles the test binaries of armPackages and the edge
// command for target into a temporary directory.
func buildARM(t *testing.T, tg *armTarget) {
	t.Helper()
	tg.binDir = t.TempDir()
	env := append([]string{"GOOS=linux", "CGO_ENABLED=0"}, tg.env...)
	for _, p := range armPackages {
		run(t, env, "test", "-c", "-o", filepath.Join(tg.binDir, strings.ReplaceAll(p, "/", "_")+".test"), "./"+p)
	}
	run(t, env, "build", "-trimpath", "-o", filepath.Join(tg.binDir, "edge"), "./cmd/edge")
}

// emulate runs a binary under qemu-user with the case's CPU model, on the
// case's core if it is pinned.
func emulate(c armCase, dir string, env []string, args ...string) (string, error) {
	argv := append(append(slices.Clone(c.pin), c.target.qemu, "-cpu", c.cpu), args...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "QEMU_CPU="+c.cpu), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// armCores returns the cores the cases run on, one case at a time on each,
// and the taskset command that pins a case to its core. Emulated, a Go
// binary sees every core of the host, so training (4 threads' worth of
// spinning pool workers when two cases share 2 cores) burns a third of the
// 32-bit cases' CPU time waiting; pinned, it sees one core and trains on
// one thread by default: cmd/edge's tests on ARM1176 take 106 s instead of
// 166 s, bench's 34 s instead of 49 s. The pool's threads still run under
// emulation in bench's TestTrainRows (1 and 2 threads). Without taskset or
// /proc/self/status, the cases run unpinned, GOMAXPROCS at a time.
func armCores() (cores []int, taskset string) {
	ts, err := exec.LookPath("taskset")
	status, err2 := os.ReadFile("/proc/self/status")
	if err == nil && err2 == nil {
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok {
				if cores = cpuList(strings.TrimSpace(v)); len(cores) > 0 {
					return cores, ts
				}
			}
		}
	}
	return make([]int, runtime.GOMAXPROCS(0)), ""
}

// cpuList parses a list of CPUs such as "0-3,6"; nil if it is malformed.
func cpuList(s string) []int {
	var cpus []int
	for _, r := range strings.Split(s, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			return nil
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil || b < a {
				return nil
			}
		}
		for i := a; i <= b; i++ {
			cpus = append(cpus, i)
		}
	}
	return cpus
}

// TestARMMatrix runs the kernel, bench and command tests under qemu-user
// for the Raspberry Pi CPUs: arm64 Cortex-A53 and A72 (NEON), A76 (NEON
// dot product) and qemu's max; 32-bit ARMv6 (ARM1176, Pi Zero/1, GOARM=6)
// and ARMv7 (Cortex-A7, GOARM=7), which run pure Go. Each run asserts the
// family that was detected and used (EDGE_EXPECT_FAMILY), and edge info and
// edge bench run on each emulated CPU.
//
// Every (binary, family) pair runs the tests of all armPackages: armv6,
// armv7, A72 (neon) and A76 (neondot). A53 and max would run the same code
// of this module as A72 and A76, so they run the kernels' tests only
// (kernelsOnly), plus edge info, bench and the forcing checks. The cases
// run one per core (armCores), started slowest first so that none of the
// long 32-bit runs (pure-Go float code under emulation, 3 to 5 min each)
// is left to run alone at the end.
func TestARMMatrix(t *testing.T) {
	skipShort(t, "the ARM test matrix under qemu-user")
	needMatrix(t, "the ARM test matrix under qemu-user", "8 to 13 min on 2 cores")
	a64 := &armTarget{name: "arm64", env: []string{"GOARCH=arm64"}, qemu: lookQemu(t, "qemu-aarch64")}
	v6 := &armTarget{name: "armv6", env: []string{"GOARCH=arm", "GOARM=6"}, qemu: lookQemu(t, "qemu-arm")}
	v7 := &armTarget{name: "armv7", env: []string{"GOARCH=arm", "GOARM=7"}, qemu: v6.qemu}
	for _, tg := range []*armTarget{a64, v6, v7} {
		buildARM(t, tg)
	}
	cases := []armCase{ // slowest first
		{target: v6, cpu: "arm1176", family: "generic", lacks: "neon", pkgs: armPackages, skip: v6Skip},
		{target: v7, cpu: "cortex-a7", family: "generic", lacks: "neon", pkgs: armPackages, skip: v7Skip},
		{target: a64, cpu: "cortex-a72", family: "neon", lacks: "neondot", pkgs: armPackages},
		{target: a64, cpu: "cortex-a76", family: "neondot", lacks: "avx2", pkgs: armPackages},
		{target: a64, cpu: "cortex-a53", family: "neon", lacks: "neondot", pkgs: kernelsOnly},
		{target: a64, cpu: "max", family: "neondot", lacks: "avx512", pkgs: kernelsOnly},
	}
	root := moduleRoot(t)
	goldDir, gold := goldenHost(t)
	// t.Parallel would start the cases in no set order; taking the free
	// cores in the order of cases starts them slowest first, one per core.
	cores, taskset := armCores()
	free := make(chan int, len(cores))
	for _, core := range cores {
		free <- core
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, c := range cases {
		core := <-free
		if taskset != "" {
			c.pin = []string{taskset, "-c", strconv.Itoa(core)}
		}
		wg.Add(1)
		go func() {
			defer func() { free <- core; wg.Done() }()
			t.Run(c.target.name+"/"+c.cpu, func(t *testing.T) {
				armRun(t, root, c)
				if len(c.pkgs) > 1 && c.target != v7 { // one per binary and family; armv7 runs armv6's code (both VFP, pure Go)
					goldenARM(t, c, goldDir, gold)
				}
			})
		}()
	}
}

// armRun runs one case of TestARMMatrix.
func armRun(t *testing.T, root string, c armCase) {
	for _, p := range c.pkgs {
		bin := filepath.Join(c.target.binDir, strings.ReplaceAll(p, "/", "_")+".test")
		start := time.Now()
		args := []string{bin, "-test.count=1", "-test.v"}
		if p == "cmd/edge" && c.skip != "" {
			args = append(args, "-test.skip", c.skip)
		}
		out, err := emulate(c, filepath.Join(root, p), []string{"EDGE_EXPECT_FAMILY=" + c.family}, args...)
		if err != nil {
			t.Fatalf("%s tests on %s: %v\n%s", p, c.cpu, err, tail(out, 60))
		}
		if p == "kernels" && !strings.Contains(out, "--- PASS: TestExpectedFamily") {
			t.Fatalf("kernels on %s: TestExpectedFamily did not pass (family %s expected):\n%s", c.cpu, c.family, tail(out, 40))
		}
		t.Logf("%s tests on %s: pass in %.0fs", p, c.cpu, time.Since(start).Seconds())
	}
	edge := filepath.Join(c.target.binDir, "edge")
	out, err := emulate(c, root, nil, edge, "info")
	if err != nil || !strings.Contains(out, "In use: "+c.family+" ") {
		t.Fatalf("edge info on %s: err=%v, want family %s:\n%s", c.cpu, err, c.family, out)
	}
	out, err = emulate(c, root, nil, edge, "bench", "-kinds", "int8,chain", "-shapes", "128x8", "-batches", "1,5", "-iters", "3")
	if err != nil || !regexp.MustCompile(`(?m)^\s+`+c.family+`\s+chain\s`).MatchString(out) {
		t.Fatalf("edge bench on %s: err=%v, want %s rows:\n%s", c.cpu, err, c.family, out)
	}
	// Forcing the plain family works; forcing one the CPU lacks is a
	// clear error (exit status 2), never an illegal instruction.
	out, err = emulate(c, root, []string{"EDGE_KERNELS=generic"}, edge, "info")
	if err != nil || !strings.Contains(out, "In use: generic") {
		t.Fatalf("EDGE_KERNELS=generic edge info on %s: err=%v:\n%s", c.cpu, err, out)
	}
	out, err = emulate(c, root, []string{"EDGE_KERNELS=" + c.lacks}, edge, "info")
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(out, c.lacks) {
		t.Fatalf("EDGE_KERNELS=%s on %s: want exit status 2 naming the family, got err=%v:\n%s", c.lacks, c.cpu, err, out)
	}
}

func tail(s string, lines int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > lines {
		l = l[len(l)-lines:]
	}
	return strings.Join(l, "\n")
}

// TestARM64Words checks every WORD the generator wrote: in the linked arm64
// test binary, each WORD line of the kernels' assembly (located by go tool
// objdump's file:line) must disassemble, with Debian's
// aarch64-linux-gnu-objdump, to the instruction in its comment.
func TestARM64Words(t *testing.T) {
	skipShort(t, "the arm64 WORD encoding check")
	needMatrix(t, "the arm64 WORD encoding check", "6 s with a warm build cache, 1.5 min with a cold one")
	objdump, err := exec.LookPath("aarch64-linux-gnu-objdump")
	if err != nil {
		t.Skip("SKIPPED: aarch64-linux-gnu-objdump not found, so the WORD encodings were NOT checked. Install Debian's binutils-aarch64-linux-gnu; .ci/run does.")
	}
	root := moduleRoot(t)
	bin := filepath.Join(t.TempDir(), "kernels.test")
	run(t, []string{"GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0"}, "test", "-c", "-o", bin, "./kernels")

	// The WORD lines of our sources: file:line -> expected text.
	want := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(root, "kernels", "internal", "asm", "*_arm64.s"))
	wordRe := regexp.MustCompile(`^\s*WORD \$0x([0-9a-f]{8}) // (.*)$`)
	for _, f := range files {
		lines, err := readLines(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range lines {
			if m := wordRe.FindStringSubmatch(l); m != nil {
				want[fmt.Sprintf("%s:%d", filepath.Base(f), i+1)] = m[1] + " " + normalise(m[2])
			}
		}
	}
	if len(want) == 0 {
		t.Fatal("no WORD lines found in kernels/internal/asm/*_arm64.s")
	}
	// file:line -> address, from Go's own disassembler.
	gout, err := exec.Command(goTool(t), "tool", "objdump", "-s", `kernels/internal/asm\.`, bin).Output()
	if err != nil {
		t.Fatalf("go tool objdump: %v", err)
	}
	addrOf := map[string]string{}
	for _, l := range strings.Split(string(gout), "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && strings.HasSuffix(strings.SplitN(f[0], ":", 2)[0], "_arm64.s") {
			if _, ok := want[f[0]]; ok {
				addrOf[f[0]] = strings.TrimPrefix(f[1], "0x")
			}
		}
	}
	// address -> GNU disassembly.
	dout, err := exec.Command(objdump, "-d", bin).Output()
	if err != nil {
		t.Fatalf("%s: %v", objdump, err)
	}
	gnu := map[string]string{}
	insRe := regexp.MustCompile(`^\s*([0-9a-f]+):\s+([0-9a-f]{8})\s+(.*)$`)
	for _, l := range strings.Split(string(dout), "\n") {
		if m := insRe.FindStringSubmatch(l); m != nil {
			gnu[m[1]] = m[2] + " " + normalise(m[3])
		}
	}
	checked := 0
	for loc, w := range want {
		addr, ok := addrOf[loc]
		if !ok {
			t.Errorf("%s: WORD not found in the linked binary (%s)", loc, w)
			continue
		}
		a, err := strconv.ParseUint(addr, 16, 64)
		if err != nil {
			t.Fatalf("bad address %q", addr)
		}
		got := gnu[strconv.FormatUint(a, 16)]
		if got != w {
			t.Errorf("%s: WORD decodes to %q, its comment says %q", loc, got, w)
		}
		checked++
	}
	t.Logf("%d WORD lines decode to their comments", checked)
}

// normalise folds white space and drops objdump's trailing comments.
func normalise(s string) string {
	if i := strings.Index(s, "//"); i >= 0 {
		s = s[:i]
	}
	return strings.Join(strings.Fields(strings.ReplaceAll(s, ",", ", ")), " ")
}

func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out, sc.Err()
}

func TestCPUList(t *testing.T) {
	for in, want := range map[string][]int{
		"0-1": {0, 1}, "0,2-3": {0, 2, 3}, "5": {5}, "": nil, "1-0": nil, "0-x": nil, "a": nil,
	} {
		if got := cpuList(in); !slices.Equal(got, want) {
			t.Errorf("cpuList(%q) = %v, want %v", in, got, want)
		}
	}
}
