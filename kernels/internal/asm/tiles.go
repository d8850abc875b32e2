package asm

import "fmt"

// MaxMR is the most rows a micro-kernel tile may have.
const MaxMR = 15

// Tiles is a micro-kernel family's tile table, written by the generator
// from the same table it generates the kernels from: a tile of mr rows
// (1 <= mr <= MR) spans 1 to Widest[mr] blocks of NR channels, and no
// other tile exists. Widest never grows with mr, so every tail tile of a
// chosen tile is in the table.
type Tiles struct {
	Op     string // "q8" or "f32"
	ISA    string // as in the kernel names: avx512vnni, avx2, neondot, ...
	NR     int    // channels per block
	KR     int    // k per weight group (1: none)
	MR     int    // the tallest tile
	Widest [MaxMR + 1]int
}

// Choose returns the tile for m rows over blocks: as many rows as the
// tallest tile holds, and as many blocks as a tile of that height spans.
func (t Tiles) Choose(m, blocks int) (mr, nv int) {
	mr = min(m, t.MR)
	return mr, min(blocks, t.Widest[mr])
}

// All lists every tile of the table as (mr, nv) pairs, rows outer.
func (t Tiles) All() [][2]int {
	var out [][2]int
	for mr := 1; mr <= t.MR; mr++ {
		for nv := 1; nv <= t.Widest[mr]; nv++ {
			out = append(out, [2]int{mr, nv})
		}
	}
	return out
}

// Name returns a tile's kernel name as XNNPACK forms it: operation,
// MR x NR in channels, c KR when K is grouped, ISA
// (q8_6x64c4_avx512vnni).
func (t Tiles) Name(mr, nv int) string {
	c := ""
	if t.KR > 1 {
		c = fmt.Sprintf("c%d", t.KR)
	}
	return fmt.Sprintf("%s_%dx%d%s_%s", t.Op, mr, nv*t.NR, c, t.ISA)
}

// Summary names the family's two main tiles: the tallest (batches) and
// the one-row tile (batch 1, GEMV).
func (t Tiles) Summary() string {
	return t.Name(t.MR, t.Widest[t.MR]) + " / " + t.Name(1, t.Widest[1])
}
