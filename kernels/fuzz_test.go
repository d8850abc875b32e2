package kernels

import (
	"math"
	"testing"
)

// byteAt cycles through data (or returns 0 for empty data).
func byteAt(data []byte, i int) byte {
	if len(data) == 0 {
		return 0
	}
	return data[i%len(data)]
}

// FuzzQ8Gemm runs every supported family on shapes and values taken from
// the fuzzer's input and compares both outputs with the reference.
func FuzzQ8Gemm(f *testing.F) {
	f.Add(uint32(0x00010101), uint32(7), []byte{0x80, 0x7f, 0x81, 1, 2, 3})
	f.Add(uint32(0x43431212), uint32(0xdeadbeef), []byte("edge int8 gemm fuzz seed"))
	f.Add(uint32(0xffffffff), uint32(1), []byte{0x80})
	families := supported(f)
	f.Fuzz(func(t *testing.T, shape, params uint32, data []byte) {
		m := 1 + int(shape&0xff)%19
		n := 1 + int(shape>>8&0xff)%70
		k := 1 + int(shape>>16&0xffff)%300
		c := &q8Case{m: m, n: n, k: k, xs: k, ys: n}
		c.x = make([]int8, m*k, m*k+Slack)
		for i := range c.x {
			c.x[i] = int8(byteAt(data, i))
		}
		c.w = make([]int8, n*k)
		for i := range c.w {
			c.w[i] = int8(byteAt(data, i*7+3))
			if c.w[i] == -128 {
				c.w[i] = -127
			}
		}
		if params&1 == 1 {
			c.bias = make([]int32, n)
			for i := range c.bias {
				c.bias[i] = int32(uint32(byteAt(data, i))<<24|uint32(byteAt(data, i+1))<<8) >> 4
			}
		}
		c.scale = make([]float32, n)
		for i := range c.scale {
			c.scale[i] = float32(math.Ldexp(1+float64(byteAt(data, i+5))/256, -int(params>>1&15)-8))
		}
		c.zx = int8(params >> 8)
		a, b := int8(params>>16), int8(params>>24)
		c.out = Output{ZeroPoint: int8(params >> 5), Min: min(a, b), Max: max(a, b)}
		for _, fam := range families {
			c.check(t, fam, nil)
		}
	})
}

// FuzzF32Gemm does the same for the float32 GEMM, bit for bit.
func FuzzF32Gemm(f *testing.F) {
	f.Add(uint32(0x00030305), []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0, 1, 2, 3, 4})
	f.Add(uint32(0x00402011), []byte("float fuzz seed with some bytes"))
	families := supported(f)
	f.Fuzz(func(t *testing.T, shape uint32, data []byte) {
		m := 1 + int(shape&0xff)%20
		n := 1 + int(shape>>8&0xff)%70
		k := 1 + int(shape>>16&0xffff)%100
		word := func(i int) float32 {
			v := math.Float32frombits(uint32(byteAt(data, 4*i)) | uint32(byteAt(data, 4*i+1))<<8 | uint32(byteAt(data, 4*i+2))<<16 | uint32(byteAt(data, 4*i+3))<<24)
			if v != v || math.IsInf(float64(v), 0) {
				return float32(i % 5)
			}
			return v
		}
		c := &f32Case{m: m, n: n, k: k, xs: k, ys: n}
		c.x, c.w, c.bias, c.y = make([]float32, m*k), make([]float32, n*k), make([]float32, n), make([]float32, m*n)
		for i := range c.x {
			c.x[i] = word(i)
		}
		for i := range c.w {
			c.w[i] = word(i + 3)
		}
		for i := range c.bias {
			c.bias[i] = word(i + 11)
		}
		for i := range c.y {
			c.y[i] = word(i + 17)
		}
		for _, fam := range families {
			c.check(t, fam, nil)
		}
	})
}

// FuzzFMA32 holds FMA32 to the exact big.Float oracle.
func FuzzFMA32(f *testing.F) {
	f.Add(uint32(0x3f800800), uint32(0x3f800800), uint32(0x1a800000))
	f.Add(uint32(0x7f7fffff), uint32(0x40000000), uint32(0xff7fffff))
	f.Add(uint32(0x00000001), uint32(0x3f000000), uint32(0x80000001))
	f.Fuzz(func(t *testing.T, a, b, c uint32) {
		x, y, z := math.Float32frombits(a), math.Float32frombits(b), math.Float32frombits(c)
		got, want := FMA32(x, y, z), exactFMA32(x, y, z)
		if !sameBits(got, want) {
			t.Fatalf("FMA32(%g, %g, %g) = %g, want %g", x, y, z, got, want)
		}
	})
}
