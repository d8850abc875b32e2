package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/internal/realdata"
)

// realFlags select edge eval's real-data sets.
type realFlags struct {
	data, sets, cases, variants string
	perCase                     bool
	learnRows                   int
	learnHead                   float64
}

func (f *realFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "", "evaluate on the real data sets in this folder (each a folder with an eval.json) instead of generated data")
	fs.StringVar(&f.sets, "sets", "", "with --data: comma-separated sets to run (default: all)")
	fs.StringVar(&f.cases, "cases", "", "with --data: comma-separated cases to run (default: all)")
	fs.BoolVar(&f.perCase, "per-case", false, "with --data: a line per case and detector")
	fs.IntVar(&f.learnRows, "learn-rows", 0, "with --data: learn from at most this many rows, the last of each learning part (a short history; default: all)")
	fs.Float64Var(&f.learnHead, "learn-head", 0, "with --data: learn from this share of each case's scored rows, the first (at most --learn-rows, at least 100), and score the rest, as streaming benchmarks do (default: learn from the learning part)")
	fs.StringVar(&f.variants, "variants", "", "with --data: also learn these model families from the same rows, each a row of its own: pca, dense, conv, vae, or no-settle (the default model, lasting alarms never re-levelled) (comma-separated)")
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	for _, v := range strings.Split(s, ",") {
		out = append(out, strings.TrimSpace(v))
	}
	return out
}

// run evaluates every anomaly set and prints the tables and a summary.
func (f *realFlags) run(stdout, stderr io.Writer) error {
	if f.learnRows < 0 || !(f.learnHead >= 0 && f.learnHead < 1) {
		return fmt.Errorf("%w: --learn-rows %d --learn-head %v", errUsage, f.learnRows, f.learnHead)
	}
	sets, err := realdata.LoadSets(f.data, splitList(f.sets))
	if err != nil {
		return err
	}
	start := time.Now()
	var results []*realdata.SetResult
	for _, s := range sets {
		if s.Task == "denoise" {
			fmt.Fprintf(stderr, "edge eval: %s: %d cases (denoising)\n", s.Name, len(s.Cases))
			if err := runDenoise(stdout, s, splitList(f.cases), stderr); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(stderr, "edge eval: %s: %d cases\n", s.Name, len(s.Cases))
		opt := realdata.Options{Cases: splitList(f.cases), LearnRows: f.learnRows, LearnHead: f.learnHead, Log: stderr, Variants: map[string]realdata.EdgeFunc{}}
		all := realdata.Variants()
		for _, v := range splitList(f.variants) {
			o, ok := all[v]
			if !ok {
				return fmt.Errorf("%w: --variants %q: pca, dense, conv, vae or no-settle", errUsage, v)
			}
			opt.Variants[v] = realdata.EdgeWith(o)
		}
		r, err := realdata.RunAnomaly(s, opt)
		if err != nil {
			return err
		}
		realdata.PrintAnomaly(stdout, r, f.perCase)
		results = append(results, r)
	}
	if len(results) > 0 {
		printSummary(stdout, results)
	}
	fmt.Fprintf(stdout, "\n%d sets in %s\n", len(sets), time.Since(start).Round(time.Second))
	return nil
}

// printSummary prints, per set, edge's F1 and false alarms beside the
// best baseline's F1 (false alarms also over the cases whose learning
// raised no warning), edge's NAB-style scores beside the best baseline's
// (by events, and at the best threshold on its score and on its change
// score), and int8's AUC beside float32's.
func printSummary(w io.Writer, results []*realdata.SetResult) {
	fmt.Fprintln(w, "\nsummary (edge = int8, default settings):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "set\tedge F1\tbest baseline F1\tedge false alarms\twhere learning did not warn\tedge NAB rows / onsets\tbest baseline NAB onsets\tedge NAB tuned: score (no warning) / change\tbest baseline NAB tuned\tedge AUC\tint8-f32 AUC\t")
	total := map[string]realdata.Metrics{}
	all := &realdata.SetResult{Set: &realdata.Set{Name: "all (rows pooled)"}, Total: total}
	for _, r := range results {
		for k, v := range r.Total {
			t := total[k]
			t.Add(v)
			total[k] = t
		}
		all.Unwarned.Add(r.Unwarned)
		all.UnwarnedCases += r.UnwarnedCases
		all.Cases = append(all.Cases, r.Cases...)
	}
	if len(results) > 1 {
		results = append(results, all)
	}
	for _, r := range results {
		e := r.Total["edge"]
		best, bestName := math.Inf(-1), ""
		nab, nabName := math.Inf(-1), ""
		tuned, tunedName := math.NaN(), "-"
		for _, d := range realdata.Detectors()[2:] {
			m, ok := r.Total[d]
			if !ok {
				continue
			}
			if v := m.F1(); v > best {
				best, bestName = v, d
			}
			if v := m.NABOnsets(); v > nab {
				nab, nabName = v, d
			}
			if v, ok := r.NABTuned[d]; ok && !(v <= tuned) {
				tuned, tunedName = v, d
			}
		}
		gap := math.NaN()
		if f, ok := r.Total["edge f32"]; ok {
			gap = e.AUC() - f.AUC()
		}
		quiet := fmt.Sprintf("%.2f%% (%d of %d cases)", 100*r.Unwarned.FalseAlarms(), r.UnwarnedCases, len(r.Cases))
		if r.UnwarnedCases == 0 {
			quiet = fmt.Sprintf("- (0 of %d cases)", len(r.Cases))
		}
		edgeTuned, bestTuned := "-", "-"
		if v, ok := r.NABTuned["edge"]; ok {
			edgeTuned = fmt.Sprintf("%.1f (%s) / %.1f", v, strings.Replace(fmt.Sprintf("%.1f", r.NABTunedUnwarned), "NaN", "-", 1), r.NABTuned["edge change"])
		}
		if tunedName != "-" {
			bestTuned = fmt.Sprintf("%.1f (%s)", tuned, tunedName)
		}
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f (%s)\t%.2f%%\t%s\t%.1f / %.1f\t%.1f (%s)\t%s\t%s\t%.3f\t%+.4f\t\n", r.Set.Name, e.F1(), best, bestName, 100*e.FalseAlarms(), quiet,
			e.NAB(), e.NABOnsets(), nab, nabName, edgeTuned, bestTuned, e.AUC(), gap)
	}
	tw.Flush()
}

// runDenoise evaluates a denoise set and prints a line per case and mode.
func runDenoise(w io.Writer, s *realdata.Set, cases []string, log io.Writer) error {
	res, err := realdata.RunDenoise(s, realdata.DefaultNoise, realdata.EdgeDenoise, cases)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s (denoising: Gaussian noise of %.2g std and %.0f%% impulses added; classical filters tuned on the learning rows against the truth):\n",
		s.Name, realdata.DefaultNoise.Level, 100*realdata.DefaultNoise.Impulses)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "case\trows\tchannels\tinput SNR\tmode\tbest classical\tgain\tedge (default)\tmargin\tedge autoencoder\tmargin\toracles: per-channel filter\tlinear\t")
	for _, c := range res {
		var base realdata.DenoiseRow
		for _, r := range c.Rows2 {
			switch {
			case r.Method != "edge":
				base = r
				fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f dB\t%s\t%s %s\t%+.2f dB\t", c.Name, c.Rows, c.Channels, c.InputSNR, r.Mode, r.Method, r.Param, r.Gain)
			case r.Param == realdata.DefaultMethod:
				fmt.Fprintf(tw, "%+.2f dB\t%+.2f dB\t", r.Gain, r.Gain-base.Gain)
			default:
				b := boundsOf(c.Bounds, r.Mode)
				fmt.Fprintf(tw, "%+.2f dB\t%+.2f dB\t%+.2f dB\t%+.2f dB\t\n", r.Gain, r.Gain-base.Gain, b.PerChannel, b.Linear)
			}
		}
		fmt.Fprintf(log, "  %s/%s: %s\n", s.Name, c.Name, c.Note)
	}
	return tw.Flush()
}

// boundsOf returns the oracle bounds of a mode (zero if none were measured).
func boundsOf(bs []realdata.Bounds, mode denoise.Mode) realdata.Bounds {
	for _, b := range bs {
		if b.Mode == mode {
			return b
		}
	}
	return realdata.Bounds{Mode: mode}
}
