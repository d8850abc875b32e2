//go:build !purego

package kernels

import "github.com/edgeml/edge/kernels/internal/asm"

// The arm64 tile tables.

// neonTiles: SMULL/SMLAL2/SADALP, 2 rows by 8 channels, 16 k per chunk
// (the design of XNNPACK's NEON "mlal" kernels).
var neonTiles = &simdQ8{
	nr: 8, kern: asm.Q8NEON, kernF: asm.Q8FNEON, maskOf: countMask,
	maxMR: 2, maxNV1: 2, maxNVmr: 1,
	choose: func(m, blocks int) tileShape {
		if m == 1 {
			return tileShape{1, min(blocks, 2)}
		}
		return tileShape{2, 1}
	},
}

// dotTiles: SDOT by element, up to 4 rows by 16 channels.
var dotTiles = &simdQ8{
	nr: 16, kern: asm.Q8Dot, kernF: asm.Q8FDot, maskOf: countMask,
	maxMR: 4, maxNV1: 4, maxNVmr: 2,
	choose: func(m, blocks int) tileShape {
		switch m {
		case 1:
			return tileShape{1, min(blocks, 4)}
		case 2:
			return tileShape{2, min(blocks, 2)}
		}
		return tileShape{min(m, 4), 1}
	},
}

var neonQ8 = neonTiles.impl(NEON, "2x8c16 smull/smlal2/sadalp", 16, nil, false, 1)

var dotQ8 = dotTiles.impl(NEONDot, "4x16c4 sdot", 4, nil, false, 4)

// neonF32Tiles: FMLA on 4-column panels; a partial last panel runs in Go.
var neonF32Tiles = &simdF32{
	nr: 4, kern: asm.F32NEON, maskOf: countMask, wholePanels: true,
	choose: func(m, panels int) tileShape {
		if m == 1 {
			return tileShape{1, min(panels, 8)}
		}
		return tileShape{min(m, 4), min(panels, 4)}
	},
}

var neonF32 = neonF32Tiles.impl(NEON, "4x16 fmla / 1x32")
