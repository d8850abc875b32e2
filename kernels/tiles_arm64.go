//go:build !purego

package kernels

import "github.com/edgeml/edge/kernels/internal/asm"

// The arm64 families: each drives the tiles of its generated table.

// neonTiles: SMULL/SMLAL2/SADALP, 2 rows by 8 channels, 16 k per chunk
// (the design of XNNPACK's NEON "mlal" kernels).
var neonTiles = &simdQ8{
	tiles: asm.Q8NEONTiles(), kern: asm.Q8NEON, kernF: asm.Q8F32NEON, maskOf: countMask,
}

// dotTiles: SDOT by element, up to 4 rows by 16 channels.
var dotTiles = &simdQ8{
	tiles: asm.Q8NEONDotTiles(), kern: asm.Q8NEONDot, kernF: asm.Q8F32NEONDot, maskOf: countMask,
}

var neonQ8 = neonTiles.impl(NEON, nil, false, 1)

var dotQ8 = dotTiles.impl(NEONDot, nil, false, 4)

// neonF32Tiles: FMLA on 4-column panels; a partial last panel runs in Go.
var neonF32Tiles = &simdF32{tiles: asm.F32NEONTiles(), kern: asm.F32NEON, maskOf: countMask, wholePanels: true}

var neonF32 = neonF32Tiles.impl(NEON)
