package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/pca"
)

// SeriesOptions configure FitSeries: how a series becomes windows, the
// architecture and the training run.
type SeriesOptions struct {
	// Arch is the architecture; FitSeries sets Channels from the series
	// and Steps from Window.
	Arch Arch
	// Window is the window length in rows (default 64); Hop the rows
	// between window starts (default Window/4).
	Window, Hop int
	// ValFraction is the share of rows, at the end of the series, held
	// out for validation (default 0.2; negative: none, the training loss
	// decides early stopping).
	ValFraction float64
	// Norm is the input normalisation fitted on the training rows
	// (default meanstd; dataset.Robust for median and IQR).
	Norm model.NormKind
	// Normalization, if set, is used as it is instead of fitting one.
	Normalization *model.Normalization
	// Config is the training run.
	Config Config
	// NoBaseline skips the PCA comparison.
	NoBaseline bool
	// Init chooses the starting weights: "auto" (default: the PCA warm
	// start where the architecture allows it, see WarmStart; random
	// otherwise), "pca" (the warm start or an error) or "random".
	Init string
}

func (o *SeriesOptions) defaults() {
	if o.Window == 0 {
		o.Window = 64
	}
	if o.Hop == 0 {
		o.Hop = max(1, o.Window/4)
	}
	if o.ValFraction == 0 {
		o.ValFraction = 0.2
	}
	if o.ValFraction < 0 {
		o.ValFraction = 0
	}
	if o.Norm == "" {
		o.Norm = model.NormMeanStd
	}
	if o.Init == "" {
		o.Init = "auto"
	}
}

// SeriesResult reports FitSeries: the training run and how the model
// compares with the linear baseline on the validation windows.
type SeriesResult struct {
	*Result
	TrainRows, ValRows       int
	TrainWindows, ValWindows int
	// ValMSE is the trained model's mean squared reconstruction error on
	// the validation windows (the training windows without a validation
	// split), in normalised units, inference as deployed (the mean of a
	// variational code, no corruption). ValVariance is the windows' mean
	// variance per value, so ValMSE/ValVariance is the share of the
	// signal the model fails to reconstruct.
	ValMSE, ValVariance float64
	// PCAMSE is the same error for PCA with as many components as the
	// model's latent size, fitted on the training windows (NaN with
	// NoBaseline or too few windows).
	PCAMSE        float64
	PCAComponents int
	// WarmStarted says the model started from PCA (see WarmStart).
	WarmStarted bool
	// Pinned names the channels that held one value in every learning
	// row: a dense model ignores them as inputs and reconstructs them as
	// that value (see model.Model.PinChannels).
	Pinned []string
}

// Variant names the autoencoder variant a configuration trains:
// "variational", "denoising", "sparse" or "vanilla" (combinations joined
// by "+").
func Variant(a Arch, c Config) string {
	var v []string
	if a.Variational {
		v = append(v, "variational")
	}
	if c.Corrupt.Active() {
		v = append(v, "denoising")
	}
	if c.L1 > 0 || c.KLWeight > 0 {
		v = append(v, "sparse")
	}
	if len(v) == 0 {
		return "vanilla"
	}
	return strings.Join(v, "+")
}

// FitSeries builds a model for the series, fits its normalisation on the
// first rows (all but the last ValFraction), cuts windows from both parts
// separately (so no validation row is ever trained on), trains, and
// compares the result with PCA. The model records the channel names, the
// window settings (model.Training) and the run in its provenance is left
// to the caller.
func FitSeries(s *dataset.Series, o SeriesOptions) (*model.Model, *SeriesResult, error) {
	return FitSeriesContext(context.Background(), s, o)
}

// FitSeriesContext is FitSeries that stops when ctx is done (see
// TrainContext), returning an error that wraps ctx's and no model.
func FitSeriesContext(ctx context.Context, s *dataset.Series, o SeriesOptions) (*model.Model, *SeriesResult, error) {
	o.defaults()
	trainS, valS, err := o.split(s)
	if err != nil {
		return nil, nil, err
	}
	a := o.Arch
	a.Steps, a.Channels = o.Window, s.Channels()
	m, err := Build(a, o.Config.Seed)
	if err != nil {
		return nil, nil, err
	}
	if o.Normalization != nil {
		m.Norm = *o.Normalization
	} else if m.Norm, err = trainS.FitNormalization(o.Norm); err != nil {
		return nil, nil, err
	}
	m.ChannelNames = append([]string(nil), s.Names...)
	trainX, nTrain, err := normalisedWindows(trainS, o, m.Norm)
	if err != nil {
		return nil, nil, err
	}
	var valX []float32
	nVal := 0
	if valS != nil {
		if valX, nVal, err = normalisedWindows(valS, o, m.Norm); err != nil {
			return nil, nil, err
		}
	}
	p, err := o.baseline(trainX, nTrain, a.Steps*a.Channels, m.Latent())
	if err != nil {
		return nil, nil, err
	}
	warm, err := o.start(m, p, nTrain)
	if err != nil {
		return nil, nil, err
	}
	res, err := TrainContext(ctx, m, trainX, valX, o.Config)
	if res != nil {
		res.NoiseVar = o.Config.NoiseVar
	}
	if err != nil {
		return nil, nil, err
	}
	pinned, err := pinConstant(m, s)
	if err != nil {
		return nil, nil, err
	}
	sr := &SeriesResult{Result: res, TrainRows: trainS.Len(), TrainWindows: nTrain, ValWindows: nVal,
		PCAMSE: math.NaN(), PCAComponents: m.Latent(), WarmStarted: warm, Pinned: pinned}
	if valS != nil {
		sr.ValRows = valS.Len()
	}
	evalX := valX
	if nVal == 0 {
		evalX = trainX
	}
	if err := sr.evaluate(m, evalX, p, o.NoBaseline); err != nil {
		return nil, nil, err
	}
	if err := model.TrainingSection.Put(m, o.record(s, a, sr)); err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	return m, sr, nil
}

// split checks the options against the series and splits off the
// validation rows (the last ValFraction of them; none if not positive).
func (o *SeriesOptions) split(s *dataset.Series) (trainS, valS *dataset.Series, err error) {
	if o.Window < 1 || o.Hop < 1 || o.Hop > o.Window {
		return nil, nil, fmt.Errorf("train: window %d and hop %d: want 1 <= hop <= window", o.Window, o.Hop)
	}
	if o.Init != "auto" && o.Init != "pca" && o.Init != "random" {
		return nil, nil, fmt.Errorf("train: unknown initialisation %q (auto, pca or random)", o.Init)
	}
	if o.ValFraction >= 1 {
		return nil, nil, fmt.Errorf("train: validation fraction %v must be below 1", o.ValFraction)
	}
	trainS = s
	if o.ValFraction > 0 {
		trainS, valS = s.Split(o.ValFraction)
	}
	if trainS.Len() < o.Window {
		return nil, nil, fmt.Errorf("%s: the training part holds %d rows (of %d), too few for one %d-row window; use a shorter --window or more data", s.Source, trainS.Len(), s.Len(), o.Window)
	}
	if valS != nil && valS.Len() < o.Window {
		return nil, nil, fmt.Errorf("%s: the validation part (the last %.0f%%) holds %d rows, too few for one %d-row window; use a shorter --window, a larger validation fraction, more data, or no validation (--val -1)", s.Source, 100*o.ValFraction, valS.Len(), o.Window)
	}
	return trainS, valS, nil
}

// normalisedWindows cuts the series into the options' windows, normalised.
func normalisedWindows(s *dataset.Series, o SeriesOptions, norm model.Normalization) ([]float32, int, error) {
	x, n, err := s.Windows(o.Window, o.Hop)
	if err != nil {
		return nil, 0, err
	}
	dataset.Normalize(x, norm, s.Channels())
	return x, n, nil
}

// baseline fits PCA with k components to the training windows (d values
// each) when a warm start, a baseline or a denoising model's noise level
// needs it; nil when none does or the windows are too few.
func (o *SeriesOptions) baseline(trainX []float32, nTrain, d, k int) (*pca.PCA, error) {
	denoising := o.Config.Corrupt.Active()
	if !(!o.NoBaseline || o.Init != "random" || denoising) || nTrain < 2 || k > d || d > pca.MaxDim {
		return nil, nil
	}
	// A denoising model also needs the noise level: the variance PCA
	// leaves out beyond a generous number of components is taken as
	// noise (an overestimate if signal remains there, which only makes
	// validation favour smoother models).
	kFit := k
	if denoising && o.Config.NoiseVar == 0 {
		kFit = max(k, min(d/2, 4*k))
	}
	full, err := pca.Fit(trainX, d, kFit)
	if err != nil {
		return nil, fmt.Errorf("train: the PCA baseline: %w", err)
	}
	if denoising && o.Config.NoiseVar == 0 && kFit < d {
		kept := 0.0
		for _, v := range full.Variance {
			kept += v
		}
		o.Config.NoiseVar = math.Max((full.TotalVariance-kept)/float64(d-kFit), 1e-6)
	}
	return full.Truncate(k), nil
}

// start warm-starts m from PCA as the options ask, and reports whether it
// did.
func (o *SeriesOptions) start(m *model.Model, p *pca.PCA, nTrain int) (bool, error) {
	switch {
	case o.Init == "random":
		return false, nil
	case p == nil && o.Init == "pca":
		return false, fmt.Errorf("train: no PCA warm start: %d training windows of %d values, latent %d", nTrain, m.Steps*m.Channels, m.Latent())
	case p == nil:
		return false, nil
	}
	err := WarmStart(m, p)
	if err != nil && (o.Init == "pca" || !errors.Is(err, ErrNoWarmStart)) {
		return false, err
	}
	return err == nil, nil
}

// evaluate measures the trained model, and PCA unless noBaseline, on the
// evaluation windows.
func (sr *SeriesResult) evaluate(m *model.Model, evalX []float32, p *pca.PCA, noBaseline bool) error {
	var err error
	if sr.ValMSE, err = ReconstructionMSE(m, evalX); err != nil {
		return err
	}
	sr.ValVariance = meanVariance(evalX, m.Steps*m.Channels)
	if p != nil && !noBaseline {
		sr.PCAMSE = p.MeanSquaredError(evalX)
	}
	return nil
}

// record returns what the model keeps of its training.
func (o *SeriesOptions) record(s *dataset.Series, a Arch, sr *SeriesResult) model.Training {
	res := sr.Result
	set := model.Training{Window: o.Window, Hop: o.Hop, ValFraction: o.ValFraction, Variant: Variant(a, o.Config),
		Epochs: res.Epochs, BestEpoch: res.BestEpoch, ValMSE: sr.ValMSE, Init: "random", NoiseVar: res.NoiseVar, Pinned: sr.Pinned}
	if sr.WarmStarted {
		set.Init = "pca"
	}
	set.Period, set.MaxGap = s.Sampling()
	if !math.IsNaN(sr.PCAMSE) {
		set.PCAMSE = sr.PCAMSE
	}
	return set
}

// ReconstructionMSE returns the model's mean squared reconstruction error
// over normalised windows x, computed as deployed: through a session on
// the normalised input (the model's own normalisation is bypassed).
func ReconstructionMSE(m *model.Model, x []float32) (float64, error) {
	win := m.Steps * m.Channels
	if len(x) == 0 || len(x)%win != 0 {
		return 0, fmt.Errorf("train: %d values are not whole %d-value windows", len(x), win)
	}
	// Evaluate the normalised windows with the normalisation switched off
	// on a shallow copy of the model, every other field kept (compiling
	// copies it deeply).
	mc := *m
	mc.Norm = model.Normalization{Kind: model.NormNone}
	const batch = 64
	s, err := mc.NewSession(batch)
	if err != nil {
		return 0, err
	}
	out := make([]float32, batch*win)
	var total float64
	n := len(x) / win
	for i := 0; i < n; i += batch {
		rows := min(batch, n-i)
		in := x[i*win : (i+rows)*win]
		if err := s.Reconstruct(out[:rows*win], in); err != nil {
			return 0, err
		}
		for j, v := range in {
			d := float64(v) - float64(out[j])
			total += float64(d * d)
		}
	}
	return total / float64(len(x)), nil
}

// meanVariance returns the variance of each of the win positions across
// the windows, averaged over the positions (PCA with no components).
func meanVariance(x []float32, win int) float64 {
	n := len(x) / win
	if n < 2 {
		return math.NaN()
	}
	var total float64
	for j := 0; j < win; j++ {
		var s, sq float64
		for i := 0; i < n; i++ {
			v := float64(x[i*win+j])
			s += v
			sq += float64(v * v)
		}
		mean := s / float64(n)
		total += sq/float64(n) - float64(mean*mean)
	}
	return total / float64(win)
}

// pinConstant pins, in a dense model, the channels that held one value in
// every row of s (see model.Model.PinChannels) and returns their names.
// Other architectures are left as they are.
func pinConstant(m *model.Model, s *dataset.Series) ([]string, error) {
	if m.Encoder[0].Kind != model.Dense || m.Decoder[len(m.Decoder)-1].Kind != model.Dense {
		return nil, nil
	}
	c := s.Channels()
	row := make([]float32, c)
	values := map[int]float32{}
	var names []string
	for ch := range c {
		v, ok := constantValue(s.Values, c, ch)
		if !ok {
			continue
		}
		row[ch] = v
		values[ch] = 0
		names = append(names, s.Names[ch])
	}
	if len(values) == 0 {
		return nil, nil
	}
	dataset.Normalize(row, m.Norm, c)
	for ch := range values {
		values[ch] = row[ch]
	}
	if err := m.PinChannels(values); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return names, nil
}

// constantValue returns the one value channel ch holds in every row (NaN
// rows aside), if it holds one.
func constantValue(x []float32, c, ch int) (float32, bool) {
	var v float32
	seen := false
	for i := ch; i < len(x); i += c {
		switch y := x[i]; {
		case y != y:
		case !seen:
			v, seen = y, true
		case y != v:
			return 0, false
		}
	}
	return v, seen
}
