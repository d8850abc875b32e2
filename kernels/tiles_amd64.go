//go:build !purego

package kernels

import "github.com/edgeml/edge/kernels/internal/asm"

// The amd64 tile tables: which micro-kernel tile each shape gets.

var avx512Tiles = &simdQ8{
	nr: 16, kern: asm.Q8AVX512, kernF: asm.Q8FAVX512, maskOf: bitMask,
	maxMR: 8, maxNV1: 8, maxNVmr: 4,
	choose: func(m, blocks int) tileShape {
		if m == 1 {
			return tileShape{1, min(blocks, 8)}
		}
		return tileShape{min(m, 6), min(blocks, 4)}
	},
}

var avx2Tiles = &simdQ8{
	nr: 8, kern: asm.Q8AVX2, kernF: asm.Q8FAVX2, maskOf: countMask,
	maxMR: 6, maxNV1: 12, maxNVmr: 4,
	choose: func(m, blocks int) tileShape {
		mr := min(m, 6)
		return tileShape{mr, min(blocks, [7]int{0, 8, 4, 3, 2, 2, 2}[mr])}
	},
}

var avx512Q8 = avx512Tiles.impl(AVX512, "vnni 6x64c4 / 1x128c4", 4, nil, true, 1)

var avx2Q8 = avx2Tiles.impl(AVX2, "6x16c2 / 1x64c2", 2, nil, false, 1)

var avx512F32Tiles = &simdF32{
	nr: 16, kern: asm.F32AVX512, maskOf: bitMask,
	choose: func(m, panels int) tileShape {
		if m == 1 {
			return tileShape{1, min(panels, 8)}
		}
		return tileShape{min(m, 12), min(panels, 2)}
	},
}

var avx2F32Tiles = &simdF32{
	nr: 8, kern: asm.F32AVX2, maskOf: countMask,
	choose: func(m, panels int) tileShape {
		if m == 1 {
			return tileShape{1, min(panels, 8)}
		}
		return tileShape{min(m, 6), min(panels, 2)}
	},
}

var avx512F32 = avx512F32Tiles.impl(AVX512, "12x32 / 1x128")

var avx2F32 = avx2F32Tiles.impl(AVX2, "6x16 / 1x64")
