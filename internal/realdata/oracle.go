package realdata

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/internal/linalg"
)

// Bounds are what estimators that see the clean truth reach on a case's
// test rows, in one mode: how much room the noise leaves above the best
// classical filter. Neither is a method a user has.
type Bounds struct {
	Mode denoise.Mode
	// PerChannel: each channel cleaned by the classical filter that does
	// best on it on the test rows themselves (SNR gain, dB).
	PerChannel float64
	// Linear: per channel, least squares of the clean value on the noisy
	// neighbourhood (the channel's own values OracleOwn rows either side,
	// Causal: before, and its OraclePeers most correlated channels
	// OracleLag rows either side), impulses removed with the known noise
	// level, fitted on the learning rows against the truth (SNR gain, dB).
	Linear float64
}

// The oracle linear estimator's neighbourhood.
const (
	OracleOwn   = 12
	OraclePeers = 8
	OracleLag   = 3
)

// oracleBounds computes the bounds for one mode. held is the noisy series
// (missing values held), clean the truth (NaN where missing), nl the
// learning rows; std scales the noise and the SNR, in the SNR's units.
func oracleBounds(held, clean []float32, c, nl int, varying []bool, std []float64, mode denoise.Mode, in float64) Bounds {
	causal := mode == denoise.Causal
	b := Bounds{Mode: mode}
	cleanT := clean[nl*c:]
	var outs [][]float32
	for _, fam := range []string{"moving-average", "median", "savitzky-golay", "ema"} {
		for _, f := range denoise.Classical()[fam] {
			all := make([]float32, len(held))
			f.Apply(all, held, c, causal)
			outs = append(outs, all[nl*c:])
		}
	}
	best := make([]float32, len(cleanT))
	for ch := range c {
		pick := slices.MinFunc(outs, func(a, b []float32) int {
			return cmp.Compare(channelMSE(a, cleanT, c, ch), channelMSE(b, cleanT, c, ch))
		})
		for i := ch; i < len(best); i += c {
			best[i] = pick[i]
		}
	}
	b.PerChannel = snr(best, cleanT, c, varying, std) - in
	b.Linear = snr(oracleLinear(held, clean, c, nl, varying, std, causal), cleanT, c, varying, std) - in
	return b
}

// channelMSE is channel ch's mean squared error against clean (NaN there
// skipped).
func channelMSE(est, clean []float32, c, ch int) float64 {
	var e float64
	k := 0
	for i := ch; i < len(clean); i += c {
		if v := float64(clean[i]); !math.IsNaN(v) {
			d := float64(est[i]) - v
			e += float64(d * d)
			k++
		}
	}
	return e / float64(max(k, 1))
}

// oracleLinear returns the oracle linear estimate of the test rows (see
// Bounds.Linear); channels that do not vary keep their noisy values.
func oracleLinear(held, clean []float32, c, nl int, varying []bool, std []float64, causal bool) []float32 {
	n := len(held) / c
	x := despikeKnown(held, c, std)
	truth := slices.Clone(clean)
	denoise.ImputeHold(truth, c, nil)
	out := slices.Clone(held[nl*c:])
	peers := linalg.CorrelatedPeers(x[:nl*c], c, OraclePeers)
	for ch := range c {
		if !varying[ch] {
			continue
		}
		nb := neighbourhood{x: x, c: c, n: n, ch: ch, peers: peers[ch], causal: causal}
		w, ok := nb.fit(truth, nl)
		if !ok {
			continue
		}
		f := make([]float64, 0, len(w))
		for t := nl; t < n; t++ {
			f = nb.features(t, f)
			var v float64
			for i, fi := range f {
				v += float64(w[i] * fi)
			}
			out[(t-nl)*c+ch] = float32(v)
		}
	}
	return out
}

// despikeKnown replaces values further than 4 noise standard deviations
// (0.3 × std: the harness's level) from their 5-row running median by it.
func despikeKnown(held []float32, c int, std []float64) []float32 {
	med := make([]float32, len(held))
	denoise.Median(5).Apply(med, held, c, false)
	out := slices.Clone(held)
	for i, v := range out {
		if math.Abs(float64(v-med[i])) > 4*DefaultNoise.Level*std[i%c] {
			out[i] = med[i]
		}
	}
	return out
}

// neighbourhood builds the oracle's features for one channel.
type neighbourhood struct {
	x        []float32
	c, n, ch int
	peers    []int
	causal   bool
}

func (nb *neighbourhood) features(t int, f []float64) []float64 {
	f = f[:0]
	at := func(r, ch int) float64 { return float64(nb.x[min(max(r, 0), nb.n-1)*nb.c+ch]) }
	hi, phi := OracleOwn, OracleLag
	if nb.causal {
		hi, phi = 0, 0
	}
	for k := -OracleOwn; k <= hi; k++ {
		f = append(f, at(t+k, nb.ch))
	}
	for _, p := range nb.peers {
		for k := -OracleLag; k <= phi; k++ {
			f = append(f, at(t+k, p))
		}
	}
	return append(f, 1)
}

// fit solves the least squares of truth on the features over rows 0..nl
// (a millionth of ridge for stability); false if the normal equations are
// singular.
func (nb *neighbourhood) fit(truth []float32, nl int) ([]float64, bool) {
	f := nb.features(0, nil)
	d := len(f)
	a, b := make([]float64, d*d), make([]float64, d)
	for t := range nl {
		f = nb.features(t, f)
		y := float64(truth[t*nb.c+nb.ch])
		for i, fi := range f {
			b[i] += float64(fi * y)
			for j, fj := range f {
				a[i*d+j] += float64(fi * fj)
			}
		}
	}
	for i := range d {
		a[i*d+i] += float64(1e-6*a[i*d+i]) + 1e-9
	}
	w, err := linalg.CholSolve(a, b, d)
	return w, err == nil
}

func (b Bounds) String() string {
	return fmt.Sprintf("%s: per-channel filter %+.2f dB, linear %+.2f dB", b.Mode, b.PerChannel, b.Linear)
}
