//go:build !purego

package kernels

import "github.com/edgeml/edge/kernels/internal/asm"

// The arm64 vector kernels (NEON): assembly over whole blocks, Go for the
// tails. vek32 has no ARM SIMD, so the element-wise ops are ours too.

func neonBinop(asmFn func(dst, a, b *float32, n int), goFn func(d, a, b []float32)) func(d, a, b []float32) {
	return func(d, a, b []float32) {
		n := len(a) &^ 3
		if n > 0 {
			asmFn(&d[0], &a[0], &b[0], n)
		}
		goFn(d[n:], a[n:], b[n:])
	}
}

var neonVec = &vecImpl{
	family:     NEON,
	name:       "neon",
	quantize:   blocksQuantize(8, asm.QuantizeNEON),
	qaffine:    blocksQuantizeAffine(8, asm.QuantizeAffineNEON),
	dequantize: blocksDequantize(8, asm.DequantizeNEON),
	lut:        blocksLUT(16, asm.LUTNEON, genericLUT),
	add:        neonBinop(asm.AddNEON, genericVec.add),
	sub:        neonBinop(asm.SubNEON, genericVec.sub),
	mul:        neonBinop(asm.MulNEON, genericVec.mul),
	scale: func(d, a []float32, s float32) {
		n := len(a) &^ 3
		if n > 0 {
			asm.ScaleNEON(&d[0], &a[0], n, s)
		}
		genericVec.scale(d[n:], a[n:], s)
	},
	fmav:     blocksFMAV(4, asm.FMAVNEON),
	adamw:    blocksAdamW(4, asm.AdamWNEON),
	reluGrad: blocksReLUGrad(4, asm.ReLUGradNEON),
	axpy:     blocksAxpy(4, asm.AxpyNEON),
	relu:     blocksReLU(4, asm.ReLUNEON),
	dot:      blocksDot(asm.DotNEON),
	sum:      blocksSum(asm.SumNEON),
	sumsq:    blocksSumSquares(asm.SumSquaresNEON),
}
