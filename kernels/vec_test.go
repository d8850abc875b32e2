package kernels

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

func vecOf(f Family) *vecImpl { return buildTable(f).vec }

func specialFloats(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		switch rng.IntN(10) {
		case 0:
			s[i] = float32(math.NaN())
		case 1:
			s[i] = float32(math.Inf(1 - 2*rng.IntN(2)))
		case 2:
			s[i] = float32(math.Copysign(0, -1))
		case 3:
			s[i] = float32(rng.IntN(601)-300) / 2 // exact halves
		case 4:
			s[i] = float32(rng.NormFloat64() * 1e30)
		default:
			s[i] = float32(rng.NormFloat64() * 100)
		}
	}
	return s
}

func sameBits(a, b float32) bool {
	if a != a && b != b {
		return true
	}
	return math.Float32bits(a) == math.Float32bits(b)
}

func TestQuantizeDequantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, f := range supported(t) {
		v := vecOf(f)
		for n := 0; n <= 100; n++ {
			src := specialFloats(rng, n)
			scale := float32(0.1 + rng.Float64())
			inv := 1 / scale
			zp := int8(rng.IntN(256) - 128)
			got := make([]int8, n)
			v.quantize(got, src, inv, zp)
			for i, x := range src {
				if want := quantizeOne(x, inv, zp); got[i] != want {
					t.Fatalf("%s: quantize(%g, scale %g, zp %d) = %d, want %d", f, x, scale, zp, got[i], want)
				}
			}
			mul, add := specialFloats(rng, n), specialFloats(rng, n)
			v.qaffine(got, src, mul, add, zp)
			for i, x := range src {
				if want := quantizeOne(FMA32(x, mul[i], add[i]), 1, zp); got[i] != want {
					t.Fatalf("%s: quantizeAffine(%g, %g, %g, zp %d) = %d, want %d", f, x, mul[i], add[i], zp, got[i], want)
				}
			}
			q := make([]int8, n)
			for i := range q {
				q[i] = int8(rng.IntN(256) - 128)
			}
			gotF := make([]float32, n)
			v.dequantize(gotF, q, scale, zp)
			for i := range q {
				if want := float32(int32(q[i])-int32(zp)) * scale; !sameBits(gotF[i], want) {
					t.Fatalf("%s: dequantize(%d) = %g, want %g", f, q[i], gotF[i], want)
				}
			}
		}
	}
	// The definition itself: NaN is the zero point, infinities saturate,
	// halves round to even, and quantising a dequantised value gives it back.
	for _, c := range []struct {
		x    float32
		zp   int8
		want int8
	}{{float32(math.NaN()), 5, 5}, {float32(math.Inf(1)), 5, 127}, {float32(math.Inf(-1)), 5, -128}, {2.5, 0, 2}, {3.5, 0, 4}, {-2.5, 0, -2}, {1000, -3, 127}, {-0.5, 10, 10}} {
		if got := quantizeOne(c.x, 1, c.zp); got != c.want {
			t.Errorf("quantizeOne(%g, zp %d) = %d, want %d", c.x, c.zp, got, c.want)
		}
	}
	for _, scale := range []float32{0.25, 0.0078125, 1.5, 0.1} {
		for q := -128; q < 128; q++ {
			d := make([]float32, 1)
			Dequantize(d, []int8{int8(q)}, scale, 7)
			r := make([]int8, 1)
			Quantize(r, d, scale, 7)
			if int(r[0]) != q {
				t.Errorf("scale %g: %d -> %g -> %d", scale, q, d[0], r[0])
			}
		}
	}
}

func TestLUT(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, f := range supported(t) {
		v := vecOf(f)
		for rep := 0; rep < 20; rep++ {
			var raw [256]int8
			for i := range raw {
				raw[i] = int8(rng.IntN(256) - 128)
			}
			tb := NewTable(raw)
			for _, n := range []int{0, 1, 31, 32, 33, 63, 64, 65, 256, 300} {
				src := make([]int8, n)
				for i := range src {
					src[i] = int8(i*37 + rep) // every byte value appears at every position class
				}
				dst := make([]int8, n)
				v.lut(dst, src, tb)
				for i := range src {
					if dst[i] != raw[uint8(src[i])] {
						t.Fatalf("%s: lut(%d) = %d, want %d (n=%d, i=%d)", f, src[i], dst[i], raw[uint8(src[i])], n, i)
					}
				}
				v.lut(src, src, tb) // in place
				for i := range src {
					if src[i] != dst[i] {
						t.Fatalf("%s: in-place lut differs at %d", f, i)
					}
				}
			}
		}
	}
	// NewLUT tabulates the function on the grid of the input encoding.
	tb := NewLUT(math.Tanh, 0.05, 3, 1.0/128, 0)
	for q := -128; q < 128; q++ {
		x := 0.05 * float64(q-3)
		want := math.RoundToEven(math.Max(-128, math.Min(127, math.Tanh(x)*128)))
		if float64(tb.At(int8(q))) != want {
			t.Fatalf("tanh LUT at %d = %d, want %v", q, tb.At(int8(q)), want)
		}
	}
	sg := NewLUT(Sigmoid, 0.1, 0, 1.0/256, -128)
	if sg.At(-128) != -128 || sg.At(127) != 127 || sg.At(0) != 0 {
		t.Errorf("sigmoid LUT ends/centre: %d %d %d", sg.At(-128), sg.At(127), sg.At(0))
	}
}

// specReduce is the canonical order written out independently of reduce:
// 32 interleaved partials, pairwise folds by halves, then the tail.
func specReduce(n int, op func(acc float32, i int) float32) float32 {
	full := n - n%32
	var lanes [32]float32
	for i := 0; i < full; i++ {
		lanes[i%32] = op(lanes[i%32], i)
	}
	for width := 16; width > 0; width >>= 1 {
		for j := 0; j < width; j++ {
			lanes[j] = lanes[j] + lanes[j+width]
		}
	}
	acc := lanes[0]
	for i := full; i < n; i++ {
		acc = op(acc, i)
	}
	return acc
}

func TestFloatVectorOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	for _, f := range supported(t) {
		v := vecOf(f)
		for n := 0; n <= 131; n++ {
			a, b := specialFloats(rng, n), specialFloats(rng, n)
			if n%3 == 0 { // mostly finite, so that reductions are not all NaN
				a, b = randSlice(rng, n), randSlice(rng, n)
			}
			d := make([]float32, n)
			s := float32(rng.NormFloat64())
			check := func(name string, i int, got, want float32) {
				t.Helper()
				if !sameBits(got, want) {
					t.Fatalf("%s %s n=%d [%d]: got %g, want %g", f, name, n, i, got, want)
				}
			}
			v.add(d, a, b)
			for i := range d {
				check("add", i, d[i], a[i]+b[i])
			}
			v.sub(d, a, b)
			for i := range d {
				check("sub", i, d[i], a[i]-b[i])
			}
			v.mul(d, a, b)
			for i := range d {
				check("mul", i, d[i], float32(a[i]*b[i]))
			}
			v.scale(d, a, s)
			for i := range d {
				check("scale", i, d[i], float32(a[i]*s))
			}
			copy(d, b)
			v.axpy(d, a, s)
			for i := range d {
				check("axpy", i, d[i], FMA32(s, a[i], b[i]))
			}
			c3 := specialFloats(rng, n)
			v.fmav(d, a, b, c3)
			for i := range d {
				check("fmav", i, d[i], FMA32(a[i], b[i], c3[i]))
			}
			v.relu(d, a)
			for i := range d {
				want := a[i]
				if want < 0 {
					want = 0
				}
				check("relu", i, d[i], want)
			}
			v.reluGrad(d, b, a)
			for i := range d {
				want := float32(0)
				if a[i] > 0 {
					want = b[i]
				}
				check("reluGrad", i, d[i], want)
			}
			check("dot", 0, v.dot(a, b), specReduce(n, func(acc float32, i int) float32 { return FMA32(a[i], b[i], acc) }))
			check("sum", 0, v.sum(a), specReduce(n, func(acc float32, i int) float32 { return acc + a[i] }))
			check("sumsq", 0, v.sumsq(a, b), specReduce(n, func(acc float32, i int) float32 { d := a[i] - b[i]; return FMA32(d, d, acc) }))
		}
	}
}

func TestVectorLengthMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Add with mismatched lengths did not panic")
		}
	}()
	Add(make([]float32, 2), make([]float32, 3), make([]float32, 2))
}

func TestVectorAllocs(t *testing.T) {
	a, b, d := make([]float32, 300), make([]float32, 300), make([]float32, 300)
	q := make([]int8, 300)
	tb := NewLUT(math.Tanh, 0.05, 0, 1.0/128, 0)
	for _, f := range supported(t) {
		if err := Use(f); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(10, func() {
			Quantize(q, a, 0.1, 0)
			Dequantize(d, q, 0.1, 0)
			LUT(q, q, tb)
			Add(d, a, b)
			Axpy(d, a, 2)
			_ = Dot(a, b) + Sum(a) + SumSquares(a, b)
		})
		if allocs != 0 {
			t.Errorf("%s: vector kernels allocate %v times", f, allocs)
		}
	}
	_ = Use(Best())
}

// TestVectorInPlace runs every element-wise kernel with its destination
// equal to each input, on every family.
func TestVectorInPlace(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	for _, f := range supported(t) {
		v := vecOf(f)
		for _, n := range []int{1, 7, 33, 100} {
			a, b := randSlice(rng, n), randSlice(rng, n)
			check := func(name string, got []float32, want func(i int) float32) {
				for i := range got {
					if !sameBits(got[i], want(i)) {
						t.Fatalf("%s %s in place, n=%d [%d]: %g, want %g", f, name, n, i, got[i], want(i))
					}
				}
			}
			for _, op := range []struct {
				name string
				fn   func(d, a, b []float32)
				want func(x, y float32) float32
			}{
				{"add", v.add, func(x, y float32) float32 { return x + y }},
				{"sub", v.sub, func(x, y float32) float32 { return x - y }},
				{"mul", v.mul, func(x, y float32) float32 { return float32(x * y) }},
			} {
				d := append([]float32(nil), a...)
				op.fn(d, d, b)
				check(op.name+" (dst=a)", d, func(i int) float32 { return op.want(a[i], b[i]) })
				d = append([]float32(nil), b...)
				op.fn(d, a, d)
				check(op.name+" (dst=b)", d, func(i int) float32 { return op.want(a[i], b[i]) })
			}
			d := append([]float32(nil), a...)
			v.scale(d, d, 3)
			check("scale", d, func(i int) float32 { return float32(a[i] * 3) })
			d = append([]float32(nil), a...)
			v.relu(d, d)
			check("relu", d, func(i int) float32 { return max(a[i], 0) })
			d = append([]float32(nil), a...)
			v.fmav(d, d, b, d)
			check("fmav", d, func(i int) float32 { return FMA32(a[i], b[i], a[i]) })
		}
	}
}

func TestAdamW(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	h := AdamParams{LR: 1e-3, Beta1: 0.9, Beta2: 0.999, C1: 0.1, C2: 0.001, Eps: 1e-8, Decay: 1 - 1e-7}
	for _, f := range supported(t) {
		v := vecOf(f)
		for _, n := range []int{1, 5, 8, 13, 64, 100} {
			p, g := randSlice(rng, n), randSlice(rng, n)
			m, s := randSlice(rng, n), randSlice(rng, n)
			for i := range s {
				s[i] = s[i] * s[i]
			}
			wp, wm, ws := append([]float32(nil), p...), append([]float32(nil), m...), append([]float32(nil), s...)
			genericAdamW(wp, g, wm, ws, &h)
			v.adamw(p, g, m, s, &h)
			for i := range p {
				if !sameBits(p[i], wp[i]) || !sameBits(m[i], wm[i]) || !sameBits(s[i], ws[i]) {
					t.Fatalf("%s n=%d [%d]: p %g m %g v %g, want %g %g %g", f, n, i, p[i], m[i], s[i], wp[i], wm[i], ws[i])
				}
			}
		}
	}
	// The definition on one value: m = 0.9*1 + 0.1*2 = 1.1, v = 0.999*4 + 0.001*4 = 4.
	p, g, m, v := []float32{1}, []float32{2}, []float32{1}, []float32{4}
	AdamW(p, g, m, v, AdamParams{LR: 0.5, Beta1: 0.9, Beta2: 0.999, C1: 1, C2: 1, Eps: 0, Decay: 1})
	if math.Abs(float64(m[0])-1.1) > 1e-6 || math.Abs(float64(v[0])-4) > 1e-5 || math.Abs(float64(p[0])-(1-0.5*1.1/2)) > 1e-6 {
		t.Errorf("AdamW step: p %v m %v v %v", p, m, v)
	}
}

// TestVecImplComplete: every family has every vector kernel (a missing one
// is a nil function that would crash at the first call).
func TestVecImplComplete(t *testing.T) {
	for _, f := range Families() {
		for _, impl := range arch.vec {
			if impl.family != f {
				continue
			}
			v := reflect.ValueOf(*impl)
			for i := 0; i < v.NumField(); i++ {
				if v.Field(i).Kind() == reflect.Func && v.Field(i).IsNil() {
					t.Errorf("%s: vector kernel %s is missing", f, v.Type().Field(i).Name)
				}
			}
		}
	}
}
