//go:build !purego

package kernels

import "testing"

func q8TilesOf(f Family) *simdQ8 {
	switch f {
	case AVX512:
		return avx512Tiles
	case AVX2:
		return avx2Tiles
	}
	return nil
}

func f32TilesOf(f Family) *simdF32 {
	switch f {
	case AVX512:
		return avx512F32Tiles
	case AVX2:
		return avx2F32Tiles
	}
	return nil
}

// TestAMD64Registration checks that each SIMD family runs its own code for
// every kernel instead of silently falling back to a lower family.
func TestAMD64Registration(t *testing.T) {
	for _, f := range []Family{AVX2, AVX512} {
		if !f.Supported() {
			t.Logf("NOT TESTED HERE: %s (needs %s)", f, f.Needs())
			continue
		}
		for _, c := range ChoicesFor(f) {
			if c.Family != f {
				t.Errorf("%s: kernel %q runs %s code", f, c.Kernel, c.Family)
			}
		}
	}
}
