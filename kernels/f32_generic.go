package kernels

// The Generic float32 GEMM: pure Go, four columns at a time, every step an
// exact FMA32 so that it matches the SIMD families bit for bit.

var genericF32 = &f32Impl{family: Generic, name: "go 1x4", nr: 4, run: genericF32Run}

func genericF32Run(b *f32Panels, m int, a []float32, rs, cs int, c []float32, ldc int, bias []float32, mode int) {
	genericF32Panels(b, 0, b.panels, m, a, rs, cs, c, ldc, bias, mode)
}

// genericF32Panels computes panels [q0, q1) of b, which must have 4-column
// panels (the Generic and NEON layout).
func genericF32Panels(b *f32Panels, q0, q1 int, m int, a []float32, rs, cs int, c []float32, ldc int, bias []float32, mode int) {
	k, n := b.k, b.n
	for r := 0; r < m; r++ {
		for q := q0; q < q1; q++ {
			pan := b.data[q*k*4 : (q+1)*k*4]
			cols := min(4, n-q*4)
			var acc [4]float32
			cr := c[r*ldc+q*4 : r*ldc+q*4+cols]
			switch mode {
			case initBias:
				copy(acc[:], bias[q*4:q*4+cols])
			case initC:
				copy(acc[:], cr)
			}
			a0, a1, a2, a3 := acc[0], acc[1], acc[2], acc[3]
			ai := r * rs
			for i := 0; i < k; i++ {
				x := a[ai]
				ai += cs
				p := pan[4*i : 4*i+4 : 4*i+4]
				// FMA32 by hand for four lanes: one suspect test for all.
				xd := float64(x)
				s0 := float64(xd*float64(p[0])) + float64(a0)
				s1 := float64(xd*float64(p[1])) + float64(a1)
				s2 := float64(xd*float64(p[2])) + float64(a2)
				s3 := float64(xd*float64(p[3])) + float64(a3)
				if suspect(s0) || suspect(s1) || suspect(s2) || suspect(s3) {
					a0, a1, a2, a3 = FMA32(x, p[0], a0), FMA32(x, p[1], a1), FMA32(x, p[2], a2), FMA32(x, p[3], a3)
				} else {
					a0, a1, a2, a3 = float32(s0), float32(s1), float32(s2), float32(s3)
				}
			}
			acc = [4]float32{a0, a1, a2, a3}
			copy(cr, acc[:cols])
		}
	}
}
