//go:build !purego

package kernels

import "golang.org/x/sys/cpu"

// amd64: Generic, AVX2 (AVX2+FMA) and AVX512 (F, BW, VL, VNNI). x/sys/cpu
// also checks that the OS saves the vector state (XGETBV).
var arch = func() archInfo {
	a := archInfo{
		compiled: [numFamilies]bool{Generic: true, AVX2: true, AVX512: true},
		q8:       []*q8Impl{genericQ8, avx2Q8, avx512Q8},
		f32:      []*f32Impl{genericF32, avx2F32, avx512F32},
		vec:      []*vecImpl{genericVec, avx2Vec, avx512Vec},
	}
	x := cpu.X86
	a.supported[Generic] = true
	a.supported[AVX2] = x.HasAVX2 && x.HasFMA
	a.supported[AVX512] = a.supported[AVX2] && x.HasAVX512F && x.HasAVX512BW && x.HasAVX512VL && x.HasAVX512VNNI
	return a
}()
