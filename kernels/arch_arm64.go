//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// arm64: Generic, NEON (Advanced SIMD) and NEONDot (with the dot-product
// extension). The float32 and vector kernels of NEONDot are NEON's: SDOT
// only changes the int8 GEMM.
var arch = func() archInfo {
	a := archInfo{
		compiled: [numFamilies]bool{Generic: true, NEON: true, NEONDot: true},
		q8:       []*q8Impl{genericQ8, neonQ8, dotQ8},
		f32:      []*f32Impl{genericF32, neonF32},
		vec:      []*vecImpl{genericVec, neonVec},
	}
	a.supported[Generic] = true
	a.supported[NEON] = cpu.ARM64.HasASIMD
	a.supported[NEONDot] = cpu.ARM64.HasASIMD && cpu.ARM64.HasASIMDDP
	return a
}()
