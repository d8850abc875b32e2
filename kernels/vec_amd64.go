//go:build !purego

package kernels

import (
	"github.com/edgeml/edge/kernels/internal/asm"
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
	add:        vekCommutative(vek32.Add_Into, vek32.Add_Inplace),
	sub:        vekSub,
	mul:        vekCommutative(vek32.Mul_Into, vek32.Mul_Inplace),
	scale:      vekScale,
	fmav:       blocksFMAV(8, asm.FMAVAVX2),
	adamw:      blocksAdamW(8, asm.AdamWAVX2),
	reluGrad:   blocksReLUGrad(8, asm.ReLUGradAVX2),
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

// vek32's _Into functions refuse a destination that is one of their
// inputs; an aliased call goes to the _Inplace form instead (or, for
// a - b into b, to Go).

func same(a, b []float32) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

func vekCommutative(into func(d, a, b []float32) []float32, inplace func(d, a []float32)) func(d, a, b []float32) {
	return func(d, a, b []float32) {
		switch {
		case len(d) == 0:
		case same(d, a):
			inplace(d, b)
		case same(d, b):
			inplace(d, a)
		default:
			into(d, a, b)
		}
	}
}

func vekSub(d, a, b []float32) {
	switch {
	case len(d) == 0:
	case same(d, a):
		vek32.Sub_Inplace(d, b)
	case same(d, b):
		genericVec.sub(d, a, b)
	default:
		vek32.Sub_Into(d, a, b)
	}
}

func vekScale(d, a []float32, s float32) {
	switch {
	case len(d) == 0:
	case same(d, a):
		vek32.MulNumber_Inplace(d, s)
	default:
		vek32.MulNumber_Into(d, a, s)
	}
}
