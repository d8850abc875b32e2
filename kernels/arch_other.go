//go:build purego || !(amd64 || arm64)

package kernels

// Builds without assembly (other architectures, or the purego tag) run the
// Generic family only.
var arch = archInfo{
	compiled:  [numFamilies]bool{Generic: true},
	supported: [numFamilies]bool{Generic: true},
	q8:        []*q8Impl{genericQ8},
	f32:       []*f32Impl{genericF32},
	vec:       []*vecImpl{genericVec},
}
