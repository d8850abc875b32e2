package demo

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/edgeml/edge/synth"
)

// BestClassical returns the classical filter with the highest SNR in a
// mode ("centred" or "causal").
func (r *Report) BestClassical(mode string) DenoiseRow {
	var best DenoiseRow
	first := true
	for _, d := range r.Denoise {
		if d.Mode != mode || strings.HasPrefix(d.Method, "autoencoder") || strings.HasPrefix(d.Method, "edge") {
			continue
		}
		if first || d.SNR > best.SNR {
			best, first = d, false
		}
	}
	return best
}

// Denoiser returns the row of edge's denoiser as the model chose it (its
// Param names the method) for a precision and mode.
func (r *Report) Denoiser(prec, mode string) DenoiseRow { return r.DenoiserMethod("edge", prec, mode) }

// DenoiserMethod returns the row of a denoising method ("edge", the
// model's choice, or "autoencoder") for a precision and mode.
func (r *Report) DenoiserMethod(method, prec, mode string) DenoiseRow {
	for _, d := range r.Denoise {
		if d.Method == method+" "+prec && d.Mode == mode {
			return d
		}
	}
	return DenoiseRow{}
}

// Scorer returns the detector row by method name.
func (r *Report) Scorer(method string) ScoreRow {
	for _, s := range r.Scores {
		if s.Method == method {
			return s
		}
	}
	return ScoreRow{}
}

// WriteSummary prints the demo's headline figures.
func (r *Report) WriteSummary(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "denoising (test days, normal rows; input SNR %.1f dB):\n", r.InputSNR)
	for _, mode := range []string{"centred", "causal"} {
		pr, best := r.Denoiser("int8", mode), r.BestClassical(mode)
		fmt.Fprintf(w, "  %-8s int8 %s %+5.1f dB  (best classical: %s %s %+5.1f dB; %+.1f dB better)\n",
			mode, pr.Param, pr.Gain, best.Method, best.Param, best.Gain, pr.Gain-best.Gain)
	}
	ae, pc, rz := r.Scorer("autoencoder int8"), r.Scorer("pca"), r.Scorer("rolling z-score")
	fmt.Fprintf(w, "anomalies (%d windows of %d rows, %d anomalous; %d events):\n", len(r.WindowLabels), c.Window, countTrue(r.WindowLabels), ae.Events)
	for _, s := range []ScoreRow{ae, pc, rz} {
		fmt.Fprintf(w, "  %-18s precision %.2f  recall %.2f  F1 %.2f  AUC %.3f  events found %d/%d\n",
			s.Method, s.Precision, s.Recall, s.F1, s.AUC, s.EventsFound, s.Events)
	}
	fmt.Fprintf(w, "speed (one core, %s kernels): int8 %.1f µs per window (float32 %.1f µs); streams %.0f samples/s denoising, %.0f scoring\n",
		r.Family, r.WindowNs["int8"]/1e3, r.WindowNs["float32"]/1e3, r.StreamRate["denoise"], r.StreamRate["score"])
}

func countTrue(b []bool) int {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return n
}

// WriteTables prints every figure: the denoisers, the detectors, recall
// by anomaly kind, and the int8 model's fidelity.
func (r *Report) WriteTables(w io.Writer) {
	c := r.Config
	fmt.Fprintf(w, "data: %d sensors, %d samples/day, noise %.2g gains, impulses and dropouts; %d test rows, %d anomalies\n",
		c.Channels, c.Day, c.Noise, r.Data.Test.Rows, len(r.Data.Test.Anomalies))
	fmt.Fprintf(w, "model: %s, latent %d, window %d, hop %d; trained %d epochs in %s (validation MSE %.4f, PCA %.4f)\n\n",
		describe(r.Float), c.Latent, c.Window, c.Hop, r.Train.Epochs, r.TrainTime.Round(1e6), r.Train.ValMSE, r.Train.PCAMSE)

	fmt.Fprintf(w, "Denoising: SNR on the test days' normal rows (input %.2f dB, RMSE %.3f of the signal's std)\n", r.InputSNR, r.InputRelRMSE)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "mode\tmethod\tparameters\tSNR dB\tgain dB\trel. RMSE\t")
	for _, mode := range []string{"centred", "causal"} {
		var rows []DenoiseRow
		for _, d := range r.Denoise {
			if d.Mode == mode {
				rows = append(rows, d)
			}
		}
		sort.SliceStable(rows, func(a, b int) bool { return rows[a].SNR > rows[b].SNR })
		for _, d := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%+.2f\t%.3f\t\n", mode, d.Method, d.Param, d.SNR, d.Gain, d.RelRMSE)
		}
	}
	tw.Flush()
	for _, mode := range []string{"centred", "causal"} {
		ae, best := r.Denoiser("int8", mode), r.BestClassical(mode)
		fl := r.Denoiser("float32", mode)
		fmt.Fprintf(w, "  %s: int8 denoiser %+.2f dB over the best classical filter (%s); int8 vs float32 %+.2f dB\n",
			mode, ae.Gain-best.Gain, best.Method, ae.SNR-fl.SNR)
	}

	fmt.Fprintf(w, "\nAnomaly detection: %d test windows (%d anomalous), thresholds calibrated on normal days\n", len(r.WindowLabels), countTrue(r.WindowLabels))
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "method\tparameters\tAUC\tprecision\trecall\tF1\tbest F1\tevents found\tfalse-alarm windows\t")
	for _, s := range r.Scores {
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d/%d\t%d\t\n", s.Method, s.Param, s.AUC, s.Precision, s.Recall, s.F1, s.BestF1, s.EventsFound, s.Events, s.FalseAlarmWindows)
	}
	tw.Flush()
	fmt.Fprintf(w, "  int8 vs float32 AUC %+.4f\n", r.Scorer("autoencoder int8").AUC-r.Scorer("autoencoder float32").AUC)

	fmt.Fprintln(w, "\nEvents found, by kind (share of anomalies with a window over the threshold):")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprint(tw, "method\t")
	for _, k := range synth.Kinds() {
		fmt.Fprintf(tw, "%s\t", k)
	}
	fmt.Fprintln(tw)
	for _, s := range r.Scores {
		fmt.Fprintf(tw, "%s\t", s.Method)
		for _, k := range synth.Kinds() {
			fmt.Fprintf(tw, "%.2f\t", r.PerKindRecall[s.Method][k.String()])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nint8 model: reconstruction error %+.2f%% against float32 on its calibration windows\n", 100*r.Quant.Growth)
	fmt.Fprintf(w, "speed, one core, %s kernels: %.1f µs per window int8, %.1f µs float32; %.0f samples/s denoising, %.0f scoring (int8 stream, hop %d)\n",
		r.Family, r.WindowNs["int8"]/1e3, r.WindowNs["float32"]/1e3, r.StreamRate["denoise"], r.StreamRate["score"], c.Hop)
}
