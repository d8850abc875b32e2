package kernels

// The Generic int8 GEMM: pure Go on a layout of blocks of four output
// channels, [k][4] int8, so that one activation load feeds four
// multiply-accumulates. It is the code that runs on 32-bit ARM.

const genericNR = 4

var genericQ8 = &q8Impl{
	family:  Generic,
	name:    "go 1x4",
	nr:      genericNR,
	kr:      1,
	generic: true,
	gemm:    genericQ8Gemm,
	gemmF32: genericQ8GemmF32,
}

func packGeneric(p *Q8Weights, w []int8, fold []int32, scale []float32) {
	n, k := p.n, p.k
	nb := (n + genericNR - 1) / genericNR
	p.blocks = nb
	p.gw = make([]int8, nb*genericNR*k)
	p.gbias = make([]int32, nb*genericNR)
	p.gscale = make([]float32, nb*genericNR)
	copy(p.gbias, fold)
	copy(p.gscale, scale)
	for j := 0; j < n; j++ {
		b, c := j/genericNR, j%genericNR
		blk := p.gw[b*genericNR*k:]
		for i := 0; i < k; i++ {
			blk[i*genericNR+c] = w[j*k+i]
		}
	}
}

// dot4 returns the four accumulators of one block for one activation row.
func dot4(xr []int8, wb []int8) (a0, a1, a2, a3 int32) {
	wb = wb[:4*len(xr)]
	for i, xv := range xr {
		q := wb[4*i : 4*i+4 : 4*i+4]
		x := int32(xv)
		a0 += x * int32(q[0])
		a1 += x * int32(q[1])
		a2 += x * int32(q[2])
		a3 += x * int32(q[3])
	}
	return
}

// genericBlocks computes every block's four accumulators (bias' included)
// for every row and hands them to out with the row and the block's first
// channel; the two output variants differ only in out.
func genericBlocks(w *Q8Weights, m int, x []int8, xs int, out func(r, j0 int, acc [4]int32)) {
	k := w.k
	for r := 0; r < m; r++ {
		xr := x[r*xs : r*xs+k]
		for b := 0; b < w.blocks; b++ {
			var acc [4]int32
			acc[0], acc[1], acc[2], acc[3] = dot4(xr, w.gw[b*4*k:(b+1)*4*k])
			for c := range acc {
				acc[c] += w.gbias[b*4+c]
			}
			out(r, b*4, acc)
		}
	}
}

func genericQ8Gemm(w *Q8Weights, m int, x []int8, xs int, y []int8, ys int, o Output) {
	lo, hi := o.bounds()
	zp := int32(o.ZeroPoint)
	genericBlocks(w, m, x, xs, func(r, j0 int, acc [4]int32) {
		for c := 0; c < 4 && j0+c < w.n; c++ {
			y[r*ys+j0+c] = requantize(acc[c], w.gscale[j0+c], lo, hi, zp)
		}
	})
}

func genericQ8GemmF32(w *Q8Weights, m int, x []int8, xs int, y []float32, ys int) {
	genericBlocks(w, m, x, xs, func(r, j0 int, acc [4]int32) {
		for c := 0; c < 4 && j0+c < w.n; c++ {
			y[r*ys+j0+c] = float32(acc[c]) * w.gscale[j0+c]
		}
	})
}
