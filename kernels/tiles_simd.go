//go:build !purego && (amd64 || arm64)

package kernels

import (
	"unsafe"

	"github.com/edgeml/edge/kernels/internal/asm"
)

// The drivers of the assembly families: they walk the output in tiles and
// call a micro-kernel for each. The tile tables come from the generator
// (asm.<Family>Tiles); tiles_<arch>.go names each family's table.

// tileShape is a micro-kernel's tile: mr rows by nv weight blocks.
type tileShape struct{ mr, nv int }

// simdQ8 describes an int8 family's micro-kernels.
type simdQ8 struct {
	tiles  asm.Tiles
	kern   func(mr, nv int) asm.Q8Kernel
	kernF  func(mr, nv int) asm.Q8FKernel
	maskOf func(cols int) uint64 // channels valid in a block -> kernel mask
}

func bitMask(cols int) uint64   { return 1<<uint(cols) - 1 }
func countMask(cols int) uint64 { return uint64(cols) }

// choose returns the table's tile for m rows over blocks, or force if set.
func choose(t asm.Tiles, m, blocks int, force tileShape) tileShape {
	if force.mr != 0 {
		return force
	}
	mr, nv := t.Choose(m, blocks)
	return tileShape{mr, nv}
}

func (t *simdQ8) mask(w *Q8Weights, b0, nv int) uint64 {
	if b0+nv == w.blocks {
		return t.maskOf(w.n - (w.blocks-1)*t.tiles.NR)
	}
	return t.maskOf(t.tiles.NR)
}

// pointers returns block b0's weights (group 0), biases and scales.
func (t *simdQ8) pointers(w *Q8Weights, b0 int) (*byte, *int32, *float32) {
	c := b0 * t.tiles.NR
	return &w.packed[w.wOff+c*w.impl.kr], (*int32)(unsafe.Pointer(&w.packed[4*c])), (*float32)(unsafe.Pointer(&w.packed[w.scaleOff+4*c]))
}

// q8simd walks the output in tiles: column groups outer (a group's weights
// stay in L1 while every row panel streams past), rows inner.
func q8simd(t *simdQ8, w *Q8Weights, m int, x []int8, xs int, y []int8, ys int, o Output, force tileShape) {
	lo, hi := o.bounds()
	zp := int32(o.ZeroPoint)
	ts := choose(t.tiles, m, w.blocks, force)
	for b0 := 0; b0 < w.blocks; b0 += ts.nv {
		nv := min(ts.nv, w.blocks-b0)
		mask := t.mask(w, b0, nv)
		wp, bias, scale := t.pointers(w, b0)
		for m0 := 0; m0 < m; m0 += ts.mr {
			t.kern(min(ts.mr, m-m0), nv)(&x[m0*xs], xs, wp, w.gs, w.kg, &y[m0*ys+b0*t.tiles.NR], ys, mask, zp, lo, hi, bias, scale)
		}
	}
}

func q8fsimd(t *simdQ8, w *Q8Weights, m int, x []int8, xs int, y []float32, ys int, force tileShape) {
	ts := choose(t.tiles, m, w.blocks, force)
	for b0 := 0; b0 < w.blocks; b0 += ts.nv {
		nv := min(ts.nv, w.blocks-b0)
		mask := t.mask(w, b0, nv)
		wp, bias, scale := t.pointers(w, b0)
		for m0 := 0; m0 < m; m0 += ts.mr {
			t.kernF(min(ts.mr, m-m0), nv)(&x[m0*xs], xs, wp, w.gs, w.kg, &y[m0*ys+b0*t.tiles.NR], 4*ys, mask, bias, scale)
		}
	}
}

// impl returns the q8Impl that drives t.
func (t *simdQ8) impl(f Family, perm []int, flip bool, kgMul int) *q8Impl {
	return &q8Impl{
		family: f, name: t.tiles.Summary(), nr: t.tiles.NR, kr: t.tiles.KR, perm: perm, flip: flip, kgMul: kgMul,
		gemm: func(w *Q8Weights, m int, x []int8, xs int, y []int8, ys int, o Output) {
			q8simd(t, w, m, x, xs, y, ys, o, tileShape{})
		},
		gemmF32: func(w *Q8Weights, m int, x []int8, xs int, y []float32, ys int) {
			q8fsimd(t, w, m, x, xs, y, ys, tileShape{})
		},
	}
}

// simdF32 describes a float32 family's micro-kernels.
type simdF32 struct {
	tiles  asm.Tiles
	kern   func(mr, nv int) asm.F32Kernel
	maskOf func(cols int) uint64
	// wholePanels: the kernels handle only full panels; a partial last
	// panel is computed in Go (bit-identical: FMA32).
	wholePanels bool
}

func (t *simdF32) impl(f Family) *f32Impl {
	return &f32Impl{family: f, name: t.tiles.Summary(), nr: t.tiles.NR,
		run: func(b *f32Panels, m int, a []float32, rs, cs int, c []float32, ldc int, bias []float32, mode int) {
			f32simd(t, b, m, a, rs, cs, c, ldc, bias, mode, tileShape{})
		}}
}

func f32simd(t *simdF32, b *f32Panels, m int, a []float32, rs, cs int, c []float32, ldc int, bias []float32, mode int, force tileShape) {
	panels, nr := b.panels, t.tiles.NR
	if t.wholePanels && b.n%nr != 0 {
		panels-- // the partial last panel is done below, in Go
		genericF32Panels(b, panels, panels+1, m, a, rs, cs, c, ldc, bias, mode)
	}
	if panels == 0 {
		return
	}
	ts := choose(t.tiles, m, panels, force)
	for q0 := 0; q0 < panels; q0 += ts.nv {
		nv := min(ts.nv, panels-q0)
		mask := t.maskOf(nr)
		if q0+nv == b.panels {
			mask = t.maskOf(b.n - (b.panels-1)*nr)
		}
		var bp *float32
		if bias != nil {
			bp = &bias[q0*nr]
		}
		for m0 := 0; m0 < m; m0 += ts.mr {
			mr := min(ts.mr, m-m0)
			t.kern(mr, nv)(&a[m0*rs], 4*rs, 4*cs,
				&b.data[q0*b.k*nr], 4*b.k*nr, b.k, &c[m0*ldc+q0*nr], 4*ldc, bp, mask, mode)
		}
	}
}
