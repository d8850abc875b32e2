//go:build !purego

package kernels

import "testing"

func q8TilesOf(f Family) *simdQ8 {
	switch f {
	case NEON:
		return neonTiles
	case NEONDot:
		return dotTiles
	}
	return nil
}

func f32TilesOf(f Family) *simdF32 {
	if f == NEON || f == NEONDot {
		return neonF32Tiles
	}
	return nil
}

// TestARM64Registration checks that each family runs the code it should:
// NEON its own everywhere, NEONDot its own int8 GEMM and NEON's float32
// and vector kernels (SDOT changes nothing else).
func TestARM64Registration(t *testing.T) {
	want := map[Family][3]Family{
		NEON:    {NEON, NEON, NEON},
		NEONDot: {NEONDot, NEON, NEON},
	}
	for f, w := range want {
		if !f.Supported() {
			t.Logf("NOT TESTED HERE: %s (needs %s)", f, f.Needs())
			continue
		}
		for i, c := range ChoicesFor(f) {
			if c.Family != w[i] {
				t.Errorf("%s: kernel %q runs %s code, want %s", f, c.Kernel, c.Family, w[i])
			}
		}
	}
}
