//go:build !purego

package asm

// Vector kernels; see vec_amd64.s. Each handles whole blocks only (the
// block size is in its comment) and trusts its arguments.

// QuantizeAVX2 quantises n float32 (a multiple of 8) to int8.
//
//go:noescape
func QuantizeAVX2(dst *int8, src *float32, n int, inv, lo, hi float32, zp int32)

// DequantizeAVX2 dequantises n int8 (a multiple of 8) to float32.
//
//go:noescape
func DequantizeAVX2(dst *float32, src *int8, n int, scale float32, zp int32)

// LUTAVX2 maps n bytes (a multiple of 32) through the XOR-chained sub-tables xt.
//
//go:noescape
func LUTAVX2(dst, src *int8, n int, xt *byte)

// LUTVBMI maps n bytes (a multiple of 64) through the 256-entry table t
// (needs AVX-512 VBMI).
//
//go:noescape
func LUTVBMI(dst, src *int8, n int, t *int8)

// DotAVX2 returns the canonical-order dot product of n floats (a multiple of 32).
//
//go:noescape
func DotAVX2(a, b *float32, n int) float32

// SumAVX2 returns the canonical-order sum of n floats (a multiple of 32).
//
//go:noescape
func SumAVX2(a *float32, n int) float32

// SumSquaresAVX2 returns the canonical-order sum of (a-b)^2 over n floats (a multiple of 32).
//
//go:noescape
func SumSquaresAVX2(a, b *float32, n int) float32

// AxpyAVX2 computes dst = fma(s, a, dst) over n floats (a multiple of 8).
//
//go:noescape
func AxpyAVX2(dst, a *float32, n int, s float32)

// ReLUAVX2 computes dst = a < 0 ? 0 : a over n floats (a multiple of 8).
//
//go:noescape
func ReLUAVX2(dst, a *float32, n int)

// FMAVAVX2 computes dst = fma(a, b, c) over n floats (a multiple of 8).
//
//go:noescape
func FMAVAVX2(dst, a, b, c *float32, n int)

// QuantizeAffineAVX2 quantises fma(src, mul, add) over n floats (a multiple of 8).
//
//go:noescape
func QuantizeAffineAVX2(dst *int8, src, mul, add *float32, n int, lo, hi float32, zp int32)

// AdamWAVX2 applies kernels.AdamW to n floats (a multiple of 8); h holds
// LR, Beta1, Beta2, C1, C2, Eps, Decay.
//
//go:noescape
func AdamWAVX2(pp, gg, mm, vv *float32, n int, h *[7]float32)

// ReLUGradAVX2 computes dz = z > 0 ? dy : 0 over n floats (a multiple of 8).
//
//go:noescape
func ReLUGradAVX2(dz, dy, z *float32, n int)
