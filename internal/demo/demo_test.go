package demo

import (
	"strings"
	"testing"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/synth"
)

// TestTargets runs the demo as shipped and checks the quality targets of
// the denoiser and the scorer. Everything is deterministic (the seed, the
// bit-exact kernels), so these are fixed figures, not timings.
func TestTargets(t *testing.T) {
	r, err := Run(Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"centred", "causal"} {
		ae, fl, best := r.Denoiser("int8", mode), r.Denoiser("float32", mode), r.BestClassical(mode)
		t.Logf("%s: int8 %+.2f dB, float32 %+.2f dB, best classical %s %+.2f dB", mode, ae.Gain, fl.Gain, best.Method, best.Gain)
		if ae.Gain-best.Gain < 3 {
			t.Errorf("%s: the int8 denoiser gains %.2f dB, only %.2f dB more than %s (target 3)", mode, ae.Gain, ae.Gain-best.Gain, best.Method)
		}
		if d := ae.SNR - fl.SNR; d < -0.3 || d > 0.3 {
			t.Errorf("%s: int8 SNR %.2f dB off float32 (target within 0.3)", mode, d)
		}
	}
	// The scorer's plumbing on generated data: well above chance, ahead
	// of the rolling z-score on both counts and of PCA on F1. Its quality
	// is judged on real data (edge eval --data): learning from 4 days, the
	// demo's slow drifts are found best with a smoothing whose tail those
	// rows cannot carry (anomaly.minEffective), which real data taught
	// edge not to choose, so PCA's AUC may be ahead here.
	q, f := r.Scorer("autoencoder int8"), r.Scorer("autoencoder float32")
	for _, b := range []ScoreRow{r.Scorer("pca"), r.Scorer("rolling z-score")} {
		t.Logf("AUC %.3f F1 %.3f against %s AUC %.3f F1 %.3f", q.AUC, q.F1, b.Method, b.AUC, b.F1)
		if q.F1 <= b.F1 || (b.Method != "pca" && q.AUC <= b.AUC) {
			t.Errorf("int8 scorer AUC %.3f F1 %.3f does not beat %s (AUC %.3f F1 %.3f)", q.AUC, q.F1, b.Method, b.AUC, b.F1)
		}
	}
	if q.AUC < 0.8 {
		t.Errorf("int8 scorer AUC %.3f (plumbing floor 0.8)", q.AUC)
	}
	if d := q.AUC - f.AUC; d < -0.01 || d > 0.01 {
		t.Errorf("int8 AUC %.4f off float32 by %.4f (target within 0.01)", q.AUC, d)
	}
}

func TestRunSmall(t *testing.T) {
	r, err := Run(Config{Channels: 3, TrainDays: 6, CalibDays: 1, TuneDays: 1, TestDays: 2, AnomaliesPerDay: 2, Epochs: 2, Hidden: []int{16}, Latent: 4})
	if err != nil {
		t.Fatal(err)
	}
	d := r.Data
	if d.Test.Rows != 576 || len(d.Test.Anomalies) != 4 || len(d.Names) != 3 {
		t.Fatalf("test part: %d rows, %d anomalies", d.Test.Rows, len(d.Test.Anomalies))
	}
	for k, v := range r.Cleaned {
		if len(v) != len(d.Test.Observed) {
			t.Errorf("%s: %d cleaned values for %d", k, len(v), len(d.Test.Observed))
		}
	}
	if len(r.Denoise) != 2*2*2+2*4 || len(r.Scores) != 4 {
		t.Errorf("%d denoise rows, %d score rows", len(r.Denoise), len(r.Scores))
	}
	for k, v := range r.TestScores {
		if len(v) != len(r.WindowEnds) {
			t.Errorf("%s: %d scores for %d windows", k, len(v), len(r.WindowEnds))
		}
	}
	if len(r.Latent) != len(r.WindowEnds)*r.LatentDim || len(r.Flags) != len(r.WindowEnds) {
		t.Error("latent codes or flags do not match the windows")
	}
	if _, err := anomaly.Load(r.Int8); err != nil {
		t.Errorf("the int8 model has no scorer settings: %v", err)
	}
	var b strings.Builder
	r.WriteSummary(&b)
	r.WriteTables(&b)
	for _, want := range []string{"denoising", "anomalies", "savitzky-golay", "rolling z-score", "µs per window"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func TestWindowLabels(t *testing.T) {
	p := Part{Rows: 20, Labels: make([]synth.Kind, 20)}
	p.Labels[10] = 1
	ends, labels := windowLabels(p, 4, 3)
	// Windows end at 3, 6, 9, 12, 15, 18 and 19 (the final aligned one).
	want := []int{3, 6, 9, 12, 15, 18, 19}
	if len(ends) != len(want) {
		t.Fatalf("ends %v", ends)
	}
	for i := range want {
		if ends[i] != want[i] {
			t.Fatalf("ends %v", ends)
		}
		covers := ends[i] >= 10 && ends[i]-3 <= 10
		if labels[i] != covers {
			t.Errorf("window ending %d labelled %v", ends[i], labels[i])
		}
	}
	rows := normalRows(p, 2)
	for i, ok := range rows {
		if ok != (i < 8 || i > 12) {
			t.Errorf("row %d normal %v", i, ok)
		}
	}
}
