package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/edgeml/edge/internal/atomicfile"
	"github.com/edgeml/edge/internal/demo"
)

// demoFlags choose the generated data and the model of demo and eval.
type demoFlags struct {
	seed                        uint64
	channels                    int
	trainDays, testDays, noise  float64
	anomalies                   float64
	nonlinear                   bool
	window, hop, latent, epochs int
}

func (f *demoFlags) register(fs *flag.FlagSet) {
	fs.Uint64Var(&f.seed, "seed", 1, "random seed of the generated installation (the figures depend on it; the code path does not)")
	fs.IntVar(&f.channels, "channels", 8, "sensors")
	fs.Float64Var(&f.trainDays, "train-days", 35, "normal days to train on")
	fs.Float64Var(&f.testDays, "test-days", 28, "labelled days to test on")
	fs.Float64Var(&f.noise, "noise", 0.3, "Gaussian noise, in each sensor's gain")
	fs.Float64Var(&f.anomalies, "anomalies", 0.5, "anomalies per labelled day")
	fs.BoolVar(&f.nonlinear, "nonlinear", false, "give some sensors non-linear responses (a harder case: see bench/RESULTS.md)")
	fs.IntVar(&f.window, "window", 64, "model window in rows")
	fs.IntVar(&f.hop, "hop", 8, "rows between windows in the streams")
	fs.IntVar(&f.latent, "latent", 12, "size of the code")
	fs.IntVar(&f.epochs, "epochs", 40, "training epochs (early stopping may end sooner)")
}

func (f *demoFlags) config(log io.Writer) (demo.Config, error) {
	if f.channels < 1 || f.channels > 256 || !(f.trainDays >= 2) || !(f.testDays >= 1) || f.noise < 0 || f.anomalies < 0 ||
		f.window < 4 || f.hop < 1 || f.hop > f.window || f.latent < 1 || f.epochs < 1 || f.trainDays > 3650 || f.testDays > 3650 {
		return demo.Config{}, fmt.Errorf("%w: want 1-256 channels, at least 2 train days and 1 test day (at most 3650), non-negative noise and anomaly rate, window >= 4, 1 <= hop <= window, positive latent and epochs", errUsage)
	}
	return demo.Config{Seed: f.seed, Channels: f.channels, TrainDays: f.trainDays, TestDays: f.testDays, Noise: f.noise,
		AnomaliesPerDay: f.anomalies, Nonlinear: f.nonlinear, Window: f.window, Hop: f.hop, Latent: f.latent, Epochs: f.epochs, Log: log}, nil
}

func cmdDemo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	var df demoFlags
	df.register(fs)
	dir := fs.String("out", "edge-demo", "directory for the plots, the models and the test data")
	quiet := fs.Bool("q", false, "no progress lines")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge demo [flags]

Runs edge's whole job on a built-in generated installation (8 correlated
sensors with daily, seasonal and faster cycles, a drifting trend, Gaussian
noise, impulses, dropouts and labelled anomalies): trains a denoising
autoencoder on 35 normal days, quantises it to int8, then denoises and
scores 28 held-out days, and prints how it did against classical filters
and baseline detectors. Writes plots (PNG and SVG), the models and the
test data (with its labels) to -out.

Flags:`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	log := io.Writer(stdout)
	if *quiet {
		log = nil
	}
	cfg, err := df.config(log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	start := time.Now()
	r, err := demo.Run(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout)
	r.WriteSummary(stdout)
	fig := r.Figure(3)
	var wrote []string
	for _, name := range []string{"demo.png", "demo.svg"} {
		p := filepath.Join(*dir, name)
		if err := fig.Save(p); err != nil {
			return err
		}
		wrote = append(wrote, p)
	}
	for name, m := range map[string]interface{ Save(string) error }{"demo.edge": r.Float, "demo.int8.edge": r.Int8} {
		p := filepath.Join(*dir, name)
		if err := m.Save(p); err != nil {
			return err
		}
		wrote = append(wrote, p)
	}
	p := filepath.Join(*dir, "test.csv")
	if err := writeTestCSV(p, r); err != nil {
		return err
	}
	wrote = append(wrote, p, filepath.Join(*dir, "labels.csv"))
	if err := writeLabels(filepath.Join(*dir, "labels.csv"), r); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %v\ndone in %s. Try: edge score %s %s\n", wrote, time.Since(start).Round(10*time.Millisecond),
		filepath.Join(*dir, "demo.int8.edge"), filepath.Join(*dir, "test.csv"))
	return nil
}

// writeTestCSV writes the test days as the sensors read them.
func writeTestCSV(path string, r *demo.Report) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "time")
		for _, n := range r.Data.Names {
			io.WriteString(w, ","+n)
		}
		io.WriteString(w, "\n")
		ch := len(r.Data.Names)
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		step := 24 * time.Hour / time.Duration(r.Config.Day)
		var b []byte
		for i := 0; i < r.Data.Test.Rows; i++ {
			b = t0.Add(time.Duration(r.Data.Test.Start+i)*step).AppendFormat(b[:0], time.RFC3339)
			for _, v := range r.Data.Test.Observed[i*ch : (i+1)*ch] {
				b = append(b, ',')
				if !math.IsNaN(float64(v)) {
					b = strconv.AppendFloat(b, float64(v), 'f', 3, 32)
				}
			}
			b = append(b, '\n')
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
}

func writeLabels(path string, r *demo.Report) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		io.WriteString(w, "kind,channel,first_line,last_line\n")
		for _, a := range r.Data.Test.Anomalies {
			first := a.Start - r.Data.Test.Start + 2 // line 1 is the header
			if _, err := fmt.Fprintf(w, "%s,%s,%d,%d\n", a.Kind, r.Data.Names[a.Channel], first, first+a.Len-1); err != nil {
				return err
			}
		}
		return nil
	})
}

func cmdEval(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval", stderr)
	var df demoFlags
	df.register(fs)
	seeds := fs.Int("seeds", 1, "run this many installations (seeds -seed, -seed+1, ...) and print each one's headline figures and the worst case")
	var rf realFlags
	rf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge eval [flags]
       edge eval --data DIR [--sets a,b] [--cases x,y] [--per-case]

With --data: evaluates on real data sets (folders with an eval.json; see
bench/realdata/prepare.sh, which fetches and converts public ones): on
every case, the user path with default settings (learn on the normal
part, then score the rest as a stream), edge int8 and float32 beside the
baselines computed in the same run (|z|, PCA T² and SPE, dynamic PCA,
rolling median/MAD, their thresholds set by the same rule from the same
learning rows); per set and in total: detection rate, false alarms on
normal rows, precision, F1, events found, detection delay, ROC AUC and PR
AUC, and each baseline's detection at edge's false-alarm rate.

Without --data: runs the demo's experiment on generated data and prints every figure: the denoiser (float32
and int8, causal and centred) against a moving average, a median filter,
Savitzky-Golay and an EMA, each tuned on separate labelled days (SNR gain
in dB and RMSE); the scorer against a rolling z-score and PCA (AUC, and
precision, recall and F1 at thresholds calibrated on normal days); events
found by kind; speed.

Flags:`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if rf.data != "" {
		return rf.run(stdout, stderr)
	}
	if *seeds < 1 || *seeds > 100 {
		return fmt.Errorf("%w: -seeds %d outside [1, 100]", errUsage, *seeds)
	}
	cfg, err := df.config(nil)
	if err != nil {
		return err
	}
	if *seeds == 1 {
		cfg.Log = stderr
		r, err := demo.Run(cfg)
		if err != nil {
			return err
		}
		r.WriteTables(stdout)
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "seed\tcentred dB over best classical\tcausal dB over best classical\tint8-float32 dB (centred, causal)\tAUC int8\tAUC pca\tAUC z\tF1 int8\tF1 pca\tF1 z\tint8-float32 AUC\tbest epoch\t")
	worst := map[string]float64{"centred": math.Inf(1), "causal": math.Inf(1), "int8": 0, "aucgap": 0, "auc": math.Inf(1), "f1": math.Inf(1)}
	for i := 0; i < *seeds; i++ {
		c := cfg
		c.Seed = cfg.Seed + uint64(i)
		r, err := demo.Run(c)
		if err != nil {
			return err
		}
		ce, ca := r.Denoiser("int8", "centred"), r.Denoiser("int8", "causal")
		mc, mk := ce.Gain-r.BestClassical("centred").Gain, ca.Gain-r.BestClassical("causal").Gain
		gc, gk := ce.SNR-r.Denoiser("float32", "centred").SNR, ca.SNR-r.Denoiser("float32", "causal").SNR
		q, f, p, z := r.Scorer("autoencoder int8"), r.Scorer("autoencoder float32"), r.Scorer("pca"), r.Scorer("rolling z-score")
		fmt.Fprintf(tw, "%d\t%+.2f\t%+.2f\t%+.2f, %+.2f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%+.4f\t%d\t\n", c.Seed, mc, mk, gc, gk, q.AUC, p.AUC, z.AUC, q.F1, p.F1, z.F1, q.AUC-f.AUC, r.Train.BestEpoch)
		worst["centred"] = math.Min(worst["centred"], mc)
		worst["causal"] = math.Min(worst["causal"], mk)
		worst["int8"] = math.Max(worst["int8"], math.Max(math.Abs(gc), math.Abs(gk)))
		worst["aucgap"] = math.Max(worst["aucgap"], math.Abs(q.AUC-f.AUC))
		worst["auc"] = math.Min(worst["auc"], q.AUC-math.Max(p.AUC, z.AUC))
		worst["f1"] = math.Min(worst["f1"], q.F1-math.Max(p.F1, z.F1))
	}
	tw.Flush()
	fmt.Fprintf(stdout, "\nworst over %d seeds: denoiser %+.2f dB (centred) and %+.2f dB (causal) over the best classical filter; int8 within %.2f dB and %.4f AUC of float32; scorer AUC %+.3f and F1 %+.3f over the better baseline\n",
		*seeds, worst["centred"], worst["causal"], worst["int8"], worst["aucgap"], worst["auc"], worst["f1"])
	return nil
}
