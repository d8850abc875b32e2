package main

import (
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/edgeml/edge/bench"
	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/model"
)

func cmdBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	families := fs.String("families", "", "comma-separated kernel families (default: every one this CPU supports)")
	shapes := fs.String("shapes", "", "layer shapes KxN (inputs x outputs), comma-separated (default: the 640-...-640 autoencoder's layers and 512x512)")
	batches := fs.String("batches", "1,16,256", "batch sizes (GEMM M)")
	kinds := fs.String("kinds", "int8,float32,chain,model-dense,model-conv", "what to time: int8 layers, float32 layers, the int8 chain, and whole models through the API (model-dense: the chain's widths as an autoencoder; model-conv: the 128x8 conv1d autoencoder), each in float32 and int8; also train: training throughput of both models, forward+backward+AdamW; stream: the denoiser and scorer streams, 1 and 8 channels; neither in the default set)")
	trainBatch := fs.Int("train-batch", 32, "train: windows per step")
	trainThreads := fs.String("train-threads", fmt.Sprintf("1,%d", runtime.NumCPU()), "train: thread counts")
	chain := fs.String("chain", "640,128,128,128,128,8,128,128,128,128,640", "widths of the int8 layer chain")
	minTime := fs.Duration("time", 200*time.Millisecond, "time spent on each measurement (median of blocks of calls)")
	models := fs.String("model", "", "comma-separated model files to time whole (normalise, every layer, denormalise) at each batch size; sets -kinds model unless -kinds is given")
	iters := fs.Int("iters", 0, "if > 0, take the median of exactly this many timed blocks (each at least 20µs of calls) instead of -time")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: edge bench [flags]\n\nTimes the kernels single-threaded (training: as many threads as -train-threads) and prints family x kernel x shape x batch -> ns and GOPS\n(GOPS counts a multiply-accumulate as two operations).\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	var cfg bench.Config
	var err error
	if *families != "" {
		cfg.Families = []kernels.Family{}
		for _, name := range strings.Split(*families, ",") {
			f, err := kernels.ParseFamily(name)
			if err != nil {
				return fmt.Errorf("%w: -families: %v", errUsage, err)
			}
			if !f.Supported() {
				return fmt.Errorf("-families: family %s needs %s, which this CPU lacks", f, f.Needs())
			}
			cfg.Families = append(cfg.Families, f)
		}
	}
	if *shapes != "" {
		if cfg.Shapes, err = bench.ParseShapes(*shapes); err != nil {
			return fmt.Errorf("%w: -shapes: %v", errUsage, err)
		}
	}
	if cfg.Batches, err = bench.ParseInts(*batches); err != nil || len(cfg.Batches) == 0 {
		return fmt.Errorf("%w: -batches %q: want positive integers", errUsage, *batches)
	}
	if cfg.Chain, err = bench.ParseInts(*chain); err != nil || len(cfg.Chain) == 1 {
		return fmt.Errorf("%w: -chain %q: want at least two widths", errUsage, *chain)
	}
	for _, d := range cfg.Chain {
		if d > kernels.MaxK {
			return fmt.Errorf("%w: -chain width %d above %d", errUsage, d, kernels.MaxK)
		}
	}
	cfg.Kinds = strings.Split(*kinds, ",")
	for _, k := range cfg.Kinds {
		if !slices.Contains([]string{"int8", "float32", "chain", "model-dense", "model-conv", "model", "stream", "train"}, k) {
			return fmt.Errorf("%w: -kinds: unknown kind %q (int8, float32, chain, model-dense, model-conv, model, stream or train)", errUsage, k)
		}
	}
	if *models != "" {
		kindsSet := false
		fs.Visit(func(f *flag.Flag) { kindsSet = kindsSet || f.Name == "kinds" })
		if !kindsSet {
			cfg.Kinds = []string{"model"}
		}
		if cfg.Models, err = loadModels(*models); err != nil {
			return err
		}
	}
	if cfg.TrainThreads, err = bench.ParseInts(*trainThreads); err != nil || len(cfg.TrainThreads) == 0 {
		return fmt.Errorf("%w: -train-threads %q: want positive integers", errUsage, *trainThreads)
	}
	if *trainBatch < 1 || *trainBatch > 4096 {
		return fmt.Errorf("%w: -train-batch %d outside [1, 4096]", errUsage, *trainBatch)
	}
	cfg.TrainBatch = *trainBatch
	if *minTime <= 0 {
		return fmt.Errorf("%w: -time must be positive", errUsage)
	}
	cfg.MinTime = *minTime
	if *iters < 0 {
		return fmt.Errorf("%w: -iters must not be negative", errUsage)
	}
	cfg.Iters = *iters
	fmt.Fprintf(stdout, "edge bench: single thread, median per call; kernel family in use: %s\n", kernels.Current())
	rows, err := bench.Run(cfg, stdout)
	if err != nil {
		return err
	}
	printThroughput(stdout, rows, cfg.TrainBatch)
	return nil
}

// printThroughput prints the streaming and training rows as throughput.
func printThroughput(stdout io.Writer, rows []bench.Row, trainBatch int) {
	first := true
	for _, r := range rows {
		if !strings.HasPrefix(r.Kind, "stream/") {
			continue
		}
		if first {
			fmt.Fprintln(stdout, "\nstreaming throughput, one core (window 64, hop 8, int8):")
			first = false
		}
		fmt.Fprintf(stdout, "  %-8s %-24s %-6s %10.0f samples/s\n", r.Family, strings.TrimPrefix(r.Kind, "stream/"), r.Shape[3:], 1e9/r.PerInput)
	}
	first = true
	for _, r := range rows {
		if !strings.HasPrefix(r.Kind, "train/") {
			continue
		}
		if first {
			fmt.Fprintf(stdout, "\ntraining throughput (batch %d; train/Nthr uses N threads, the only rows that are not single-threaded):\n", trainBatch)
			first = false
		}
		fmt.Fprintf(stdout, "  %-8s %-11s %-10s %9.0f windows/s\n", r.Family, r.Shape, r.Kind, 1e9/r.PerInput)
	}
}

// loadModels loads comma-separated model files, named by their file if
// they have no name.
func loadModels(paths string) ([]*model.Model, error) {
	var out []*model.Model
	for _, path := range strings.Split(paths, ",") {
		m, err := model.Load(path)
		if err != nil {
			return nil, err
		}
		if m.Name == "" {
			m.Name = filepath.Base(path)
		}
		out = append(out, m)
	}
	return out, nil
}
