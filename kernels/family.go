package kernels

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
)

// Family names a set of kernel implementations built on one instruction set.
// Every family computes exactly the same results as the pure-Go Generic
// family; they differ only in speed and in the CPUs that can run them.
type Family uint8

// The kernel families, from the most portable to the most specialised.
const (
	// Generic is pure Go: it runs everywhere and is the oracle in tests.
	Generic Family = iota
	// AVX2 needs x86-64 AVX2 and FMA (Haswell, Zen 1 and later).
	AVX2
	// AVX512 needs x86-64 AVX-512 F, BW, VL and VNNI (Ice Lake, Zen 4 and later).
	AVX512
	// NEON needs arm64 Advanced SIMD (Cortex-A53/A72: Raspberry Pi 3, 4, Zero 2 W).
	NEON
	// NEONDot needs arm64 Advanced SIMD with the dot-product extension
	// (Cortex-A76 and later: Raspberry Pi 5).
	NEONDot
	numFamilies
)

var familyNames = [numFamilies]string{"generic", "avx2", "avx512", "neon", "neondot"}

var familyNeeds = [numFamilies]string{
	"nothing (pure Go)",
	"x86-64 AVX2 and FMA",
	"x86-64 AVX-512 F, BW, VL and VNNI",
	"arm64 Advanced SIMD",
	"arm64 Advanced SIMD with dot product (ASIMDDP)",
}

// EnvVar is the environment variable that forces a kernel family at start-up,
// e.g. EDGE_KERNELS=generic.
const EnvVar = "EDGE_KERNELS"

// String returns the family's name as used by EDGE_KERNELS and ParseFamily.
func (f Family) String() string {
	if f < numFamilies {
		return familyNames[f]
	}
	return fmt.Sprintf("Family(%d)", uint8(f))
}

// Needs describes the CPU features the family requires.
func (f Family) Needs() string {
	if f < numFamilies {
		return familyNeeds[f]
	}
	return "unknown family"
}

// ParseFamily returns the family with the given name (case-insensitive).
func ParseFamily(name string) (Family, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	for f := Family(0); f < numFamilies; f++ {
		if familyNames[f] == n {
			return f, nil
		}
	}
	return Generic, fmt.Errorf("kernels: unknown family %q (known: %s)", name, strings.Join(familyNames[:], ", "))
}

// Supported reports whether this build and this CPU can run the family.
// Generic is always supported. A family compiled out (by GOARCH or by the
// purego build tag) or needing features the CPU lacks is not.
func (f Family) Supported() bool {
	if f >= numFamilies {
		return false
	}
	return arch.supported[f]
}

// Families returns every family this build knows for its architecture, in
// increasing order of preference, whether or not the CPU supports them.
func Families() []Family {
	out := []Family{Generic}
	for f := Generic + 1; f < numFamilies; f++ {
		if arch.compiled[f] {
			out = append(out, f)
		}
	}
	return out
}

// Supported returns the families this CPU can run, in increasing order of
// preference; the last one is Best.
func Supported() []Family {
	var out []Family
	for _, f := range Families() {
		if f.Supported() {
			out = append(out, f)
		}
	}
	return out
}

// Best returns the most specialised family the CPU supports.
func Best() Family {
	s := Supported()
	return s[len(s)-1]
}

// table is the kernel dispatch table: the implementation of each kernel for
// one family. It is the only global state of the package, read through an
// atomic pointer so that Use is safe while other goroutines run kernels.
type table struct {
	family Family
	q8     *q8Impl
	f32    *f32Impl
	vec    *vecImpl
}

var dispatch atomic.Pointer[table]

func init() {
	f, _ := envFamily()
	dispatch.Store(buildTable(f))
}

// envFamily returns the family EDGE_KERNELS asks for, or Best with an error
// when the variable names an unknown family or one the CPU lacks.
func envFamily() (Family, error) {
	v, ok := os.LookupEnv(EnvVar)
	if !ok || strings.TrimSpace(v) == "" {
		return Best(), nil
	}
	f, err := ParseFamily(v)
	if err == nil && !f.Supported() {
		err = unsupportedError(f)
	}
	if err != nil {
		return Best(), fmt.Errorf("%s=%s: %w; using %s", EnvVar, v, err, Best())
	}
	return f, nil
}

// EnvError reports an EDGE_KERNELS value that could not be honoured at
// start-up (unknown name or a family the CPU lacks). The package then runs
// the best supported family; commands should print the error and stop.
func EnvError() error {
	_, err := envFamily()
	return err
}

func unsupportedError(f Family) error {
	if !arch.compiled[f] && f != Generic {
		return fmt.Errorf("kernels: family %s is not built for this architecture or build tags (it needs %s)", f, f.Needs())
	}
	return fmt.Errorf("kernels: family %s needs %s, which this CPU lacks", f, f.Needs())
}

// Use makes f the family for every kernel packed or called from now on.
// Weights packed earlier keep the family they were packed for. It returns an
// error, and changes nothing, when the CPU or the build lacks the family.
func Use(f Family) error {
	if f >= numFamilies {
		return fmt.Errorf("kernels: unknown family %d", uint8(f))
	}
	if !f.Supported() {
		return unsupportedError(f)
	}
	dispatch.Store(buildTable(f))
	return nil
}

// Current returns the family in use.
func Current() Family { return dispatch.Load().family }

// Choice is one row of Choices: which implementation a kernel uses.
type Choice struct {
	Kernel string // what the kernel does, e.g. "int8 GEMM"
	Family Family // the family whose code runs
	Impl   string // the implementation's name, e.g. "8x32c4"
}

// Choices lists, for the family in use, the implementation each kernel runs.
// A kernel without code of its own in a family runs the best lower family's.
func Choices() []Choice {
	return choicesOf(dispatch.Load())
}

// ChoicesFor is Choices for a family that may not be the current one.
func ChoicesFor(f Family) []Choice {
	return choicesOf(buildTable(f))
}

func choicesOf(t *table) []Choice {
	return []Choice{
		{"int8 GEMM (requantised and float output)", t.q8.family, t.q8.name},
		{"float32 GEMM", t.f32.family, t.f32.name},
		{"vector ops (quantise, dequantise, LUT, float32)", t.vec.family, t.vec.name},
	}
}

// buildTable picks for each kernel the implementation of the most
// specialised family not above f, among those the CPU supports.
func buildTable(f Family) *table {
	t := &table{family: f}
	for _, q := range arch.q8 {
		if q.family <= f && q.family.Supported() && (t.q8 == nil || q.family > t.q8.family) {
			t.q8 = q
		}
	}
	for _, q := range arch.f32 {
		if q.family <= f && q.family.Supported() && (t.f32 == nil || q.family > t.f32.family) {
			t.f32 = q
		}
	}
	for _, q := range arch.vec {
		if q.family <= f && q.family.Supported() && (t.vec == nil || q.family > t.vec.family) {
			t.vec = q
		}
	}
	return t
}

// archInfo is what an architecture file contributes: which families it
// compiled, which the CPU supports, and the implementations of each kernel.
type archInfo struct {
	compiled  [numFamilies]bool
	supported [numFamilies]bool
	q8        []*q8Impl
	f32       []*f32Impl
	vec       []*vecImpl
}
