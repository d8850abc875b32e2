package denoise

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// smoothNoisy returns n rows of c smooth, correlated channels (the clean
// signal) and the same with Gaussian noise of std sigma, 1% impulses and
// a few missing values.
func smoothNoisy(n, c int, sigma float64, seed uint64) (clean, noisy []float32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	clean, noisy = make([]float32, n*c), make([]float32, n*c)
	for t := 0; t < n; t++ {
		a, b := math.Sin(float64(t)/40), math.Cos(float64(t)/97)
		for ch := 0; ch < c; ch++ {
			v := a*float64(ch+1) + b*float64(c-ch) + 0.3*math.Sin(float64(t)/(7+float64(ch)))
			clean[t*c+ch] = float32(v)
			e := sigma * rng.NormFloat64()
			if rng.Float64() < 0.01 {
				e += 8 * float64(ch+1)
			}
			noisy[t*c+ch] = float32(v + e)
			if rng.Float64() < 0.002 {
				noisy[t*c+ch] = float32(math.NaN())
			}
		}
	}
	return clean, noisy
}

func mse(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i] - b[i])
		s += d * d
	}
	return s / float64(len(a))
}

func TestPredictorCleans(t *testing.T) {
	const n, c = 3000, 4
	clean, noisy := smoothNoisy(n, c, 0.3, 1)
	held := append([]float32(nil), noisy...)
	miss := make([]bool, len(held))
	for i, v := range held {
		miss[i] = math.IsNaN(float64(v))
	}
	ImputeHold(held, c, nil)
	for _, causal := range []bool{false, true} {
		p, err := FitPredictor(held[:2000*c], miss[:2000*c], c, causal, 1, 3)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.check(c); err != nil {
			t.Fatal(err)
		}
		out := make([]float32, 1000*c)
		p.Clean(out, held[2000*c:], miss[2000*c:], c)
		in, got := mse(held[2000*c:], clean[2000*c:]), mse(out, clean[2000*c:])
		ma := make([]float32, len(held))
		MovingAverage(9).Apply(ma, held, c, causal)
		base := mse(ma[2000*c:], clean[2000*c:])
		t.Logf("causal %v: input MSE %.4f, cleaned %.4f, moving average 9: %.4f", causal, in, got, base)
		if !(got < in/10) || !(got < base) {
			t.Errorf("causal %v: cleaned MSE %.4f against input %.4f and a moving average's %.4f", causal, got, in, base)
		}
	}
}

// TestCleanerMatchesClean streams rows through a predicting denoiser and
// compares every value with the whole-series Clean, per segment.
// TestCleanerMatchesClean streams a normalising model's rows, with
// missing values and two segments, through the predictor and through the
// blend, and compares with the whole-series functions bit for bit.
func TestCleanerMatchesClean(t *testing.T) {
	for _, method := range []string{MethodPredictor, MethodBlend} {
		t.Run(method, func(t *testing.T) { cleanerMatches(t, method) })
	}
}

func cleanerMatches(t *testing.T, method string) {
	const n, c = 1500, 3
	_, noisy := smoothNoisy(n, c, 0.2, 2)
	held := append([]float32(nil), noisy...)
	miss := make([]bool, len(held))
	for i, v := range held {
		miss[i] = math.IsNaN(float64(v))
	}
	ImputeHold(held, c, nil)
	m := &model.Model{Steps: 4, Channels: c, Norm: model.Normalization{Kind: model.NormMeanStd, Shift: []float32{0.5, -1, 2}, Scale: []float32{2, 3, 4}}}
	norm := func(x []float32) []float32 {
		out := append([]float32(nil), x...)
		for i := range out {
			out[i] = (out[i] - m.Norm.Shift[i%c]) / m.Norm.Scale[i%c]
		}
		return out
	}
	var set Settings
	var err error
	if set.Centred, err = FitPredictor(norm(held[:1000*c]), miss[:1000*c], c, false, 1, 2); err != nil {
		t.Fatal(err)
	}
	if set.Causal, err = FitPredictor(norm(held[:1000*c]), miss[:1000*c], c, true, 1, 2); err != nil {
		t.Fatal(err)
	}
	f := Median(9)
	set.CentredFilter, set.CausalFilter = f.Spec, f.Spec
	w := []float32{0.25, 0.6, 1}
	set.CentredBlend, set.CausalBlend, set.Method = w, w, method
	if err := Store(m, set); err != nil {
		t.Fatal(err)
	}
	// Two segments: rows 0..699 and, after a time gap, 700..1499.
	bounds := [][2]int{{0, 700}, {700, n}}
	for _, mode := range []Mode{Centred, Causal} {
		got := make([]float32, n*c)
		var lines []int
		d, err := New(m, Config{Mode: mode, Stream: stream.Config{MaxGap: 5}}, func(s *Sample) error {
			copy(got[(s.Line-1)*c:s.Line*c], s.Values)
			lines = append(lines, s.Line)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for r := 0; r < n; r++ {
			tm := float64(r)
			if r >= 700 {
				tm += 1000
			}
			if err := d.Push(stream.Row{Time: tm, HasTime: true, Line: r + 1, Values: noisy[r*c : (r+1)*c]}); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if len(lines) != n {
			t.Fatalf("%s: %d rows out for %d in", mode, len(lines), n)
		}
		for i, l := range lines {
			if l != i+1 {
				t.Fatalf("%s: row %d out of order (line %d)", mode, i, l)
			}
		}
		p := set.Centred
		if mode == Causal {
			p = set.Causal
		}
		raw := func(v []float32) { // normalised to raw units, as the stream does
			for i := range v {
				v[i] = float32(v[i]*m.Norm.Scale[i%c]) + m.Norm.Shift[i%c]
			}
		}
		for _, b := range bounds {
			x, ms := norm(held[b[0]*c:b[1]*c]), miss[b[0]*c:b[1]*c]
			want := make([]float32, len(x))
			p.Clean(want, x, ms, c)
			raw(want)
			if method == MethodBlend {
				despiked, _ := Despiked(p, x, ms, c)
				filt := make([]float32, len(x))
				f.Apply(filt, despiked, c, p.Causal)
				raw(filt)
				for r := 0; r < len(x)/c; r++ {
					blendRow(want[r*c:(r+1)*c], want[r*c:(r+1)*c], filt[r*c:(r+1)*c], w)
				}
			}
			for i, v := range want {
				if g := got[b[0]*c+i]; g != v {
					t.Fatalf("%s: row %d channel %d: stream %v, whole series %v", mode, b[0]+i/c, i%c, g, v)
				}
			}
		}
		lat := p.Span + p.Reach()
		if method == MethodBlend {
			lat = p.Span + max(p.Reach(), f.Spec.W/2)
		}
		if mode == Causal && d.Latency() != 0 || mode == Centred && d.Latency() != lat {
			t.Errorf("%s: latency %d", mode, d.Latency())
		}
	}
}

func TestPredictingPushAllocatesNothing(t *testing.T) {
	for _, method := range []string{MethodPredictor, MethodBlend} {
		t.Run(method, func(t *testing.T) { predictingAllocs(t, method) })
	}
}

func predictingAllocs(t *testing.T, method string) {
	const c = 4
	_, noisy := smoothNoisy(2000, c, 0.2, 3)
	ImputeHold(noisy, c, nil)
	m := &model.Model{Steps: 4, Channels: c, Norm: model.Normalization{Kind: model.NormNone}}
	var set Settings
	set.Centred, _ = FitPredictor(noisy, nil, c, false, 1, 3)
	set.Causal, _ = FitPredictor(noisy, nil, c, true, 1, 3)
	set.CentredFilter, set.CausalFilter = Median(9).Spec, Median(9).Spec
	set.CentredBlend, set.CausalBlend = []float32{0.5, 0.5, 0.5, 0.5}, []float32{0.5, 0.5, 0.5, 0.5}
	set.Method = method
	if err := Store(m, set); err != nil {
		t.Fatal(err)
	}
	d, err := New(m, Config{}, func(*Sample) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	row := stream.Row{HasTime: true, Values: make([]float32, c)}
	for i := 0; i < 300; i++ {
		row.Time++
		copy(row.Values, noisy[i*c:(i+1)*c])
		_ = d.Push(row)
	}
	i := 300
	if a := testing.AllocsPerRun(1000, func() {
		row.Time++
		copy(row.Values, noisy[i*c:(i+1)*c])
		i++
		if err := d.Push(row); err != nil {
			t.Fatal(err)
		}
	}); a != 0 {
		t.Errorf("Push allocates %v times per row", a)
	}
}

// plainPredictors returns a smooth noisy series (no gaps) of n rows, a
// model that does not normalise, and settings with both modes' predictors
// fitted on the series.
func plainPredictors(n, c, peers int) ([]float32, *model.Model, Settings) {
	_, noisy := smoothNoisy(n, c, 0.2, 5)
	ImputeHold(noisy, c, nil)
	m := &model.Model{Steps: 4, Channels: c, Norm: model.Normalization{Kind: model.NormNone}}
	var set Settings
	set.Centred, _ = FitPredictor(noisy, nil, c, false, 1, peers)
	set.Causal, _ = FitPredictor(noisy, nil, c, true, 1, peers)
	return noisy, m, set
}

// streamAll streams the rows of x through m's denoiser in a mode and
// returns every cleaned row, failing unless each row came out once; and
// the denoiser, for its latency.
func streamAll(t *testing.T, m *model.Model, mode Mode, x []float32) ([]float32, *Denoiser) {
	t.Helper()
	c := m.Channels
	got := make([]float32, len(x))
	lines := 0
	d, err := New(m, Config{Mode: mode}, func(s *Sample) error {
		copy(got[(s.Line-1)*c:s.Line*c], s.Values)
		lines++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for r := 0; r < len(x)/c; r++ {
		if err := d.Push(stream.Row{Line: r + 1, Values: x[r*c : (r+1)*c]}); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if lines != len(x)/c {
		t.Fatalf("%s: %d rows out of %d", mode, lines, len(x)/c)
	}
	return got, d
}

// TestFiltererMatchesApply streams rows through a denoiser whose mode uses
// a classical filter and compares with the filter's whole-series Apply.
func TestFiltererMatchesApply(t *testing.T) {
	const n, c = 300, 2
	noisy, m, set := plainPredictors(n, c, 1)
	for _, f := range []Filter{Median(7), MovingAverage(4), SavitzkyGolay(11, 2)} {
		set.CentredFilter, set.CausalFilter = f.Spec, f.Spec
		set.CentredMethod, set.CausalMethod = MethodFilter, MethodFilter
		if err := Store(m, set); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []Mode{Centred, Causal} {
			got, _ := streamAll(t, m, mode, noisy)
			want := make([]float32, n*c)
			f.Apply(want, noisy, c, mode == Causal)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s %s %s: value %d: stream %v, whole series %v", f.Name, f.Param, mode, i, got[i], want[i])
				}
			}
		}
	}
}

func TestRiskRanksDenoisers(t *testing.T) {
	const n, c = 4000, 2
	clean, noisy := smoothNoisy(n, c, 0.3, 6)
	for i, v := range noisy {
		if math.IsNaN(float64(v)) {
			noisy[i] = clean[i]
		}
	}
	// Without impulses the Gaussian model holds: the estimated risk of a
	// filter is its true error against the clean signal, within 10%.
	rng := rand.New(rand.NewPCG(9, 9))
	for i := range noisy {
		noisy[i] = clean[i] + float32(0.3*rng.NormFloat64())
	}
	noise := []float32{0.3, 0.3}
	for _, f := range []Filter{MovingAverage(5), Median(9), SavitzkyGolay(21, 2)} {
		out := make([]float32, len(noisy))
		f.Apply(out, noisy, c, false)
		truth := mse(out, clean)
		est := Risk(func(dst, x []float32) { f.Apply(dst, x, c, false) }, noisy, nil, noise, c, 1)
		if math.Abs(est-truth) > 0.1*truth {
			t.Errorf("%s %s: estimated risk %.5f, true error %.5f", f.Name, f.Param, est, truth)
		}
	}
}

// gaussianNoisy returns smoothNoisy's clean series and it with Gaussian
// noise of 0.3 alone (no impulses or gaps), seeded.
func gaussianNoisy(n, c int, seed uint64) (clean, noisy []float32) {
	clean, _ = smoothNoisy(n, c, 0.3, 6)
	rng := rand.New(rand.NewPCG(seed, seed))
	noisy = make([]float32, len(clean))
	for i := range noisy {
		noisy[i] = clean[i] + float32(0.3*rng.NormFloat64())
	}
	return clean, noisy
}

// CrossRisks scores each half with a predictor fitted on the other: its
// predictor risk is that of a predictor on rows it never saw, so it is
// close to the true error of a predictor fitted on one half and applied
// to the other, and its best filter's risk is the filter's true error
// (within 20%: the noise level is estimated, not given).
func TestCrossRisksHeldBack(t *testing.T) {
	const n, c = 4000, 2
	clean, noisy := gaussianNoisy(n, c, 3)
	ch, err := CrossRisks(noisy, nil, c, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	f, fr, pr := ch.Filter, ch.FilterRisk, ch.PredictorRisk
	out := make([]float32, len(noisy))
	f.Apply(out, noisy, c, false)
	if truth := mse(out, clean); math.Abs(fr-truth) > 0.2*truth { // the noise level is estimated here
		t.Errorf("best filter %s %s: estimated risk %.5f, true error %.5f", f.Name, f.Param, fr, truth)
	}
	var truth float64
	for k := range 2 {
		a, b := noisy[:n/2*c], noisy[n/2*c:]
		cb := clean[n/2*c:]
		if k == 1 {
			a, b, cb = b, a, clean[:n/2*c]
		}
		p, err := FitPredictor(a, nil, c, false, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(b))
		p.Clean(got, b, nil, c)
		truth += mse(got, cb) / 2
	}
	if math.Abs(pr-truth) > 0.15*truth {
		t.Errorf("predictor: held-back risk %.5f, true held-back error %.5f", pr, truth)
	}
	short := noisy[:150*c]
	if _, err := CrossRisks(short, nil, c, false, 1); err != nil {
		t.Errorf("150 rows (in-sample fallback): %v", err)
	}
}

// The blend's risk is quadratic in each channel's weight: at weight 1 it
// is the predictor's risk, at 0 the filter's, and the chosen weights are
// never worse than either; and the blend of a predictor and a filter
// whose errors differ is closer to the clean signal than both.
func TestCrossRisksBlend(t *testing.T) {
	const n, c = 4000, 3
	clean, noisy := gaussianNoisy(n, c, 5)
	ch, err := CrossRisks(noisy, nil, c, false, 2)
	if err != nil {
		t.Fatal(err)
	}
	if ch.BlendRisk > min(ch.PredictorRisk, ch.FilterRisk)+1e-9 {
		t.Errorf("blend risk %.6f above the predictor's %.6f or the filter's %.6f", ch.BlendRisk, ch.PredictorRisk, ch.FilterRisk)
	}
	// Weight 1 and 0 reproduce the predictor's and the filter's Risk.
	p, err := FitPredictor(noisy, nil, c, false, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	st := make([]blendStat, c)
	pb := probeRows(p, noisy, nil, c)
	addBlendStats(st, pb, ch.Filter, c)
	var r1, r0 float64
	k := 0
	for q := range st {
		r1 += st[q].risk(1)
		r0 += st[q].risk(0)
		k += st[q].k
	}
	pr, f, rs := filterRisks(pb, c)
	fr := rs[slices.IndexFunc(f, func(x Filter) bool { return x.Name == ch.Filter.Name && x.Param == ch.Filter.Param })]
	if math.Abs(r1/float64(k)-pr) > 1e-6*math.Abs(pr) || math.Abs(r0/float64(k)-fr) > 1e-6*math.Abs(fr) {
		t.Errorf("weight 1: %.7f, Risk %.7f; weight 0: %.7f, filter's Risk %.7f", r1/float64(k), pr, r0/float64(k), fr)
	}
	for q, w := range ch.Blend {
		if !(w >= 0 && w <= 1) {
			t.Fatalf("channel %d: weight %v", q, w)
		}
	}
	// Against the clean signal, the blend beats both of its parts.
	pred, filt, blend := make([]float32, len(noisy)), make([]float32, len(noisy)), make([]float32, len(noisy))
	p.Clean(pred, noisy, nil, c)
	despiked, _ := Despiked(p, noisy, nil, c)
	ch.Filter.Apply(filt, despiked, c, false)
	Blend(blend, noisy, nil, c, p, ch.Filter, ch.Blend)
	if eb, ep, ef := mse(blend, clean), mse(pred, clean), mse(filt, clean); eb >= min(ep, ef) {
		t.Errorf("true error: blend %.6f, predictor %.6f, filter %.6f", eb, ep, ef)
	}
}

// TestBlenderMatchesBlend streams rows through a denoiser that blends
// and compares with the whole-series Blend, bit for bit, in both modes.
func TestBlenderMatchesBlend(t *testing.T) {
	const n, c = 400, 3
	noisy, m, set := plainPredictors(n, c, 2)
	w := []float32{0, 0.3, 1}
	for _, f := range []Filter{Median(45), MovingAverage(3), SavitzkyGolay(11, 2)} {
		set.CentredFilter, set.CausalFilter = f.Spec, f.Spec
		set.CentredBlend, set.CausalBlend = w, w
		set.CentredMethod, set.CausalMethod = MethodBlend, MethodBlend
		if err := Store(m, set); err != nil {
			t.Fatal(err)
		}
		for _, mode := range []Mode{Centred, Causal} {
			got, d := streamAll(t, m, mode, noisy)
			p := set.Centred
			if mode == Causal {
				p = set.Causal
			}
			want := make([]float32, n*c)
			Blend(want, noisy, nil, c, p, f, w)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("%s %s %s: value %d: stream %v, whole series %v", f.Name, f.Param, mode, i, got[i], want[i])
				}
			}
			if lat := d.Latency(); mode == Causal && lat != 0 || mode == Centred && lat != p.Span+max(p.Reach(), f.Spec.W-f.Spec.W/2-1) {
				t.Errorf("%s %s: latency %d", f.Name, mode, lat)
			}
		}
	}
	bad := set
	bad.CentredBlend = []float32{0.5, 2, 0}
	if err := Store(m, bad); err == nil || !strings.Contains(err.Error(), "blend weight") {
		t.Errorf("a weight of 2: %v", err)
	}
	bad.CentredBlend = []float32{0.5}
	if err := Store(m, bad); err == nil || !strings.Contains(err.Error(), "blend weights") {
		t.Errorf("1 weight for 3 channels: %v", err)
	}
}
