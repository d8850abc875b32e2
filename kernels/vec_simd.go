//go:build !purego && (amd64 || arm64)

package kernels

// Wrappers that run an assembly kernel over the whole blocks of a slice and
// finish the tail in Go, with exactly the arithmetic of the Generic code.

func blocksQuantize(block int, asmFn func(dst *int8, src *float32, n int, inv, lo, hi float32, zp int32)) func([]int8, []float32, float32, int8) {
	return func(dst []int8, src []float32, inv float32, zp int8) {
		n := len(src) / block * block
		if n > 0 {
			asmFn(&dst[0], &src[0], n, inv, float32(-128-int32(zp)), float32(127-int32(zp)), int32(zp))
		}
		genericQuantize(dst[n:], src[n:], inv, zp)
	}
}

func blocksQuantizeAffine(block int, asmFn func(dst *int8, src, mul, add *float32, n int, lo, hi float32, zp int32)) func([]int8, []float32, []float32, []float32, int8) {
	return func(dst []int8, src, mul, add []float32, zp int8) {
		n := len(src) / block * block
		if n > 0 {
			asmFn(&dst[0], &src[0], &mul[0], &add[0], n, float32(-128-int32(zp)), float32(127-int32(zp)), int32(zp))
		}
		genericQuantizeAffine(dst[n:], src[n:], mul[n:], add[n:], zp)
	}
}

func blocksDequantize(block int, asmFn func(dst *float32, src *int8, n int, scale float32, zp int32)) func([]float32, []int8, float32, int8) {
	return func(dst []float32, src []int8, scale float32, zp int8) {
		n := len(src) / block * block
		if n > 0 {
			asmFn(&dst[0], &src[0], n, scale, int32(zp))
		}
		genericDequantize(dst[n:], src[n:], scale, zp)
	}
}

// blocksLUT runs asmFn over whole blocks (with the table pointer table(t))
// and then rest over the tail (Generic, or a narrower SIMD kernel).
func blocksLUT(block int, asmFn func(dst, src *int8, n int, t *int8), rest func([]int8, []int8, *Table)) func([]int8, []int8, *Table) {
	return func(dst, src []int8, t *Table) {
		n := len(src) / block * block
		if n > 0 {
			asmFn(&dst[0], &src[0], n, &t.t[0])
		}
		rest(dst[n:], src[n:], t)
	}
}

func blocksAxpy(block int, asmFn func(dst, a *float32, n int, s float32)) func([]float32, []float32, float32) {
	return func(dst, a []float32, s float32) {
		n := len(a) / block * block
		if n > 0 {
			asmFn(&dst[0], &a[0], n, s)
		}
		genericVec.axpy(dst[n:], a[n:], s)
	}
}

func blocksFMAV(block int, asmFn func(dst, a, b, c *float32, n int)) func(d, a, b, c []float32) {
	return func(d, a, b, c []float32) {
		n := len(a) / block * block
		if n > 0 {
			asmFn(&d[0], &a[0], &b[0], &c[0], n)
		}
		genericFMAV(d[n:], a[n:], b[n:], c[n:])
	}
}

func blocksAdamW(block int, asmFn func(p, g, m, v *float32, n int, h *[7]float32)) func(p, g, m, v []float32, h *AdamParams) {
	return func(p, g, m, v []float32, h *AdamParams) {
		n := len(p) / block * block
		if n > 0 {
			hv := [7]float32{h.LR, h.Beta1, h.Beta2, h.C1, h.C2, h.Eps, h.Decay}
			asmFn(&p[0], &g[0], &m[0], &v[0], n, &hv)
		}
		genericAdamW(p[n:], g[n:], m[n:], v[n:], h)
	}
}

func blocksReLUGrad(block int, asmFn func(dz, dy, z *float32, n int)) func(dz, dy, z []float32) {
	return func(dz, dy, z []float32) {
		n := len(z) / block * block
		if n > 0 {
			asmFn(&dz[0], &dy[0], &z[0], n)
		}
		genericReLUGrad(dz[n:], dy[n:], z[n:])
	}
}

func blocksReLU(block int, asmFn func(dst, a *float32, n int)) func([]float32, []float32) {
	return func(dst, a []float32) {
		n := len(a) / block * block
		if n > 0 {
			asmFn(&dst[0], &a[0], n)
		}
		genericReLU(dst[n:], a[n:])
	}
}

// The reductions: assembly returns the folded partial sums of the whole
// RedLanes-element blocks; the tail continues the chain exactly as reduce does.

func blocksDot(asmFn func(a, b *float32, n int) float32) func([]float32, []float32) float32 {
	return func(a, b []float32) float32 {
		n := len(a) &^ (RedLanes - 1)
		var s float32
		if n > 0 {
			s = asmFn(&a[0], &b[0], n)
		}
		for i := n; i < len(a); i++ {
			s = FMA32(a[i], b[i], s)
		}
		return s
	}
}

func blocksSum(asmFn func(a *float32, n int) float32) func([]float32) float32 {
	return func(a []float32) float32 {
		n := len(a) &^ (RedLanes - 1)
		var s float32
		if n > 0 {
			s = asmFn(&a[0], n)
		}
		for _, v := range a[n:] {
			s += v
		}
		return s
	}
}

func blocksSumSquares(asmFn func(a, b *float32, n int) float32) func([]float32, []float32) float32 {
	return func(a, b []float32) float32 {
		n := len(a) &^ (RedLanes - 1)
		var s float32
		if n > 0 {
			s = asmFn(&a[0], &b[0], n)
		}
		for i := n; i < len(a); i++ {
			d := a[i] - b[i]
			s = FMA32(d, d, s)
		}
		return s
	}
}
