package learn

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/pca"
	"github.com/edgeml/edge/quant"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/train"
)

// MinRows is the shortest learning period Fit accepts.
const MinRows = 100

// Options configure Fit. Zero values are chosen from the data.
type Options struct {
	// Window is the model's window in rows (0: ChooseWindow from the
	// dominant period); Hop the rows between training windows (0: 1, or
	// more for long series, so that at most 20000 windows are trained on).
	Window, Hop int
	// ScoreHop is the rows between scored windows (0: 1, every row).
	ScoreHop int
	// Arch: the architecture (zero Hidden and Latent: chosen, see
	// chooseArch).
	Arch train.Arch
	// Train is the training run (zero Epochs: 30).
	Train train.Config
	// Corrupt is the denoising corruption (nil: Gaussian 0.2 and masking
	// 0.05; a zero value: none, a vanilla model).
	Corrupt *train.Corruption
	// ValFraction: the share of rows, at the end, that decide early
	// stopping (default 0.2; negative: none).
	ValFraction float64
	// Init: train.SeriesOptions.Init (default "auto": the PCA warm start).
	Init string
	// Folds: the learning rows are cut into this many blocks and each is
	// scored by a model trained on the others, for thresholds from scores
	// of rows no model has seen (default 5).
	Folds int
	// Rate is the target false-alarm rate (default anomaly.DefaultAlarmRate).
	Rate float64
	// Score supplies the scorer's other settings (hysteresis, minimum
	// rows, clip, drift: default the learning rows; negative: off).
	Score anomaly.Settings
	// Norm is the input normalisation (default dataset.Robust: median
	// and interquartile range).
	Norm model.NormKind
	// Float keeps the model in float32 (no int8 copy).
	Float bool
	// Quant, if set, replaces the int8 calibration (default: min/max
	// ranges with 25% headroom, the layers around the code in float32, the
	// first layer too where the inputs' ranges are too unequal).
	Quant *quant.Options
	Log   io.Writer
	// Progress, if set, follows the training of the final model.
	Progress func(train.Progress)
}

// Report says what Fit did.
type Report struct {
	Rows, Channels int
	Period, Window int
	Hop, ScoreHop  int
	Latent, Folds  int
	Norm           model.NormKind
	Train          *train.SeriesResult
	Quant          *quant.Report
	Settings       anomaly.Settings
	Elapsed        time.Duration
	FoldTime       time.Duration
	Missing        int
	PCAOnly        bool // fine-tuning never beat the PCA start
	// Denoiser is the centred mode's blind-spot predictor.
	Denoiser *denoise.Predictor
	// Constant names the channels that hold one value in (almost) every
	// learning row: whatever they do later will look anomalous.
	Constant []string
	// Unsettled names the channels whose level moved across the learning
	// rows (see unsettledChannels): a trend or a cycle slower than the
	// rows, whose normal range the rows may not show.
	Unsettled []string
	// DenoiseRisk compares, per mode, the estimated error on the learning
	// rows of the predictor, the autoencoder and the best classical
	// filter, and their blend; Filters names the modes that use another
	// method than the predictor alone, and which.
	DenoiseRisk, Filters []string
}

// Fit learns a model from normal rows (time-major, NaN where missing):
// robust normalisation, a window from the data's period, an architecture
// sized from its principal components, thresholds from out-of-sample
// scores of every learning row (cross-fitting), then the final model on
// all rows and its int8 copy. It returns the float32 model and, unless
// opt.Float, the int8 model; both carry the scorer's settings.
func Fit(s *dataset.Series, opt Options) (*model.Model, *model.Model, *Report, error) {
	return FitContext(context.Background(), s, opt)
}

// FitContext is Fit that stops when ctx is done, between two training
// steps of any of its models, returning an error that wraps ctx's and no
// model.
func FitContext(ctx context.Context, s *dataset.Series, opt Options) (*model.Model, *model.Model, *Report, error) {
	start := time.Now()
	logf := func(format string, args ...any) {
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, format+"\n", args...)
		}
	}
	n, c := s.Len(), s.Channels()
	if n < MinRows {
		return nil, nil, nil, fmt.Errorf("learn: %s: %d rows; learning needs at least %d", s.Source, n, MinRows)
	}
	if opt.Folds == 0 {
		opt.Folds = 5
	}
	if opt.Folds < 2 || opt.Folds > 20 {
		return nil, nil, nil, fmt.Errorf("learn: %d folds (2 to 20)", opt.Folds)
	}
	rep := &Report{Rows: n, Channels: c, Folds: opt.Folds}
	filled := &dataset.Series{Source: s.Source, Names: s.Names, Values: slices.Clone(s.Values), Times: s.Times, Lines: s.Lines}
	rep.Missing = denoise.ImputeHold(filled.Values, c, nil)
	for ch := 0; ch < c; ch++ {
		if allMissing(s.Values, c, ch) {
			return nil, nil, nil, fmt.Errorf("learn: %s: column %s has no valid value in the learning rows", s.Source, s.Names[ch])
		}
	}
	if opt.Norm == "" {
		opt.Norm = dataset.Robust
	}
	rep.Norm = opt.Norm
	norm, err := filled.FitNormalization(opt.Norm)
	if err != nil {
		return nil, nil, nil, err
	}
	normed := slices.Clone(filled.Values)
	dataset.Normalize(normed, norm, c)
	rep.Constant = constantChannels(filled)
	if len(rep.Constant) > 0 {
		logf("warning: %s held one value in 99%% of the learning rows: whatever they do later will look anomalous; learn from rows that show their normal range", strings.Join(rep.Constant, ", "))
	}
	rep.Unsettled = unsettledChannels(filled, rep.Constant)
	if len(rep.Unsettled) > 0 {
		logf("warning: %s changed level across the learning rows: they may not show these channels' whole normal range (a trend, or a cycle slower than the rows); learn from a longer stretch, or expect alarms when they move on", strings.Join(rep.Unsettled, ", "))
	}
	so, err := seriesOptions(opt, normed, n, c, &norm, rep)
	if err != nil {
		return nil, nil, nil, err
	}
	logf("learning from %d rows x %d channels: window %d (period %d), latent %d, hidden %v; %d folds for the thresholds",
		n, c, so.Window, rep.Period, so.Arch.Latent, so.Arch.Hidden, opt.Folds)
	res, tau, err := crossResiduals(ctx, s, filled, so, opt.Folds, rep.ScoreHop)
	if err != nil {
		return nil, nil, nil, err
	}
	rep.FoldTime = time.Since(start)
	so.Config.Progress = opt.Progress
	fm, tr, err := train.FitSeriesContext(ctx, filled, so)
	if err != nil {
		return nil, nil, nil, err
	}
	rep.Train = tr
	rep.PCAOnly = tr.WarmStarted && tr.BestEpoch == 0
	base := opt.Score
	base.Rate, base.Hop, base.Outlier = opt.Rate, rep.ScoreHop, tau
	if base.Drift == 0 {
		base.Drift = n // a centre may move 4 units over a learning period
	}
	if base.Cycle == 0 {
		base.Cycle = max(rep.Period, so.Window) // and not follow the data's own cycle
	}
	if base.Settle == 0 {
		base.Settle = 2 * n // a level that lasted twice the learning rows is normal
	}
	set, err := anomaly.Learn(res, anomaly.LearnOptions{Base: base, Source: fmt.Sprintf("cross-fitted, %d folds", opt.Folds)})
	if err != nil {
		return nil, nil, nil, err
	}
	rep.Settings = set
	if err := anomaly.Store(fm, set); err != nil {
		return nil, nil, nil, err
	}
	if err := fitDenoiser(fm, s, normed, rep); err != nil {
		return nil, nil, nil, err
	}
	fm.ChannelNames = slices.Clone(s.Names)
	logf("thresholds from %d out-of-sample rows: smoothing %.3g; trained in %s", set.Rows, set.Alpha, time.Since(start).Round(time.Millisecond))
	if opt.Float {
		rep.Elapsed = time.Since(start)
		return fm, nil, rep, nil
	}
	qm, qr, err := Quantize(fm, filled, opt.Quant)
	if err != nil {
		return nil, nil, nil, err
	}
	rep.Quant = qr
	rep.Elapsed = time.Since(start)
	logf("quantised to int8: reconstruction error %+.2f%% against float32", 100*qr.Growth)
	return fm, qm, rep, nil
}

// constantChannels names the channels whose most common value fills 99%
// of the rows.
func constantChannels(s *dataset.Series) []string {
	c, n := s.Channels(), s.Len()
	var out []string
	for ch := 0; ch < c; ch++ {
		counts := map[float32]int{}
		top := 0
		for t := 0; t < n; t++ {
			v := s.Values[t*c+ch]
			counts[v]++
			top = max(top, counts[v])
		}
		if float64(top) >= 0.99*float64(n) {
			out = append(out, s.Names[ch])
		}
	}
	return out
}

// unsettledChannels names the channels (but those in skip) whose median
// over the last quarter of the rows lies more than 3 robust standard
// deviations (within a quarter, the larger of the two) from the first
// quarter's, and outside the first quarter's range: a level the rows'
// start never showed.
func unsettledChannels(s *dataset.Series, skip []string) []string {
	c, n := s.Channels(), s.Len()
	q := n / 4
	if q < 10 {
		return nil
	}
	var out []string
	col := make([]float64, q)
	stats := func(ch, from int) (med, sd, lo, hi float64) {
		for t := range q {
			col[t] = float64(s.Values[(from+t)*c+ch])
		}
		slices.Sort(col)
		at := func(p float64) float64 { return col[int(p*float64(q-1))] }
		return at(0.5), (at(0.75) - at(0.25)) / 1.349, col[0], col[q-1]
	}
	for ch := range c {
		if slices.Contains(skip, s.Names[ch]) {
			continue
		}
		m1, sd1, lo, hi := stats(ch, 0)
		m4, sd4, _, _ := stats(ch, n-q)
		sd := max(sd1, sd4, 1e-4*math.Abs(m1), 1e-12)
		if math.Abs(m4-m1) > 3*sd && (m4 < lo || m4 > hi) {
			out = append(out, s.Names[ch])
		}
	}
	return out
}

func allMissing(v []float32, c, ch int) bool {
	for i := ch; i < len(v); i += c {
		if x := float64(v[i]); !math.IsNaN(x) && !math.IsInf(x, 0) {
			return false
		}
	}
	return true
}

// seriesOptions chooses the window, hop and architecture.
func seriesOptions(opt Options, normed []float32, n, c int, norm *model.Normalization, rep *Report) (train.SeriesOptions, error) {
	so := train.SeriesOptions{Window: opt.Window, Hop: opt.Hop, Arch: opt.Arch, Config: opt.Train, Init: opt.Init, Normalization: norm, ValFraction: opt.ValFraction}
	rep.Period = DominantPeriod(normed, c)
	if so.Window == 0 {
		so.Window = ChooseWindow(n, c, rep.Period)
		if so.Arch.Kind == "conv" {
			// Each convolution halves the window (stride 2 by default).
			if so.Arch.Hidden == nil {
				so.Arch.Hidden = []int{16, 32}
			}
			m := 1
			for range so.Arch.Hidden {
				m *= max(so.Arch.Stride, 2)
			}
			so.Window = max(m, (so.Window+m-1)/m*m)
		}
	}
	if so.Window > n/4 {
		return so, fmt.Errorf("learn: a window of %d rows needs at least %d learning rows (have %d)", so.Window, 4*so.Window, n)
	}
	if so.Hop == 0 {
		so.Hop = max(1, (n-so.Window)/20000)
	}
	rep.ScoreHop = opt.ScoreHop
	if rep.ScoreHop == 0 {
		rep.ScoreHop = 1
	}
	if so.Config.Epochs == 0 {
		so.Config.Epochs = 30
	}
	so.Config.Corrupt = train.Corruption{Gaussian: 0.2, Mask: 0.05}
	if opt.Corrupt != nil {
		so.Config.Corrupt = *opt.Corrupt
	}
	if so.Config.Seed == 0 {
		so.Config.Seed = 1
	}
	if err := chooseArch(&so, normed, c); err != nil {
		return so, err
	}
	rep.Window, rep.Hop, rep.Latent = so.Window, so.Hop, so.Arch.Latent
	return so, nil
}

// chooseArch fills a zero Latent with the number of principal components
// that explain 90% of the variance of the learning windows (at most half
// their values), and zero Hidden with one layer of twice that, between 16
// and 128 units and no wider than a window.
func chooseArch(so *train.SeriesOptions, normed []float32, c int) error {
	d := so.Window * c
	if so.Arch.Latent == 0 {
		s := &dataset.Series{Names: make([]string, c), Values: normed}
		win, nw, err := s.Windows(so.Window, max(so.Hop, so.Window/2, (len(normed)/c)/4000))
		if err != nil {
			return err
		}
		k := 1
		if nw >= 3 && d > 1 && d <= pca.MaxDim {
			p, err := pca.Fit(win, d, min(d, nw-1))
			if err != nil {
				return err
			}
			var kept float64
			k = 0
			for k < p.K && kept < 0.9*p.TotalVariance {
				kept += p.Variance[k]
				k++
			}
		}
		so.Arch.Latent = max(1, min(k, d/2))
	}
	if so.Arch.Hidden == nil {
		h := min(max(2*so.Arch.Latent, 16), 128, d)
		so.Arch.Hidden = []int{max(h, so.Arch.Latent)}
	}
	return nil
}

// AddDenoiser fits the denoiser (blind-spot predictors, blended with a
// classical filter where that lowers the estimated error) to the rows of raw (NaN where missing),
// normalised as model m normalises, and stores it in m. learn.Fit does
// this itself; AddDenoiser gives one to a model trained otherwise.
func AddDenoiser(m *model.Model, raw *dataset.Series) (*Report, error) {
	if raw.Channels() != m.Channels {
		return nil, fmt.Errorf("learn: %d channels for a model of %d", raw.Channels(), m.Channels)
	}
	normed := slices.Clone(raw.Values)
	denoise.ImputeHold(normed, m.Channels, nil)
	dataset.Normalize(normed, m.Norm, m.Channels)
	rep := &Report{Rows: raw.Len(), Channels: m.Channels}
	return rep, fitDenoiser(m, raw, normed, rep)
}

// fitDenoiser fits the centred and causal blind-spot predictors on the
// normalised learning rows (missing values flagged from the raw rows) and
// stores them as the model's denoiser.
func fitDenoiser(m *model.Model, raw *dataset.Series, normed []float32, rep *Report) error {
	c := raw.Channels()
	miss := make([]bool, len(raw.Values))
	for i, v := range raw.Values {
		miss[i] = math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)
	}
	peers := min(12, c-1)
	var set denoise.Settings
	var err error
	if set.Centred, err = denoise.FitPredictor(normed, miss, c, false, 1, peers); err != nil {
		return fmt.Errorf("learn: the denoiser: %w", err)
	}
	if set.Causal, err = denoise.FitPredictor(normed, miss, c, true, 1, peers); err != nil {
		return fmt.Errorf("learn: the denoiser: %w", err)
	}
	// Each mode blends the predictor with the classical filter of least
	// risk (see denoise.Risk), weights per channel, unless the autoencoder
	// is clearly ahead: the predictor's, the filters' and the blend's
	// risks on held-back halves of the learning rows (denoise.CrossRisks),
	// the autoencoder's on all of them.
	if err := denoise.Store(m, set); err != nil { // the predictors, for the autoencoder's run below
		return err
	}
	for _, mode := range []denoise.Mode{denoise.Centred, denoise.Causal} {
		p, dstF, dstM, dstW := set.Centred, &set.CentredFilter, &set.CentredMethod, &set.CentredBlend
		if mode == denoise.Causal {
			p, dstF, dstM, dstW = set.Causal, &set.CausalFilter, &set.CausalMethod, &set.CausalBlend
		}
		ch, err := denoise.CrossRisks(normed, miss, c, mode == denoise.Causal, peers)
		if err != nil {
			return fmt.Errorf("learn: the denoiser: %w", err)
		}
		_, bad := denoise.Despiked(p, normed, miss, c)
		ar := denoise.Risk(func(dst, x []float32) { autoencode(m, mode, dst, x) }, normed, bad, p.Noise, c, 1)
		f, pr := ch.Filter, ch.PredictorRisk
		rep.DenoiseRisk = append(rep.DenoiseRisk, fmt.Sprintf("%s: predictor %.4g, autoencoder %.4g, best filter %s %s %.4g, blend of the two %.4g",
			mode, pr, ar, f.Name, f.Param, ch.FilterRisk, ch.BlendRisk))
		// Risk estimates lean on the noise estimate: the autoencoder
		// replaces the predictor only when clearly ahead, by a quarter of
		// its risk (about 1 dB) and a fiftieth of the noise variance. The
		// blend needs no margin: its weights move from the predictor to
		// the filter by as much as the held-back rows show.
		var s2 float64
		for _, v := range p.Noise {
			s2 += float64(float64(v) * float64(v))
		}
		margin := max(0.25*math.Abs(pr), 0.02*s2/float64(c))
		switch {
		case ar < pr-margin && ar <= min(ch.FilterRisk, ch.BlendRisk):
			*dstM = denoise.MethodAutoencoder
			rep.Filters = append(rep.Filters, fmt.Sprintf("%s: the autoencoder", mode))
		case f.Spec != nil && ch.BlendRisk < pr && slices.ContainsFunc(ch.Blend, func(w float32) bool { return w < 1 }):
			*dstF, *dstM, *dstW = f.Spec, denoise.MethodBlend, ch.Blend
			rep.Filters = append(rep.Filters, fmt.Sprintf("%s: the predictor blended with %s %s (predictor's weight %.2f to %.2f)",
				mode, f.Name, f.Param, slices.Min(ch.Blend), slices.Max(ch.Blend)))
		}
	}
	rep.Denoiser = set.Centred
	return denoise.Store(m, set)
}

// autoencode cleans normalised rows x with m's autoencoder denoiser in a
// mode, into dst (normalised).
func autoencode(m *model.Model, mode denoise.Mode, dst, x []float32) {
	c := m.Channels
	shift, scale := m.Norm.Affine(c)
	raw := slices.Clone(x)
	for i := range raw {
		raw[i] = float32(raw[i]*scale[i%c]) + shift[i%c] // rounded first: no FMA on arm64
	}
	copy(dst, x)
	d, err := denoise.New(m, denoise.Config{Mode: mode, Settings: denoise.Settings{Method: denoise.MethodAutoencoder}, Stream: stream.Config{MaxGap: -1}},
		func(s *denoise.Sample) error {
			for ch, v := range s.Values {
				dst[(s.Line-1)*c+ch] = (v - shift[ch]) / scale[ch]
			}
			return nil
		})
	if err != nil {
		return // dst keeps the input: the autoencoder's risk is then the input's
	}
	for t := 0; t < len(x)/c; t++ {
		if d.Push(stream.Row{Line: t + 1, Values: raw[t*c : (t+1)*c]}) != nil {
			return
		}
	}
	d.Close()
}

// fold is a model trained on all learning rows but [a, b).
type fold struct {
	m    *model.Model
	a, b int
}

// crossFit cuts the rows into folds and trains a model on all but each.
func crossFit(ctx context.Context, raw, filled *dataset.Series, so train.SeriesOptions, folds int) ([]fold, error) {
	n, c := raw.Len(), raw.Channels()
	fo := so
	fo.NoBaseline = true
	fo.Config.Progress = nil
	// A third of the epochs: the folds' models only set the thresholds,
	// and a model trained less reconstructs new rows no better than the
	// final one, so its scores err on the side of fewer false alarms.
	fo.Config.Epochs = max(5, so.Config.Epochs/3)
	var out []fold
	for f := 0; f < folds; f++ {
		a, b := f*n/folds, (f+1)*n/folds
		rest := append(slices.Clone(filled.Values[:a*c]), filled.Values[b*c:]...)
		part := &dataset.Series{Source: fmt.Sprintf("%s (fold %d)", raw.Source, f+1), Names: raw.Names, Values: rest, Lines: make([]int, n-(b-a))}
		m, _, err := train.FitSeriesContext(ctx, part, fo)
		if err != nil {
			return nil, fmt.Errorf("learn: fold %d: %w", f+1, err)
		}
		if b-a < m.Steps {
			return nil, fmt.Errorf("learn: fold %d holds %d rows, fewer than a window of %d", f+1, b-a, m.Steps)
		}
		out = append(out, fold{m, a, b})
	}
	return out, nil
}

// probeFolds streams each fold's rows (raw, missing values as they came)
// through its model as the scorer will (hop, robust reconstruction with
// outlier level tau; negative: plain), collecting every learning row's
// out-of-sample residuals.
func probeFolds(raw *dataset.Series, folds []fold, hop int, tau float64) (*anomaly.Residuals, error) {
	c := raw.Channels()
	res := anomaly.NewResiduals(c)
	for _, f := range folds {
		res.Break()
		sc, err := anomaly.New(f.m, anomaly.Config{Probe: res.Add, Settings: anomaly.Settings{Hop: hop, Outlier: tau}, Stream: stream.Config{MaxGap: -1}}, nil)
		if err != nil {
			return nil, err
		}
		for t := f.a; t < f.b; t++ {
			if err := sc.Push(stream.Row{Values: raw.Values[t*c : (t+1)*c], Line: t + 1}); err != nil {
				return nil, err
			}
		}
		if err := sc.Close(); err != nil {
			return nil, err
		}
	}
	if res.Rows() == 0 {
		return nil, errors.New("learn: no out-of-sample rows")
	}
	return res, nil
}

// crossResiduals returns the out-of-sample residuals of every learning
// row: a plain pass sets the robust reconstruction's outlier level, then
// the folds are probed again as the scorer will reconstruct.
func crossResiduals(ctx context.Context, raw, filled *dataset.Series, so train.SeriesOptions, folds, hop int) (*anomaly.Residuals, float64, error) {
	fs, err := crossFit(ctx, raw, filled, so, folds)
	if err != nil {
		return nil, 0, err
	}
	res, err := probeFolds(raw, fs, hop, -1)
	if err != nil {
		return nil, 0, err
	}
	tau := res.OutlierLevel()
	res, err = probeFolds(raw, fs, hop, tau)
	return res, tau, err
}

// Quantize returns the int8 copy of a float model learned by Fit, its
// activation ranges calibrated on the learning rows (qo; nil: min/max with
// 25% headroom, the layers around the code in float32, and the first
// layer too where the input channels' ranges are too unequal for one int8
// scale: see quant.Options.InputSpread; the input's range at least
// ±quant.DefaultInputRange), and the
// scorer's settings carried over (see CarryOver).
func Quantize(fm *model.Model, filled *dataset.Series, qo *quant.Options) (*model.Model, *quant.Report, error) {
	calWin, _, err := filled.Windows(fm.Steps, max(1, fm.Steps/4, filled.Len()/4000))
	if err != nil {
		return nil, nil, err
	}
	// Min/max ranges with headroom: a stream may drift past what the
	// learning rows showed.
	o := quant.Options{Method: quant.MinMax, Headroom: 0.25, FloatBottleneck: true, InputSpread: quant.DefaultInputSpread, InputRange: quant.DefaultInputRange}
	if qo != nil {
		o = *qo
	}
	qm, qr, err := quant.Quantize(fm, calWin, o)
	if err != nil {
		return nil, nil, err
	}
	if err := CarryOver(fm, qm, calWin); err != nil {
		return nil, nil, err
	}
	qm.ChannelNames = slices.Clone(fm.ChannelNames)
	return qm, qr, nil
}

// CarryOver gives the int8 copy qm of fm the float model's anomaly
// settings (if it has any), with each channel's scale widened by the int8
// model's extra error on windows (raw units): its mean squared difference
// from the float reconstruction is added to the squared scale, so the
// tails learned for the float model still hold.
func CarryOver(fm, qm *model.Model, windows []float32) error {
	set, err := anomaly.Load(fm)
	if errors.Is(err, anomaly.ErrNoSettings) {
		return nil
	}
	if err != nil {
		return err
	}
	extra, err := quantError(fm, qm, windows)
	if err != nil {
		return err
	}
	set.Scale = slices.Clone(set.Scale)
	for ch := range set.Scale {
		set.Scale[ch] = math.Sqrt(float64(set.Scale[ch]*set.Scale[ch]) + extra[ch])
	}
	return anomaly.Store(qm, set)
}

// quantError returns, per channel, the mean squared difference between
// the int8 and float reconstructions of the windows, in normalised units.
func quantError(fm, qm *model.Model, win []float32) ([]float64, error) {
	fs, err := fm.NewSession(1)
	if err != nil {
		return nil, err
	}
	qs, err := qm.NewSession(1)
	if err != nil {
		return nil, err
	}
	d, c := fm.Steps*fm.Channels, fm.Channels
	_, scale := fm.Norm.Affine(c)
	fr, qr := make([]float32, d), make([]float32, d)
	out := make([]float64, c)
	count := 0
	for i := 0; i+d <= len(win); i += d {
		if err := fs.Reconstruct(fr, win[i:i+d]); err != nil {
			return nil, err
		}
		if err := qs.Reconstruct(qr, win[i:i+d]); err != nil {
			return nil, err
		}
		for j := range fr {
			ch := j % c
			e := float64(fr[j]-qr[j]) / float64(scale[ch])
			out[ch] += float64(e * e)
		}
		count += fm.Steps
	}
	for ch := range out {
		out[ch] /= float64(max(count, 1))
	}
	return out, nil
}
