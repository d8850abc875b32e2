package main

import (
	"context"
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
	"github.com/edgeml/edge/learn"
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

// trainFlags are edge train's flags.
type trainFlags struct {
	data     *string
	out      *string
	timeCol  *string
	channels *string
	arch     *string
	hidden   *string
	latent   *int
	act      *string
	kernel   *int
	stride   *int
	variant  *string
	noise    *float64
	mask     *float64
	spikes   *float64
	l1       *float64
	kl       *float64
	klTarget *float64
	beta     *float64
	window   *int
	hop      *int
	scoreHop *int
	norm     *string
	val      *float64
	folds    *int
	rate     *float64
	epochs   *int
	batch    *int
	lr       *float64
	wd       *float64
	schedule *string
	patience *int
	clip     *float64
	loss     *string
	seed     *uint64
	threads  *int
	name     *string
	initW    *string
	quiet    *bool
	cf       csvFlags
}

// newTrainFlags registers edge train's flags.
func newTrainFlags(stderr io.Writer) (*flag.FlagSet, *trainFlags) {
	fs := newFlags("train", stderr)
	f := &trainFlags{}
	f.data = fs.String("data", "", "CSV file of normal sensor readings with a header row (required; - reads stdin)")
	f.out = fs.String("o", "model.edge", "where to write the float32 model")
	f.timeCol = fs.String("time-column", "", `the timestamp column (default: a column named time, timestamp, ts, date or datetime, if any; "-": none)`)
	f.channels = fs.String("channels", "", "comma-separated columns to train on, in order (default: every column but the timestamp and label-like ones: label, anomaly, is_anomaly, outlier, fault, target, y, ...)")
	f.arch = fs.String("arch", "dense", "architecture: dense (fully connected) or conv (Conv1D encoder, transposed-conv decoder)")
	f.hidden = fs.String("hidden", "", "dense: hidden widths of the encoder (default: one layer, twice the code, 16 to 128); conv: channels of its convolutions (default 16,32); the decoder mirrors them")
	f.latent = fs.Int("latent", 0, "size of the latent code (default: the principal components that explain 90% of the variance of the windows)")
	f.act = fs.String("act", "relu", "hidden activation: relu, leaky_relu, tanh or sigmoid")
	f.kernel = fs.Int("kernel", 5, "conv: kernel taps")
	f.stride = fs.Int("stride", 2, "conv: stride of each convolution (the window must divide by stride^layers)")
	f.variant = fs.String("variant", "denoising", "vanilla, denoising, sparse or variational (sets the defaults of the flags below)")
	f.noise = fs.Float64("noise", -1, fmt.Sprintf("denoising: std of Gaussian noise added to the inputs, in normalised units (variant default %g)", defaultNoise))
	f.mask = fs.Float64("mask", -1, fmt.Sprintf("denoising: probability that an input value is masked to the mean (variant default %g)", defaultMask))
	f.spikes = fs.Float64("spikes", 0, "denoising: probability that an input value gets an impulse of ±5 std")
	f.l1 = fs.Float64("l1", -1, fmt.Sprintf("sparse: weight of the L1 activity penalty on the code (variant default %g)", defaultL1))
	f.kl = fs.Float64("kl", 0, "sparse: weight of the KL sparsity penalty (makes the code a sigmoid; use instead of -l1)")
	f.klTarget = fs.Float64("kl-target", 0.05, "sparse: target mean activation for -kl")
	f.beta = fs.Float64("beta", 1, "variational: weight of the KL term")
	f.window = fs.Int("window", 0, "window length in rows (default: the data's dominant period, or 16; at most 64 and a quarter of rows/channels)")
	f.hop = fs.Int("hop", 0, "rows between training windows (default 1, more for long files)")
	f.scoreHop = fs.Int("score-hop", 0, "rows between scored windows in edge score and edge run (default 1: every row is scored by the window that ends at it)")
	f.norm = fs.String("norm", "robust", "per-channel input normalisation fitted on the learning rows: robust (median and interquartile range), meanstd, minmax or none")
	f.val = fs.Float64("val", 0.2, "fraction of rows, at the end, held out for early stopping (-1: none)")
	f.folds = fs.Int("folds", 5, "blocks of rows for the anomaly thresholds: each is scored by a model trained on the others")
	f.rate = fs.Float64("rate", anomaly.DefaultAlarmRate, "target false-alarm rate per row of the anomaly thresholds")
	f.epochs = fs.Int("epochs", 30, "maximum epochs")
	f.batch = fs.Int("batch", 32, "windows per step")
	f.lr = fs.Float64("lr", 1e-3, "peak learning rate (Adam)")
	f.wd = fs.Float64("wd", 1e-4, "decoupled weight decay (AdamW)")
	f.schedule = fs.String("schedule", "cosine", "learning-rate schedule: cosine (warm-up, then cosine decay) or constant")
	f.patience = fs.Int("patience", 10, "stop after this many epochs without a better validation loss (-1: never)")
	f.clip = fs.Float64("clip", 5, "clip the gradient's global norm (-1: off)")
	f.loss = fs.String("loss", "mse", "reconstruction loss: mse or huber")
	f.seed = fs.Uint64("seed", 1, "random seed (weights, shuffling, noise): the same seed and data give the same model, bit for bit")
	f.threads = fs.Int("threads", runtime.NumCPU(), "threads")
	f.name = fs.String("name", "", "model name (default: the data file's base name)")
	f.initW = fs.String("init", "auto", "starting weights: auto (start dense ReLU models from PCA, so training begins at the linear baseline), pca or random")
	fs.Bool("impute", true, "ignored, kept so older scripts run: missing values are always imputed (the channel's previous reading) and counted")
	f.quiet = fs.Bool("q", false, "no progress output")
	f.cf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge train --data FILE.csv [flags]

Learns a float32 autoencoder from a CSV of normal sensor readings (100 rows
or more) and writes the model with its anomaly thresholds (quantise it for
the device with edge quantize). What is not given is chosen from the data:
the window from the dominant period, a robust normalisation (median and
interquartile range), the code size from the principal components. The
thresholds come from scores of rows no model trained on: the rows are cut
into --folds blocks, each scored by a model trained on the others; the
tails of those scores set thresholds for a --rate of false alarms. Missing
values are imputed (the channel's previous reading) and counted.

Flags:`)
		fs.PrintDefaults()
	}
	return fs, f
}

func cmdTrain(args []string, stdout, stderr io.Writer) error {
	fs, f := newTrainFlags(stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, stop := interruptible() // before anything is printed: see TestTrainInterrupted
	defer stop()
	o, err := f.options()
	if err != nil {
		return err
	}
	return f.run(ctx, o, stdout, stderr)
}

// options checks the flags and turns them into learning options.
func (f *trainFlags) options() (o learn.Options, err error) {
	if *f.data == "" {
		return o, fmt.Errorf("%w: --data FILE.csv is required", errUsage)
	}
	if *f.window < 0 || *f.hop < 0 || *f.scoreHop < 0 || *f.latent < 0 || *f.folds < 2 || *f.folds > 20 || !(*f.rate > 0 && *f.rate < 0.5) {
		return o, fmt.Errorf("%w: --window, --hop, --score-hop and --latent must not be negative, --folds in 2..20, --rate in (0, 0.5)", errUsage)
	}
	if *f.window > 0 && *f.scoreHop > *f.window {
		return o, fmt.Errorf("%w: --score-hop %d exceeds the window of %d", errUsage, *f.scoreHop, *f.window)
	}
	if err := f.cf.check(); err != nil {
		return o, err
	}
	o = learn.Options{Window: *f.window, Hop: *f.hop, ScoreHop: *f.scoreHop, Init: *f.initW, Folds: *f.folds, Rate: *f.rate, Float: true, ValFraction: *f.val, Norm: model.NormKind(*f.norm)}
	switch o.Norm {
	case dataset.Robust, model.NormMeanStd, model.NormMinMax, model.NormNone:
	default:
		return o, fmt.Errorf("%w: --norm %q: robust, meanstd, minmax or none", errUsage, *f.norm)
	}
	if *f.val == 0 {
		o.ValFraction = -1
	}
	if err := f.architecture(&o.Arch); err != nil {
		return o, err
	}
	return o, f.training(&o)
}

// architecture sets the architecture from the flags.
func (f *trainFlags) architecture(a *train.Arch) error {
	a.Kind, a.Latent, a.Act, a.Kernel, a.Stride = *f.arch, *f.latent, model.Activation(*f.act), *f.kernel, *f.stride
	switch a.Act {
	case model.ReLU, model.LeakyReLU, model.Tanh, model.Sigmoid:
	default:
		return fmt.Errorf("%w: --act %q: relu, leaky_relu, tanh or sigmoid", errUsage, *f.act)
	}
	hid := *f.hidden
	switch *f.arch {
	case "dense":
	case "conv":
		if hid == "" {
			hid = "16,32"
		}
	default:
		return fmt.Errorf("%w: --arch %q: dense or conv", errUsage, *f.arch)
	}
	if hid != "" {
		for _, f := range strings.Split(hid, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || v < 1 || v > model.MaxFeatures {
				return fmt.Errorf("%w: --hidden %q: want positive integers", errUsage, hid)
			}
			a.Hidden = append(a.Hidden, v)
		}
	}
	return nil
}

// training sets the training configuration and the variant's terms.
func (f *trainFlags) training(o *learn.Options) error {
	a := &o.Arch
	c := &o.Train
	c.Epochs, c.Batch, c.LR, c.WeightDecay, c.Schedule = *f.epochs, *f.batch, *f.lr, *f.wd, *f.schedule
	c.Patience, c.ClipNorm, c.Loss, c.Seed, c.Threads = *f.patience, *f.clip, train.Loss(*f.loss), *f.seed, *f.threads
	if *f.patience == 0 {
		c.Patience = -1
	}
	if *f.clip == 0 {
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
	switch *f.variant {
	case "vanilla", "denoising", "sparse", "variational":
	default:
		return fmt.Errorf("%w: --variant %q: vanilla, denoising, sparse or variational", errUsage, *f.variant)
	}
	o.Corrupt = &train.Corruption{Gaussian: pick(*f.noise, defaultNoise, *f.variant == "denoising"),
		Mask: pick(*f.mask, defaultMask, *f.variant == "denoising"), Spike: *f.spikes}
	c.L1 = pick(*f.l1, defaultL1, *f.variant == "sparse" && *f.kl == 0)
	if *f.kl > 0 {
		c.KLWeight, c.KLTarget = *f.kl, *f.klTarget
		a.CodeAct = model.Sigmoid
	}
	a.Variational = *f.variant == "variational"
	c.Beta = *f.beta
	if a.Variational && *f.beta == 0 {
		c.Beta = 1e-12 // Config treats 0 as "default 1"; keep the user's "no KL" (almost) literal
	}
	return nil
}

// run reads the data, learns, and writes and reports the model.
func (f *trainFlags) run(ctx context.Context, o learn.Options, stdout, stderr io.Writer) error {
	// Every flag is checked: now the data.
	series, err := readSeries(*f.data, *f.timeCol, *f.channels, false, &f.cf, stderr)
	if err != nil {
		return err
	}
	var prog *progress
	if !*f.quiet {
		o.Log = prefixed{stderr, "edge train: "}
		prog = newProgress(stderr)
		o.Progress = prog.update
	}
	fmt.Fprintf(stderr, "edge train: %s: %d rows x %d channels (%s); %s; %d threads, kernels %s\n",
		series.Source, series.Len(), series.Channels(), strings.Join(series.Names, ", "), train.Variant(o.Arch, train.Config{Corrupt: *o.Corrupt, L1: o.Train.L1, KLWeight: o.Train.KLWeight}), *f.threads, kernels.Current())
	m, _, rep, err := learn.FitContext(ctx, series, o)
	if prog != nil {
		prog.done()
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("interrupted: no model written (%w)", err)
	}
	if err != nil {
		return err
	}
	m.Name = *f.name
	if m.Name == "" {
		m.Name = strings.TrimSuffix(filepath.Base(series.Source), filepath.Ext(series.Source))
	}
	m.Provenance = map[string]string{
		"trainer":  "edge train " + version,
		"data":     filepath.Base(series.Source),
		"rows":     strconv.Itoa(series.Len()),
		"date":     time.Now().UTC().Format(time.RFC3339),
		"seed":     strconv.FormatUint(*f.seed, 10),
		"variant":  train.Variant(o.Arch, train.Config{Corrupt: *o.Corrupt, L1: o.Train.L1, KLWeight: o.Train.KLWeight}),
		"platform": runtime.GOOS + "/" + runtime.GOARCH,
	}
	if err := m.Save(*f.out); err != nil {
		return err
	}
	report(stdout, m, rep)
	st, err := os.Stat(*f.out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %s (float32, %d bytes). For the device: edge quantize %s --calib %s -o %s\n",
		*f.out, st.Size(), *f.out, *f.data, strings.TrimSuffix(*f.out, filepath.Ext(*f.out))+".int8.edge")
	return nil
}

// report prints the outcome of learning: the model, the choices made
// from the data, the run, the validation error beside the PCA baseline,
// and the anomaly thresholds.
func report(w io.Writer, m *model.Model, rep *learn.Report) {
	r := rep.Train
	fmt.Fprintf(w, "model %s: %s, %d parameters, %d MACs per window\n", m.Name, describeLayers(m), m.Params(), m.MACs())
	period := "no dominant period"
	if rep.Period > 0 {
		period = fmt.Sprintf("dominant period %d rows", rep.Period)
	}
	fmt.Fprintf(w, "from the data: %s; windows of %d rows every %d; a code of %d; %s normalisation\n", period, rep.Window, rep.Hop, rep.Latent, rep.Norm)
	val := fmt.Sprintf("%d validation (the last %d rows)", r.ValWindows, r.ValRows)
	if r.ValWindows == 0 {
		val = "no validation split (the figures below are on the training windows)"
	}
	fmt.Fprintf(w, "%d training windows (%d rows), %s\n", r.TrainWindows, r.TrainRows, val)
	var stop string
	switch {
	case rep.PCAOnly:
		stop = "no epoch beat the PCA starting point: the saved model is its PCA start, a linear autoencoder"
	case r.BestEpoch == 0:
		stop = "no epoch beat the initial weights"
	case r.BestEpoch == r.Epochs:
		stop = "kept the last epoch"
	default:
		stop = fmt.Sprintf("kept epoch %d, the best on validation", r.BestEpoch)
	}
	start := "random weights"
	if r.WarmStarted {
		start = "PCA"
	}
	fmt.Fprintf(w, "trained from %s for %d epochs (%s) in %s: %.0f windows/s\n\n", start, r.Epochs, stop, r.Elapsed.Round(10*time.Millisecond), r.SamplesPerSecond)
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
	set := rep.Settings
	thr := set.Thresholds()
	fmt.Fprintf(w, "\nanomaly thresholds from %d out-of-sample rows (%d folds) for a false-alarm rate of %g per row:\n", set.Rows, rep.Folds, set.Rate)
	fmt.Fprintf(w, "  spe %.4g, peak %.4g, range %.4g, smooth %.4g (weight %.3g); scored every %d rows\n", thr[0], thr[1], thr[2], thr[3], set.Alpha, set.Hop)
	if rep.Missing > 0 {
		fmt.Fprintf(w, "  %d missing values in the learning rows were imputed\n", rep.Missing)
	}
	fmt.Fprintf(w, "\ndenoiser (estimated error per value on the learning rows, normalised units): %s\n", strings.Join(rep.DenoiseRisk, "; "))
	if len(rep.Filters) > 0 {
		fmt.Fprintf(w, "  the model cleans with: %s\n", strings.Join(rep.Filters, "; "))
	}
	if len(rep.Constant) > 0 {
		fmt.Fprintf(w, "  warning: %s held one value in 99%% of the learning rows: whatever they do later will look anomalous\n", strings.Join(rep.Constant, ", "))
	}
	if len(rep.Unsettled) > 0 {
		fmt.Fprintf(w, "  warning: %s changed level across the learning rows (a trend, or a cycle slower than the rows): they may not show their whole normal range; learn from a longer stretch, or expect alarms when they move on\n", strings.Join(rep.Unsettled, ", "))
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
// command line. Missing values (empty fields, NaN, Inf) are kept as NaN
// and counted on w; with impute they are filled with the channel's
// previous reading. What the timestamp policy dropped or bridged is
// reported on w too.
func readSeries(path, timeCol, channels string, impute bool, cf *csvFlags, w io.Writer) (*dataset.Series, error) {
	opt, err := cf.options(timeCol, channels)
	if err != nil {
		return nil, err
	}
	opt.AllowMissing = true
	var s *dataset.Series
	if path == "-" {
		s, err = dataset.ReadCSV(stdin, "stdin", opt)
	} else {
		s, err = dataset.ReadCSVFile(path, opt)
	}
	if err != nil {
		return nil, err
	}
	missing := 0
	for _, v := range s.Values {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			missing++
		}
	}
	if missing > 0 {
		if impute {
			if _, err := s.ImputeHold(); err != nil {
				return nil, err
			}
		}
		fmt.Fprintf(w, "%s: %s: %d missing values (empty, NaN or Inf), imputed with the channel's previous reading\n", cf.cmd, s.Source, missing)
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
