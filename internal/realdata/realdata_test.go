package realdata

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/denoise"
)

func TestParseSet(t *testing.T) {
	good := `{"name": "x", "task": "anomaly", "label": "y", "cases": [{"name": "a", "learn": "l.csv", "test": "t.csv"}, {"name": "b", "file": "f.csv", "learn_rows": 10}]}`
	s, err := ParseSet([]byte(good))
	if err != nil || len(s.Cases) != 2 || s.Cases[1].LearnRows != 10 {
		t.Fatalf("%+v, %v", s, err)
	}
	for _, bad := range []string{
		`{"task": "anomaly", "label": "y", "cases": [{"name": "a", "file": "f", "learn_rows": 1}]}`,                                             // no name
		`{"name": "x", "task": "cluster", "cases": [{"name": "a", "file": "f", "learn_rows": 1}]}`,                                              // task
		`{"name": "x", "task": "anomaly", "cases": [{"name": "a", "file": "f", "learn_rows": 1}]}`,                                              // no label
		`{"name": "x", "task": "denoise", "cases": []}`,                                                                                         // no cases
		`{"name": "x", "task": "denoise", "cases": [{"name": "a", "file": "f"}]}`,                                                               // no split
		`{"name": "x", "task": "denoise", "cases": [{"name": "a", "file": "f", "learn": "l", "test": "t"}]}`,                                    // both
		`{"name": "x", "task": "denoise", "cases": [{"name": "a", "file": "f", "learn_fraction": 1.5}]}`,                                        // fraction
		`{"name": "x", "task": "denoise", "cases": [{"name": "a", "file": "f", "learn_rows": 5}, {"name": "a", "file": "g", "learn_rows": 5}]}`, // duplicate
		`{"name": "x", "task": "denoise", "typo": 1, "cases": [{"name": "a", "file": "f", "learn_rows": 5}]}`,                                   // unknown field
	} {
		if _, err := ParseSet([]byte(bad)); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestEvaluate(t *testing.T) {
	labels := []bool{false, false, true, true, true, false, false, true, true, false}
	flags := []bool{true, false, false, true, true, true, false, false, false, false}
	scores := []float64{0.9, 0.1, 0.3, 0.8, 0.85, 0.7, 0.2, 0.4, math.NaN(), 0.05}
	m := Evaluate(scores, flags, labels)
	if m.TP != 2 || m.FP != 2 || m.FN != 3 || m.TN != 3 || m.Events != 2 || m.Found != 1 || m.DelaySum != 1 {
		t.Fatalf("%+v", m)
	}
	if m.Detection() != 0.4 || m.FalseAlarms() != 0.4 || m.F1() != 4.0/9 {
		t.Errorf("detection %v, false alarms %v, F1 %v", m.Detection(), m.FalseAlarms(), m.F1())
	}
	// AUC by counting: anomalous scores 0.3, 0.8, 0.85, 0.4, -inf against
	// normal 0.9, 0.1, 0.7, 0.2, 0.05.
	wins := 0.0
	pos := []float64{0.3, 0.8, 0.85, 0.4, math.Inf(-1)}
	neg := []float64{0.9, 0.1, 0.7, 0.2, 0.05}
	for _, p := range pos {
		for _, n := range neg {
			if p > n {
				wins++
			}
		}
	}
	if got := m.AUC(); math.Abs(got-wins/25) > 1e-12 {
		t.Errorf("AUC %v, want %v", got, wins/25)
	}
	// Average precision by hand: ranked 0.9(n) 0.85(p) 0.8(p) 0.7(n) 0.4(p) 0.3(p) 0.2 0.1 0.05 -inf(p)
	ap := (1.0/2 + 2.0/3 + 3.0/5 + 4.0/6 + 5.0/10) / 5
	if got := m.PRAUC(); math.Abs(got-ap) > 1e-12 {
		t.Errorf("PR AUC %v, want %v", got, ap)
	}
	var total Metrics
	total.Add(m)
	total.Add(Evaluate([]float64{1, 2}, []bool{false, true}, []bool{false, false}))
	if total.FP != 3 || total.Cases != 1 || total.Rows != 12 {
		t.Errorf("sum %+v", total)
	}
}

func TestMatchedThreshold(t *testing.T) {
	scores := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 100}
	labels := make([]bool, 11)
	labels[10] = true
	thr := matchedThreshold(scores, labels, 0.2) // 2 of 10 normal rows
	flags := flagAt(scores, thr)
	m := Evaluate(scores, flags, labels)
	if m.FP != 2 || m.TP != 1 {
		t.Errorf("threshold %v: %+v", thr, m)
	}
	if thr := matchedThreshold(scores, labels, 0); flagAt(scores, thr)[9] {
		t.Error("a false-alarm rate of 0 flags the highest normal row")
	}
}

func TestNoiseAndSNR(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	n, c := 20000, 2
	clean := make([]float32, n*c)
	for i := range clean {
		clean[i] = float32(10*(i%c)) + float32(rng.NormFloat64())
	}
	clean[7] = float32(math.NaN())
	noisy := addNoise(clean, c, Noise{Level: 0.3, Seed: 3})
	if !math.IsNaN(float64(noisy[7])) {
		t.Error("a missing value got noise")
	}
	again := addNoise(clean, c, Noise{Level: 0.3, Seed: 3})
	for i := range noisy {
		if noisy[i] != again[i] && !math.IsNaN(float64(noisy[i])) {
			t.Fatal("the same seed gave other noise")
		}
	}
	// Noise of 0.3 std: an SNR of 10·log10(1/0.09) = 10.5 dB.
	held := append([]float32(nil), noisy...)
	held[7] = 0
	if got := snr(held, clean, c, []bool{true, true}, []float64{1, 1}); math.Abs(got-10.46) > 0.15 {
		t.Errorf("SNR %v dB, want about 10.46", got)
	}
	imp := addNoise(clean, c, Noise{Impulses: 0.01, Seed: 4})
	big := 0
	for i := range imp {
		if d := math.Abs(float64(imp[i] - clean[i])); d >= 5*0.9 {
			big++
		}
	}
	if frac := float64(big) / float64(n*c); frac < 0.008 || frac > 0.012 {
		t.Errorf("%.4f of values got impulses, want about 0.01", frac)
	}
}

// constEdge learns nothing and flags rows above a fixed value of the
// first channel: the harness's plumbing without a model.
type constEdge struct{ thr float32 }

func (e constEdge) Score(context, test *Part) ([]float64, []bool, error) {
	s := make([]float64, test.Len())
	f := make([]bool, test.Len())
	for t := range s {
		s[t] = float64(test.X[t*test.C()])
		f[t] = test.X[t*test.C()] > e.thr
	}
	return s, f, nil
}

func (constEdge) Note() string { return "constant" }

func TestRunAnomaly(t *testing.T) {
	dir := t.TempDir()
	var learn, test strings.Builder
	learn.WriteString("time,a,b\n")
	test.WriteString("time,a,b,label\n")
	rng := rand.New(rand.NewPCG(2, 2))
	for i := 0; i < 300; i++ {
		learn.WriteString(itoa(i) + "," + ftoa(rng.NormFloat64()) + "," + ftoa(rng.NormFloat64()) + "\n")
	}
	for i := 0; i < 200; i++ {
		a, lab := rng.NormFloat64(), "0"
		if i >= 100 && i < 120 {
			a, lab = 8+rng.NormFloat64(), "1"
		}
		test.WriteString(itoa(i) + "," + ftoa(a) + "," + ftoa(rng.NormFloat64()) + "," + lab + "\n")
	}
	os.WriteFile(filepath.Join(dir, "learn.csv"), []byte(learn.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "test.csv"), []byte(test.String()), 0o644)
	os.WriteFile(filepath.Join(dir, ManifestName), []byte(`{"name": "toy", "task": "anomaly", "time": "time", "label": "label",
		"cases": [{"name": "one", "learn": "learn.csv", "test": "test.csv"}, {"name": "split", "file": "test.csv", "learn_rows": 50}]}`), 0o644)
	sets, err := LoadSets(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := RunAnomaly(sets[0], Options{Edge: func(*Part) (Learned, error) { return constEdge{4}, nil }})
	if err != nil {
		t.Fatal(err)
	}
	e := r.Total["edge"]
	if len(r.Cases) != 2 || e.Events != 2 || e.Found != 2 || e.TP != 40 || e.FP != 0 || e.Rows != 350 {
		t.Errorf("edge: %+v", e)
	}
	// The shift's first row is above every normal row of both cases: at
	// the best threshold, both windows are found at once, nothing else.
	if v := r.NABTuned["edge"]; math.Abs(v-100) > 1e-9 || r.NABTunedUnwarned != v {
		t.Errorf("tuned NAB %v (where learning did not warn %v), want 100", v, r.NABTunedUnwarned)
	}
	// |z| against the learning rows finds the 8-std shift too, with its
	// threshold from the shared rule.
	if z := r.Total["|z|"]; z.Detection() < 0.9 || z.FalseAlarms() > 0.05 {
		t.Errorf("|z|: detection %v, false alarms %v", z.Detection(), z.FalseAlarms())
	}
	// Learning from the first half of each scored file (at least
	// MinHeadRows): "one" learns test.csv's rows 0-99 and scores 100-199
	// (the shift at 100-119); "split" (the file's rows 50-199) learns
	// 50-149 and scores 150-199.
	var learned []int
	r, err = RunAnomaly(sets[0], Options{LearnHead: 0.5, Edge: func(p *Part) (Learned, error) {
		learned = append(learned, p.Len())
		return constEdge{4}, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	if e := r.Total["edge"]; e.Rows != 150 || e.TP != 20 || e.FP != 0 || !slices.Equal(learned, []int{100, 100}) {
		t.Errorf("--learn-head: learned %v rows, scored %d rows, %d found, %d false", learned, e.Rows, e.TP, e.FP)
	}
	p := &Part{Names: []string{"a"}, X: make([]float32, 1000)}
	for _, c := range []struct {
		share   float64
		most, n int
	}{{0.15, 100, 100}, {0.15, 750, 150}, {0.05, 0, MinHeadRows}} {
		h, rest, err := splitHead(p, c.share, c.most)
		if err != nil {
			t.Errorf("splitHead(1000 rows, %v, %d): %v", c.share, c.most, err)
		} else if h.Len() != c.n || rest.Len() != 1000-c.n {
			t.Errorf("splitHead(1000 rows, %v, %d): %d and %d rows; want %d learned", c.share, c.most, h.Len(), rest.Len(), c.n)
		}
	}
	if _, _, err := splitHead(&Part{Names: []string{"a"}, X: make([]float32, MinHeadRows)}, 0.5, 0); err == nil {
		t.Error("splitHead left nothing to score and did not say so")
	}
	if _, err := LoadSets(t.TempDir(), nil); err == nil {
		t.Error("an empty folder gave sets")
	}
	if anomaly.DefaultAlarmRate <= 0 {
		t.Error("no default rate")
	}
}

func itoa(i int) string     { return strconv.Itoa(i) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }

// FuzzParseSet: manifests, valid ones mutated, parse or fail with an
// error, never a panic.
func FuzzParseSet(f *testing.F) {
	f.Add([]byte(`{"name": "x", "task": "anomaly", "label": "y", "cases": [{"name": "a", "learn": "l.csv", "test": "t.csv"}]}`))
	f.Add([]byte(`{"name": "x", "task": "denoise", "cases": [{"name": "a", "file": "f.csv", "learn_fraction": 0.5}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := ParseSet(raw)
		if err == nil && (s.Name == "" || len(s.Cases) == 0) {
			t.Fatalf("accepted %q", raw)
		}
	})
}

// TestNABScore checks the NAB-style score on cases worked by hand: one
// window of 10 rows (rows 10 to 19) in 40.
func TestNABScore(t *testing.T) {
	labels := make([]bool, 40)
	for i := 10; i < 20; i++ {
		labels[i] = true
	}
	at := func(rows ...int) []bool {
		f := make([]bool, 40)
		for _, r := range rows {
			f[r] = true
		}
		return f
	}
	early := nabSigmoid(-1) // 2/(1+e^-5) - 1 = 0.98661
	for _, c := range []struct {
		name  string
		flags []bool
		raw   float64
	}{
		{"never", at(), -1},
		{"first row", at(10), early},
		{"first row and the rest of the window", at(10, 11, 12, 19), early},
		{"last row", at(19), nabSigmoid(-0.1)},
		{"before the window", at(3), -1 - 0.11},
		{"just after the window", at(10, 20), early + 0.11*nabSigmoid(0.1)},
		{"far after the window", at(10, 39), early + 0.11*nabSigmoid(2)},
	} {
		raw, null, perfect := nabScore(c.flags, labels)
		if math.Abs(raw-c.raw) > 1e-12 || null != -1 || math.Abs(perfect-early) > 1e-12 {
			t.Errorf("%s: raw %v null %v perfect %v, want raw %v null -1 perfect %v", c.name, raw, null, perfect, c.raw, early)
		}
	}
	if v := nabSigmoid(-1); math.Abs(v-0.98661) > 1e-5 {
		t.Errorf("sigmoid(-1) = %v", v)
	}
	if !(nabSigmoid(0.1) > nabSigmoid(2) && nabSigmoid(2) < 0 && nabSigmoid(0.1) < 0) {
		t.Error("a flag far from a window must cost more than one just after it")
	}
	var m Metrics
	m.Add(Evaluate(make([]float64, 40), at(10), labels))
	m.Add(Evaluate(make([]float64, 40), at(), labels))
	if got, want := m.NAB(), 100*(early-(-1)+0)/(2*early+2); math.Abs(got-want) > 1e-9 {
		t.Errorf("pooled NAB %v, want %v", got, want)
	}
}

// TestNABOnsets: a run of flags counts once, at its first row.
func TestNABOnsets(t *testing.T) {
	labels := make([]bool, 30)
	for i := 10; i < 20; i++ {
		labels[i] = true
	}
	flags := make([]bool, 30)
	for i := 0; i < 5; i++ {
		flags[i] = true // one false run before the window
	}
	for i := 12; i < 30; i++ {
		flags[i] = true // found at row 12, then flagged on past the window
	}
	m := Evaluate(make([]float64, 30), flags, labels)
	if want := -0.11 + nabSigmoid(-0.8); math.Abs(m.NABOnsetRaw-want) > 1e-12 {
		t.Errorf("onsets raw %v, want %v", m.NABOnsetRaw, want)
	}
	if !(m.NABRaw < m.NABOnsetRaw-5*0.11) {
		t.Errorf("every row: raw %v should pay for 5 + 10 rows of false flags beyond the onsets' %v", m.NABRaw, m.NABOnsetRaw)
	}
}

func TestNABTuned(t *testing.T) {
	// Two series on different scales: each spikes at its anomaly's first
	// row, so one threshold finds both with no false alarm only if it
	// sits at or below the smaller spike and above every normal row.
	labels := make([]bool, 200)
	for i := 100; i < 120; i++ {
		labels[i] = true
	}
	a, b := make([]float64, 200), make([]float64, 200)
	for i := range a {
		a[i], b[i] = float64(i%7)/10, float64(i%5)/10
	}
	a[100], b[100] = 50, 5
	a[0] = math.NaN()
	if got := nabTuned([]scored{{a, labels}, {b, labels}}); math.Abs(got-100) > 1e-9 {
		t.Errorf("spikes at each onset: tuned NAB %v, want 100", got)
	}
	// Put a normal row of the first series above the second's spike: the
	// best threshold now misses one window or pays one false alarm.
	a[10] = 20
	got := nabTuned([]scored{{a, labels}, {b, labels}})
	if !(got < 100 && got > 50) {
		t.Errorf("one normal row above a spike: tuned NAB %v, want in (50, 100)", got)
	}
	// Scores that carry nothing: never flagging is best.
	flat := make([]float64, 200)
	if got := nabTuned([]scored{{flat, labels}}); got != 0 {
		t.Errorf("flat scores: tuned NAB %v, want 0", got)
	}
}

// TestOracleBounds: the per-channel filter oracle is at least every single
// filter's gain on the test rows (it picks per channel on them), and the
// oracle linear estimator, fitted against the truth, cleans a smooth
// series with a correlated peer.
func TestOracleBounds(t *testing.T) {
	const n, c, nl = 2000, 2, 1000
	clean := make([]float32, n*c)
	for i := range n {
		v := math.Sin(float64(i) / 40)
		clean[i*c], clean[i*c+1] = float32(v), float32(2*v+0.3*math.Cos(float64(i)/7))
	}
	noisy := addNoise(clean, c, DefaultNoise)
	_, std := meanStdNaN(clean, c)
	varying := []bool{true, true}
	in := snr(noisy[nl*c:], clean[nl*c:], c, varying, std)
	for _, mode := range []denoise.Mode{denoise.Centred, denoise.Causal} {
		b := oracleBounds(noisy, clean, c, nl, varying, std, mode, in)
		for _, fam := range denoise.Classical() {
			for _, f := range fam {
				out := make([]float32, len(noisy))
				f.Apply(out, noisy, c, mode == denoise.Causal)
				if g := snr(out[nl*c:], clean[nl*c:], c, varying, std) - in; g > b.PerChannel+1e-9 {
					t.Errorf("%s: %s %s gains %.3f dB, more than the per-channel oracle's %.3f", mode, f.Name, f.Param, g, b.PerChannel)
				}
			}
		}
		if !(b.Linear > 8) {
			t.Errorf("%s: the oracle linear estimator gains %.2f dB on a smooth series", mode, b.Linear)
		}
	}
}
