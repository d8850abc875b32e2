package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
)

// supported returns the families to test, logging loudly which ones this
// machine cannot run (their tests then run elsewhere: CI under qemu for ARM).
func supported(t testing.TB) []Family {
	t.Helper()
	var out []Family
	for _, f := range Families() {
		if f.Supported() {
			out = append(out, f)
		} else {
			t.Logf("NOT TESTED HERE: family %s (needs %s, which this CPU lacks)", f, f.Needs())
		}
	}
	return out
}

// q8Case is one int8 GEMM problem with unpacked operands.
type q8Case struct {
	m, n, k int
	xs, ys  int
	x       []int8
	w       []int8
	bias    []int32
	scale   []float32
	zx      int8
	out     Output
}

func randQ8Case(rng *rand.Rand, m, n, k int) *q8Case {
	c := &q8Case{m: m, n: n, k: k, xs: k + rng.IntN(3), ys: n + rng.IntN(3)}
	c.x = make([]int8, (m-1)*c.xs+k, (m-1)*c.xs+k+Slack)
	for i := range c.x {
		c.x[i] = int8(rng.IntN(256) - 128)
	}
	c.w = make([]int8, n*k)
	for i := range c.w {
		c.w[i] = int8(rng.IntN(255) - 127)
	}
	if rng.IntN(4) != 0 {
		c.bias = make([]int32, n)
		for i := range c.bias {
			c.bias[i] = int32(rng.IntN(1<<16) - 1<<15)
		}
	}
	c.scale = make([]float32, n)
	// Scales that map the accumulator range roughly onto int8, with spread.
	base := 1 / (float32(k) * 100 * float32(1+rng.IntN(4)))
	for i := range c.scale {
		c.scale[i] = base * (0.25 + 2*rng.Float32())
	}
	c.zx = int8(rng.IntN(256) - 128)
	zp := int8(rng.IntN(256) - 128)
	switch rng.IntN(3) {
	case 0:
		c.out = Linear(zp)
	case 1:
		c.out = ReLU(zp)
	default:
		a, b := int8(rng.IntN(256)-128), int8(rng.IntN(256)-128)
		c.out = Output{ZeroPoint: zp, Min: min(a, b), Max: max(a, b)}
	}
	return c
}

// check runs the case on family f (with a forced tile when ts.mr > 0) and
// compares both outputs with the reference.
func (c *q8Case) check(t testing.TB, f Family, force *tileShape) {
	t.Helper()
	w, err := PackQ8For(f, c.w, c.n, c.k, c.bias, c.scale, c.zx)
	if err != nil {
		t.Fatalf("%s: pack: %v", f, err)
	}
	want := make([]int8, (c.m-1)*c.ys+c.n)
	refGemmQ8(c.m, c.n, c.k, c.x, c.xs, c.w, c.bias, c.scale, c.zx, want, c.ys, c.out)
	got := make([]int8, len(want))
	for i := range got {
		got[i] = 0x5a // gaps between rows must survive untouched
	}
	for i := range want {
		if (i % c.ys) >= c.n {
			want[i] = 0x5a
		}
	}
	if force != nil {
		gemmForced(w, c.m, c.x, c.xs, got, c.ys, c.out, *force)
	} else if err := w.Gemm(c.m, c.x, c.xs, got, c.ys, c.out); err != nil {
		t.Fatalf("%s: Gemm: %v", f, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s %s m=%d n=%d k=%d zx=%d out=%+v: y[%d][%d] = %d, want %d",
				f, w.impl.name, c.m, c.n, c.k, c.zx, c.out, i/c.ys, i%c.ys, got[i], want[i])
		}
	}
	wantF := make([]float32, (c.m-1)*c.ys+c.n)
	refGemmQ8F32(c.m, c.n, c.k, c.x, c.xs, c.w, c.bias, c.scale, c.zx, wantF, c.ys)
	gotF := make([]float32, len(wantF))
	for i := range wantF {
		if (i % c.ys) >= c.n {
			wantF[i] = -7
		}
		gotF[i] = -7
	}
	if force != nil {
		gemmF32Forced(w, c.m, c.x, c.xs, gotF, c.ys, *force)
	} else if err := w.GemmF32(c.m, c.x, c.xs, gotF, c.ys); err != nil {
		t.Fatalf("%s: GemmF32: %v", f, err)
	}
	for i := range wantF {
		if math.Float32bits(gotF[i]) != math.Float32bits(wantF[i]) {
			t.Fatalf("%s %s float m=%d n=%d k=%d: y[%d][%d] = %v, want %v",
				f, w.impl.name, c.m, c.n, c.k, i/c.ys, i%c.ys, gotF[i], wantF[i])
		}
	}
}

func TestQ8AllTails(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range supported(t) {
		t.Run(f.String(), func(t *testing.T) {
			// Every M, N and K from 1 to 67 appears, in random combinations.
			for i := 1; i <= 67; i++ {
				for _, d := range [][3]int{{i, rng.IntN(67) + 1, rng.IntN(67) + 1}, {rng.IntN(67) + 1, i, rng.IntN(67) + 1}, {rng.IntN(67) + 1, rng.IntN(67) + 1, i}} {
					randQ8Case(rng, d[0], d[1], d[2]).check(t, f, nil)
				}
			}
			// Wider layers: several column groups and the model's shapes.
			for _, d := range [][3]int{{1, 640, 128}, {1, 128, 640}, {16, 128, 640}, {256, 128, 640}, {3, 130, 129}, {1, 8, 128}, {17, 640, 8}, {9, 200, 33}} {
				randQ8Case(rng, d[0], d[1], d[2]).check(t, f, nil)
			}
		})
	}
}

func TestQ8EveryTile(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, f := range supported(t) {
		tiles := q8Tiles(f)
		if len(tiles) == 0 {
			continue
		}
		t.Run(f.String(), func(t *testing.T) {
			for _, ts := range tiles {
				for rep := 0; rep < 3; rep++ {
					m := ts.mr*(1+rng.IntN(2)) + rng.IntN(ts.mr)
					n := rng.IntN(q8NR(f)*ts.nv*2) + 1
					k := rng.IntN(70) + 1
					c := randQ8Case(rng, m, n, k)
					c.check(t, f, &ts)
				}
			}
		})
	}
}

func TestQ8Extremes(t *testing.T) {
	for _, f := range supported(t) {
		t.Run(f.String(), func(t *testing.T) {
			for _, k := range []int{1, 7, 64, 4096, 4099, MaxK} {
				for _, wv := range []int8{127, -127, 0} {
					for _, alt := range []bool{false, true} {
						m, n := 3, 37
						if k == MaxK {
							m, n = 2, 17
						}
						c := &q8Case{m: m, n: n, k: k, xs: k, ys: n}
						c.x = make([]int8, m*k, m*k+Slack)
						for i := range c.x {
							c.x[i] = -128
						}
						c.w = make([]int8, n*k)
						for i := range c.w {
							c.w[i] = wv
							if alt && i%2 == 1 {
								c.w[i] = -wv
							}
						}
						c.scale = make([]float32, n)
						for i := range c.scale {
							c.scale[i] = 1 / float32(k*128*127) * float32(1+i%5)
						}
						c.bias = make([]int32, n)
						c.bias[0] = math.MaxInt32 / 4
						c.zx, c.out = 0, Linear(0)
						c.check(t, f, nil)
						c.zx, c.out = 127, ReLU(-128)
						c.check(t, f, nil)
						c.zx, c.out = -128, Output{ZeroPoint: 3, Min: -5, Max: 9}
						c.check(t, f, nil)
					}
				}
			}
		})
	}
}

// TestQ8Rounding pins requantisation on values that sit exactly on .5 and on
// the clamp bounds, where an implementation that rounds half away from zero
// or clamps after adding the zero point would differ.
func TestQ8Rounding(t *testing.T) {
	for _, f := range supported(t) {
		// One input channel with x=1 and weights 1: acc = bias.
		n := 40
		w := make([]int8, n)
		bias := make([]int32, n)
		scale := make([]float32, n)
		for j := range w {
			w[j] = 1
			bias[j] = int32(2*j - n) // acc in [-n+1, n-1] after +1
			scale[j] = 0.5
		}
		pw, err := PackQ8For(f, w, n, 1, bias, scale, 0)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]int8, 1, 1+Slack)
		x[0] = 1
		y := make([]int8, n)
		if err := pw.Gemm(1, x, 1, y, n, Output{ZeroPoint: 0, Min: -10, Max: 10}); err != nil {
			t.Fatal(err)
		}
		for j := range y {
			acc := float64(bias[j] + 1)
			want := math.RoundToEven(acc / 2)
			want = math.Max(-10, math.Min(10, want))
			if float64(y[j]) != want {
				t.Errorf("%s: acc %v * 0.5 -> %d, want %v", f, acc, y[j], want)
			}
		}
	}
}

func TestQ8Errors(t *testing.T) {
	w := []int8{1, 2, 3, 4}
	if _, err := PackQ8(w, 2, 2, nil, []float32{1, float32(math.NaN())}, 0); err == nil {
		t.Error("NaN scale accepted")
	}
	if _, err := PackQ8([]int8{-128, 0, 0, 0}, 2, 2, nil, []float32{1, 1}, 0); err == nil {
		t.Error("weight -128 accepted")
	}
	if _, err := PackQ8(w, 2, 3, nil, []float32{1, 1}, 0); err == nil {
		t.Error("wrong weight count accepted")
	}
	if _, err := PackQ8(w, 2, 2, []int32{1}, []float32{1, 1}, 0); err == nil {
		t.Error("wrong bias count accepted")
	}
	if _, err := PackQ8(nil, 0, MaxK+1, nil, nil, 0); err == nil {
		t.Error("k beyond MaxK accepted")
	}
	p, err := PackQ8(w, 2, 2, nil, []float32{1, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]int8, 2)
	if err := p.Gemm(1, make([]int8, 2), 2, y, 2, Linear(0)); err == nil {
		t.Error("input without slack accepted")
	}
	if err := p.Gemm(2, make([]int8, 2, 2+Slack), 2, y, 2, Linear(0)); err == nil {
		t.Error("short input accepted")
	}
	if err := p.Gemm(1, make([]int8, 2, 2+Slack), 2, y[:1], 2, Linear(0)); err == nil {
		t.Error("short output accepted")
	}
	if err := p.Gemm(1, make([]int8, 2, 2+Slack), -1, y, 2, Linear(0)); err == nil {
		t.Error("negative stride accepted")
	}
	if err := p.Gemm(1, make([]int8, 2, 2+Slack), 2, y, 2, Output{Min: 5, Max: 4}); err == nil {
		t.Error("empty clamp accepted")
	}
	if err := p.Gemm(0, nil, 2, nil, 2, Linear(0)); err != nil {
		t.Errorf("m=0: %v", err)
	}
}

func TestQ8Allocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, f := range supported(t) {
		c := randQ8Case(rng, 16, 128, 640)
		w, err := PackQ8For(f, c.w, c.n, c.k, c.bias, c.scale, c.zx)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]int8, (c.m-1)*c.ys+c.n)
		yf := make([]float32, len(y))
		for _, m := range []int{1, c.m} {
			if a := testing.AllocsPerRun(20, func() { _ = w.Gemm(m, c.x, c.xs, y, c.ys, c.out) }); a != 0 {
				t.Errorf("%s: Gemm m=%d allocates %v times per call", f, m, a)
			}
			if a := testing.AllocsPerRun(20, func() { _ = w.GemmF32(m, c.x, c.xs, yf, c.ys) }); a != 0 {
				t.Errorf("%s: GemmF32 m=%d allocates %v times per call", f, m, a)
			}
		}
	}
}

// TestEnvForced checks that a family forced through EDGE_KERNELS is the one
// that runs (CI runs the suite once per family this way).
func TestEnvForced(t *testing.T) {
	v := os.Getenv(EnvVar)
	if v == "" {
		t.Skipf("%s not set: nothing forced", EnvVar)
	}
	if err := EnvError(); err != nil {
		t.Fatalf("EDGE_KERNELS=%s was not honoured: %v", v, err)
	}
	if got := Current().String(); got != v {
		t.Fatalf("EDGE_KERNELS=%s but family %s runs", v, got)
	}
}

func TestUseAndParse(t *testing.T) {
	defer func(f Family) {
		if err := Use(f); err != nil {
			t.Fatal(err)
		}
	}(Current())
	for _, f := range Families() {
		g, err := ParseFamily(" " + fmt.Sprint(f) + " ")
		if err != nil || g != f {
			t.Errorf("ParseFamily(%q) = %v, %v", f, g, err)
		}
		err = Use(f)
		if f.Supported() != (err == nil) {
			t.Errorf("Use(%s) = %v with Supported=%v", f, err, f.Supported())
		}
		if err == nil && Current() != f {
			t.Errorf("Use(%s) left %s current", f, Current())
		}
	}
	if _, err := ParseFamily("sse9"); err == nil {
		t.Error("unknown family parsed")
	}
	for f := Generic; f < numFamilies; f++ {
		if !f.Supported() {
			if err := Use(f); err == nil {
				t.Errorf("Use(%s) on a CPU without it succeeded", f)
			}
			if _, err := PackQ8For(f, []int8{1}, 1, 1, nil, []float32{1}, 0); err == nil {
				t.Errorf("PackQ8For(%s) on a CPU without it succeeded", f)
			}
		}
	}
	if Best() != Supported()[len(Supported())-1] {
		t.Error("Best is not the last supported family")
	}
}

// TestHostileStrides checks that strides whose extents overflow int are
// refused rather than wrapped into a passing bounds check.
func TestHostileStrides(t *testing.T) {
	p, err := PackQ8([]int8{1, 2, 3, 4}, 2, 2, nil, []float32{1, 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	huge := int(^uint(0)>>1) / 2
	x := make([]int8, 4, 4+Slack)
	if err := p.Gemm(3, x, huge, make([]int8, 8), 2, Linear(0)); err == nil {
		t.Error("input stride that overflows accepted")
	}
	if err := p.Gemm(1, x, 2, make([]int8, 8), huge, Linear(0)); err != nil {
		t.Errorf("m=1 with a huge output stride (never used) refused: %v", err)
	}
	if err := p.Gemm(3, make([]int8, 6, 6+Slack), 2, make([]int8, 8), huge, Linear(0)); err == nil {
		t.Error("output stride that overflows accepted")
	}
	f, err := PackF32([]float32{1, 2, 3, 4}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Gemm(3, make([]float32, 6), huge, make([]float32, 6), 2, nil); err == nil {
		t.Error("float input stride that overflows accepted")
	}
	if err := Sgemm(false, false, 3, 2, 2, make([]float32, 6), huge, make([]float32, 4), 2, make([]float32, 6), 2, false, nil); err == nil {
		t.Error("Sgemm lda that overflows accepted")
	}
}

// TestExpectedFamily lets a test matrix assert which family this CPU gets
// (EDGE_EXPECT_FAMILY=neondot under an emulated Cortex-A76, say): the
// family detected as best must be the expected one, and it must be in use.
func TestExpectedFamily(t *testing.T) {
	want := os.Getenv("EDGE_EXPECT_FAMILY")
	if want == "" {
		t.Skip("EDGE_EXPECT_FAMILY not set: no expectation")
	}
	if Best().String() != want || Current().String() != want {
		t.Fatalf("expected family %s, but Best() = %s and Current() = %s", want, Best(), Current())
	}
	t.Logf("family %s detected and in use, as expected", want)
}

// TestRequiredFamilies fails when a family that CI requires
// (EDGE_REQUIRE_FAMILIES=avx2,avx512, say) is not one this build and CPU
// can run: the family's tests would otherwise not run, and pass silently.
func TestRequiredFamilies(t *testing.T) {
	req := os.Getenv("EDGE_REQUIRE_FAMILIES")
	if req == "" {
		t.Skip("EDGE_REQUIRE_FAMILIES not set: no family required")
	}
	for _, name := range strings.Split(req, ",") {
		f, err := ParseFamily(name)
		if err != nil {
			t.Errorf("EDGE_REQUIRE_FAMILIES: %v", err)
			continue
		}
		if !f.Supported() {
			t.Errorf("family %s is required (EDGE_REQUIRE_FAMILIES=%s) but this build and CPU cannot run it (it needs %s): its tests did not run", f, req, f.Needs())
			continue
		}
		t.Logf("family %s required and tested", f)
	}
}

// TestQ8OverlappingRows reads rows that overlap (stride < k), as a
// convolution does when it runs on its input in place.
func TestQ8OverlappingRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	for _, f := range supported(t) {
		for _, xs := range []int{0, 1, 3, 8} {
			c := randQ8Case(rng, 9, 37, 40)
			c.xs = xs
			c.x = c.x[: 8*xs+40 : 8*xs+40+Slack]
			c.check(t, f, nil)
		}
	}
}
