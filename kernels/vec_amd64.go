//go:build !purego

package kernels

import (
	"github.com/edgeml/edge/kernels/asm"
	"github.com/viterin/vek/vek32"
	"golang.org/x/sys/cpu"
)

// The amd64 vector kernels: assembly over whole blocks, Go for the tails;
// the element-wise float32 ops come from vek32, whose AVX2 code computes
// the same single IEEE operations.

var avx2Vec = &vecImpl{
	family:     AVX2,
	name:       "avx2 (vek32 for element-wise float32)",
	quantize:   avx2Quantize,
	dequantize: avx2Dequantize,
	lut:        avx2LUT,
	add:        func(d, a, b []float32) { vek32.Add_Into(d, a, b) },
	sub:        func(d, a, b []float32) { vek32.Sub_Into(d, a, b) },
	mul:        func(d, a, b []float32) { vek32.Mul_Into(d, a, b) },
	scale:      func(d, a []float32, s float32) { vek32.MulNumber_Into(d, a, s) },
	axpy:       avx2Axpy,
	relu:       avx2ReLU,
	dot:        avx2Dot,
	sum:        avx2Sum,
	sumsq:      avx2SumSquares,
}

// avx512Vec differs from avx2Vec only in the lookup table, which uses
// VPERMI2B when the CPU has AVX-512 VBMI (Ice Lake, Zen 4 and later; not
// Cascade Lake).
var avx512Vec = func() *vecImpl {
	v := *avx2Vec
	v.family = AVX512
	if cpu.X86.HasAVX512VBMI {
		v.name = "avx512 vbmi lut, avx2 (vek32 for element-wise float32)"
		v.lut = avx512LUT
	}
	return &v
}()

func avx2Quantize(dst []int8, src []float32, inv float32, zp int8) {
	n := len(src) &^ 7
	if n > 0 {
		asm.QuantizeAVX2(&dst[0], &src[0], n, inv, float32(-128-int32(zp)), float32(127-int32(zp)), int32(zp))
	}
	genericQuantize(dst[n:], src[n:], inv, zp)
}

func avx2Dequantize(dst []float32, src []int8, scale float32, zp int8) {
	n := len(src) &^ 7
	if n > 0 {
		asm.DequantizeAVX2(&dst[0], &src[0], n, scale, int32(zp))
	}
	genericDequantize(dst[n:], src[n:], scale, zp)
}

func avx2LUT(dst, src []int8, t *Table) {
	n := len(src) &^ 31
	if n > 0 {
		asm.LUTAVX2(&dst[0], &src[0], n, &t.xt[0])
	}
	genericLUT(dst[n:], src[n:], t)
}

func avx512LUT(dst, src []int8, t *Table) {
	n := len(src) &^ 63
	if n > 0 {
		asm.LUTVBMI(&dst[0], &src[0], n, &t.t[0])
	}
	avx2LUT(dst[n:], src[n:], t)
}

func avx2Axpy(dst, a []float32, s float32) {
	n := len(a) &^ 7
	if n > 0 {
		asm.AxpyAVX2(&dst[0], &a[0], n, s)
	}
	genericVec.axpy(dst[n:], a[n:], s)
}

func avx2ReLU(dst, a []float32) {
	n := len(a) &^ 7
	if n > 0 {
		asm.ReLUAVX2(&dst[0], &a[0], n)
	}
	genericReLU(dst[n:], a[n:])
}

// The reductions: assembly gives the folded partial sums of the whole
// 32-element blocks; the tail continues the chain in Go, exactly as reduce does.

func avx2Dot(a, b []float32) float32 {
	n := len(a) &^ (RedLanes - 1)
	var s float32
	if n > 0 {
		s = asm.DotAVX2(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		s = FMA32(a[i], b[i], s)
	}
	return s
}

func avx2Sum(a []float32) float32 {
	n := len(a) &^ (RedLanes - 1)
	var s float32
	if n > 0 {
		s = asm.SumAVX2(&a[0], n)
	}
	for _, v := range a[n:] {
		s += v
	}
	return s
}

func avx2SumSquares(a, b []float32) float32 {
	n := len(a) &^ (RedLanes - 1)
	var s float32
	if n > 0 {
		s = asm.SumSquaresAVX2(&a[0], &b[0], n)
	}
	for i := n; i < len(a); i++ {
		d := a[i] - b[i]
		s = FMA32(d, d, s)
	}
	return s
}
