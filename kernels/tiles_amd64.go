//go:build !purego

package kernels

import (
	"github.com/edgeml/edge/kernels/asm"
)

// tileShape is a micro-kernel's tile: mr rows by nv weight blocks.
type tileShape struct{ mr, nv int }

// x86Q8 describes an amd64 int8 family's micro-kernels.
type x86Q8 struct {
	nr      int
	kern    func(mr, nv int) asm.Q8Kernel
	kernF   func(mr, nv int) asm.Q8FKernel
	maskOf  func(cols int) uint64 // channels valid in a block -> kernel mask
	choose  func(m, blocks int) tileShape
	maxMR   int
	maxNV1  int // widest tile for one row
	maxNVmr int // widest tile for mr > 1
}

func bitMask(cols int) uint64   { return 1<<uint(cols) - 1 }
func countMask(cols int) uint64 { return uint64(cols) }

var avx512Tiles = &x86Q8{
	nr: 16, kern: asm.Q8AVX512, kernF: asm.Q8FAVX512, maskOf: bitMask,
	maxMR: 8, maxNV1: 8, maxNVmr: 4,
	choose: func(m, blocks int) tileShape {
		if m == 1 {
			return tileShape{1, min(blocks, 8)}
		}
		return tileShape{min(m, 6), min(blocks, 4)}
	},
}

var avx2Tiles = &x86Q8{
	nr: 8, kern: asm.Q8AVX2, kernF: asm.Q8FAVX2, maskOf: countMask,
	maxMR: 2, maxNV1: 3, maxNVmr: 1,
	choose: func(m, blocks int) tileShape {
		if m == 1 {
			return tileShape{1, min(blocks, 3)}
		}
		return tileShape{2, 1}
	},
}

var avx512Q8 = &q8Impl{
	family: AVX512, name: "vnni 6x64c4 / 1x128c4", nr: 16, kr: 4, flip: true,
	gemm: func(w *Q8Weights, m int, x []int8, xs int, y []int8, ys int, o Output) {
		q8x86(avx512Tiles, w, m, x, xs, y, ys, o, tileShape{})
	},
	gemmF32: func(w *Q8Weights, m int, x []int8, xs int, y []float32, ys int) {
		q8fx86(avx512Tiles, w, m, x, xs, y, ys, tileShape{})
	},
}

var avx2Q8 = &q8Impl{
	family: AVX2, name: "2x8c8 / 1x24c8", nr: 8, kr: 8,
	perm: []int{0, 4, 1, 5, 2, 6, 3, 7},
	gemm: func(w *Q8Weights, m int, x []int8, xs int, y []int8, ys int, o Output) {
		q8x86(avx2Tiles, w, m, x, xs, y, ys, o, tileShape{})
	},
	gemmF32: func(w *Q8Weights, m int, x []int8, xs int, y []float32, ys int) {
		q8fx86(avx2Tiles, w, m, x, xs, y, ys, tileShape{})
	},
}

// tiling walks the output in tiles: column groups outer (a group's weights
// stay in L1 while every row panel streams past), rows inner.
func (t *x86Q8) tiling(m, blocks int, force tileShape, visit func(m0, mr, b0, nv int)) {
	ts := force
	if ts.mr == 0 {
		ts = t.choose(m, blocks)
	}
	for b0 := 0; b0 < blocks; b0 += ts.nv {
		nv := min(ts.nv, blocks-b0)
		for m0 := 0; m0 < m; m0 += ts.mr {
			visit(m0, min(ts.mr, m-m0), b0, nv)
		}
	}
}

func (t *x86Q8) mask(w *Q8Weights, b0, nv int) uint64 {
	if b0+nv == w.blocks {
		return t.maskOf(w.n - (w.blocks-1)*t.nr)
	}
	return t.maskOf(t.nr)
}

func q8x86(t *x86Q8, w *Q8Weights, m int, x []int8, xs int, y []int8, ys int, o Output, force tileShape) {
	lo, hi := o.bounds()
	zp := int32(o.ZeroPoint)
	t.tiling(m, w.blocks, force, func(m0, mr, b0, nv int) {
		t.kern(mr, nv)(&x[m0*xs], xs, &w.packed[b0*w.blockBytes], w.blockBytes, w.kg,
			&y[m0*ys+b0*t.nr], ys, t.mask(w, b0, nv), zp, lo, hi)
	})
}

func q8fx86(t *x86Q8, w *Q8Weights, m int, x []int8, xs int, y []float32, ys int, force tileShape) {
	t.tiling(m, w.blocks, force, func(m0, mr, b0, nv int) {
		t.kernF(mr, nv)(&x[m0*xs], xs, &w.packed[b0*w.blockBytes], w.blockBytes, w.kg,
			&y[m0*ys+b0*t.nr], 4*ys, t.mask(w, b0, nv))
	})
}

// x86F32 describes an amd64 float32 family's micro-kernels.
type x86F32 struct {
	nr     int
	kern   func(mr, nv int) asm.F32Kernel
	maskOf func(cols int) uint64
	choose func(m, panels int) tileShape
}

var avx512F32Tiles = &x86F32{
	nr: 16, kern: asm.F32AVX512, maskOf: bitMask,
	choose: func(m, panels int) tileShape {
		if m == 1 {
			return tileShape{1, min(panels, 8)}
		}
		return tileShape{min(m, 12), min(panels, 2)}
	},
}

var avx2F32Tiles = &x86F32{
	nr: 8, kern: asm.F32AVX2, maskOf: countMask,
	choose: func(m, panels int) tileShape {
		if m == 1 {
			return tileShape{1, min(panels, 8)}
		}
		return tileShape{min(m, 6), min(panels, 2)}
	},
}

var avx512F32 = &f32Impl{family: AVX512, name: "12x32 / 1x128", nr: 16,
	run: func(b *f32Panels, m int, a []float32, rs, cs int, c []float32, ldc int, bias []float32, mode int) {
		f32x86(avx512F32Tiles, b, m, a, rs, cs, c, ldc, bias, mode, tileShape{})
	}}

var avx2F32 = &f32Impl{family: AVX2, name: "6x16 / 1x64", nr: 8,
	run: func(b *f32Panels, m int, a []float32, rs, cs int, c []float32, ldc int, bias []float32, mode int) {
		f32x86(avx2F32Tiles, b, m, a, rs, cs, c, ldc, bias, mode, tileShape{})
	}}

func f32x86(t *x86F32, b *f32Panels, m int, a []float32, rs, cs int, c []float32, ldc int, bias []float32, mode int, force tileShape) {
	ts := force
	if ts.mr == 0 {
		ts = t.choose(m, b.panels)
	}
	for q0 := 0; q0 < b.panels; q0 += ts.nv {
		nv := min(ts.nv, b.panels-q0)
		mask := t.maskOf(t.nr)
		if q0+nv == b.panels {
			mask = t.maskOf(b.n - (b.panels-1)*t.nr)
		}
		var bp *float32
		if bias != nil {
			bp = &bias[q0*t.nr]
		}
		for m0 := 0; m0 < m; m0 += ts.mr {
			mr := min(ts.mr, m-m0)
			t.kern(mr, nv)(&a[m0*rs], 4*rs, 4*cs,
				&b.data[q0*b.k*t.nr], 4*b.k*t.nr, b.k, &c[m0*ldc+q0*t.nr], 4*ldc, bp, mask, mode)
		}
	}
}
