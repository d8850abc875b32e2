// Package demo runs edge's whole job on generated sensor data and
// measures it: train a denoising autoencoder on normal readings, quantise
// it to int8, then denoise and score a held-out stream with labelled
// anomalies, against classical filters and baseline detectors. `edge
// demo` and `edge eval` are front ends to Run.
package demo

import (
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/pca"
	"github.com/edgeml/edge/quant"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

// Config describes the experiment. The zero value is the demo.
type Config struct {
	Channels int     // sensors (default 8)
	Day      int     // samples per day (default 288, one every 5 minutes)
	Noise    float64 // Gaussian observation noise in gains (default 0.3)
	// Nonlinear gives some sensors non-linear responses to the shared
	// drivers (see synth.Config.Linear); by default every sensor is a
	// linear mix of them, the usual latent-factor model.
	Nonlinear bool
	// KeepFloat lists layers the int8 model keeps in float32.
	KeepFloat []string
	// Quant selects the activation calibration and Headroom widens its
	// ranges (see quant.Options); defaults min/max and 0.25, which kept
	// the int8 denoiser within 0.25 dB of float32 on seeds 1 to 5, where
	// MSE-optimal ranges without headroom lost up to 1.2 dB to clipping
	// when the test days drifted past the training range.
	Quant    quant.Method
	Headroom float64
	// Days of each part of the one generated installation: normal data to
	// train on (a whole seasonal cycle, so the test days hold no state the
	// model never saw) and to calibrate the threshold on, then two
	// labelled streams with anomalies: one to tune the baselines'
	// parameters on, one to test everything on (defaults 35, 4, 7, 28).
	TrainDays, CalibDays, TuneDays, TestDays float64
	// Anomalies per labelled day (default 0.5).
	AnomaliesPerDay float64
	Window, Hop     int   // model window and stream hop (defaults 64, 8)
	TrainHop        int   // hop between training windows (default 2)
	Latent          int   // default 12
	Hidden          []int // default 128, 64
	Epochs          int   // default 40
	Patience        int   // early stopping (default 10; negative: off)
	LR              float64
	WeightDecay     float64
	Arch            string // "dense" (default) or "conv"
	// Robust overrides the denoiser's robust-reconstruction settings.
	Robust denoise.Settings
	// Corrupt is the denoising corruption of the training inputs
	// (default: Gaussian 0.2, mask 0.05).
	Corrupt *train.Corruption
	Seed    uint64
	Threads int       // training threads (default: all cores)
	Log     io.Writer // progress lines (nil: quiet)
}

func (c *Config) defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Channels, 8)
	def(&c.Day, 288)
	deff(&c.Noise, 0.3)
	deff(&c.TrainDays, 35)
	deff(&c.CalibDays, 4)
	deff(&c.TuneDays, 7)
	deff(&c.TestDays, 28)
	deff(&c.AnomaliesPerDay, 0.5)
	def(&c.Window, 64)
	def(&c.Hop, 8)
	def(&c.TrainHop, 2)
	def(&c.Latent, 12)
	def(&c.Epochs, 40)
	if c.Hidden == nil {
		c.Hidden = []int{128, 64}
	}
	def(&c.Threads, runtime.NumCPU())
	if c.Quant == "" {
		c.Quant = quant.MinMax
	}
	if c.Headroom == 0 {
		c.Headroom = 0.25
	}
	if c.Corrupt == nil {
		c.Corrupt = &train.Corruption{Gaussian: 0.2, Mask: 0.05}
	}
	if c.Seed == 0 {
		c.Seed = 1
	}
}

// Part is one stretch of the generated installation.
type Part struct {
	Start, Rows int
	Clean       []float32 // noise- and anomaly-free signal
	Observed    []float32 // what the sensors read (NaN in dropouts)
	Labels      []synth.Kind
	Anomalies   []synth.Anomaly
}

// Data is the generated installation.
type Data struct {
	Names                    []string
	Train, Calib, Tune, Test Part
}

// Generate builds the installation's data.
func Generate(c Config) (*Data, error) {
	c.defaults()
	rows := func(days float64) int { return int(days * float64(c.Day)) }
	nTrain, nCal, nTune, nTest := rows(c.TrainDays), rows(c.CalibDays), rows(c.TuneDays), rows(c.TestDays)
	tuneAt, testAt := nTrain+nCal, nTrain+nCal+nTune
	anoms := synth.Schedule(tuneAt, nTune, max(1, int(c.TuneDays*c.AnomaliesPerDay)), c.Channels, c.Seed+1)
	anoms = append(anoms, synth.Schedule(testAt, nTest, max(1, int(c.TestDays*c.AnomaliesPerDay)), c.Channels, c.Seed+2)...)
	g, err := synth.New(synth.Config{Channels: c.Channels, Day: float64(c.Day), Noise: c.Noise, Anomalies: anoms, Seed: c.Seed, Linear: !c.Nonlinear})
	if err != nil {
		return nil, err
	}
	d := &Data{Names: g.Names()}
	part := func(start, n int) Part {
		cl, ob, lb := g.Labelled(n)
		p := Part{Start: start, Rows: n, Clean: cl, Observed: ob, Labels: lb}
		for _, a := range anoms {
			if a.Start >= start && a.Start < start+n {
				p.Anomalies = append(p.Anomalies, a)
			}
		}
		return p
	}
	d.Train = part(0, nTrain)
	d.Calib = part(nTrain, nCal)
	d.Tune = part(tuneAt, nTune)
	d.Test = part(testAt, nTest)
	return d, nil
}

// DenoiseRow is one denoiser's result on the test stream's normal rows.
type DenoiseRow struct {
	Method, Mode, Param string
	SNR                 float64 // dB
	Gain                float64 // SNR - input SNR, dB
	RelRMSE             float64 // RMSE / clean std, mean over channels
}

// ScoreRow is one detector's result on the test stream's windows.
type ScoreRow struct {
	Method, Param       string
	AUC                 float64
	Threshold           float64 // calibrated on normal data
	Precision, Recall   float64 // at the calibrated threshold
	F1, BestF1          float64
	EventsFound, Events int // anomalies with at least one window over the threshold
	FalseAlarmWindows   int
}

// Report is everything Run measured.
type Report struct {
	Config         Config
	Family         string // kernel family in use
	Data           *Data
	Float, Int8    *model.Model
	Train          *train.SeriesResult
	TrainTime      time.Duration
	Quant          *quant.Report
	InputSNR       float64 // dB, test normal rows, after imputation
	InputRelRMSE   float64
	Denoise        []DenoiseRow
	Scores         []ScoreRow
	PerKindRecall  map[string]map[string]float64 // method -> kind -> share of events found
	WindowNs       map[string]float64            // "float32"/"int8": median ns to reconstruct one window
	StreamRate     map[string]float64            // "denoise"/"score": samples/s through an int8 stream, one core
	Settings       anomaly.Settings              // int8 scorer's
	Cleaned        map[string][]float32          // test stream: "int8/centred", "int8/causal", "float32/centred", ...
	TestScores     map[string][]float64          // per window: "int8", "float32", "pca", "rolling-z"
	WindowEnds     []int                         // test rows at which windows end
	WindowLabels   []bool
	Flags          []bool // int8 scorer, hysteresis and minimum duration applied
	Latent         []float32
	LatentDim      int
	ImputedTest    []float32 // the test input after imputation
	NormalTestRows []bool
}

func (c Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, format+"\n", args...)
	}
}

// Run generates the data, trains, quantises, denoises, scores and compares.
func Run(c Config) (*Report, error) {
	c.defaults()
	r := &Report{Config: c, Family: kernels.Current().String(), PerKindRecall: map[string]map[string]float64{},
		WindowNs: map[string]float64{}, StreamRate: map[string]float64{}, Cleaned: map[string][]float32{}, TestScores: map[string][]float64{}}
	d, err := Generate(c)
	if err != nil {
		return nil, err
	}
	r.Data = d
	ch := c.Channels
	c.logf("generated %d sensors: %d rows to train on, %d to calibrate, %d to tune baselines, %d to test (%d anomalies)",
		ch, d.Train.Rows, d.Calib.Rows, d.Tune.Rows, d.Test.Rows, len(d.Test.Anomalies))

	// Train on what the sensors read, gaps imputed as a stream would.
	trainX := slices.Clone(d.Train.Observed)
	denoise.ImputeHold(trainX, ch, nil)
	series := &dataset.Series{Source: "generated", Names: d.Names, Values: trainX, Lines: make([]int, d.Train.Rows)}
	opt := train.SeriesOptions{Window: c.Window, Hop: c.TrainHop,
		Arch: train.Arch{Kind: c.Arch, Hidden: c.Hidden, Latent: c.Latent},
		Config: train.Config{Epochs: c.Epochs, Seed: c.Seed, Threads: c.Threads, Patience: c.Patience, LR: c.LR, WeightDecay: c.WeightDecay,
			Corrupt: *c.Corrupt},
	}
	t0 := time.Now()
	fm, tr, err := train.FitSeries(series, opt)
	if err != nil {
		return nil, err
	}
	r.TrainTime, r.Train, r.Float = time.Since(t0), tr, fm
	if c.Log != nil && len(tr.History) > 0 {
		for i, h := range tr.History {
			if i%5 == 0 || i == len(tr.History)-1 {
				c.logf("  epoch %d: train %.5f, validation %.5f", i+1, h.TrainLoss, h.ValLoss)
			}
		}
		c.logf("  initial validation %.5f, best epoch %d", tr.InitialValLoss, tr.BestEpoch)
	}
	c.logf("trained a denoising autoencoder (%s) in %s: validation error %.4f, PCA %.4f",
		describe(fm), r.TrainTime.Round(time.Millisecond), tr.ValMSE, tr.PCAMSE)

	// The denoiser edge learns with every model: blind-spot predictors
	// from the same noisy rows.
	dr, err := learn.AddDenoiser(fm, &dataset.Series{Source: "generated", Names: d.Names, Values: d.Train.Observed, Lines: make([]int, d.Train.Rows)})
	if err != nil {
		return nil, err
	}
	c.logf("denoiser: estimated error per value on the training rows: %s; the model cleans with: %v", strings.Join(dr.DenoiseRisk, "; "), dr.Filters)

	// Quantise, calibrating on the training windows.
	calibWin, _, err := series.Windows(c.Window, c.Window/4)
	if err != nil {
		return nil, err
	}
	qm, qr, err := quant.Quantize(fm, calibWin, quant.Options{Method: c.Quant, Headroom: c.Headroom, KeepFloat: c.KeepFloat, FloatBottleneck: true})
	if err != nil {
		return nil, err
	}
	r.Int8, r.Quant = qm, qr
	c.logf("quantised to int8 (the bottleneck layers stay float32): reconstruction error %+.2f%% against float32", 100*qr.Growth)

	// Thresholds on the normal calibration days, for both models, streamed
	// as the test days will be.
	base := anomaly.Settings{Hop: c.Hop}
	for _, m := range []*model.Model{fm, qm} {
		set, err := anomaly.Calibrate(m, d.Calib.Observed, anomaly.LearnOptions{Base: base})
		if err != nil {
			return nil, err
		}
		if err := anomaly.Store(m, set); err != nil {
			return nil, err
		}
	}
	r.Settings, _ = anomaly.Load(qm)
	calX := slices.Clone(d.Calib.Observed)
	denoise.ImputeHold(calX, ch, nil)
	calS := &dataset.Series{Source: "calibration", Names: d.Names, Values: calX, Lines: make([]int, d.Calib.Rows)}
	calWin, _, err := calS.Windows(c.Window, c.Hop)
	if err != nil {
		return nil, err
	}

	if err := r.denoise(); err != nil {
		return nil, err
	}
	if err := r.score(calWin); err != nil {
		return nil, err
	}
	if err := r.speed(); err != nil {
		return nil, err
	}
	return r, nil
}

func describe(m *model.Model) string {
	var w []string
	w = append(w, fmt.Sprint(m.Steps*m.Channels))
	for _, l := range append(slices.Clone(m.Encoder), m.Decoder...) {
		if l.Kind == model.Dense {
			w = append(w, fmt.Sprint(l.Out))
		}
	}
	s := "dense"
	for i, v := range w {
		if i == 0 {
			s += " " + v
		} else {
			s += "-" + v
		}
	}
	return s
}

// runDenoiser streams a part through a denoiser and returns the cleaned
// series.
func runDenoiser(m *model.Model, mode denoise.Mode, hop int, observed []float32, ch int, set denoise.Settings) ([]float32, error) {
	out := make([]float32, 0, len(observed))
	d, err := denoise.New(m, denoise.Config{Mode: mode, Stream: stream.Config{Hop: hop}, Settings: set}, func(s *denoise.Sample) error {
		out = append(out, s.Values...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	n := len(observed) / ch
	for t := 0; t < n; t++ {
		if err := d.Push(stream.Row{Values: observed[t*ch : (t+1)*ch], Line: t}); err != nil {
			return nil, err
		}
	}
	if err := d.Close(); err != nil {
		return nil, err
	}
	if len(out) != len(observed) {
		return nil, fmt.Errorf("demo: the denoiser returned %d values for %d", len(out), len(observed))
	}
	return out, nil
}

// normalRows marks the rows of a part at least margin rows away from
// every labelled anomaly.
func normalRows(p Part, margin int) []bool {
	out := make([]bool, p.Rows)
	last := -1 << 30 // the last anomalous row seen
	for i, l := range p.Labels {
		if l != synth.None {
			last = i
		}
		out[i] = i-last > margin
	}
	last = 1 << 30
	for i := p.Rows - 1; i >= 0; i-- {
		if p.Labels[i] != synth.None {
			last = i
		}
		out[i] = out[i] && last-i > margin
	}
	return out
}

func (r *Report) denoise() error {
	c, d := r.Config, r.Data
	ch := c.Channels
	test := slices.Clone(d.Test.Observed)
	denoise.ImputeHold(test, ch, nil)
	r.ImputedTest = test
	// Denoising is judged on the rows a window away from any anomaly:
	// the clean signal has no anomalies, yet they are real readings a
	// denoiser should not erase, so near them the right answer is moot.
	use := normalRows(d.Test, c.Window)
	r.NormalTestRows = use
	r.InputSNR, r.InputRelRMSE = denoise.SNR(test, d.Test.Clean, ch, use)
	for _, mode := range []denoise.Mode{denoise.Centred, denoise.Causal} {
		for _, v := range []struct {
			name string
			m    *model.Model
		}{{"float32", r.Float}, {"int8", r.Int8}} {
			// The model's own choice (learned with it: the blind-spot
			// predictor blended with a classical filter, or the autoencoder
			// where clearly better on the training rows), and the
			// autoencoder for comparison.
			for _, method := range []string{"", denoise.MethodAutoencoder} {
				set := c.Robust
				set.Method = method
				out, err := runDenoiser(v.m, mode, c.Hop, d.Test.Observed, ch, set)
				if err != nil {
					return err
				}
				name, param := method, fmt.Sprintf("window %d, hop %d", c.Window, c.Hop)
				if method == "" {
					r.Cleaned[v.name+"/"+mode.String()] = out // what edge denoise does by default
					chosen, _ := denoise.MethodOf(v.m, mode)
					name, param = "edge", chosen
				}
				snr, rel := denoise.SNR(out, d.Test.Clean, ch, use)
				r.Denoise = append(r.Denoise, DenoiseRow{Method: name + " " + v.name, Mode: mode.String(),
					Param: param, SNR: snr, Gain: snr - r.InputSNR, RelRMSE: rel})
			}
		}
	}
	// The classical filters: parameters tuned on the tuning days' normal
	// rows, per mode; reported on the test days.
	tune := slices.Clone(d.Tune.Observed)
	denoise.ImputeHold(tune, ch, nil)
	tuneUse := normalRows(d.Tune, c.Window)
	names := make([]string, 0)
	grid := denoise.Classical()
	for n := range grid {
		names = append(names, n)
	}
	sort.Strings(names)
	buf := make([]float32, len(tune))
	out := make([]float32, len(test))
	for _, causal := range []bool{false, true} {
		mode := "centred"
		if causal {
			mode = "causal"
		}
		for _, name := range names {
			best, bestSNR := -1, math.Inf(-1)
			for i, f := range grid[name] {
				f.Apply(buf, tune, ch, causal)
				if s, _ := denoise.SNR(buf, d.Tune.Clean, ch, tuneUse); s > bestSNR {
					best, bestSNR = i, s
				}
			}
			f := grid[name][best]
			f.Apply(out, test, ch, causal)
			snr, rel := denoise.SNR(out, d.Test.Clean, ch, use)
			r.Denoise = append(r.Denoise, DenoiseRow{Method: name, Mode: mode, Param: f.Param, SNR: snr, Gain: snr - r.InputSNR, RelRMSE: rel})
		}
	}
	return nil
}

// windowLabels returns the end rows of the windows a stream with this
// window and hop scores over n rows (including the final aligned one) and
// whether each overlaps an anomaly.
func windowLabels(p Part, steps, hop int) ([]int, []bool) {
	var ends []int
	for e := steps - 1; e < p.Rows; e += hop {
		ends = append(ends, e)
	}
	if len(ends) > 0 && ends[len(ends)-1] != p.Rows-1 {
		ends = append(ends, p.Rows-1)
	}
	labels := make([]bool, len(ends))
	for i, e := range ends {
		for t := e - steps + 1; t <= e; t++ {
			if p.Labels[t] != synth.None {
				labels[i] = true
				break
			}
		}
	}
	return ends, labels
}

// scoreStream streams a part's observations through a scorer and returns
// the score and flag of each window's newest row.
func scoreStream(m *model.Model, hop int, observed []float32, ch int) ([]float64, []bool, error) {
	var raw []float64
	var flags []bool
	s, err := anomaly.New(m, anomaly.Config{Stream: stream.Config{Hop: hop}}, func(s *anomaly.Score) error {
		if s.Window {
			raw = append(raw, s.Score)
			flags = append(flags, s.Flag)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	n := len(observed) / ch
	for t := 0; t < n; t++ {
		if err := s.Push(stream.Row{Values: observed[t*ch : (t+1)*ch], Line: t}); err != nil {
			return nil, nil, err
		}
	}
	if err := s.Close(); err != nil {
		return nil, nil, err
	}
	return raw, flags, nil
}

func (r *Report) score(calWin []float32) error {
	c, d := r.Config, r.Data
	ch, steps := c.Channels, c.Window
	ends, labels := windowLabels(d.Test, steps, c.Hop)
	r.WindowEnds, r.WindowLabels = ends, labels
	for _, v := range []struct {
		name string
		m    *model.Model
	}{{"float32", r.Float}, {"int8", r.Int8}} {
		raw, flags, err := scoreStream(v.m, c.Hop, d.Test.Observed, ch)
		if err != nil {
			return err
		}
		if len(raw) != len(ends) {
			return fmt.Errorf("demo: %d scores for %d windows", len(raw), len(ends))
		}
		r.TestScores[v.name] = raw
		r.Scores = append(r.Scores, r.scoreRow("autoencoder "+v.name, "", raw, 0.5))
		if v.name == "int8" {
			r.Flags = flags
		}
	}

	// PCA with the model's latent size, fitted on the normalised training
	// windows, scored with the same capped error and calibrated the same way.
	// The baselines score whole windows, so their thresholds are set for
	// the rate at which a window holds at least one of the scorer's false
	// alarms per row if they were independent: 1-(1-rate)^steps.
	winRate := 1 - math.Pow(1-anomaly.DefaultAlarmRate, float64(steps))
	norm := r.Float.Norm
	trainX := slices.Clone(d.Train.Observed)
	denoise.ImputeHold(trainX, ch, nil)
	trainS := &dataset.Series{Names: d.Names, Values: trainX, Lines: make([]int, d.Train.Rows)}
	tw, _, err := trainS.Windows(steps, c.TrainHop)
	if err != nil {
		return err
	}
	dataset.Normalize(tw, norm, ch)
	p, err := pca.Fit(tw, steps*ch, c.Latent)
	if err != nil {
		return err
	}
	cw := slices.Clone(calWin)
	dataset.Normalize(cw, norm, ch)
	pcaTail, err := anomaly.FitTail(anomaly.PCAScores(p, cw, 4))
	if err != nil {
		return err
	}
	testWin := windowsAt(r.ImputedTest, ch, steps, ends)
	dataset.Normalize(testWin, norm, ch)
	ps := anomaly.PCAScores(p, testWin, 4)
	r.TestScores["pca"] = ps
	r.Scores = append(r.Scores, r.scoreRow("pca", fmt.Sprintf("%d components", c.Latent), ps, pcaTail.Threshold(winRate)))

	// Rolling z-score: the trail length tuned for AUC on the tuning days,
	// the threshold calibrated on the normal calibration days.
	tuneEnds, tuneLabels := windowLabels(d.Tune, steps, c.Hop)
	bestTrail, bestAUC := 0, -1.0
	for _, trail := range []int{16, 32, 64, 128, 288, 576} {
		s, err := anomaly.RollingZ(d.Tune.Observed, ch, trail, steps, tuneEnds)
		if err != nil {
			return err
		}
		if a := anomaly.AUC(s, tuneLabels); a > bestAUC {
			bestTrail, bestAUC = trail, a
		}
	}
	calEnds, _ := windowLabels(Part{Rows: d.Calib.Rows, Labels: d.Calib.Labels}, steps, c.Hop)
	cs, err := anomaly.RollingZ(d.Calib.Observed, ch, bestTrail, steps, calEnds)
	if err != nil {
		return err
	}
	zTail, err := anomaly.FitTail(cs)
	if err != nil {
		return err
	}
	zs, err := anomaly.RollingZ(d.Test.Observed, ch, bestTrail, steps, ends)
	if err != nil {
		return err
	}
	r.TestScores["rolling-z"] = zs
	r.Scores = append(r.Scores, r.scoreRow("rolling z-score", fmt.Sprintf("trail %d", bestTrail), zs, zTail.Threshold(winRate)))

	// The latent codes of the test windows, for the scatter plot.
	s, err := r.Int8.NewSession(1)
	if err != nil {
		return err
	}
	r.LatentDim = r.Int8.Latent()
	raw := windowsAt(r.ImputedTest, ch, steps, ends)
	r.Latent = make([]float32, len(ends)*r.LatentDim)
	for i := range ends {
		if err := s.Encode(r.Latent[i*r.LatentDim:(i+1)*r.LatentDim], raw[i*steps*ch:(i+1)*steps*ch]); err != nil {
			return err
		}
	}
	return nil
}

// windowsAt copies the windows ending at ends out of a series.
func windowsAt(x []float32, ch, steps int, ends []int) []float32 {
	out := make([]float32, 0, len(ends)*steps*ch)
	for _, e := range ends {
		out = append(out, x[(e-steps+1)*ch:(e+1)*ch]...)
	}
	return out
}

func (r *Report) scoreRow(method, param string, scores []float64, thr float64) ScoreRow {
	labels := r.WindowLabels
	flags := anomaly.AtThreshold(scores, thr)
	cm := anomaly.Count(flags, labels)
	best, _ := anomaly.BestF1(scores, labels)
	row := ScoreRow{Method: method, Param: param, AUC: anomaly.AUC(scores, labels), Threshold: thr,
		Precision: cm.Precision(), Recall: cm.Recall(), F1: cm.F1(), BestF1: best, FalseAlarmWindows: cm.FP}
	found := map[string]int{}
	total := map[string]int{}
	testStart := r.Data.Test.Start
	for _, a := range r.Data.Test.Anomalies {
		k := a.Kind.String()
		total[k]++
		row.Events++
		s, e := a.Start-testStart, a.Start-testStart+a.Len-1
		for i, end := range r.WindowEnds {
			if flags[i] && end >= s && end-r.Config.Window+1 <= e {
				found[k]++
				row.EventsFound++
				break
			}
		}
	}
	rec := map[string]float64{}
	for k, n := range total {
		rec[k] = float64(found[k]) / float64(n)
	}
	r.PerKindRecall[method] = rec
	return row
}

// speed measures the int8 and float32 models' time per window and the
// streams' throughput, single-threaded.
func (r *Report) speed() error {
	c, d := r.Config, r.Data
	ch := c.Channels
	win := r.ImputedTest[:c.Window*ch]
	for _, v := range []struct {
		name string
		m    *model.Model
	}{{"float32", r.Float}, {"int8", r.Int8}} {
		s, err := v.m.NewSession(1)
		if err != nil {
			return err
		}
		out := make([]float32, len(win))
		times := make([]float64, 0, 64)
		for rep := 0; rep < 64; rep++ {
			t0 := time.Now()
			for i := 0; i < 16; i++ {
				_ = s.Reconstruct(out, win)
			}
			times = append(times, float64(time.Since(t0).Nanoseconds())/16)
		}
		slices.Sort(times)
		r.WindowNs[v.name] = times[len(times)/2]
	}
	n := d.Test.Rows
	t0 := time.Now()
	if _, err := runDenoiser(r.Int8, denoise.Centred, c.Hop, d.Test.Observed, ch, c.Robust); err != nil {
		return err
	}
	r.StreamRate["denoise"] = float64(n) / time.Since(t0).Seconds()
	t0 = time.Now()
	if _, _, err := scoreStream(r.Int8, c.Hop, d.Test.Observed, ch); err != nil {
		return err
	}
	r.StreamRate["score"] = float64(n) / time.Since(t0).Seconds()
	return nil
}
