package kernels

// The reference definitions: the simplest code that states what every
// kernel computes, working on unpacked operands. Tests hold every family,
// including Generic, to these bit for bit.

// refGemmQ8 computes the int8 GEMM of Q8Weights.Gemm directly from unpacked
// operands: y[r][j] = requantised(sum_i (x[r][i]-xZeroPoint)*w[j][i] + bias[j]).
// bias may be nil. It is the oracle of the tests and of the fuzzer.
func refGemmQ8(m, n, k int, x []int8, xs int, w []int8, bias []int32, scale []float32, xZeroPoint int8, y []int8, ys int, o Output) {
	lo, hi := o.bounds()
	for r := 0; r < m; r++ {
		for j := 0; j < n; j++ {
			y[r*ys+j] = requantize(refAcc(r, j, k, x, xs, w, bias, xZeroPoint), scale[j], lo, hi, int32(o.ZeroPoint))
		}
	}
}

// refGemmQ8F32 is refGemmQ8 with the float output of Q8Weights.GemmF32.
func refGemmQ8F32(m, n, k int, x []int8, xs int, w []int8, bias []int32, scale []float32, xZeroPoint int8, y []float32, ys int) {
	for r := 0; r < m; r++ {
		for j := 0; j < n; j++ {
			y[r*ys+j] = float32(refAcc(r, j, k, x, xs, w, bias, xZeroPoint)) * scale[j]
		}
	}
}

func refAcc(r, j, k int, x []int8, xs int, w []int8, bias []int32, zx int8) int32 {
	var acc int32
	if bias != nil {
		acc = bias[j]
	}
	for i := 0; i < k; i++ {
		acc += (int32(x[r*xs+i]) - int32(zx)) * int32(w[j*k+i])
	}
	return acc
}

// refSgemm computes the float32 GEMM contract directly: for every output,
// acc starts at 0, bias[j] (bias non-nil) or c itself (accumulate), then
// acc = FMA32(A[r][i], B[i][j], acc) for i = 0..k-1. A's element (r, i) is
// a[r*rsA+i*csA], B's element (i, j) is b[i*rsB+j*csB].
func refSgemm(m, n, k int, a []float32, rsA, csA int, b []float32, rsB, csB int, c []float32, ldc int, bias []float32, accumulate bool) {
	for r := 0; r < m; r++ {
		for j := 0; j < n; j++ {
			var acc float32
			switch {
			case accumulate:
				acc = c[r*ldc+j]
			case bias != nil:
				acc = bias[j]
			}
			for i := 0; i < k; i++ {
				acc = FMA32(a[r*rsA+i*csA], b[i*rsB+j*csB], acc)
			}
			c[r*ldc+j] = acc
		}
	}
}
