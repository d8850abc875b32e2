package main

import (
	"fmt"
	"log"
	"strings"
)

// ---------------------------------------------------------------------------
// arm64 instructions that Go's assembler lacks, as WORD lines whose comment
// is the instruction as GNU objdump prints it. The encodings follow the
// Arm ARM; a test (internal/testmatrix) disassembles the built kernels with
// aarch64-linux-gnu-objdump and checks every WORD against its comment.

type a64 struct{ *emitter }

func (e a64) word(enc uint32, format string, args ...any) {
	e.f("WORD $0x%08x // %s", enc, fmt.Sprintf(format, args...))
}

func rdnm(d, n, m int) uint32 { return uint32(m)<<16 | uint32(n)<<5 | uint32(d) }

// sdot Vd.4S, Vn.16B, Vm.4B[i]
func (e a64) sdot(d, n, m, i int) {
	e.word(0x4f80e000|uint32(i&1)<<21|uint32(m>>4)<<20|uint32(m&15)<<16|uint32(i>>1)<<11|uint32(n)<<5|uint32(d),
		"sdot v%d.4s, v%d.16b, v%d.4b[%d]", d, n, m, i)
}
func (e a64) smull(d, n, m int) {
	e.word(0x0e20c000|rdnm(d, n, m), "smull v%d.8h, v%d.8b, v%d.8b", d, n, m)
}
func (e a64) smlal2(d, n, m int) {
	e.word(0x4e208000|rdnm(d, n, m), "smlal2 v%d.8h, v%d.16b, v%d.16b", d, n, m)
}
func (e a64) sadalp(d, n int) { e.word(0x4e606800|rdnm(d, n, 0), "sadalp v%d.4s, v%d.8h", d, n) }
func (e a64) scvtf(d, n int)  { e.word(0x4e21d800|rdnm(d, n, 0), "scvtf v%d.4s, v%d.4s", d, n) }
func (e a64) fcvtns(d, n int) { e.word(0x4e21a800|rdnm(d, n, 0), "fcvtns v%d.4s, v%d.4s", d, n) }
func (e a64) fmul(d, n, m int) {
	e.word(0x6e20dc00|rdnm(d, n, m), "fmul v%d.4s, v%d.4s, v%d.4s", d, n, m)
}
func (e a64) fadd(d, n, m int) {
	e.word(0x4e20d400|rdnm(d, n, m), "fadd v%d.4s, v%d.4s, v%d.4s", d, n, m)
}
func (e a64) fsub(d, n, m int) {
	e.word(0x4ea0d400|rdnm(d, n, m), "fsub v%d.4s, v%d.4s, v%d.4s", d, n, m)
}
func (e a64) fmax(d, n, m int) {
	e.word(0x4e20f400|rdnm(d, n, m), "fmax v%d.4s, v%d.4s, v%d.4s", d, n, m)
}
func (e a64) fmin(d, n, m int) {
	e.word(0x4ea0f400|rdnm(d, n, m), "fmin v%d.4s, v%d.4s, v%d.4s", d, n, m)
}
func (e a64) fdiv(d, n, m int) {
	e.word(0x6e20fc00|rdnm(d, n, m), "fdiv v%d.4s, v%d.4s, v%d.4s", d, n, m)
}
func (e a64) fsqrt(d, n int) { e.word(0x6ea1f800|rdnm(d, n, 0), "fsqrt v%d.4s, v%d.4s", d, n) }
func (e a64) fcmeq(d, n, m int) {
	e.word(0x4e20e400|rdnm(d, n, m), "fcmeq v%d.4s, v%d.4s, v%d.4s", d, n, m)
}
func (e a64) fcmgt0(d, n int) { e.word(0x4ea0c800|rdnm(d, n, 0), "fcmgt v%d.4s, v%d.4s, #0.0", d, n) }
func (e a64) fcmlt0(d, n int) { e.word(0x4ea0e800|rdnm(d, n, 0), "fcmlt v%d.4s, v%d.4s, #0.0", d, n) }
func (e a64) bic(d, n, m int) {
	e.word(0x4e601c00|rdnm(d, n, m), "bic v%d.16b, v%d.16b, v%d.16b", d, n, m)
}
func (e a64) faddpS(d, n int)    { e.word(0x7e30d800|rdnm(d, n, 0), "faddp s%d, v%d.2s", d, n) }
func (e a64) sqxtn4h(d, n int)   { e.word(0x0e614800|rdnm(d, n, 0), "sqxtn v%d.4h, v%d.4s", d, n) }
func (e a64) sqxtn8h2(d, n int)  { e.word(0x4e614800|rdnm(d, n, 0), "sqxtn2 v%d.8h, v%d.4s", d, n) }
func (e a64) sqxtn8b(d, n int)   { e.word(0x0e214800|rdnm(d, n, 0), "sqxtn v%d.8b, v%d.8h", d, n) }
func (e a64) sqxtn16b2(d, n int) { e.word(0x4e214800|rdnm(d, n, 0), "sqxtn2 v%d.16b, v%d.8h", d, n) }
func (e a64) sxtl8h(d, n int)    { e.word(0x0f08a400|rdnm(d, n, 0), "sxtl v%d.8h, v%d.8b", d, n) }
func (e a64) sxtl4s(d, n int)    { e.word(0x0f10a400|rdnm(d, n, 0), "sxtl v%d.4s, v%d.4h", d, n) }
func (e a64) sxtl4s2(d, n int)   { e.word(0x4f10a400|rdnm(d, n, 0), "sxtl2 v%d.4s, v%d.8h", d, n) }

func v(i int, arr string) string { return fmt.Sprintf("V%d.%s", i, arr) }

// vlist is a Go register list of consecutive vectors.
func vlist(first, count int, arr string) string {
	var s []string
	for i := 0; i < count; i++ {
		s = append(s, v(first+i, arr))
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// requant4 turns int32 lanes in register r (bias already added) into
// clamped, rounded, zero-point-shifted int32: scvtf, fmul scale, fmax lo,
// fmin hi, fcvtns (nearest, ties to even), add zp.
func (e a64) requant4(r, scale, lo, hi, zp int) {
	e.scvtf(r, r)
	e.fmul(r, r, scale)
	e.fmax(r, r, lo)
	e.fmin(r, r, hi)
	e.fcvtns(r, r)
	e.f("VADD V%d.S4, V%d.S4, V%d.S4", zp, r, r)
}

// storeBytesTail stores the low cnt bytes (count in register cntReg, 1..16)
// of vector t at address in dst, using tmp GPRs; label names must be unique.
func (e a64) storeBytes(t int, full int, dst, cntReg, lbl string) {
	e.f("CMP $%d, %s", full, cntReg)
	e.f("BNE %s_part", lbl)
	if full == 16 {
		e.f("VST1 [V%d.B16], (%s)", t, dst)
	} else {
		e.f("VST1 [V%d.B8], (%s)", t, dst)
	}
	e.f("B %s_done", lbl)
	e.label(lbl + "_part")
	e.f("MOVD %s, R19", dst)
	e.f("MOVD %s, R20", cntReg)
	e.f("VMOV V%d.D[0], R21", t)
	e.f("VMOV V%d.D[1], R22", t)
	e.label(lbl + "_byte")
	e.f("MOVB R21, (R19)")
	e.f("ADD $1, R19")
	e.f("LSR $8, R21")
	e.f("ORR R22<<56, R21, R21")
	e.f("LSR $8, R22")
	e.f("SUBS $1, R20")
	e.f("BNE %s_byte", lbl)
	e.label(lbl + "_done")
}

// storeFloatsTail stores cnt (1..4*regs) float32 lanes of consecutive
// vectors first.. at dst, where full lanes is the no-tail case.
func (e a64) storeFloats(first, regs int, dst, cntReg, lbl string) {
	e.f("CMP $%d, %s", 4*regs, cntReg)
	e.f("BNE %s_part", lbl)
	e.f("VST1 %s, (%s)", vlist(first, regs, "S4"), dst)
	e.f("B %s_done", lbl)
	e.label(lbl + "_part")
	e.f("MOVD %s, R19", dst)
	for i := 0; i < 4*regs; i++ {
		e.f("CMP $%d, %s", i+1, cntReg)
		e.f("BLT %s_done", lbl)
		e.f("VMOV V%d.S[%d], R21", first+i/4, i%4)
		e.f("MOVW R21, %d(R19)", 4*i)
	}
	e.label(lbl + "_done")
}

func a64Header(e *emitter, name, sig string, frame int) {
	e.raw(fmt.Sprintf("// func %s(%s)\nTEXT ·%s(SB), NOSPLIT, $0-%d\n", name, sig, name, frame))
}

// loadConsts puts lo, hi (float32, broadcast) in V12, V13 and zp in V14.
func (e a64) loadConsts() {
	e.f("FMOVS lo+68(FP), F12")
	e.f("VDUP V12.S[0], V12.S4")
	e.f("FMOVS hi+72(FP), F13")
	e.f("VDUP V13.S[0], V13.S4")
	e.f("MOVW zp+64(FP), R15")
	e.f("VDUP R15, V14.S4")
}

var xRows = []string{"R0", "R1", "R2", "R3"}

// ---------------------------------------------------------------------------
// int8 GEMM, NEON without dot product (Cortex-A53/A72), 2x8c16.
//
// Packed weights, K-chunk major: chunk g of block v (8 channels x 16 k, 128
// bytes) at w + g*gs + 128*v; bias' and scales in separate arrays.
// For each 16 k of a channel: SMULL multiplies the low 8 bytes of weights
// and activations into int16, SMLAL2 adds the high 8 (two products of
// |v| <= 128*127 fit int16 because weights avoid -128), SADALP adds the
// int16 pairs into the channel's int32x4 accumulator. Three ADDP rounds
// reduce eight accumulators to the eight channel sums. mask is the number
// of valid channels (1..8) of the last block.

func q8neon(e0 *emitter, name string, mr, nv int, float bool) {
	e := a64{e0}
	sig, frame := q8Sig, 96
	if float {
		sig, frame = q8fSig, 80
	}
	a64Header(e0, name, sig, frame)
	biasOff := map[bool]int{false: 80, true: 64}[float]
	if mr*nv*8 > 16 {
		log.Fatalf("%s: too many accumulators", name)
	}
	acc := func(r, b, c int) int { return 16 + (r*nv+b)*8 + c }
	e.f("MOVD x+0(FP), R0")
	e.f("MOVD xs+8(FP), R4")
	if mr > 1 {
		e.f("ADD R4, R0, R1")
	}
	// R7 walks the weights: a chunk's blocks are contiguous (128 bytes
	// each); R6 skips from the end of the tile's blocks to the next chunk.
	e.f("MOVD w+16(FP), R7")
	e.f("MOVD gs+24(FP), R6")
	e.f("SUB $%d, R6", 128*nv)
	e.f("MOVD kg+32(FP), R11")
	for r := 0; r < mr; r++ {
		for b := 0; b < nv; b++ {
			for c := 0; c < 8; c++ {
				a := acc(r, b, c)
				e.f("VEOR V%d.B16, V%d.B16, V%d.B16", a, a, a)
			}
		}
	}
	e.label(name + "_loop")
	for r := 0; r < mr; r++ {
		e.f("VLD1.P 16(%s), [V%d.B16]", xRows[r], r)
	}
	for b := 0; b < nv; b++ {
		e.f("VLD1.P 64(R7), %s", vlist(2, 4, "B16"))
		e.f("VLD1.P 64(R7), %s", vlist(6, 4, "B16"))
		// Interleave batches of six independent SMULL -> SMLAL2 -> SADALP
		// chains (one per temporary V10..V15), so that an in-order core
		// (Cortex-A53) issues the next chain while the last one completes.
		type chain struct{ r, c int }
		var chains []chain
		for c := 0; c < 8; c++ {
			for r := 0; r < mr; r++ {
				chains = append(chains, chain{r, c})
			}
		}
		for i := 0; i < len(chains); i += 6 {
			batch := chains[i:min(i+6, len(chains))]
			for j, ch := range batch {
				e.smull(10+j, 2+ch.c, ch.r)
			}
			for j, ch := range batch {
				e.smlal2(10+j, 2+ch.c, ch.r)
			}
			for j, ch := range batch {
				e.sadalp(acc(ch.r, b, ch.c), 10+j)
			}
		}
	}
	e.f("ADD R6, R7")
	e.f("SUBS $1, R11")
	e.f("BNE %s_loop", name)
	if !float {
		e.loadConsts()
	}
	e.f("MOVD bias+%d(FP), R5", biasOff)
	e.f("MOVD scale+%d(FP), R6", biasOff+8)
	e.f("MOVD y+40(FP), R12")
	e.f("MOVD ys+48(FP), R13")
	e.f("MOVD mask+56(FP), R14")
	for r := 0; r < mr; r++ {
		if r > 0 {
			e.f("ADD R13, R12")
		}
		for b := 0; b < nv; b++ {
			a0 := acc(r, b, 0)
			// channels 0-3 into V0, 4-7 into V1
			for h := 0; h < 2; h++ {
				e.f("VADDP V%d.S4, V%d.S4, V2.S4", a0+4*h+1, a0+4*h)
				e.f("VADDP V%d.S4, V%d.S4, V3.S4", a0+4*h+3, a0+4*h+2)
				e.f("VADDP V3.S4, V2.S4, V%d.S4", h)
			}
			e.f("ADD $%d, R5, R16", 32*b)
			e.f("VLD1 (R16), [V4.S4, V5.S4]")
			e.f("VADD V4.S4, V0.S4, V0.S4")
			e.f("VADD V5.S4, V1.S4, V1.S4")
			e.f("ADD $%d, R6, R16", 32*b)
			e.f("VLD1 (R16), [V6.S4, V7.S4]")
			dst := "R12"
			if b > 0 {
				e.f("ADD $%d, R12, R17", map[bool]int{false: 8, true: 32}[float]*b)
				dst = "R17"
			}
			cnt := "R15"
			if b == nv-1 {
				cnt = "R14"
			} else {
				e.f("MOVD $8, R15")
			}
			lbl := fmt.Sprintf("%s_r%db%d", name, r, b)
			if float {
				e.scvtf(0, 0)
				e.scvtf(1, 1)
				e.fmul(0, 0, 6)
				e.fmul(1, 1, 7)
				e.storeFloats(0, 2, dst, cnt, lbl)
				continue
			}
			e.requant4(0, 6, 12, 13, 14)
			e.requant4(1, 7, 12, 13, 14)
			e.sqxtn4h(2, 0)
			e.sqxtn8h2(2, 1)
			e.sqxtn8b(2, 2)
			e.storeBytes(2, 8, dst, cnt, lbl)
		}
	}
	e.f("RET")
	e.raw("\n")
}

// ---------------------------------------------------------------------------
// int8 GEMM, NEON dot product (Cortex-A76 and later), up to 4x16c4.
//
// Packed weights, K-group major: group g of block v (16 channels x 4 k, 64
// bytes) at w + g*gs + 64*v, kg a multiple of 4 (chunks of 16 k); bias' and
// scales in separate arrays. SDOT by element multiplies four
// channels' 4 weights (one vector of 16 bytes) with one 4-byte group of an
// activation row and adds the four int32 sums to the accumulators: no
// reduction afterwards. kg arrives in groups; the loop counts chunks.

func q8dot(e0 *emitter, name string, mr, nv int, float bool) {
	e := a64{e0}
	sig, frame := q8Sig, 96
	if float {
		sig, frame = q8fSig, 80
	}
	a64Header(e0, name, sig, frame)
	biasOff := map[bool]int{false: 80, true: 64}[float]
	if mr*nv*4 > 16 || mr > 4 || nv > 4 {
		log.Fatalf("%s: too many accumulators", name)
	}
	acc := func(r, b, q int) int { return 16 + (r*nv+b)*4 + q }
	e.f("MOVD x+0(FP), R0")
	e.f("MOVD xs+8(FP), R4")
	for r := 1; r < mr; r++ {
		e.f("ADD R4, %s, %s", xRows[r-1], xRows[r])
	}
	// R7 walks the weights: a group's blocks are contiguous (64 bytes
	// each); R6 skips from the end of the tile's blocks to the next group.
	e.f("MOVD w+16(FP), R7")
	e.f("MOVD gs+24(FP), R6")
	e.f("SUB $%d, R6", 64*nv)
	e.f("MOVD kg+32(FP), R11")
	e.f("LSR $2, R11")
	for r := 0; r < mr; r++ {
		for b := 0; b < nv; b++ {
			for q := 0; q < 4; q++ {
				a := acc(r, b, q)
				e.f("VEOR V%d.B16, V%d.B16, V%d.B16", a, a, a)
			}
		}
	}
	e.label(name + "_loop")
	for r := 0; r < mr; r++ {
		e.f("VLD1.P 16(%s), [V%d.B16]", xRows[r], r)
	}
	set := 0
	for g := 0; g < 4; g++ {
		if g > 0 {
			e.f("ADD R6, R7")
		}
		for b := 0; b < nv; b++ {
			wr := 4 + 4*(set%3)
			set++
			e.f("VLD1.P 64(R7), %s", vlist(wr, 4, "B16"))
			for r := 0; r < mr; r++ {
				for q := 0; q < 4; q++ {
					e.sdot(acc(r, b, q), wr+q, r, g)
				}
			}
		}
	}
	e.f("ADD R6, R7")
	e.f("SUBS $1, R11")
	e.f("BNE %s_loop", name)
	if !float {
		e.loadConsts()
	}
	e.f("MOVD bias+%d(FP), R5", biasOff)
	e.f("MOVD scale+%d(FP), R6", biasOff+8)
	e.f("MOVD y+40(FP), R12")
	e.f("MOVD ys+48(FP), R13")
	e.f("MOVD mask+56(FP), R14")
	for r := 0; r < mr; r++ {
		if r > 0 {
			e.f("ADD R13, R12")
		}
		for b := 0; b < nv; b++ {
			a0 := acc(r, b, 0)
			e.f("ADD $%d, R5, R16", 64*b)
			e.f("VLD1 (R16), %s", vlist(4, 4, "S4"))
			e.f("ADD $%d, R6, R16", 64*b)
			e.f("VLD1 (R16), %s", vlist(8, 4, "S4"))
			for q := 0; q < 4; q++ {
				e.f("VADD V%d.S4, V%d.S4, V%d.S4", 4+q, a0+q, q)
			}
			dst := "R12"
			if b > 0 {
				e.f("ADD $%d, R12, R17", map[bool]int{false: 16, true: 64}[float]*b)
				dst = "R17"
			}
			cnt := "R15"
			if b == nv-1 {
				cnt = "R14"
			} else {
				e.f("MOVD $16, R15")
			}
			lbl := fmt.Sprintf("%s_r%db%d", name, r, b)
			if float {
				for q := 0; q < 4; q++ {
					e.scvtf(q, q)
					e.fmul(q, q, 8+q)
				}
				e.storeFloats(0, 4, dst, cnt, lbl)
				continue
			}
			for q := 0; q < 4; q++ {
				e.requant4(q, 8+q, 12, 13, 14)
			}
			e.sqxtn4h(4, 0)
			e.sqxtn8h2(4, 1)
			e.sqxtn4h(5, 2)
			e.sqxtn8h2(5, 3)
			e.sqxtn8b(6, 4)
			e.sqxtn16b2(6, 5)
			e.storeBytes(6, 16, dst, cnt, lbl)
		}
	}
	e.f("RET")
	e.raw("\n")
}

// ---------------------------------------------------------------------------
// float32 GEMM, NEON (FMLA). Packed B: panels of 4 columns, [k][4] each, bs
// bytes apart. A's element (r, i) at a + r*rs + i*cs (bytes), loaded with
// LD1R (replicated) so any stride works. Every lane is one FMLA chain over
// k in order. The kernel handles whole panels only: the package does a
// partial last panel in Go (FMA32), so mask is unused here.

var aRows = []string{"R0", "R1", "R2", "R3", "R4", "R5", "R6", "R7"}
var bPtrs = []string{"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15"}

func f32neon(e0 *emitter, name string, mr, nv int, _ bool) {
	e := a64{e0}
	a64Header(e0, name, f32Sig, 88)
	nacc := mr * nv
	if nacc+mr+nv > 32 || mr > 8 || nv > 8 {
		log.Fatalf("%s: out of registers", name)
	}
	accBase := 32 - nacc
	acc := func(r, q int) int { return accBase + r*nv + q }
	aReg := func(r int) int { return r }
	bReg := func(q int) int { return mr + q }
	e.f("MOVD a+0(FP), R0")
	e.f("MOVD rs+8(FP), R16")
	for r := 1; r < mr; r++ {
		e.f("ADD R16, %s, %s", aRows[r-1], aRows[r])
	}
	e.f("MOVD cs+16(FP), R17")
	e.f("MOVD b+24(FP), R8")
	e.f("MOVD bs+32(FP), R19")
	for q := 1; q < nv; q++ {
		e.f("ADD R19, %s, %s", bPtrs[q-1], bPtrs[q])
	}
	e.f("MOVD c+48(FP), R20")
	e.f("MOVD ldc+56(FP), R21")
	e.f("MOVD mode+80(FP), R22")
	e.f("CMP $1, R22")
	e.f("BEQ %s_bias", name)
	e.f("BGT %s_loadc", name)
	for r := 0; r < mr; r++ {
		for q := 0; q < nv; q++ {
			a := acc(r, q)
			e.f("VEOR V%d.B16, V%d.B16, V%d.B16", a, a, a)
		}
	}
	e.f("B %s_start", name)
	e.label(name + "_bias")
	e.f("MOVD bias+64(FP), R22")
	for q := 0; q < nv; q++ {
		e.f("VLD1.P 16(R22), [V%d.S4]", acc(0, q))
		for r := 1; r < mr; r++ {
			e.f("VORR V%d.B16, V%d.B16, V%d.B16", acc(0, q), acc(0, q), acc(r, q))
		}
	}
	e.f("B %s_start", name)
	e.label(name + "_loadc")
	e.f("MOVD R20, R22")
	for r := 0; r < mr; r++ {
		e.f("MOVD R22, R23")
		for q := 0; q < nv; q++ {
			e.f("VLD1.P 16(R23), [V%d.S4]", acc(r, q))
		}
		e.f("ADD R21, R22")
	}
	e.label(name + "_start")
	e.f("MOVD k+40(FP), R22")
	e.label(name + "_loop")
	for q := 0; q < nv; q++ {
		e.f("VLD1.P 16(%s), [V%d.S4]", bPtrs[q], bReg(q))
	}
	for r := 0; r < mr; r++ {
		e.f("VLD1R.P (%s)(R17), [V%d.S4]", aRows[r], aReg(r))
		for q := 0; q < nv; q++ {
			e.f("VFMLA V%d.S4, V%d.S4, V%d.S4", bReg(q), aReg(r), acc(r, q))
		}
	}
	e.f("SUBS $1, R22")
	e.f("BNE %s_loop", name)
	for r := 0; r < mr; r++ {
		e.f("MOVD R20, R23")
		for q := 0; q < nv; q++ {
			e.f("VST1.P [V%d.S4], 16(R23)", acc(r, q))
		}
		e.f("ADD R21, R20")
	}
	e.f("RET")
	e.raw("\n")
}

// ---------------------------------------------------------------------------
// Vector kernels, NEON. Whole blocks only; package kernels does the tails.

func vecNEON(e0 *emitter) {
	e := a64{e0}
	e.vecQuantize()
	e.vecQuantizeAffine()
	e.vecDequantize()
	e.vecLUT()
	e.vecReductions()
	e.vecBinops()
	e.vecScaleAxpy()
	e.vecFMAV()
	e.vecAdamW()
	e.vecReLUGrad()
	e.vecReLU()
}

// vecQuantize emits
// QuantizeNEON(dst *int8, src *float32, n int, inv, lo, hi float32, zp int32), n % 8 == 0.
func (e a64) vecQuantize() {
	a64Header(e.emitter, "QuantizeNEON", "dst *int8, src *float32, n int, inv, lo, hi float32, zp int32", 40)
	e.f("MOVD dst+0(FP), R0")
	e.f("MOVD src+8(FP), R1")
	e.f("MOVD n+16(FP), R2")
	e.f("FMOVS inv+24(FP), F16")
	e.f("VDUP V16.S[0], V16.S4")
	e.f("FMOVS lo+28(FP), F17")
	e.f("VDUP V17.S[0], V17.S4")
	e.f("FMOVS hi+32(FP), F18")
	e.f("VDUP V18.S[0], V18.S4")
	e.f("MOVW zp+36(FP), R3")
	e.f("VDUP R3, V19.S4")
	e.f("LSR $3, R2")
	e.f("CBZ R2, qdone")
	e.label("qloop")
	e.f("VLD1.P 32(R1), [V0.S4, V1.S4]")
	for _, r := range []int{0, 1} {
		e.fmul(r, r, 16)
		e.fcmeq(2+r, r, r) // all ones where not NaN
		e.fmax(r, r, 17)
		e.fmin(r, r, 18)
		e.fcvtns(r, r)
		e.f("VAND V%d.B16, V%d.B16, V%d.B16", 2+r, r, r)
		e.f("VADD V19.S4, V%d.S4, V%d.S4", r, r)
	}
	e.sqxtn4h(4, 0)
	e.sqxtn8h2(4, 1)
	e.sqxtn8b(4, 4)
	e.f("VST1.P [V4.B8], 8(R0)")
	e.f("SUBS $1, R2")
	e.f("BNE qloop")
	e.label("qdone")
	e.f("RET")
	e.raw("\n")
}

// vecQuantizeAffine emits
// QuantizeAffineNEON(dst *int8, src, mul, add *float32, n int, lo, hi float32, zp int32), n % 8 == 0.
func (e a64) vecQuantizeAffine() {
	a64Header(e.emitter, "QuantizeAffineNEON", "dst *int8, src, mul, add *float32, n int, lo, hi float32, zp int32", 52)
	e.f("MOVD dst+0(FP), R0")
	e.f("MOVD src+8(FP), R1")
	e.f("MOVD mul+16(FP), R4")
	e.f("MOVD add+24(FP), R5")
	e.f("MOVD n+32(FP), R2")
	e.f("FMOVS lo+40(FP), F17")
	e.f("VDUP V17.S[0], V17.S4")
	e.f("FMOVS hi+44(FP), F18")
	e.f("VDUP V18.S[0], V18.S4")
	e.f("MOVW zp+48(FP), R3")
	e.f("VDUP R3, V19.S4")
	e.f("LSR $3, R2")
	e.f("CBZ R2, qadone")
	e.label("qaloop")
	e.f("VLD1.P 32(R1), [V0.S4, V1.S4]")
	e.f("VLD1.P 32(R4), [V6.S4, V7.S4]")
	e.f("VLD1.P 32(R5), [V8.S4, V9.S4]")
	e.f("VFMLA V6.S4, V0.S4, V8.S4")
	e.f("VFMLA V7.S4, V1.S4, V9.S4")
	for _, r := range []int{0, 1} {
		e.fcmeq(2+r, 8+r, 8+r) // all ones where not NaN
		e.fmax(r, 8+r, 17)
		e.fmin(r, r, 18)
		e.fcvtns(r, r)
		e.f("VAND V%d.B16, V%d.B16, V%d.B16", 2+r, r, r)
		e.f("VADD V19.S4, V%d.S4, V%d.S4", r, r)
	}
	e.sqxtn4h(4, 0)
	e.sqxtn8h2(4, 1)
	e.sqxtn8b(4, 4)
	e.f("VST1.P [V4.B8], 8(R0)")
	e.f("SUBS $1, R2")
	e.f("BNE qaloop")
	e.label("qadone")
	e.f("RET")
	e.raw("\n")
}

// vecDequantize emits
// DequantizeNEON(dst *float32, src *int8, n int, scale float32, zp int32), n % 8 == 0.
func (e a64) vecDequantize() {
	a64Header(e.emitter, "DequantizeNEON", "dst *float32, src *int8, n int, scale float32, zp int32", 32)
	e.f("MOVD dst+0(FP), R0")
	e.f("MOVD src+8(FP), R1")
	e.f("MOVD n+16(FP), R2")
	e.f("FMOVS scale+24(FP), F16")
	e.f("VDUP V16.S[0], V16.S4")
	e.f("MOVW zp+28(FP), R3")
	e.f("VDUP R3, V17.S4")
	e.f("LSR $3, R2")
	e.f("CBZ R2, ddone")
	e.label("dloop")
	e.f("VLD1.P 8(R1), [V0.B8]")
	e.sxtl8h(0, 0)
	e.sxtl4s(1, 0)
	e.sxtl4s2(2, 0)
	for _, r := range []int{1, 2} {
		e.f("VSUB V17.S4, V%d.S4, V%d.S4", r, r)
		e.scvtf(r, r)
		e.fmul(r, r, 16)
	}
	e.f("VST1.P [V1.S4, V2.S4], 32(R0)")
	e.f("SUBS $1, R2")
	e.f("BNE dloop")
	e.label("ddone")
	e.f("RET")
	e.raw("\n")
}

// vecLUT emits
// LUTNEON(dst, src *int8, n int, t *int8), n % 16 == 0: TBL over the
// first 64 entries, then TBX over each next 64 with the index moved down
// by 64 (indices out of a 64-byte table leave TBX's lane unchanged).
func (e a64) vecLUT() {
	a64Header(e.emitter, "LUTNEON", "dst, src *int8, n int, t *int8", 32)
	e.f("MOVD dst+0(FP), R0")
	e.f("MOVD src+8(FP), R1")
	e.f("MOVD n+16(FP), R2")
	e.f("MOVD t+24(FP), R3")
	e.f("VLD1.P 64(R3), %s", vlist(16, 4, "B16"))
	e.f("VLD1.P 64(R3), %s", vlist(20, 4, "B16"))
	e.f("VLD1.P 64(R3), %s", vlist(24, 4, "B16"))
	e.f("VLD1.P 64(R3), %s", vlist(28, 4, "B16"))
	e.f("VMOVI $64, V4.B16")
	e.f("LSR $4, R2")
	e.f("CBZ R2, ldone")
	e.label("lloop")
	e.f("VLD1.P 16(R1), [V0.B16]")
	e.f("VTBL V0.B16, %s, V1.B16", vlist(16, 4, "B16"))
	for i := 1; i < 4; i++ {
		e.f("VSUB V4.B16, V0.B16, V0.B16")
		e.f("VTBX V0.B16, %s, V1.B16", vlist(16+4*i, 4, "B16"))
	}
	e.f("VST1.P [V1.B16], 16(R0)")
	e.f("SUBS $1, R2")
	e.f("BNE lloop")
	e.label("ldone")
	e.f("RET")
	e.raw("\n")
}

// vecReductions emits
// Reductions over n % 32 == 0 floats in the canonical order: eight
// accumulators V16..V23 hold lanes 0-3, 4-7, ..., 28-31.
func (e a64) vecReductions() {
	fold := func() {
		for i := 0; i < 4; i++ {
			e.fadd(16+i, 16+i, 20+i) // p[j] += p[j+16]
		}
		e.fadd(16, 16, 18) // p[j] += p[j+8]
		e.fadd(17, 17, 19)
		e.fadd(16, 16, 17) // p[j] += p[j+4]
		e.f("VEXT $8, V16.B16, V16.B16, V17.B16")
		e.fadd(16, 16, 17) // p[j] += p[j+2]
		e.faddpS(16, 16)   // p[0] += p[1]
	}
	red := func(name, sig string, frame, retOff int, twoInputs bool, body func()) {
		a64Header(e.emitter, name, sig, frame)
		e.f("MOVD a+0(FP), R0")
		if twoInputs {
			e.f("MOVD b+8(FP), R1")
			e.f("MOVD n+16(FP), R2")
		} else {
			e.f("MOVD n+8(FP), R2")
		}
		for i := 16; i < 24; i++ {
			e.f("VEOR V%d.B16, V%d.B16, V%d.B16", i, i, i)
		}
		e.f("LSR $5, R2")
		e.f("CBZ R2, %s_done", name)
		e.label(name + "_loop")
		e.f("VLD1.P 64(R0), %s", vlist(0, 4, "S4"))
		e.f("VLD1.P 64(R0), %s", vlist(4, 4, "S4"))
		if twoInputs {
			e.f("VLD1.P 64(R1), %s", vlist(8, 4, "S4"))
			e.f("VLD1.P 64(R1), %s", vlist(24, 4, "S4"))
		}
		body()
		e.f("SUBS $1, R2")
		e.f("BNE %s_loop", name)
		e.label(name + "_done")
		fold()
		e.f("FMOVS F16, ret+%d(FP)", retOff)
		e.f("RET")
		e.raw("\n")
	}
	bIn := func(i int) int { // second input's registers: V8..V11, V24..V27
		if i < 4 {
			return 8 + i
		}
		return 20 + i
	}
	red("DotNEON", "a, b *float32, n int", 28, 24, true, func() {
		for i := 0; i < 8; i++ {
			e.f("VFMLA V%d.S4, V%d.S4, V%d.S4", bIn(i), i, 16+i)
		}
	})
	red("SumNEON", "a *float32, n int", 20, 16, false, func() {
		for i := 0; i < 8; i++ {
			e.fadd(16+i, 16+i, i)
		}
	})
	red("SumSquaresNEON", "a, b *float32, n int", 28, 24, true, func() {
		for i := 0; i < 8; i++ {
			e.fsub(i, i, bIn(i))
			e.f("VFMLA V%d.S4, V%d.S4, V%d.S4", i, i, 16+i)
		}
	})
}

// vecBinops emits
// Element-wise float32 over n % 4 == 0: dst = op(a, b).
func (e a64) vecBinops() {
	binop := func(name string, op func(d, n, m int)) {
		a64Header(e.emitter, name, "dst, a, b *float32, n int", 32)
		e.f("MOVD dst+0(FP), R0")
		e.f("MOVD a+8(FP), R1")
		e.f("MOVD b+16(FP), R2")
		e.f("MOVD n+24(FP), R3")
		e.f("LSR $2, R3")
		e.f("CBZ R3, %s_done", name)
		e.label(name + "_loop")
		e.f("VLD1.P 16(R1), [V0.S4]")
		e.f("VLD1.P 16(R2), [V1.S4]")
		op(2, 0, 1)
		e.f("VST1.P [V2.S4], 16(R0)")
		e.f("SUBS $1, R3")
		e.f("BNE %s_loop", name)
		e.label(name + "_done")
		e.f("RET")
		e.raw("\n")
	}
	binop("AddNEON", e.fadd)
	binop("SubNEON", e.fsub)
	binop("MulNEON", e.fmul)
}

// vecScaleAxpy emits
// ScaleNEON(dst, a *float32, n int, s float32) and AxpyNEON (dst = fma(s, a, dst)).
func (e a64) vecScaleAxpy() {
	for _, name := range []string{"ScaleNEON", "AxpyNEON"} {
		a64Header(e.emitter, name, "dst, a *float32, n int, s float32", 28)
		e.f("MOVD dst+0(FP), R0")
		e.f("MOVD a+8(FP), R1")
		e.f("MOVD n+16(FP), R3")
		e.f("FMOVS s+24(FP), F16")
		e.f("VDUP V16.S[0], V16.S4")
		e.f("LSR $2, R3")
		e.f("CBZ R3, %s_done", name)
		e.label(name + "_loop")
		e.f("VLD1.P 16(R1), [V0.S4]")
		if name == "ScaleNEON" {
			e.fmul(2, 0, 16)
		} else {
			e.f("VLD1 (R0), [V2.S4]")
			e.f("VFMLA V16.S4, V0.S4, V2.S4")
		}
		e.f("VST1.P [V2.S4], 16(R0)")
		e.f("SUBS $1, R3")
		e.f("BNE %s_loop", name)
		e.label(name + "_done")
		e.f("RET")
		e.raw("\n")
	}
}

// vecFMAV emits
// FMAVNEON(dst, a, b, c *float32, n int): dst = fma(a, b, c), n % 4 == 0.
func (e a64) vecFMAV() {
	a64Header(e.emitter, "FMAVNEON", "dst, a, b, c *float32, n int", 40)
	e.f("MOVD dst+0(FP), R0")
	e.f("MOVD a+8(FP), R1")
	e.f("MOVD b+16(FP), R2")
	e.f("MOVD c+24(FP), R3")
	e.f("MOVD n+32(FP), R4")
	e.f("LSR $2, R4")
	e.f("CBZ R4, fmdone")
	e.label("fmloop")
	e.f("VLD1.P 16(R1), [V0.S4]")
	e.f("VLD1.P 16(R2), [V1.S4]")
	e.f("VLD1.P 16(R3), [V2.S4]")
	e.f("VFMLA V1.S4, V0.S4, V2.S4")
	e.f("VST1.P [V2.S4], 16(R0)")
	e.f("SUBS $1, R4")
	e.f("BNE fmloop")
	e.label("fmdone")
	e.f("RET")
	e.raw("\n")
}

// vecAdamW emits
// AdamWNEON(p, g, m, v *float32, n int, h *[7]float32), n % 4 == 0: the
// operations of kernels.AdamW, in its order, each rounded (no FMA).
func (e a64) vecAdamW() {
	a64Header(e.emitter, "AdamWNEON", "pp, gg, mm, vv *float32, n int, h *[7]float32", 48)
	e.f("MOVD pp+0(FP), R0")
	e.f("MOVD gg+8(FP), R1")
	e.f("MOVD mm+16(FP), R2")
	e.f("MOVD vv+24(FP), R3")
	e.f("MOVD n+32(FP), R4")
	e.f("MOVD h+40(FP), R5")
	for i := 0; i < 7; i++ { // V16..V22 = LR, Beta1, Beta2, C1, C2, Eps, Decay
		e.f("FMOVS %d(R5), F%d", 4*i, 16+i)
		e.f("VDUP V%d.S[0], V%d.S4", 16+i, 16+i)
	}
	e.f("FMOVS $1.0, F23")
	e.f("VDUP V23.S[0], V23.S4")
	e.fsub(24, 23, 17) // 1-Beta1
	e.fsub(25, 23, 18) // 1-Beta2
	e.f("LSR $2, R4")
	e.f("CBZ R4, adone")
	e.label("aloop")
	e.f("VLD1.P 16(R1), [V0.S4]") // g
	e.f("VLD1 (R2), [V1.S4]")     // m
	e.f("VLD1 (R3), [V2.S4]")     // v
	e.f("VLD1 (R0), [V3.S4]")     // p
	e.fmul(1, 17, 1)
	e.fmul(4, 24, 0)
	e.fadd(1, 1, 4) // m
	e.fmul(5, 0, 0)
	e.fmul(5, 25, 5)
	e.fmul(2, 18, 2)
	e.fadd(2, 2, 5) // v
	e.f("VST1.P [V1.S4], 16(R2)")
	e.f("VST1.P [V2.S4], 16(R3)")
	e.fdiv(2, 2, 20)
	e.fsqrt(2, 2)
	e.fadd(2, 2, 21)
	e.fdiv(1, 1, 19)
	e.fdiv(1, 1, 2)
	e.fmul(1, 16, 1)
	e.fmul(3, 3, 22)
	e.fsub(3, 3, 1)
	e.f("VST1.P [V3.S4], 16(R0)")
	e.f("SUBS $1, R4")
	e.f("BNE aloop")
	e.label("adone")
	e.f("RET")
	e.raw("\n")
}

// vecReLUGrad emits
// ReLUGradNEON(dz, dy, z *float32, n int), n % 4 == 0: dz = z > 0 ? dy : 0.
func (e a64) vecReLUGrad() {
	a64Header(e.emitter, "ReLUGradNEON", "dz, dy, z *float32, n int", 32)
	e.f("MOVD dz+0(FP), R0")
	e.f("MOVD dy+8(FP), R1")
	e.f("MOVD z+16(FP), R2")
	e.f("MOVD n+24(FP), R3")
	e.f("LSR $2, R3")
	e.f("CBZ R3, rgdone")
	e.label("rgloop")
	e.f("VLD1.P 16(R2), [V0.S4]")
	e.f("VLD1.P 16(R1), [V1.S4]")
	e.fcmgt0(0, 0)
	e.f("VAND V1.B16, V0.B16, V0.B16")
	e.f("VST1.P [V0.S4], 16(R0)")
	e.f("SUBS $1, R3")
	e.f("BNE rgloop")
	e.label("rgdone")
	e.f("RET")
	e.raw("\n")
}

// vecReLU emits
// ReLUNEON(dst, a *float32, n int): dst = a < 0 ? 0 : a (NaN and -0 pass).
func (e a64) vecReLU() {
	a64Header(e.emitter, "ReLUNEON", "dst, a *float32, n int", 24)
	e.f("MOVD dst+0(FP), R0")
	e.f("MOVD a+8(FP), R1")
	e.f("MOVD n+16(FP), R3")
	e.f("LSR $2, R3")
	e.f("CBZ R3, rdone")
	e.label("rloop")
	e.f("VLD1.P 16(R1), [V0.S4]")
	e.fcmlt0(1, 0)
	e.bic(2, 0, 1)
	e.f("VST1.P [V2.S4], 16(R0)")
	e.f("SUBS $1, R3")
	e.f("BNE rloop")
	e.label("rdone")
	e.f("RET")
	e.raw("\n")
}

// vecNEONDecls are the Go declarations of vecNEON's functions.
const vecNEONDecls = `
// QuantizeNEON quantises n float32 (a multiple of 8) to int8.
//
//go:noescape
func QuantizeNEON(dst *int8, src *float32, n int, inv, lo, hi float32, zp int32)

// QuantizeAffineNEON quantises fma(src, mul, add) over n floats (a multiple of 8).
//
//go:noescape
func QuantizeAffineNEON(dst *int8, src, mul, add *float32, n int, lo, hi float32, zp int32)

// DequantizeNEON dequantises n int8 (a multiple of 8) to float32.
//
//go:noescape
func DequantizeNEON(dst *float32, src *int8, n int, scale float32, zp int32)

// LUTNEON maps n bytes (a multiple of 16) through the 256-entry table t.
//
//go:noescape
func LUTNEON(dst, src *int8, n int, t *int8)

// DotNEON returns the canonical-order dot product of n floats (a multiple of 32).
//
//go:noescape
func DotNEON(a, b *float32, n int) float32

// SumNEON returns the canonical-order sum of n floats (a multiple of 32).
//
//go:noescape
func SumNEON(a *float32, n int) float32

// SumSquaresNEON returns the canonical-order sum of (a-b)^2 over n floats (a multiple of 32).
//
//go:noescape
func SumSquaresNEON(a, b *float32, n int) float32

// AddNEON computes dst = a + b over n floats (a multiple of 4).
//
//go:noescape
func AddNEON(dst, a, b *float32, n int)

// SubNEON computes dst = a - b over n floats (a multiple of 4).
//
//go:noescape
func SubNEON(dst, a, b *float32, n int)

// MulNEON computes dst = a * b over n floats (a multiple of 4).
//
//go:noescape
func MulNEON(dst, a, b *float32, n int)

// ScaleNEON computes dst = a * s over n floats (a multiple of 4).
//
//go:noescape
func ScaleNEON(dst, a *float32, n int, s float32)

// AxpyNEON computes dst = fma(s, a, dst) over n floats (a multiple of 4).
//
//go:noescape
func AxpyNEON(dst, a *float32, n int, s float32)

// FMAVNEON computes dst = fma(a, b, c) over n floats (a multiple of 4).
//
//go:noescape
func FMAVNEON(dst, a, b, c *float32, n int)

// AdamWNEON applies kernels.AdamW to n floats (a multiple of 4); h holds
// LR, Beta1, Beta2, C1, C2, Eps, Decay.
//
//go:noescape
func AdamWNEON(pp, gg, mm, vv *float32, n int, h *[7]float32)

// ReLUGradNEON computes dz = z > 0 ? dy : 0 over n floats (a multiple of 4).
//
//go:noescape
func ReLUGradNEON(dz, dy, z *float32, n int)

// ReLUNEON computes dst = a < 0 ? 0 : a over n floats (a multiple of 4).
//
//go:noescape
func ReLUNEON(dst, a *float32, n int)
`
