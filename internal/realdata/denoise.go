package realdata

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/edgeml/edge/denoise"
)

// Noise describes what the harness adds to a real series: Gaussian noise
// of Level × each channel's standard deviation, and impulses of 5 to 10
// standard deviations, either sign, on a share Impulses of the values.
type Noise struct {
	Level, Impulses float64
	Seed            uint64
}

// DefaultNoise is the noise of the denoising evaluation: about 10 dB of
// input SNR from the Gaussian part, and 1% impulses.
var DefaultNoise = Noise{Level: 0.3, Impulses: 0.01, Seed: 1}

// DenoiseFunc cleans a series as edge's user path does: learn from the
// noisy learning rows, then clean the noisy test rows as a stream in the
// given mode. It returns, per method (DefaultMethod: whatever learning
// chose for the mode; or a denoise method), one cleaned row per test row.
type DenoiseFunc func(learn, test *Part, mode denoise.Mode) (map[string][]float32, string, error)

// DefaultMethod names, in a DenoiseFunc's result, the output of the
// method learning chose for the mode.
const DefaultMethod = "default"

// DenoiseRow is one method's result on a case.
type DenoiseRow struct {
	Method, Param string
	Mode          denoise.Mode
	Gain          float64 // SNR gain over the noisy input on the test rows, dB
}

// DenoiseCase is one case's results.
type DenoiseCase struct {
	Name     string
	Rows     int
	Channels int // channels scored (not constant)
	InputSNR float64
	// Rows2 holds, per mode, the best classical filter, then edge's
	// methods.
	Rows2 []DenoiseRow
	// Bounds holds, per mode, what estimators that see the truth reach.
	Bounds []Bounds
	Note   string
}

// addNoise returns clean (NaN kept) with noise added, per channel scaled
// by the channel's standard deviation over the whole series.
func addNoise(clean []float32, c int, nz Noise) []float32 {
	_, std := meanStdNaN(clean, c)
	rng := rand.New(rand.NewPCG(nz.Seed, 0x6e6f697365))
	out := slices.Clone(clean)
	for i, v := range out {
		if math.IsNaN(float64(v)) {
			continue
		}
		sd := std[i%c]
		e := float64(nz.Level * sd * rng.NormFloat64())
		if rng.Float64() < nz.Impulses {
			sign := 1.0
			if rng.IntN(2) == 0 {
				sign = -1
			}
			e += float64(sign * (5 + float64(5*float64(rng.Float64()))) * sd)
		}
		out[i] = v + float32(e)
	}
	return out
}

func meanStdNaN(x []float32, c int) (mean, std []float64) {
	mean, std = make([]float64, c), make([]float64, c)
	cnt := make([]int, c)
	for i, v := range x {
		if !math.IsNaN(float64(v)) {
			mean[i%c] += float64(v)
			cnt[i%c]++
		}
	}
	for ch := range mean {
		mean[ch] /= float64(max(cnt[ch], 1))
	}
	for i, v := range x {
		if !math.IsNaN(float64(v)) {
			d := float64(v) - mean[i%c]
			std[i%c] += float64(d * d)
		}
	}
	for ch := range std {
		std[ch] = math.Sqrt(std[ch] / float64(max(cnt[ch], 1)))
	}
	return mean, std
}

// snr returns the SNR (dB) of est against clean pooled over the varying
// channels, each in units of its scale (the standard deviation the noise
// was scaled by): 10·log10(Σ variance / Σ mean squared error), over the
// values clean has (NaN in clean: skipped). Pooling keeps a channel that
// is almost constant in the scored rows from dominating, as an average
// of per-channel decibels would.
func snr(est, clean []float32, c int, varying []bool, scale []float64) float64 {
	var sig, noise float64
	n := len(clean) / c
	for ch := 0; ch < c; ch++ {
		if !varying[ch] {
			continue
		}
		var s, sq, e2 float64
		cnt := 0
		for t := 0; t < n; t++ {
			v := float64(clean[t*c+ch])
			if math.IsNaN(v) {
				continue
			}
			s += v
			sq += float64(v * v)
			d := float64(est[t*c+ch]) - v
			e2 += float64(d * d)
			cnt++
		}
		if cnt == 0 {
			continue
		}
		m := s / float64(cnt)
		w := 1 / (scale[ch] * scale[ch])
		sig += float64((sq/float64(cnt) - float64(m*m)) * w)
		noise += float64(e2 / float64(cnt) * w)
	}
	return 10 * math.Log10(sig/math.Max(noise, 1e-300))
}

// RunDenoise evaluates every case of a denoise set: noise is added to the
// real series; the classical filters are tuned on the learning rows
// (against the clean truth, the most a classical filter can get) and
// measured on the test rows beside edge's user path.
func RunDenoise(s *Set, nz Noise, edge DenoiseFunc, cases []string) ([]DenoiseCase, error) {
	var out []DenoiseCase
	for _, c := range s.Cases {
		if len(cases) > 0 && !slices.Contains(cases, c.Name) {
			continue
		}
		lp, tp, err := s.Load(c)
		if err != nil {
			return nil, err
		}
		dc, err := denoiseCase(c.Name, lp, tp, nz, edge)
		if err != nil {
			return nil, fmt.Errorf("realdata: set %s, case %s: %w", s.Name, c.Name, err)
		}
		out = append(out, *dc)
	}
	return out, nil
}

func denoiseCase(name string, lp, tp *Part, nz Noise, edge DenoiseFunc) (*DenoiseCase, error) {
	c := lp.C()
	nl := lp.Len()
	clean := append(slices.Clone(lp.X), tp.X...)
	noisy := addNoise(clean, c, nz)
	_, std := meanStdNaN(clean, c)
	varying := make([]bool, c)
	scored := 0
	_, lstd := meanStdNaN(lp.X, c)
	_, tstd := meanStdNaN(tp.X, c)
	for ch := range varying {
		varying[ch] = lstd[ch] > 0 && tstd[ch] > 0
		if varying[ch] {
			scored++
		}
	}
	if scored == 0 {
		return nil, fmt.Errorf("no channel varies")
	}
	cleanL, cleanT := clean[:nl*c], clean[nl*c:]
	held := slices.Clone(noisy)
	denoise.ImputeHold(held, c, nil)
	heldL, heldT := held[:nl*c], held[nl*c:]
	dc := &DenoiseCase{Name: name, Rows: tp.Len(), Channels: scored, InputSNR: snr(heldT, cleanT, c, varying, std)}
	for _, mode := range []denoise.Mode{denoise.Centred, denoise.Causal} {
		causal := mode == denoise.Causal
		best, bestF := math.Inf(-1), denoise.Filter{}
		dst := make([]float32, len(heldL))
		for _, fam := range []string{"moving-average", "median", "savitzky-golay", "ema"} {
			for _, f := range denoise.Classical()[fam] {
				f.Apply(dst, heldL, c, causal)
				if v := snr(dst, cleanL, c, varying, std); v > best {
					best, bestF = v, f
				}
			}
		}
		// The chosen filter runs over the whole noisy series (so its
		// window is full at the test rows' start), scored on the test rows.
		all := make([]float32, len(held))
		bestF.Apply(all, held, c, causal)
		dc.Rows2 = append(dc.Rows2, DenoiseRow{Method: bestF.Name, Param: bestF.Param, Mode: mode, Gain: snr(all[nl*c:], cleanT, c, varying, std) - dc.InputSNR})
		dc.Bounds = append(dc.Bounds, oracleBounds(held, clean, c, nl, varying, std, mode, dc.InputSNR))
		noisyL := &Part{Source: lp.Source, Names: lp.Names, X: noisy[:nl*c], Times: lp.Times}
		noisyT := &Part{Source: tp.Source, Names: tp.Names, X: noisy[nl*c:], Times: tp.Times}
		outs, note, err := edge(noisyL, noisyT, mode)
		if err != nil {
			return nil, fmt.Errorf("edge %s: %w", mode, err)
		}
		dc.Note = note
		for _, method := range []string{DefaultMethod, denoise.MethodAutoencoder} {
			out, ok := outs[method]
			if !ok {
				continue
			}
			if len(out) != len(cleanT) {
				return nil, fmt.Errorf("edge %s %s: %d values for %d", method, mode, len(out), len(cleanT))
			}
			dc.Rows2 = append(dc.Rows2, DenoiseRow{Method: edgeName, Param: method, Mode: mode, Gain: snr(out, cleanT, c, varying, std) - dc.InputSNR})
		}
	}
	return dc, nil
}
