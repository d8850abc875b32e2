package model

import (
	"fmt"
	"math"
)

// Training is what training recorded in a model (its Apps["train"],
// through TrainingSection): how the windows were cut and what the run
// reached, so later tools (streams, the denoiser and the scorer) cut their
// windows the same way. Imported models have none.
type Training struct {
	Window      int     `json:"window"`
	Hop         int     `json:"hop"`
	ValFraction float64 `json:"val_fraction"`
	Variant     string  `json:"variant,omitempty"`
	Epochs      int     `json:"epochs"`
	BestEpoch   int     `json:"best_epoch"`
	Init        string  `json:"init,omitempty"`
	// ValMSE is the validation reconstruction error, PCAMSE PCA's with the
	// same code size (normalised units).
	ValMSE float64 `json:"val_mse"`
	PCAMSE float64 `json:"pca_mse,omitempty"`
	// NoiseVar: a denoising model's validation noise variance.
	NoiseVar float64 `json:"noise_var,omitempty"`
	// Period is the training data's sampling period in seconds, and
	// MaxGap its longest interval in periods: streams bridge gaps up to
	// that long.
	Period float64 `json:"period,omitempty"`
	MaxGap float64 `json:"max_gap,omitempty"`
	// Pinned names the channels that held one value in every training row
	// (see Model.PinChannels).
	Pinned []string `json:"pinned,omitempty"`
}

// TrainingSection is the model's Training.
var TrainingSection = NewSection("train", 1, checkTraining)

// checkTraining bounds what a model file may claim about its training.
func checkTraining(m *Model, t *Training) error {
	finite := func(v float64) bool { return v >= 0 && !math.IsInf(v, 0) }
	switch {
	case t.Window < 0 || t.Window > MaxSteps || t.Hop < 0 || t.Hop > MaxSteps:
		return fmt.Errorf("window %d and hop %d outside [0, %d]", t.Window, t.Hop, MaxSteps)
	case !(t.ValFraction < 1) || math.IsInf(t.ValFraction, 0): // negative: no validation part
		return fmt.Errorf("validation fraction %v: want below 1", t.ValFraction)
	case t.Epochs < 0 || t.BestEpoch < 0 || t.BestEpoch > t.Epochs:
		return fmt.Errorf("best epoch %d of %d", t.BestEpoch, t.Epochs)
	case !finite(t.ValMSE) || !finite(t.PCAMSE) || !finite(t.NoiseVar) || !finite(t.Period) || !finite(t.MaxGap):
		return fmt.Errorf("errors %v and %v, noise %v, period %v and gap %v: each must be finite and not negative", t.ValMSE, t.PCAMSE, t.NoiseVar, t.Period, t.MaxGap)
	case len(t.Pinned) > m.Channels:
		return fmt.Errorf("%d pinned channels of %d", len(t.Pinned), m.Channels)
	}
	return nil
}
