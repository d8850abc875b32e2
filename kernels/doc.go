// Package kernels holds the numeric kernels of edge: an int8 GEMM with fused
// requantisation (int8 or float32 output), a float32 GEMM, and the vector
// kernels around them (quantise, dequantise, 256-entry lookup-table
// activations, float32 element-wise ops and reductions).
//
// Each kernel exists in several families (Generic pure Go, AVX2, AVX512,
// NEON, NEONDot), chosen once at start-up from the CPU's features
// (golang.org/x/sys/cpu). EDGE_KERNELS=<family> or Use forces a family; a
// family the CPU lacks is an error, never an illegal instruction. The purego
// build tag removes all assembly.
//
// Every family computes exactly the same bits as the pure-Go reference (the
// package's tests hold it: ref.go, and FMA32): integer GEMMs are exact, float32 GEMMs are
// chains of fused multiply-adds in a fixed order, and reductions follow one
// canonical lane order (RedLanes).
//
// Weights are packed once (PackQ8, PackF32) into the layout of the family in
// use; the packed weights remember their family, so a later Use does not
// invalidate them. Kernel calls allocate nothing.
package kernels
