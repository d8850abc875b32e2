//go:build !purego && (amd64 || arm64)

package kernels

import (
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/edgeml/edge/kernels/internal/asm"
)

// q8Tiles lists every micro-kernel tile of family f.
func q8Tiles(f Family) []tileShape {
	t := q8TilesOf(f)
	if t == nil {
		return nil
	}
	return shapes(t.tiles)
}

// shapes lists every tile of table t.
func shapes(t asm.Tiles) []tileShape {
	var out []tileShape
	for _, s := range t.All() {
		out = append(out, tileShape{s[0], s[1]})
	}
	return out
}

func q8NR(f Family) int { return q8TilesOf(f).tiles.NR }

func gemmForced(w *Q8Weights, m int, x []int8, xs int, y []int8, ys int, o Output, ts tileShape) {
	q8simd(q8TilesOf(w.impl.family), w, m, x[:cap(x)], xs, y, ys, o, ts)
}

func gemmF32Forced(w *Q8Weights, m int, x []int8, xs int, y []float32, ys int, ts tileShape) {
	q8fsimd(q8TilesOf(w.impl.family), w, m, x[:cap(x)], xs, y, ys, ts)
}

// f32Tiles lists every float32 micro-kernel tile of family f.
func f32Tiles(f Family) []tileShape {
	t := f32TilesOf(f)
	if t == nil {
		return nil
	}
	return shapes(t.tiles)
}

func f32NR(f Family) int { return f32TilesOf(f).tiles.NR }

func f32Forced(w *F32Weights, m int, x []float32, xs int, y []float32, ys int, bias []float32, mode int, ts tileShape) {
	f32simd(f32TilesOf(w.impl.family), &w.p, m, x, xs, 1, y, ys, bias, mode, ts)
}

// TestTileTables checks each family's generated table against its
// kernels: every tile in the table has a kernel named as the table names
// it, no tile outside the table has one, and the dispatch never chooses
// a tile outside the table.
func TestTileTables(t *testing.T) {
	for f := Family(0); f < numFamilies; f++ {
		q, p := q8TilesOf(f), f32TilesOf(f)
		if q != nil {
			checkTable(t, f, q.tiles, func(mr, nv int) any { return nilIfNil(q.kern(mr, nv)) })
			checkTable(t, f, q.tiles, func(mr, nv int) any { return nilIfNil(q.kernF(mr, nv)) })
		}
		if p != nil {
			checkTable(t, f, p.tiles, func(mr, nv int) any { return nilIfNil(p.kern(mr, nv)) })
		}
	}
}

func nilIfNil[K asm.Q8Kernel | asm.Q8FKernel | asm.F32Kernel](k K) any {
	if k == nil {
		return nil
	}
	return k
}

func checkTable(t *testing.T, f Family, tb asm.Tiles, kern func(mr, nv int) any) {
	t.Helper()
	in := map[tileShape]bool{}
	for _, s := range shapes(tb) {
		in[s] = true
		k := kern(s.mr, s.nv)
		if k == nil {
			t.Errorf("%s: tile %v is in the table but has no kernel", f, s)
			continue
		}
		sym := runtime.FuncForPC(reflect.ValueOf(k).Pointer()).Name()
		want := tb.Name(s.mr, s.nv)
		if strings.Contains(sym, ".q8f32_") {
			want = "q8f32" + strings.TrimPrefix(want, "q8")
		}
		if !strings.HasSuffix(sym, "."+want) {
			t.Errorf("%s: tile %v runs %s, want %s", f, s, sym, want)
		}
	}
	if len(in) == 0 {
		t.Errorf("%s: empty tile table", f)
	}
	for mr := 1; mr <= asm.MaxMR; mr++ {
		for nv := 1; nv <= 16; nv++ {
			if !in[tileShape{mr, nv}] && kern(mr, nv) != nil {
				t.Errorf("%s: tile %dx%d has a kernel but is not in the table", f, mr, nv)
			}
		}
	}
	for m := 1; m <= 40; m++ {
		for blocks := 1; blocks <= 40; blocks++ {
			ts := choose(tb, m, blocks, tileShape{})
			if !in[ts] {
				t.Fatalf("%s: %d rows over %d blocks choose %v, not in the table", f, m, blocks, ts)
			}
			for _, tail := range []tileShape{{m % ts.mr, ts.nv}, {ts.mr, blocks % ts.nv}, {m % ts.mr, blocks % ts.nv}} {
				if tail.mr > 0 && tail.nv > 0 && !in[tail] {
					t.Fatalf("%s: %d rows over %d blocks need tail tile %v, not in the table", f, m, blocks, tail)
				}
			}
		}
	}
}
