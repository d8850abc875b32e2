//go:build unix

package kernels

import (
	"math/rand/v2"
	"runtime/debug"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// guarded returns n bytes whose last byte is followed by a PROT_NONE page:
// any access past the end faults.
func guarded(t testing.TB, n int) []byte {
	t.Helper()
	page := unix.Getpagesize()
	size := (n+page-1)/page*page + page
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		t.Fatalf("mmap: %v", err)
	}
	if err := unix.Mprotect(mem[size-page:], unix.PROT_NONE); err != nil {
		t.Fatalf("mprotect: %v", err)
	}
	t.Cleanup(func() { _ = unix.Munmap(mem) })
	end := size - page
	return mem[end-n : end : end]
}

func guardedInt8(t testing.TB, n int) []int8 {
	b := guarded(t, n)
	return unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

func guardedFloats(t testing.TB, n int) []float32 {
	b := guarded(t, 4*n)
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

// faults reports whether fn faulted (turned into a panic by SetPanicOnFault).
func faults(fn func()) (faulted bool) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			faulted = true
		}
	}()
	fn()
	return false
}

// TestGuardPageFaults shows that the guard works: reading the first byte
// past an input's slack faults. Without this, the tests below would prove
// nothing.
func TestGuardPageFaults(t *testing.T) {
	x := guardedInt8(t, 100+Slack)[:100]
	past := unsafe.Add(unsafe.Pointer(unsafe.SliceData(x)), 100+Slack)
	if !faults(func() { _ = *(*int8)(past) }) {
		t.Fatal("reading past the slack did not fault: the guard page is not in place")
	}
	last := unsafe.Add(unsafe.Pointer(unsafe.SliceData(x)), 100+Slack-1)
	if faults(func() { _ = *(*int8)(last) }) {
		t.Fatal("reading the last slack byte faulted")
	}
}

// TestQ8GuardPages runs every family and tile with the input's slack, the
// packed weights and the output each ending at a guard page.
func TestQ8GuardPages(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, f := range supported(t) {
		shapes := [][3]int{{1, 1, 1}, {3, 17, 5}, {7, 33, 67}, {1, 130, 129}, {9, 8, 640}, {13, 67, 3}}
		var forced []*tileShape
		forced = append(forced, nil)
		for _, ts := range q8Tiles(f) {
			forced = append(forced, &ts)
		}
		for _, force := range forced {
			for _, s := range shapes {
				m, n, k := s[0], s[1], s[2]
				if force != nil {
					m = force.mr + rng.IntN(force.mr)
					n = rng.IntN(q8NR(f)*force.nv) + 1
				}
				c := randQ8Case(rng, m, n, k)
				c.xs, c.ys = k, n // no gaps: the last row ends the buffer
				x := guardedInt8(t, m*k+Slack)[:m*k]
				for i := range x {
					x[i] = int8(rng.IntN(256) - 128)
				}
				c.x = x
				w, err := PackQ8For(f, c.w, n, k, c.bias, c.scale, c.zx)
				if err != nil {
					t.Fatal(err)
				}
				moveToGuard(t, w)
				want := make([]int8, m*n)
				refGemmQ8(m, n, k, c.x, k, c.w, c.bias, c.scale, c.zx, want, n, c.out)
				y := guardedInt8(t, m*n)
				yf := guardedFloats(t, m*n)
				if faults(func() {
					if force != nil {
						gemmForced(w, m, x, k, y, n, c.out, *force)
						gemmF32Forced(w, m, x, k, yf, n, *force)
					} else {
						_ = w.Gemm(m, x, k, y, n, c.out)
						_ = w.GemmF32(m, x, k, yf, n)
					}
				}) {
					t.Fatalf("%s tile %v m=%d n=%d k=%d: fault (read past the slack or the weights, or wrote past the output)", f, force, m, n, k)
				}
				for i := range want {
					if y[i] != want[i] {
						t.Fatalf("%s m=%d n=%d k=%d: wrong result at %d", f, m, n, k, i)
					}
				}
			}
		}
	}
}

// moveToGuard copies the packed weights to memory that ends at a guard page.
func moveToGuard(t testing.TB, w *Q8Weights) {
	if w.packed != nil {
		g := guarded(t, len(w.packed))
		copy(g, w.packed)
		w.packed = g
	}
	if w.gw != nil {
		g := guardedInt8(t, len(w.gw))
		copy(g, w.gw)
		w.gw = g
	}
}

func TestF32GuardPages(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	for _, f := range supported(t) {
		for _, s := range [][3]int{{1, 1, 1}, {5, 17, 3}, {13, 33, 40}, {1, 130, 9}, {29, 67, 5}} {
			m, n, k := s[0], s[1], s[2]
			c := randF32Case(rng, m, n, k)
			w, err := PackF32For(f, c.w, n, k)
			if err != nil {
				t.Fatal(err)
			}
			g := guardedFloats(t, len(w.p.data))
			copy(g, w.p.data)
			w.p.data = g
			x := guardedFloats(t, m*k)
			copy(x, c.x)
			bias := guardedFloats(t, n)
			copy(bias, c.bias)
			y := guardedFloats(t, m*n)
			for _, acc := range []bool{false, true} {
				if faults(func() {
					if acc {
						_ = w.GemmAcc(m, x, k, y, n)
					} else {
						_ = w.Gemm(m, x, k, y, n, bias)
					}
				}) {
					t.Fatalf("%s m=%d n=%d k=%d acc=%v: fault", f, m, n, k, acc)
				}
			}
		}
	}
}

func TestVectorGuardPages(t *testing.T) {
	tb := NewLUT(Sigmoid, 0.1, 0, 1.0/256, -128)
	for _, f := range supported(t) {
		v := vecOf(f)
		for _, n := range []int{1, 7, 8, 31, 33, 64, 65, 100} {
			a, b, d := guardedFloats(t, n), guardedFloats(t, n), guardedFloats(t, n)
			q, r := guardedInt8(t, n), guardedInt8(t, n)
			if faults(func() {
				v.quantize(q, a, 10, 0)
				v.dequantize(d, q, 0.1, 0)
				v.lut(r, q, tb)
				v.add(d, a, b)
				v.axpy(d, a, 2)
				v.relu(d, a)
				_ = v.dot(a, b) + v.sum(a) + v.sumsq(a, b)
			}) {
				t.Fatalf("%s n=%d: a vector kernel touched memory past its slices", f, n)
			}
		}
	}
}
