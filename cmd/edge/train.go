package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/train"
)

// The variants' defaults: what --variant turns on when its own flags are
// left alone. They follow the usual choices in the literature: moderate
// Gaussian corruption plus a few masked values for denoising, a small L1
// activity penalty for sparsity, β = 1 for the VAE.
const (
	defaultNoise = 0.2
	defaultMask  = 0.05
	defaultL1    = 1e-3
)

func cmdTrain(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("train", stderr)
	data := fs.String("data", "", "CSV file of sensor readings with a header row (required; - reads stdin)")
	out := fs.String("o", "model.edge", "where to write the float32 model")
	timeCol := fs.String("time-column", "", `the timestamp column (default: a column named time, timestamp, ts, date or datetime, if any; "-": none)`)
	channels := fs.String("channels", "", "comma-separated columns to train on, in order (default: every column but the timestamp and label-like ones: label, anomaly, is_anomaly, outlier, fault, target, y, ...)")
	arch := fs.String("arch", "dense", "architecture: dense (fully connected) or conv (Conv1D encoder, transposed-conv decoder)")
	hidden := fs.String("hidden", "", "dense: hidden widths of the encoder (default 64,32); conv: channels of its convolutions (default 16,32); the decoder mirrors them")
	latent := fs.Int("latent", 8, "size of the latent code")
	act := fs.String("act", "relu", "hidden activation: relu, leaky_relu, tanh or sigmoid")
	kernel := fs.Int("kernel", 5, "conv: kernel taps")
	stride := fs.Int("stride", 2, "conv: stride of each convolution (the window must divide by stride^layers)")
	variant := fs.String("variant", "vanilla", "vanilla, denoising, sparse or variational (sets the defaults of the flags below)")
	noise := fs.Float64("noise", -1, fmt.Sprintf("denoising: std of Gaussian noise added to the inputs, in normalised units (variant default %g)", defaultNoise))
	mask := fs.Float64("mask", -1, fmt.Sprintf("denoising: probability that an input value is masked to the mean (variant default %g)", defaultMask))
	spikes := fs.Float64("spikes", 0, "denoising: probability that an input value gets an impulse of ±5 std")
	l1 := fs.Float64("l1", -1, fmt.Sprintf("sparse: weight of the L1 activity penalty on the code (variant default %g)", defaultL1))
	kl := fs.Float64("kl", 0, "sparse: weight of the KL sparsity penalty (makes the code a sigmoid; use instead of -l1)")
	klTarget := fs.Float64("kl-target", 0.05, "sparse: target mean activation for -kl")
	beta := fs.Float64("beta", 1, "variational: weight of the KL term")
	window := fs.Int("window", 64, "window length in rows")
	hop := fs.Int("hop", 0, "rows between window starts (default window/4)")
	val := fs.Float64("val", 0.2, "fraction of rows, at the end, held out for validation (-1: none)")
	norm := fs.String("norm", "meanstd", "per-channel input normalisation fitted on the training rows: meanstd, minmax or none")
	epochs := fs.Int("epochs", 100, "maximum epochs")
	batch := fs.Int("batch", 32, "windows per step")
	lr := fs.Float64("lr", 1e-3, "peak learning rate (Adam)")
	wd := fs.Float64("wd", 1e-4, "decoupled weight decay (AdamW)")
	schedule := fs.String("schedule", "cosine", "learning-rate schedule: cosine (warm-up, then cosine decay) or constant")
	patience := fs.Int("patience", 10, "stop after this many epochs without a better validation loss (-1: never)")
	clip := fs.Float64("clip", 5, "clip the gradient's global norm (-1: off)")
	loss := fs.String("loss", "mse", "reconstruction loss: mse or huber")
	seed := fs.Uint64("seed", 1, "random seed (weights, shuffling, noise): the same seed and data give the same model, bit for bit")
	threads := fs.Int("threads", runtime.NumCPU(), "threads")
	name := fs.String("name", "", "model name (default: the data file's base name)")
	initW := fs.String("init", "auto", "starting weights: auto (start dense ReLU models from PCA, so training begins at the linear baseline), pca or random")
	quiet := fs.Bool("q", false, "no progress output")
	impute := fs.Bool("impute", false, "fill missing values (empty fields, NaN, Inf) with the channel's previous reading instead of stopping at the first")
	var cf csvFlags
	cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge train --data FILE.csv [flags]

Trains a float32 autoencoder on windows of a CSV of sensor readings and
writes the model (quantise it for the device with edge quantize). The last
rows are held out for validation; the report compares the model's
validation reconstruction error with PCA of the same latent size.

Flags:`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if *data == "" {
		return fmt.Errorf("%w: --data FILE.csv is required", errUsage)
	}
	if err := cf.check(); err != nil {
		return err
	}
	series, err := readSeries(*data, *timeCol, *channels, *impute, &cf, stderr)
	if err != nil {
		return err
	}
	o := train.SeriesOptions{Window: *window, Hop: *hop, ValFraction: *val, Norm: model.NormKind(*norm), Init: *initW}
	if *val == 0 {
		o.ValFraction = -1
	}
	switch o.Norm {
	case model.NormMeanStd, model.NormMinMax, model.NormNone:
	default:
		return fmt.Errorf("%w: --norm %q: meanstd, minmax or none", errUsage, *norm)
	}
	if *window < 1 || *hop < 0 {
		return fmt.Errorf("%w: --window must be positive and --hop not negative", errUsage)
	}
	a := &o.Arch
	a.Kind, a.Latent, a.Act, a.Kernel, a.Stride = *arch, *latent, model.Activation(*act), *kernel, *stride
	switch a.Act {
	case model.ReLU, model.LeakyReLU, model.Tanh, model.Sigmoid:
	default:
		return fmt.Errorf("%w: --act %q: relu, leaky_relu, tanh or sigmoid", errUsage, *act)
	}
	hid := *hidden
	switch *arch {
	case "dense":
		if hid == "" {
			hid = "64,32"
		}
	case "conv":
		if hid == "" {
			hid = "16,32"
		}
	default:
		return fmt.Errorf("%w: --arch %q: dense or conv", errUsage, *arch)
	}
	for _, f := range strings.Split(hid, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || v < 1 || v > model.MaxFeatures {
			return fmt.Errorf("%w: --hidden %q: want positive integers", errUsage, hid)
		}
		a.Hidden = append(a.Hidden, v)
	}
	if *latent < 1 {
		return fmt.Errorf("%w: --latent must be positive", errUsage)
	}
	c := &o.Config
	c.Epochs, c.Batch, c.LR, c.WeightDecay, c.Schedule = *epochs, *batch, *lr, *wd, *schedule
	c.Patience, c.ClipNorm, c.Loss, c.Seed, c.Threads = *patience, *clip, train.Loss(*loss), *seed, *threads
	if *patience == 0 {
		c.Patience = -1
	}
	if *clip == 0 {
		c.ClipNorm = -1
	}
	pick := func(v, variantDefault float64, on bool) float64 {
		switch {
		case v >= 0:
			return v
		case on:
			return variantDefault
		}
		return 0
	}
	switch *variant {
	case "vanilla", "denoising", "sparse", "variational":
	default:
		return fmt.Errorf("%w: --variant %q: vanilla, denoising, sparse or variational", errUsage, *variant)
	}
	c.Corrupt.Gaussian = pick(*noise, defaultNoise, *variant == "denoising")
	c.Corrupt.Mask = pick(*mask, defaultMask, *variant == "denoising")
	c.Corrupt.Spike = *spikes
	c.L1 = pick(*l1, defaultL1, *variant == "sparse" && *kl == 0)
	if *kl > 0 {
		c.KLWeight, c.KLTarget = *kl, *klTarget
		a.CodeAct = model.Sigmoid
	}
	a.Variational = *variant == "variational"
	c.Beta = *beta
	if a.Variational && *beta == 0 {
		c.Beta = 1e-12 // Config treats 0 as "default 1"; keep the user's "no KL" (almost) literal
	}

	var prog *progress
	if !*quiet {
		prog = newProgress(stderr)
		c.Progress = prog.update
	}
	fmt.Fprintf(stderr, "edge train: %s: %d rows x %d channels (%s); %s, %s; %d threads, kernels %s\n",
		series.Source, series.Len(), series.Channels(), strings.Join(series.Names, ", "),
		*arch, train.Variant(*a, *c), *threads, kernels.Current())
	start := time.Now()
	m, res, err := train.FitSeries(series, o)
	if prog != nil {
		prog.done()
	}
	if err != nil {
		return err
	}
	m.Name = *name
	if m.Name == "" {
		m.Name = strings.TrimSuffix(filepath.Base(series.Source), filepath.Ext(series.Source))
	}
	m.Provenance = map[string]string{
		"trainer":  "edge train " + version,
		"data":     filepath.Base(series.Source),
		"rows":     strconv.Itoa(series.Len()),
		"date":     time.Now().UTC().Format(time.RFC3339),
		"seed":     strconv.FormatUint(*seed, 10),
		"variant":  train.Variant(*a, *c),
		"platform": runtime.GOOS + "/" + runtime.GOARCH,
	}
	// The anomaly threshold, from the validation rows (normal data, not
	// trained on), streamed as edge score will stream.
	calRows := series.Values
	where := "the training rows (no validation split; the threshold may be low)"
	if o.ValFraction > 0 {
		_, val := series.Split(o.ValFraction)
		calRows, where = val.Values, "the validation rows"
	}
	set, calErr := anomaly.CalibrateSeries(m, calRows, anomaly.CalibOptions{})
	if calErr == nil {
		calErr = anomaly.Store(m, set)
	}
	if err := m.Save(*out); err != nil {
		return err
	}
	report(stdout, m, res, *epochs, time.Since(start))
	if calErr != nil {
		fmt.Fprintf(stdout, "\nno anomaly threshold: %v; set one with edge calibrate\n", calErr)
	} else {
		fmt.Fprintf(stdout, "\nanomaly threshold %.4g: the 99.5th percentile of %d windows of %s\n", set.Threshold, set.Windows, where)
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s (float32, %d bytes). For the device: edge quantize %s --calib %s -o %s\n",
		*out, st.Size(), *out, *data, strings.TrimSuffix(*out, filepath.Ext(*out))+".int8.edge")
	return nil
}

// report prints the outcome of a training run: the model, the data split,
// the run, and the validation error beside the PCA baseline.
func report(w io.Writer, m *model.Model, r *train.SeriesResult, epochs int, took time.Duration) {
	var set train.TrainSettings
	_ = json.Unmarshal(m.Apps["train"], &set) // written by FitSeries just now
	fmt.Fprintf(w, "model %s: %s, %d parameters, %d MACs per window\n", m.Name, describeLayers(m), m.Params(), m.MACs())
	val := fmt.Sprintf("%d validation (the last %d rows)", r.ValWindows, r.ValRows)
	if r.ValWindows == 0 {
		val = "no validation split (the figures below are on the training windows)"
	}
	fmt.Fprintf(w, "windows of %d rows every %d: %d training (%d rows), %s\n", set.Window, set.Hop, r.TrainWindows, r.TrainRows, val)
	var stop string
	switch {
	case r.Epochs < epochs:
		stop = "stopped early: "
	}
	switch {
	case r.BestEpoch == 0 && r.WarmStarted:
		stop += "no epoch beat the PCA starting point, kept it"
	case r.BestEpoch == 0:
		stop += "no epoch beat the initial weights"
	case r.BestEpoch == r.Epochs:
		stop += "kept the last epoch"
	default:
		stop += fmt.Sprintf("kept epoch %d, the best on validation", r.BestEpoch)
	}
	start := "random weights"
	if r.WarmStarted {
		start = "PCA"
	}
	fmt.Fprintf(w, "trained from %s for %d epochs (%s) in %s: %.0f windows/s\n\n", start, r.Epochs, stop, took.Round(10*time.Millisecond), r.SamplesPerSecond)
	fmt.Fprintln(w, "validation reconstruction error (mean squared, normalised units):")
	pct := func(v float64) string {
		if math.IsNaN(r.ValVariance) || r.ValVariance <= 0 {
			return ""
		}
		return fmt.Sprintf("  %5.1f%% of the variance", 100*v/r.ValVariance)
	}
	fmt.Fprintf(w, "  %-26s %10.5f%s\n", "predict the mean", r.ValVariance, pct(r.ValVariance))
	fmt.Fprintf(w, "  %-26s %10.5f%s\n", fmt.Sprintf("PCA, %d components", r.PCAComponents), r.PCAMSE, pct(r.PCAMSE))
	fmt.Fprintf(w, "  %-26s %10.5f%s\n", "this autoencoder", r.ValMSE, pct(r.ValMSE))
	if !math.IsNaN(r.PCAMSE) && r.PCAMSE > 0 {
		ratio := r.ValMSE / r.PCAMSE
		verdict := "the non-linear model buys little or nothing over the linear one on this data"
		switch {
		case ratio < 0.95:
			verdict = fmt.Sprintf("%.2fx lower error than the linear baseline", 1/ratio)
		case ratio > 1.05:
			verdict = "worse than the linear baseline: try more epochs, a wider model, or the PCA warm start (--init auto, dense ReLU models)"
		}
		fmt.Fprintf(w, "  autoencoder / PCA: %.3f (%s)\n", ratio, verdict)
	}
}

// describeLayers summarises the architecture as widths, e.g.
// "dense 256-64-32-8-32-64-256".
func describeLayers(m *model.Model) string {
	info, err := m.Info()
	if err != nil {
		return "?"
	}
	var parts []string
	for _, l := range info {
		parts = append(parts, l.Desc)
	}
	return strings.Join(parts, " | ")
}

// readSeries reads a CSV file ("-": stdin) with the column choices of the
// command line; with impute, missing values are filled (and counted on w)
// instead of stopping the read. What the timestamp policy dropped or
// bridged is reported on w too.
func readSeries(path, timeCol, channels string, impute bool, cf *csvFlags, w io.Writer) (*dataset.Series, error) {
	opt, err := cf.options(timeCol, channels)
	if err != nil {
		return nil, err
	}
	opt.AllowMissing = impute
	var s *dataset.Series
	if path == "-" {
		s, err = dataset.ReadCSV(stdin, "stdin", opt)
	} else {
		s, err = dataset.ReadCSVFile(path, opt)
	}
	if err != nil {
		if !impute && (errors.Is(err, dataset.ErrMissing) || errors.Is(err, dataset.ErrNotFinite)) {
			err = fmt.Errorf("%w (gaps in the readings? --impute fills them)", err)
		}
		return nil, err
	}
	if impute {
		n, err := s.ImputeHold()
		if err != nil {
			return nil, err
		}
		if n > 0 {
			fmt.Fprintf(w, "%s: %s: filled %d missing values with the previous reading\n", cf.cmd, s.Source, n)
		}
	}
	dropped, notes := timingReport(s.Timing, 0)
	if all := append(dropped, notes...); len(all) > 0 {
		fmt.Fprintf(w, "%s: %s: %d rows kept; %s\n", cf.cmd, s.Source, s.Len(), strings.Join(all, "; "))
	}
	return s, nil
}

// progress shows training progress: one line rewritten in place on a
// terminal, a log line per epoch otherwise.
type progress struct {
	w    io.Writer
	tty  bool
	last time.Time
	wide int
}

func newProgress(w io.Writer) *progress {
	return &progress{w: w, tty: isTerminal(w)}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progress) update(s train.Progress) {
	val := "-"
	if !math.IsNaN(s.ValLoss) {
		val = fmt.Sprintf("%.5f", s.ValLoss)
	}
	if !p.tty {
		if s.EpochDone {
			fmt.Fprintf(p.w, "epoch %d/%d: train %.5f, validation %s (best %.5f), %.0f windows/s, %s elapsed\n",
				s.Epoch, s.Epochs, s.TrainLoss, val, s.BestValLoss, s.SamplesPerSecond, s.Elapsed.Round(time.Second))
		}
		return
	}
	now := time.Now()
	if !s.EpochDone && now.Sub(p.last) < 100*time.Millisecond {
		return
	}
	p.last = now
	line := fmt.Sprintf("epoch %d/%d  batch %d/%d  train %.5f  val %s (best %.5f)  %.0f windows/s  ETA %s",
		s.Epoch, s.Epochs, s.Step, s.Steps, s.TrainLoss, val, s.BestValLoss, s.SamplesPerSecond, s.Remaining.Round(time.Second))
	fmt.Fprintf(p.w, "\r%s\x1b[K", line)
	p.wide = len(line)
}

// done ends the live line.
func (p *progress) done() {
	if p.tty && p.wide > 0 {
		fmt.Fprintln(p.w)
	}
}

// parseInterspersed parses flags that may follow positional arguments
// (edge quantize MODEL --calib ...) and returns the positionals.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}
