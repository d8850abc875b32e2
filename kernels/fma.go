package kernels

import "math"

// FMA32 returns a*b + c computed exactly and rounded once to float32, the
// result of a hardware fused multiply-add (x86 VFMADD, arm64 FMLA/FMADD).
//
// It is the arithmetic of every float32 kernel in this package: a SIMD
// family and the pure-Go code agree bit for bit because they all evaluate
// the same chain of FMA32 steps in the same order.
//
// The product of two float32 values is exact in float64, so only the sum can
// be inexact. Rounding that sum to float64 and then to float32 is correct
// unless the float64 value lands exactly on a float32 rounding midpoint (or in
// the float32 subnormal range, where the midpoint test below does not apply);
// those rare cases redo the sum with round-to-odd, which makes the second
// rounding exact.
func FMA32(a, b, c float32) float32 {
	s := float64(a)*float64(b) + float64(c)
	if suspect(s) {
		return fma32Slow(a, b, c)
	}
	return float32(s)
}

// suspect reports whether rounding s (a float64 holding the float64-rounded
// a*b+c) to float32 might differ from rounding a*b+c once. A float32 keeps
// 23 of float64's 52 fraction bits; the 29 dropped bits of a midpoint read 1
// followed by 28 zeros. Below 2^-126 (biased exponent 897) float32 loses
// more bits, so those are suspect too, except zero (u<<1-1 wraps it to the
// top), which is exact.
func suspect(s float64) bool {
	u := math.Float64bits(s)
	return u&(1<<29-1) == 1<<28 || u<<1-1 < 897<<53-1
}

// fma32Slow rounds p+c (p exact, c exact) to float32 through round-to-odd:
// s is the float64 nearest to p+c; e is the exact error of that rounding
// (TwoSum). Forcing the last bit of s to 1 when the sum was inexact makes the
// final float64 to float32 conversion the correctly rounded result.
//
//go:noinline
func fma32Slow(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if math.IsInf(s, 0) || math.IsNaN(s) {
		return float32(s)
	}
	bp := s - float64(c)
	bc := s - bp
	e := (p - bp) + (float64(c) - bc)
	if e != 0 && math.Float64bits(s)&1 == 0 {
		if e > 0 {
			s = math.Nextafter(s, math.Inf(1))
		} else {
			s = math.Nextafter(s, math.Inf(-1))
		}
	}
	return float32(s)
}
