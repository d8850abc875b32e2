package kernels

import (
	"errors"
	"fmt"
	"unsafe"
)

// The float32 GEMM contract. Every output is one chain of FMA32 steps over
// k = 0, 1, ..., K-1 in that order:
//
//	acc = init; for k: acc = FMA32(A[m][k], B[k][n], acc); C[m][n] = acc
//
// where init is 0, the bias of column n, or the old C[m][n] (accumulate).
// SIMD families put different output elements in different vector lanes but
// never reorder a chain, so they match the pure-Go code bit for bit.

// gemm modes: where each output's chain starts.
const (
	initZero = iota
	initBias
	initC
)

// f32Panels is a K x N matrix packed in panels of nr columns, [k][nr] each,
// columns past N zero.
type f32Panels struct {
	n, k, nr int
	panels   int
	data     []float32
}

// f32Impl is one family's float32 GEMM.
type f32Impl struct {
	family Family
	name   string
	nr     int
	// run computes C (m x n, row stride ldc) from A (m x k; element (r, i)
	// at a[r*rs+i*cs]) and packed B; bias is read for initBias.
	run func(b *f32Panels, m int, a []float32, rs, cs int, c []float32, ldc int, bias []float32, mode int)
}

// F32Weights are float32 weights packed for one family's GEMM, computing
// y = x * W^T (+ bias). Pack once; they are read-only and safe to share.
type F32Weights struct {
	impl *f32Impl
	p    f32Panels
}

// N returns the number of output channels.
func (w *F32Weights) N() int { return w.p.n }

// K returns the number of input channels.
func (w *F32Weights) K() int { return w.p.k }

// Family returns the kernel family the weights were packed for.
func (w *F32Weights) Family() Family { return w.impl.family }

// PackF32 packs float32 weights for the family in use. w holds n rows of k
// values, w[j*k+i] for output channel j and input i.
func PackF32(w []float32, n, k int) (*F32Weights, error) {
	return PackF32For(dispatch.Load().family, w, n, k)
}

// PackF32For is PackF32 for an explicit family, which the CPU must support.
func PackF32For(f Family, w []float32, n, k int) (*F32Weights, error) {
	if !f.Supported() {
		return nil, unsupportedError(f)
	}
	if n < 1 || n > MaxN || k < 1 || k > MaxF32K {
		return nil, fmt.Errorf("kernels: float32 layer %dx%d outside [1, %d] x [1, %d]", n, k, MaxN, MaxF32K)
	}
	if len(w) != n*k {
		return nil, fmt.Errorf("kernels: %d weights for a %dx%d layer (want %d)", len(w), n, k, n*k)
	}
	impl := buildTable(f).f32
	p := &F32Weights{impl: impl}
	// B[i][j] = W[j][i]: B's column j is W's row j.
	packPanels(&p.p, impl.nr, k, n, nil, w, k, 1)
	return p, nil
}

// MaxF32K bounds the reduction length of float32 GEMMs.
const MaxF32K = 1 << 24

// packPanels packs the k x n matrix B (element (i, j) at b[i*rsB+j*csB]) into
// p, reusing buf when it is large enough.
func packPanels(p *f32Panels, nr, k, n int, buf []float32, b []float32, csB, rsB int) {
	// The parameters read: element (i, j) is b[i*rsB + j*csB].
	p.n, p.k, p.nr = n, k, nr
	p.panels = (n + nr - 1) / nr
	size := p.panels * k * nr
	if cap(buf) >= size {
		p.data = buf[:size]
		clear(p.data)
	} else {
		p.data = alignedFloats(size)
	}
	for q := 0; q < p.panels; q++ {
		pan := p.data[q*k*nr : (q+1)*k*nr]
		cols := min(nr, n-q*nr)
		switch {
		case csB == 1: // B's rows are contiguous: copy them
			for i := 0; i < k; i++ {
				copy(pan[i*nr:i*nr+cols], b[i*rsB+q*nr:i*rsB+q*nr+cols])
			}
		case rsB == 1: // B's columns are contiguous (a transposed matrix)
			for c := 0; c < cols; c++ {
				src := b[(q*nr+c)*csB : (q*nr+c)*csB+k]
				dst := pan[c:]
				for i, v := range src {
					dst[i*nr] = v
				}
			}
		default:
			for i := 0; i < k; i++ {
				row := pan[i*nr : i*nr+cols]
				for c := range row {
					row[c] = b[i*rsB+(q*nr+c)*csB]
				}
			}
		}
	}
}

func alignedFloats(n int) []float32 {
	b := alignedBytes(4*n, 64)
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), n)
}

func (w *F32Weights) check(m int, x []float32, xs int, y []float32, ys int) error {
	if w == nil || w.impl == nil {
		return errors.New("kernels: nil or unpacked F32Weights")
	}
	if m < 0 {
		return fmt.Errorf("kernels: negative row count m=%d", m)
	}
	if xs < 0 {
		return fmt.Errorf("kernels: negative input stride %d", xs)
	}
	if ys < w.p.n {
		return fmt.Errorf("kernels: output stride %d is shorter than n=%d", ys, w.p.n)
	}
	if m == 0 {
		return nil
	}
	if need, ok := extent(m, xs, w.p.k, 0); !ok || len(x) < need {
		return fmt.Errorf("kernels: input holds %d elements, short of (m-1)*stride+k for m=%d, stride=%d, k=%d", len(x), m, xs, w.p.k)
	}
	if err := checkMatrix("output", y, m, w.p.n, ys); err != nil {
		return err
	}
	return nil
}

// Gemm computes y = x * W^T + bias for m rows (row r of x at x[r*xs:], of y
// at y[r*ys:]; input rows may overlap); bias may be nil. Each output's FMA chain starts at its bias.
// It allocates nothing.
func (w *F32Weights) Gemm(m int, x []float32, xs int, y []float32, ys int, bias []float32) error {
	if err := w.check(m, x, xs, y, ys); err != nil {
		return err
	}
	mode := initZero
	if bias != nil {
		if len(bias) != w.p.n {
			return fmt.Errorf("kernels: %d biases for %d output channels", len(bias), w.p.n)
		}
		mode = initBias
	}
	if m > 0 {
		w.impl.run(&w.p, m, x, xs, 1, y, ys, bias, mode)
	}
	return nil
}

// GemmAcc computes y += x * W^T: each output's FMA chain starts at its old value.
func (w *F32Weights) GemmAcc(m int, x []float32, xs int, y []float32, ys int) error {
	if err := w.check(m, x, xs, y, ys); err != nil {
		return err
	}
	if m > 0 {
		w.impl.run(&w.p, m, x, xs, 1, y, ys, nil, initC)
	}
	return nil
}

// Workspace holds the scratch memory of Sgemm so that repeated calls
// allocate nothing. The zero value is ready to use; it is not safe for
// concurrent use.
type Workspace struct {
	p f32Panels
}

// Sgemm computes C = op(A) * op(B), or C += op(A) * op(B) with accumulate,
// for training and other un-packed products. op(A) is m x k: A is stored
// m x k (row stride lda) or, with transA, k x m. op(B) is k x n: B is stored
// k x n (row stride ldb) or, with transB, n x k. C is m x n with row stride
// ldc. Each output is the FMA32 chain of the package contract, starting at 0
// or, with accumulate, at the old C. ws may be nil (it then allocates).
func Sgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, accumulate bool, ws *Workspace) error {
	if m < 0 || n < 0 || k < 0 || k > MaxF32K {
		return fmt.Errorf("kernels: Sgemm shape m=%d n=%d k=%d out of range", m, n, k)
	}
	if m == 0 || n == 0 {
		return nil
	}
	ar, ac := m, k
	rsA, csA := lda, 1
	if transA {
		ar, ac = k, m
		rsA, csA = 1, lda
	}
	br, bc := k, n
	rsB, csB := ldb, 1
	if transB {
		br, bc = n, k
		rsB, csB = 1, ldb
	}
	if err := checkMatrix("A", a, ar, ac, lda); err != nil {
		return err
	}
	if err := checkMatrix("B", b, br, bc, ldb); err != nil {
		return err
	}
	if err := checkMatrix("C", c, m, n, ldc); err != nil {
		return err
	}
	if k == 0 {
		if !accumulate {
			for r := 0; r < m; r++ {
				clear(c[r*ldc : r*ldc+n])
			}
		}
		return nil
	}
	impl := dispatch.Load().f32
	if ws == nil {
		ws = new(Workspace)
	}
	packPanels(&ws.p, impl.nr, k, n, ws.p.data[:cap(ws.p.data)], b, csB, rsB)
	mode := initZero
	if accumulate {
		mode = initC
	}
	impl.run(&ws.p, m, a, rsA, csA, c, ldc, nil, mode)
	return nil
}

func checkMatrix(name string, v []float32, rows, cols, ld int) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	if ld < cols {
		return fmt.Errorf("kernels: %s has leading dimension %d < %d columns", name, ld, cols)
	}
	need, ok := extent(rows, ld, cols, 0)
	if !ok {
		return fmt.Errorf("kernels: %s with %d rows of stride %d overflows", name, rows, ld)
	}
	if len(v) < need {
		return errShape(name, need, len(v))
	}
	return nil
}
