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
	quantize:   blocksQuantize(8, asm.QuantizeAVX2),
	qaffine:    blocksQuantizeAffine(8, asm.QuantizeAffineAVX2),
	dequantize: blocksDequantize(8, asm.DequantizeAVX2),
	lut:        avx2LUT,
	add:        func(d, a, b []float32) { vek32.Add_Into(d, a, b) },
	sub:        func(d, a, b []float32) { vek32.Sub_Into(d, a, b) },
	mul:        func(d, a, b []float32) { vek32.Mul_Into(d, a, b) },
	scale:      func(d, a []float32, s float32) { vek32.MulNumber_Into(d, a, s) },
	fmav:       blocksFMAV(8, asm.FMAVAVX2),
	axpy:       blocksAxpy(8, asm.AxpyAVX2),
	relu:       blocksReLU(8, asm.ReLUAVX2),
	dot:        blocksDot(asm.DotAVX2),
	sum:        blocksSum(asm.SumAVX2),
	sumsq:      blocksSumSquares(asm.SumSquaresAVX2),
}

// avx512Vec differs from avx2Vec only in the lookup table, which uses
// VPERMI2B when the CPU has AVX-512 VBMI (Ice Lake, Zen 4 and later; not
// Cascade Lake).
var avx512Vec = func() *vecImpl {
	v := *avx2Vec
	v.family = AVX512
	if cpu.X86.HasAVX512VBMI {
		v.name = "avx512 vbmi lut, avx2 (vek32 for element-wise float32)"
		v.lut = blocksLUT(64, asm.LUTVBMI, avx2LUT)
	}
	return &v
}()

// avx2LUT passes the XOR-chained sub-tables, not the plain table.
func avx2LUT(dst, src []int8, t *Table) {
	n := len(src) &^ 31
	if n > 0 {
		asm.LUTAVX2(&dst[0], &src[0], n, &t.xt[0])
	}
	genericLUT(dst[n:], src[n:], t)
}
