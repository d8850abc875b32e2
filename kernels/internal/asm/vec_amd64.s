//go:build !purego

#include "textflag.h"

// Vector kernels for AVX2 (and AVX-512 VBMI for the lookup table). Each
// processes whole blocks; package kernels does the tails in Go.

// func QuantizeAVX2(dst *int8, src *float32, n int, inv, lo, hi float32, zp int32)
// n is a multiple of 8. v = src*inv; NaN -> zp; clamp to [lo, hi]; round
// half to even; + zp.
TEXT ·QuantizeAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS inv+24(FP), Y0
	VBROADCASTSS lo+28(FP), Y1
	VBROADCASTSS hi+32(FP), Y2
	MOVL zp+36(FP), AX
	MOVQ AX, X3
	VPBROADCASTD X3, Y3
	SHRQ $3, CX
	JZ   qdone

qloop:
	VMULPS    (SI), Y0, Y4
	VCMPPS    $3, Y4, Y4, Y5 // unordered: NaN lanes
	VMINPS    Y2, Y4, Y4
	VMAXPS    Y1, Y4, Y4
	VCVTPS2DQ Y4, Y4
	VPANDN    Y4, Y5, Y4     // NaN lanes -> 0, then + zp
	VPADDD    Y3, Y4, Y4
	VEXTRACTI128 $1, Y4, X6
	VPACKSSDW X6, X4, X4
	VPACKSSWB X4, X4, X4
	MOVQ      X4, (DI)
	ADDQ      $32, SI
	ADDQ      $8, DI
	DECQ      CX
	JNZ       qloop

qdone:
	VZEROUPPER
	RET

// func DequantizeAVX2(dst *float32, src *int8, n int, scale float32, zp int32)
// n is a multiple of 8. dst = float32(src - zp) * scale.
TEXT ·DequantizeAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS scale+24(FP), Y0
	MOVL zp+28(FP), AX
	MOVQ AX, X1
	VPBROADCASTD X1, Y1
	SHRQ $3, CX
	JZ   ddone

dloop:
	VPMOVSXBD (SI), Y2
	VPSUBD    Y1, Y2, Y2
	VCVTDQ2PS Y2, Y2
	VMULPS    Y0, Y2, Y2
	VMOVUPS   Y2, (DI)
	ADDQ      $8, SI
	ADDQ      $32, DI
	DECQ      CX
	JNZ       dloop

ddone:
	VZEROUPPER
	RET

// func LUTAVX2(dst, src *int8, n int, xt *byte)
// n is a multiple of 32; xt holds the 16 XOR-chained sub-tables built by
// kernels.NewLUT (see lutChain there). Sixteen VPSHUFB lookups: the first
// nine indices step down by 16 with wrapping subtraction, the last seven
// with signed saturation; a lookup whose index has bit 7 set yields 0.
TEXT ·LUTAVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ xt+24(FP), DX
	MOVL $0x10101010, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15
	SHRQ $5, CX
	JZ   ldone

lloop:
	VMOVDQU (SI), Y0
	VBROADCASTI128 (DX), Y2
	VPSHUFB Y0, Y2, Y1

#define WRAP(off) \
	VPSUBB  Y15, Y0, Y0; \
	VBROADCASTI128 off(DX), Y2; \
	VPSHUFB Y0, Y2, Y2; \
	VPXOR   Y2, Y1, Y1

#define SAT(off) \
	VPSUBSB Y15, Y0, Y0; \
	VBROADCASTI128 off(DX), Y2; \
	VPSHUFB Y0, Y2, Y2; \
	VPXOR   Y2, Y1, Y1

	WRAP(16)
	WRAP(32)
	WRAP(48)
	WRAP(64)
	WRAP(80)
	WRAP(96)
	WRAP(112)
	WRAP(128)
	SAT(144)
	SAT(160)
	SAT(176)
	SAT(192)
	SAT(208)
	SAT(224)
	SAT(240)
	VMOVDQU Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     lloop

ldone:
	VZEROUPPER
	RET

// func LUTVBMI(dst, src *int8, n int, t *int8)
// n is a multiple of 64; t is the plain 256-entry table. VPERMI2B looks up
// the low seven bits in entries 0-127 and in 128-255; bit 7 picks one.
TEXT ·LUTVBMI(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ t+24(FP), DX
	VMOVDQU64 (DX), Z10
	VMOVDQU64 64(DX), Z11
	VMOVDQU64 128(DX), Z12
	VMOVDQU64 192(DX), Z13
	SHRQ $6, CX
	JZ   vdone

vloop:
	VMOVDQU64 (SI), Z0
	VMOVDQA64 Z0, Z1
	VMOVDQA64 Z0, Z2
	VPERMI2B  Z11, Z10, Z1
	VPERMI2B  Z13, Z12, Z2
	VPMOVB2M  Z0, K1
	VPBLENDMB Z2, Z1, K1, Z3
	VMOVDQU64 Z3, (DI)
	ADDQ      $64, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       vloop

vdone:
	VZEROUPPER
	RET

// Reductions in the canonical order of package kernels: 32 partial sums
// (Y0..Y3 hold lanes 0-7, 8-15, 16-23, 24-31), folded by halves.
#define FOLD32 \
	VADDPS Y2, Y0, Y0; \
	VADDPS Y3, Y1, Y1; \
	VADDPS Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VPERMILPS $0x0e, X0, X1; \
	VADDPS X1, X0, X0; \
	VPERMILPS $0x01, X0, X1; \
	VADDSS X1, X0, X0

// func DotAVX2(a, b *float32, n int) float32
// n is a multiple of 32.
TEXT ·DotAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHRQ $5, CX
	JZ   dotdone

dotloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DX), Y4, Y0
	VFMADD231PS 32(DX), Y5, Y1
	VFMADD231PS 64(DX), Y6, Y2
	VFMADD231PS 96(DX), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DX
	DECQ CX
	JNZ  dotloop

dotdone:
	FOLD32
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func SumAVX2(a *float32, n int) float32
// n is a multiple of 32.
TEXT ·SumAVX2(SB), NOSPLIT, $0-20
	MOVQ a+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHRQ $5, CX
	JZ   sumdone

sumloop:
	VADDPS (SI), Y0, Y0
	VADDPS 32(SI), Y1, Y1
	VADDPS 64(SI), Y2, Y2
	VADDPS 96(SI), Y3, Y3
	ADDQ $128, SI
	DECQ CX
	JNZ  sumloop

sumdone:
	FOLD32
	MOVSS X0, ret+16(FP)
	VZEROUPPER
	RET

// func SumSquaresAVX2(a, b *float32, n int) float32
// n is a multiple of 32; d = a-b rounded, acc = fma(d, d, acc).
TEXT ·SumSquaresAVX2(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DX
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHRQ $5, CX
	JZ   ssdone

ssloop:
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VSUBPS  (DX), Y4, Y4
	VSUBPS  32(DX), Y5, Y5
	VSUBPS  64(DX), Y6, Y6
	VSUBPS  96(DX), Y7, Y7
	VFMADD231PS Y4, Y4, Y0
	VFMADD231PS Y5, Y5, Y1
	VFMADD231PS Y6, Y6, Y2
	VFMADD231PS Y7, Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DX
	DECQ CX
	JNZ  ssloop

ssdone:
	FOLD32
	MOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func AxpyAVX2(dst, a *float32, n int, s float32)
// n is a multiple of 8; dst = fma(s, a, dst).
TEXT ·AxpyAVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS s+24(FP), Y0
	SHRQ $3, CX
	JZ   axdone

axloop:
	VMOVUPS (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  axloop

axdone:
	VZEROUPPER
	RET

// func ReLUAVX2(dst, a *float32, n int)
// n is a multiple of 8; dst = a < 0 ? 0 : a. VMAXPS returns its second
// source when the first is not greater, so NaN and -0 pass through.
TEXT ·ReLUAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	SHRQ $3, CX
	JZ   rdone

rloop:
	VMAXPS (SI), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNZ  rloop

rdone:
	VZEROUPPER
	RET

// func FMAVAVX2(dst, a, b, c *float32, n int)
// n is a multiple of 8; dst = fma(a, b, c).
TEXT ·FMAVAVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DX
	MOVQ c+24(FP), BX
	MOVQ n+32(FP), CX
	SHRQ $3, CX
	JZ   fmdone

fmloop:
	VMOVUPS (SI), Y0
	VMOVUPS (BX), Y1
	VFMADD231PS (DX), Y0, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, BX
	ADDQ $32, DI
	DECQ CX
	JNZ  fmloop

fmdone:
	VZEROUPPER
	RET

// func QuantizeAffineAVX2(dst *int8, src, mul, add *float32, n int, lo, hi float32, zp int32)
// n is a multiple of 8. v = fma(src, mul, add); then as QuantizeAVX2 with inv = 1.
TEXT ·QuantizeAffineAVX2(SB), NOSPLIT, $0-52
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ mul+16(FP), DX
	MOVQ add+24(FP), BX
	MOVQ n+32(FP), CX
	VBROADCASTSS lo+40(FP), Y1
	VBROADCASTSS hi+44(FP), Y2
	MOVL zp+48(FP), AX
	MOVQ AX, X3
	VPBROADCASTD X3, Y3
	SHRQ $3, CX
	JZ   qadone

qaloop:
	VMOVUPS   (SI), Y0
	VMOVUPS   (BX), Y4
	VFMADD231PS (DX), Y0, Y4
	VCMPPS    $3, Y4, Y4, Y5
	VMINPS    Y2, Y4, Y4
	VMAXPS    Y1, Y4, Y4
	VCVTPS2DQ Y4, Y4
	VPANDN    Y4, Y5, Y4
	VPADDD    Y3, Y4, Y4
	VEXTRACTI128 $1, Y4, X6
	VPACKSSDW X6, X4, X4
	VPACKSSWB X4, X4, X4
	MOVQ      X4, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DX
	ADDQ      $32, BX
	ADDQ      $8, DI
	DECQ      CX
	JNZ       qaloop

qadone:
	VZEROUPPER
	RET

// func AdamWAVX2(pp, gg, mm, vv *float32, n int, h *[7]float32)
// n is a multiple of 8; h = LR, Beta1, Beta2, C1, C2, Eps, Decay. The
// operations of kernels.AdamW, in its order, each rounded (no FMA).
TEXT ·AdamWAVX2(SB), NOSPLIT, $0-48
	MOVQ pp+0(FP), DI
	MOVQ gg+8(FP), SI
	MOVQ mm+16(FP), DX
	MOVQ vv+24(FP), BX
	MOVQ n+32(FP), CX
	MOVQ h+40(FP), AX
	VBROADCASTSS 0(AX), Y8   // LR
	VBROADCASTSS 4(AX), Y9   // Beta1
	VBROADCASTSS 8(AX), Y10  // Beta2
	VBROADCASTSS 12(AX), Y11 // C1
	VBROADCASTSS 16(AX), Y12 // C2
	VBROADCASTSS 20(AX), Y13 // Eps
	VBROADCASTSS 24(AX), Y14 // Decay
	MOVL $0x3f800000, R8     // 1.0
	MOVQ R8, X15
	VBROADCASTSS X15, Y15
	VSUBPS Y9, Y15, Y6       // 1-Beta1
	VSUBPS Y10, Y15, Y7      // 1-Beta2
	SHRQ $3, CX
	JZ   adone

aloop:
	VMOVUPS (SI), Y0         // g
	VMULPS  (DX), Y9, Y1     // Beta1*m
	VMULPS  Y0, Y6, Y2       // (1-Beta1)*g
	VADDPS  Y2, Y1, Y1       // m
	VMULPS  Y0, Y0, Y3       // g*g
	VMULPS  Y3, Y7, Y3       // (1-Beta2)*g*g
	VMULPS  (BX), Y10, Y2    // Beta2*v
	VADDPS  Y3, Y2, Y2       // v
	VMOVUPS Y1, (DX)
	VMOVUPS Y2, (BX)
	VDIVPS  Y12, Y2, Y2      // v/C2
	VSQRTPS Y2, Y2
	VADDPS  Y13, Y2, Y2      // + Eps
	VDIVPS  Y11, Y1, Y1      // m/C1
	VDIVPS  Y2, Y1, Y1       // (m/C1)/den
	VMULPS  Y1, Y8, Y1       // LR*...
	VMULPS  (DI), Y14, Y3    // p*Decay
	VSUBPS  Y1, Y3, Y3
	VMOVUPS Y3, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	ADDQ $32, BX
	DECQ CX
	JNZ  aloop

adone:
	VZEROUPPER
	RET

// func ReLUGradAVX2(dz, dy, z *float32, n int)
// n is a multiple of 8; dz = z > 0 ? dy : 0 (ordered compare: NaN gives 0).
TEXT ·ReLUGradAVX2(SB), NOSPLIT, $0-32
	MOVQ dz+0(FP), DI
	MOVQ dy+8(FP), SI
	MOVQ z+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y0, Y0, Y0
	SHRQ $3, CX
	JZ   rgdone

rgloop:
	VMOVUPS (DX), Y1
	VCMPPS  $0x1e, Y0, Y1, Y1 // z > 0, ordered
	VANDPS  (SI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, DX
	DECQ CX
	JNZ  rgloop

rgdone:
	VZEROUPPER
	RET
