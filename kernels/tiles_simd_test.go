//go:build !purego && (amd64 || arm64)

package kernels

// q8Tiles lists every micro-kernel tile of family f.
func q8Tiles(f Family) []tileShape {
	t := q8TilesOf(f)
	if t == nil {
		return nil
	}
	var out []tileShape
	for mr := 1; mr <= t.maxMR; mr++ {
		for nv := 1; nv <= t.maxNV1; nv++ {
			if t.kern(mr, nv) != nil {
				out = append(out, tileShape{mr, nv})
			}
		}
	}
	return out
}

func q8NR(f Family) int { return q8TilesOf(f).nr }

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
	var out []tileShape
	for mr := 1; mr <= 16; mr++ {
		for nv := 1; nv <= 8; nv++ {
			if t.kern(mr, nv) != nil {
				out = append(out, tileShape{mr, nv})
			}
		}
	}
	return out
}

func f32NR(f Family) int { return f32TilesOf(f).nr }

func f32Forced(w *F32Weights, m int, x []float32, xs int, y []float32, ys int, bias []float32, mode int, ts tileShape) {
	f32simd(f32TilesOf(w.impl.family), &w.p, m, x, xs, 1, y, ys, bias, mode, ts)
}
