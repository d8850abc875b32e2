package realdata

import (
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/denoise"
)

// Options configure an evaluation.
type Options struct {
	// Rate is the false-alarm rate the baselines' thresholds are set for
	// (the same rule edge uses; default anomaly.DefaultAlarmRate).
	Rate float64
	// Folds for the baselines' out-of-sample learning scores (default 5).
	Folds int
	// Cases, if set, keeps only the cases with these names.
	Cases []string
	// LearnRows, if positive, learns from at most this many rows: the
	// last of each case's learning part (a user with a short history).
	LearnRows int
	// LearnHead, if positive, ignores each case's learning part and
	// learns from the first LearnHead share of its scored rows (at most
	// LearnRows, at least MinHeadRows), scoring the rest: a stream that
	// starts with no history, as streaming benchmarks do. Anomalies in
	// those rows are learned as normal.
	LearnHead float64
	// Log receives progress lines.
	Log io.Writer
	// Edge runs edge's user path on one case; nil: EdgeDefault.
	Edge EdgeFunc
	// Variants adds rows "edge <name>" for other learning options (see
	// Variants), int8, learned from the same rows.
	Variants map[string]EdgeFunc
}

// EdgeFunc learns from a case's learning rows as edge's user path does.
type EdgeFunc func(learn *Part) (Learned, error)

// Learned scores rows with what was learned.
type Learned interface {
	// Score streams context rows, then test rows, and returns one score
	// and one flag per test row (the context rows, the end of the
	// learning part when a case is one split file, are streamed first
	// but not returned).
	Score(context, test *Part) (scores []float64, flags []bool, err error)
	// Note says what was learned, for the log.
	Note() string
}

// learned caches what was learned from one learning file, shared by the
// cases that learn from it.
type learned struct {
	edge      Learned
	variants  map[string]Learned
	baselines map[string]fitted
}

type fitted struct {
	b   baseline
	thr float64
}

// The names of edge's rows in a report: the int8 model users deploy, and
// the float32 model it was quantised from.
const (
	edgeName  = "edge"
	floatName = "edge f32"
	// changeName: edge's change scores (anomaly.Score.Change), a row
	// flagged where it is at least 0.5 (its threshold: an onset
	// detector; edge's own flags stay the state).
	changeName = "edge change"
)

// CaseResult is one case's metrics per detector.
type CaseResult struct {
	Name    string
	Rows    int
	Metrics map[string]Metrics
	// Matched: each baseline's detection rate at edge's false-alarm rate
	// on this case's normal rows.
	Matched map[string]Metrics
	Note    string
	Elapsed time.Duration
	// Warned: edge's learning warned that these rows may not show some
	// channel's normal range (it held one value, or changed level).
	Warned bool
	scored map[string]scored // per detector, for SetResult.NABTuned
}

// SetResult is one anomaly set's results.
type SetResult struct {
	Set     *Set
	Cases   []CaseResult
	Total   map[string]Metrics
	Matched map[string]Metrics
	// Unwarned: edge's metrics over the cases whose learning raised no
	// warning (see CaseResult.Warned), and how many there were.
	Unwarned      Metrics
	UnwarnedCases int
	// NABTuned: per detector, the NAB-style score at the one threshold on
	// its per-row scores that is best over the set (see nabTuned); and
	// edge's over the cases whose learning raised no warning.
	NABTuned         map[string]float64
	NABTunedUnwarned float64
}

// Detectors returns the report's detector names: edge (int8 and float32),
// then the baselines.
func Detectors() []string { return append([]string{edgeName, floatName}, baselineNames...) }

// RunAnomaly evaluates every case of an anomaly set.
func RunAnomaly(s *Set, opt Options) (*SetResult, error) {
	if opt.Rate == 0 {
		opt.Rate = anomaly.DefaultAlarmRate
	}
	if opt.Folds == 0 {
		opt.Folds = 5
	}
	if opt.Edge == nil {
		opt.Edge = EdgeDefault
	}
	res := &SetResult{Set: s, Total: map[string]Metrics{}, Matched: map[string]Metrics{}, NABTuned: map[string]float64{}}
	cache := map[string]*learned{}
	pooled := map[string][]scored{}
	var unwarned []scored // edge's, over the cases whose learning raised no warning
	for _, c := range s.Cases {
		if len(opt.Cases) > 0 && !slices.Contains(opt.Cases, c.Name) {
			continue
		}
		start := time.Now()
		cr, err := runCase(s, c, opt, cache)
		if err != nil {
			return nil, fmt.Errorf("realdata: set %s, case %s: %w", s.Name, c.Name, err)
		}
		cr.Elapsed = time.Since(start)
		for k, v := range cr.Metrics {
			t := res.Total[k]
			t.Add(v)
			res.Total[k] = t
		}
		for k, v := range cr.Matched {
			t := res.Matched[k]
			t.Add(v)
			res.Matched[k] = t
		}
		for k, v := range cr.scored {
			pooled[k] = append(pooled[k], v)
		}
		if !cr.Warned {
			unwarned = append(unwarned, cr.scored[edgeName])
			res.Unwarned.Add(cr.Metrics[edgeName])
			res.UnwarnedCases++
		}
		cr.scored = nil
		res.Cases = append(res.Cases, *cr)
		if opt.Log != nil {
			e := cr.Metrics[edgeName]
			fmt.Fprintf(opt.Log, "  %s/%s: %d rows, edge det %.3f far %.4f f1 %.3f (%s) %s\n", s.Name, c.Name, cr.Rows,
				e.Detection(), e.FalseAlarms(), e.F1(), cr.Elapsed.Round(time.Millisecond), cr.Note)
		}
	}
	for k, v := range pooled {
		res.NABTuned[k] = nabTuned(v)
	}
	res.NABTunedUnwarned = math.NaN()
	if len(unwarned) > 0 {
		res.NABTunedUnwarned = nabTuned(unwarned)
	}
	return res, nil
}

func runCase(s *Set, c Case, opt Options, cache map[string]*learned) (*CaseResult, error) {
	lp, test, err := s.Load(c)
	if err != nil {
		return nil, err
	}
	head := opt.LearnHead > 0
	switch n := lp.Len(); {
	case head:
		if lp, test, err = splitHead(test, opt.LearnHead, opt.LearnRows); err != nil {
			return nil, err
		}
	case opt.LearnRows > 0 && n > opt.LearnRows:
		lp = lp.slice(n-opt.LearnRows, n)
	}
	var context *Part
	if c.File != "" || head {
		context = lp
	}
	labels := test.Labels
	if labels == nil {
		labels = make([]bool, test.Len())
	}
	key := s.path(c.Learn)
	l := cache[key]
	if l == nil || c.File != "" || head {
		if l, err = learnAll(lp, opt); err != nil {
			return nil, err
		}
		if c.File == "" && !head {
			cache[key] = l
		}
	}
	cr := &CaseResult{Name: c.Name, Rows: test.Len(), Metrics: map[string]Metrics{}, Matched: map[string]Metrics{}, Note: l.edge.Note(),
		scored: map[string]scored{}}
	eval := func(name string, scores []float64, flags []bool) {
		cr.Metrics[name] = Evaluate(scores, flags, labels)
		cr.scored[name] = scored{scores, labels}
	}
	scores, flags, err := l.edge.Score(context, test)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	eval(edgeName, scores, flags)
	far := cr.Metrics[edgeName].FalseAlarms()
	for name, v := range l.variants {
		vs, vf, err := v.Score(context, test)
		if err != nil {
			return nil, fmt.Errorf("edge %s: %w", name, err)
		}
		eval("edge "+name, vs, vf)
	}
	if c, ok := l.edge.(interface{ Changes() []float64 }); ok {
		eval(changeName, c.Changes(), flagAt(c.Changes(), 0.5))
	}
	if w, ok := l.edge.(interface{ Warned() []string }); ok {
		cr.Warned = len(w.Warned()) > 0
	}
	if c, ok := l.edge.(interface{ Causes() []int8 }); ok {
		cr.Note += falseAlarmCauses(c.Causes(), labels)
	}
	if f, ok := l.edge.(interface {
		Float(context, test *Part) ([]float64, []bool, error)
	}); ok {
		fs, ff, err := f.Float(context, test)
		if err != nil {
			return nil, fmt.Errorf("edge float32: %w", err)
		}
		if fs != nil {
			eval(floatName, fs, ff)
		}
	}
	var cx []float32
	if context != nil {
		cx = held(context.X, context.C())
	}
	tx := held(append(slices.Clone(cx), test.X...), test.C())
	for _, name := range baselineNames {
		f, ok := l.baselines[name]
		if !ok {
			continue // not applicable (see applies)
		}
		sc := f.b.score(tx, test.C())[len(cx)/test.C():]
		eval(name, sc, flagAt(sc, f.thr))
		cr.Matched[name] = Evaluate(sc, flagAt(sc, matchedThreshold(sc, labels, far)), labels)
	}
	return cr, nil
}

// MinHeadRows is the fewest rows Options.LearnHead learns from.
const MinHeadRows = 100

// splitHead splits p into its first share rows (at most most, if
// positive; at least MinHeadRows) and the rest.
func splitHead(p *Part, share float64, most int) (*Part, *Part, error) {
	n := p.Len()
	h := int(share * float64(n))
	if most > 0 {
		h = min(h, most)
	}
	h = max(h, MinHeadRows)
	if h >= n {
		return nil, nil, fmt.Errorf("%d rows: too few to learn from the first %d and score the rest", n, h)
	}
	return p.slice(0, h), p.slice(h, n), nil
}

// learnAll learns edge's model and fits every baseline on the learning
// rows, each baseline's threshold set by the shared rule from
// out-of-sample learning scores.
func learnAll(lp *Part, opt Options) (*learned, error) {
	e, err := opt.Edge(lp)
	if err != nil {
		return nil, fmt.Errorf("edge: %w", err)
	}
	l := &learned{edge: e, variants: map[string]Learned{}, baselines: map[string]fitted{}}
	for name, f := range opt.Variants {
		if l.variants[name], err = f(lp); err != nil {
			return nil, fmt.Errorf("edge %s: %w", name, err)
		}
	}
	lx := held(lp.X, lp.C())
	for _, name := range baselineNames {
		if !applies(name, lp.C()) {
			continue
		}
		oos, err := crossScores(name, lx, lp.C(), opt.Folds)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		tail, err := anomaly.FitTail(oos)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		b := newBaseline(name)
		if err := b.fit(lx, lp.C()); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		l.baselines[name] = fitted{b: b, thr: tail.Threshold(opt.Rate)}
	}
	return l, nil
}

// applies reports whether a baseline means anything for c channels: PCA
// of one channel keeps the whole of it (no residual, T² is |z|²), so the
// plain PCA baselines need two channels; dynamic PCA's lags give it more.
func applies(name string, c int) bool {
	return c >= 2 || (name != "pca-t2" && name != "pca-spe")
}

// crossScores returns out-of-sample scores of the learning rows: the rows
// are cut into folds of consecutive rows, and each fold is scored by the
// baseline fitted on the others.
func crossScores(name string, x []float32, c, folds int) ([]float64, error) {
	n := len(x) / c
	var out []float64
	for f := 0; f < folds; f++ {
		a, b := f*n/folds, (f+1)*n/folds
		rest := append(slices.Clone(x[:a*c]), x[b*c:]...)
		bl := newBaseline(name)
		if err := bl.fit(rest, c); err != nil {
			return nil, err
		}
		sc := bl.score(x, c)
		for _, v := range sc[a:b] {
			if !math.IsNaN(v) {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

// matchedThreshold returns the threshold at which the normal rows' false
// alarm rate is far (the (1-far) quantile of their scores).
func matchedThreshold(scores []float64, labels []bool, far float64) float64 {
	var normal []float64
	for i, l := range labels {
		if !l && !math.IsNaN(scores[i]) {
			normal = append(normal, scores[i])
		}
	}
	if len(normal) == 0 || math.IsNaN(far) {
		return math.Inf(1)
	}
	slices.Sort(normal)
	k := int(math.Floor(far * float64(len(normal))))
	if k <= 0 {
		return math.Nextafter(normal[len(normal)-1], math.Inf(1))
	}
	return normal[len(normal)-k]
}

func flagAt(scores []float64, thr float64) []bool {
	f := make([]bool, len(scores))
	for i, v := range scores {
		f[i] = v >= thr
	}
	return f
}

// held returns a copy of x with missing values held (see denoise.ImputeHold).
func held(x []float32, c int) []float32 {
	out := slices.Clone(x)
	denoise.ImputeHold(out, c, nil)
	return out
}

// falseAlarmCauses describes what flagged the normal rows.
func falseAlarmCauses(causes []int8, labels []bool) string {
	var n [causeFinding + 1]int
	total := 0
	for i, c := range causes {
		if c >= 0 && !labels[i] {
			n[c]++
			total++
		}
	}
	if total == 0 {
		return ""
	}
	return fmt.Sprintf("; false alarms by spe %d, peak %d, range %d, smooth %d, finding %d", n[0], n[1], n[2], n[3], n[4])
}
