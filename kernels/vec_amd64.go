//go:build !purego

package kernels

// avx2Vec: the float32 element-wise ops come from vek32 (AVX2 assembly);
// the rest are Generic until they get SIMD code of their own.
var avx2Vec = func() *vecImpl {
	v := *genericVec
	v.family = AVX2
	v.name = "go"
	return &v
}()
