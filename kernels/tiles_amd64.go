//go:build !purego

package kernels

import "github.com/edgeml/edge/kernels/internal/asm"

// The amd64 families: each drives the tiles of its generated table.

var avx512Tiles = &simdQ8{
	tiles: asm.Q8AVX512VNNITiles(), kern: asm.Q8AVX512VNNI, kernF: asm.Q8F32AVX512VNNI, maskOf: bitMask,
}

var avx2Tiles = &simdQ8{
	tiles: asm.Q8AVX2Tiles(), kern: asm.Q8AVX2, kernF: asm.Q8F32AVX2, maskOf: countMask,
}

var avx512Q8 = avx512Tiles.impl(AVX512, nil, true, 1)

var avx2Q8 = avx2Tiles.impl(AVX2, nil, false, 1)

var avx512F32Tiles = &simdF32{tiles: asm.F32AVX512Tiles(), kern: asm.F32AVX512, maskOf: bitMask}

var avx2F32Tiles = &simdF32{tiles: asm.F32AVX2Tiles(), kern: asm.F32AVX2, maskOf: countMask}

var avx512F32 = avx512F32Tiles.impl(AVX512)

var avx2F32 = avx2F32Tiles.impl(AVX2)
