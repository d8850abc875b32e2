package kernels

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactFMA32 is the oracle of FMA32: a*b+c in exact arithmetic, rounded once
// to float32 (nearest, ties to even, with subnormals).
func exactFMA32(a, b, c float32) float32 {
	if math.IsNaN(float64(a)) || math.IsNaN(float64(b)) || math.IsNaN(float64(c)) ||
		math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) || math.IsInf(float64(c), 0) {
		return float32(float64(a)*float64(b) + float64(c))
	}
	x := new(big.Float).SetPrec(2000).SetFloat64(float64(a))
	x.Mul(x, new(big.Float).SetPrec(2000).SetFloat64(float64(b)))
	x.Add(x, new(big.Float).SetPrec(2000).SetFloat64(float64(c)))
	f, _ := x.Float32()
	if f == 0 {
		// big.Float has no signed-zero arithmetic rules for exact zero sums:
		// IEEE gives +0 unless both addends are -0 (or the product and c are).
		p := float64(a) * float64(b)
		if p == 0 && c == 0 {
			return float32(p + float64(c))
		}
	}
	return f
}

func randFloat32(rng *rand.Rand) float32 {
	switch rng.IntN(8) {
	case 0: // any bit pattern that is finite
		for {
			f := math.Float32frombits(rng.Uint32())
			if !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) {
				return f
			}
		}
	case 1: // subnormal
		return math.Float32frombits(rng.Uint32()&0x007fffff) * float32(1-2*rng.IntN(2))
	default:
		return float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-20)))
	}
}

func TestFMA32Exact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	check := func(a, b, c float32) {
		t.Helper()
		got, want := FMA32(a, b, c), exactFMA32(a, b, c)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("FMA32(%g, %g, %g) = %g (%#x), want %g (%#x)", a, b, c, got, math.Float32bits(got), want, math.Float32bits(want))
		}
	}
	for i := 0; i < 300000; i++ {
		check(randFloat32(rng), randFloat32(rng), randFloat32(rng))
	}
	// Products on a float32 rounding midpoint, nudged by tiny addends: the
	// cases where rounding through float64 twice goes wrong.
	mid := float32(1 + 0x1p-12)
	for _, c := range []float32{0x1p-80, -0x1p-80, 0x1p-149, -0x1p-149, 0, float32(math.Copysign(0, -1)), 0x1p-30, -0x1p-30} {
		check(mid, mid, c)
		check(-mid, mid, c)
		check(mid*4, mid/8, c)
	}
	for i := 0; i < 100000; i++ {
		// a*b with a 24-bit midpoint: pick b and c at random, a from a grid.
		a := float32(1 + float64(rng.IntN(1<<12))*0x1p-12)
		b := float32(1 + float64(rng.IntN(1<<12))*0x1p-12)
		c := float32(math.Ldexp(float64(rng.Float32()-0.5), -rng.IntN(130)))
		check(a, b, c)
	}
	// Signed zeros, overflow, subnormal results.
	check(float32(math.Copysign(0, -1)), 1, float32(math.Copysign(0, -1)))
	check(math.MaxFloat32, 2, -math.MaxFloat32)
	check(math.MaxFloat32, 1, math.MaxFloat32)
	check(0x1p-75, 0x1p-75, 0x1p-149)
	check(0x1p-140, 0x1p-10, -0x1p-149)
}

// TestFMA32Hardware runs FMA32's inputs through every SIMD float family as
// 1x1 GEMMs (a chain of one FMA starting at c): the hardware VFMADD and the
// emulation must agree.
func TestFMA32Hardware(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, f := range supported(t) {
		if f == Generic {
			continue
		}
		n := 1000
		a := make([]float32, n)
		b := make([]float32, 1)
		c := make([]float32, n)
		want := make([]float32, n)
		for rep := 0; rep < 50; rep++ {
			b[0] = randFloat32(rng)
			if rep%2 == 0 {
				b[0] = float32(1 + float64(rng.IntN(1<<12))*0x1p-12)
			}
			for i := range a {
				a[i] = randFloat32(rng)
				c[i] = randFloat32(rng)
				if rep%2 == 0 {
					a[i] = float32(1 + float64(rng.IntN(1<<12))*0x1p-12)
					c[i] = float32(math.Ldexp(float64(rng.Float32()-0.5), -rng.IntN(130)))
				}
				want[i] = FMA32(a[i], b[0], c[i])
			}
			w, err := PackF32For(f, b, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.GemmAcc(n, a, 1, c, 1); err != nil {
				t.Fatal(err)
			}
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s: fma(%g, %g, .) = %g, FMA32 says %g", f, a[i], b[0], c[i], want[i])
				}
			}
		}
	}
}

type f32Case struct {
	m, n, k int
	xs, ys  int
	x, w    []float32
	bias, y []float32
}

func randF32Case(rng *rand.Rand, m, n, k int) *f32Case {
	c := &f32Case{m: m, n: n, k: k, xs: k + rng.IntN(3), ys: n + rng.IntN(3)}
	c.x = make([]float32, (m-1)*c.xs+k)
	for i := range c.x {
		c.x[i] = float32(rng.NormFloat64())
	}
	c.w = make([]float32, n*k)
	for i := range c.w {
		c.w[i] = float32(rng.NormFloat64())
	}
	c.bias = make([]float32, n)
	for i := range c.bias {
		c.bias[i] = float32(rng.NormFloat64())
	}
	c.y = make([]float32, (m-1)*c.ys+n)
	for i := range c.y {
		c.y[i] = float32(rng.NormFloat64())
	}
	return c
}

// check compares Gemm (zero and bias start) and GemmAcc on family f with
// refSgemm, bit for bit; gaps between output rows must stay untouched.
func (c *f32Case) check(t testing.TB, f Family, force *tileShape) {
	t.Helper()
	w, err := PackF32For(f, c.w, c.n, c.k)
	if err != nil {
		t.Fatal(err)
	}
	for mode := initZero; mode <= initC; mode++ {
		want := append([]float32(nil), c.y...)
		got := append([]float32(nil), c.y...)
		var bias []float32
		if mode == initBias {
			bias = c.bias
		}
		// refSgemm on B = W^T: element (i, j) at w[j*k+i].
		refSgemm(c.m, c.n, c.k, c.x, c.xs, 1, c.w, 1, c.k, want, c.ys, bias, mode == initC)
		switch {
		case force != nil:
			f32Forced(w, c.m, c.x, c.xs, got, c.ys, bias, mode, *force)
		case mode == initC:
			err = w.GemmAcc(c.m, c.x, c.xs, got, c.ys)
		default:
			err = w.Gemm(c.m, c.x, c.xs, got, c.ys, bias)
		}
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if (i % c.ys) >= c.n {
				want[i] = c.y[i]
			}
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s %s mode %d m=%d n=%d k=%d: y[%d][%d] = %g, want %g",
					f, w.impl.name, mode, c.m, c.n, c.k, i/c.ys, i%c.ys, got[i], want[i])
			}
		}
	}
}

func TestF32AllTails(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, f := range supported(t) {
		t.Run(f.String(), func(t *testing.T) {
			for i := 1; i <= 67; i++ {
				for _, d := range [][3]int{{i, rng.IntN(67) + 1, rng.IntN(67) + 1}, {rng.IntN(67) + 1, i, rng.IntN(67) + 1}, {rng.IntN(67) + 1, rng.IntN(67) + 1, i}} {
					randF32Case(rng, d[0], d[1], d[2]).check(t, f, nil)
				}
			}
			for _, d := range [][3]int{{1, 128, 640}, {1, 640, 128}, {16, 128, 640}, {64, 128, 640}, {2, 9, 4099}} {
				randF32Case(rng, d[0], d[1], d[2]).check(t, f, nil)
			}
		})
	}
}

func TestF32EveryTile(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, f := range supported(t) {
		tiles := f32Tiles(f)
		if len(tiles) == 0 {
			continue
		}
		t.Run(f.String(), func(t *testing.T) {
			for _, ts := range tiles {
				m := ts.mr*(1+rng.IntN(2)) + rng.IntN(ts.mr)
				n := rng.IntN(f32NR(f)*ts.nv*2) + 1
				k := rng.IntN(40) + 1
				randF32Case(rng, m, n, k).check(t, f, &ts)
			}
		})
	}
}

// TestSgemmTransposes checks the four storage orders of Sgemm, with and
// without accumulation, on every family.
func TestSgemmTransposes(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	defer func(f Family) { _ = Use(f) }(Current())
	var ws Workspace
	for _, f := range supported(t) {
		if err := Use(f); err != nil {
			t.Fatal(err)
		}
		for rep := 0; rep < 60; rep++ {
			m, n, k := rng.IntN(40)+1, rng.IntN(40)+1, rng.IntN(40)+1
			ta, tb, acc := rng.IntN(2) == 1, rng.IntN(2) == 1, rng.IntN(2) == 1
			ar, ac := m, k
			if ta {
				ar, ac = k, m
			}
			br, bc := k, n
			if tb {
				br, bc = n, k
			}
			lda, ldb, ldc := ac+rng.IntN(3), bc+rng.IntN(3), n+rng.IntN(3)
			a := randSlice(rng, (ar-1)*lda+ac)
			b := randSlice(rng, (br-1)*ldb+bc)
			c := randSlice(rng, (m-1)*ldc+n)
			want := append([]float32(nil), c...)
			rsA, csA := lda, 1
			if ta {
				rsA, csA = 1, lda
			}
			rsB, csB := ldb, 1
			if tb {
				rsB, csB = 1, ldb
			}
			refSgemm(m, n, k, a, rsA, csA, b, rsB, csB, want, ldc, nil, acc)
			if err := Sgemm(ta, tb, m, n, k, a, lda, b, ldb, c, ldc, acc, &ws); err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if (i%ldc) < n && math.Float32bits(c[i]) != math.Float32bits(want[i]) {
					t.Fatalf("%s ta=%v tb=%v acc=%v m=%d n=%d k=%d: c[%d] = %g, want %g", f, ta, tb, acc, m, n, k, i, c[i], want[i])
				}
			}
		}
		// With a warm workspace Sgemm allocates nothing.
		a, b, c := randSlice(rng, 64*64), randSlice(rng, 64*64), make([]float32, 64*64)
		if allocs := testing.AllocsPerRun(10, func() { _ = Sgemm(false, true, 64, 64, 64, a, 64, b, 64, c, 64, false, &ws) }); allocs != 0 {
			t.Errorf("%s: Sgemm with a workspace allocates %v times", f, allocs)
		}
	}
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func TestF32Errors(t *testing.T) {
	if _, err := PackF32([]float32{1, 2}, 1, 3); err == nil {
		t.Error("wrong weight count accepted")
	}
	w, err := PackF32([]float32{1, 2, 3, 4}, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Gemm(2, make([]float32, 3), 2, make([]float32, 4), 2, nil); err == nil {
		t.Error("short input accepted")
	}
	if err := w.Gemm(1, make([]float32, 2), 2, make([]float32, 1), 2, nil); err == nil {
		t.Error("short output accepted")
	}
	if err := w.Gemm(1, make([]float32, 2), 2, make([]float32, 2), 2, []float32{1}); err == nil {
		t.Error("short bias accepted")
	}
	if err := Sgemm(false, false, 2, 2, 2, make([]float32, 3), 2, make([]float32, 4), 2, make([]float32, 4), 2, false, nil); err == nil {
		t.Error("short A accepted")
	}
}

func TestF32Allocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, f := range supported(t) {
		c := randF32Case(rng, 16, 128, 640)
		w, err := PackF32For(f, c.w, c.n, c.k)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []int{1, 16} {
			if a := testing.AllocsPerRun(10, func() { _ = w.Gemm(m, c.x, c.xs, c.y, c.ys, c.bias) }); a != 0 {
				t.Errorf("%s: Gemm m=%d allocates %v times", f, m, a)
			}
		}
	}
}
