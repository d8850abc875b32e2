// Package anomaly scores sensor streams row by row for anomalies with an
// autoencoder trained on normal data, and raises flags and findings.
//
// Every row is scored by four statistics, computed from the
// reconstruction of the window that ends at it (or, with a hop, the
// first window that covers it):
//
//   - spe: the mean over channels of the squared reconstruction error, in
//     units of each channel's typical out-of-sample error (so a channel
//     the model predicts well weighs more), each value capped at Clip²;
//   - peak: the largest of those per-channel errors (one sensor far off);
//   - range: the largest distance of a reading from its channel's centre,
//     in the normalisation's robust units (a value outside what the
//     learning period showed);
//   - smooth: an exponentially weighted mean of the smallest spe of the
//     last few rows (small, lasting shifts; a lone glitch does not move
//     it), with the weight and the number of rows chosen on the learning
//     data.
//
// Each statistic's tail under normal operation is learned from scores of
// normal rows the model did not train on (see Learn and package learn):
// peaks over a high level are fitted with a generalised Pareto
// distribution (Siffer et al., KDD 2017), which turns a target false-alarm
// rate into a threshold beyond the highest score seen. A row's p-value is
// the smallest tail probability of its four statistics times four (a
// Bonferroni bound); it is above its threshold when the p-value is at
// most Rate. Score is log p / (log p + log Rate): 0 for p = 1, 0.5 at the
// threshold, approaching 1 as p falls, so scores rank rows without ties.
//
// A flag starts after MinRows rows in a row above the threshold and ends
// when Score falls below Hysteresis × 0.5. With Drift, each channel's
// centre follows the slow level of rows the model finds normal (as DSPOT
// detrends), so months of slow change do not end in endless alarms; with
// Settle, an alarm that lasts long enough is taken as a new level.
//
// A channel that stops reporting (missing values for more rows in a row
// than the learning data showed) or freezes (identical readings for
// longer than the learning data showed) is a finding: the row is flagged
// with the finding and the channel named. Imputed values count as an
// average error, never as a perfect reconstruction.
package anomaly

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeml/edge/model"
)

// AppName is the name of the scorer's Section in a model file.
const AppName = "anomaly"

// DefaultAlarmRate is the share of normal rows a learned threshold is set
// to exceed: one row in 2000.
const DefaultAlarmRate = 0.0005

// settingsVersion is the version of the stored settings.
const settingsVersion = 2

// The statistics, in Settings.Tails order.
const (
	StatSPE = iota
	StatPeak
	StatRange
	StatSmooth
	NumStats
)

var statNames = [NumStats]string{"spe", "peak", "range", "smooth"}

// StatName names statistic i (StatSPE ...): spe, peak, range, smooth.
func StatName(i int) string { return statNames[i] }

// Settings are the scorer's parameters, stored in the model file.
type Settings struct {
	Version int `json:"version"`
	// Rate is the target false-alarm rate per row (default
	// DefaultAlarmRate).
	Rate float64 `json:"rate"`
	// Clip caps each value's squared error at Clip² (in typical errors;
	// default 10).
	Clip float64 `json:"clip"`
	// Scale holds, per channel, the typical out-of-sample reconstruction
	// error in the model's normalised units (a robust standard deviation).
	Scale []float64 `json:"scale"`
	// Alpha is the weight of the newest row in the smooth statistic, an
	// exponentially weighted mean of the smallest spe of the last Persist
	// rows (1 to 4: a lone glitch does not move it).
	Alpha   float64 `json:"alpha"`
	Persist int     `json:"persist"`
	// Tails are the learned normal tails of the statistics.
	Tails [NumStats]Tail `json:"tails"`
	// Change is the learned normal tail of the change statistic (see
	// Score.Change); empty in models learned before it existed, whose
	// rows then have a change score of 0.
	Change Tail `json:"change,omitzero"`
	// Hysteresis: a flag ends when Score falls below Hysteresis × 0.5
	// (default 0.8).
	Hysteresis float64 `json:"hysteresis"`
	// MinRows: rows in a row above the threshold before a flag starts
	// (default 1).
	MinRows int `json:"min_rows"`
	// Missing and Frozen hold, per channel, how many rows in a row of
	// missing values, or of identical readings, raise a finding (0: never).
	Missing []int `json:"missing,omitempty"`
	Frozen  []int `json:"frozen,omitempty"`
	// Outlier and Passes configure the robust reconstruction (see
	// model.Session.ReconstructRobust), Outlier in normalised units
	// (default 4 × the median of Scale; negative: a plain reconstruction).
	// Passes default 2.
	Outlier float64 `json:"outlier,omitempty"`
	Passes  int     `json:"passes,omitempty"`
	// Hop between scored windows (0: 1, every row its own window).
	Hop int `json:"hop,omitempty"`
	// Drift lets each channel's centre follow the level of the rows the
	// model finds normal (spe, peak and smooth under their thresholds, no
	// finding), by at most 4 normalisation units over Drift rows, so slow
	// changes of normal operation (seasons, sensor ageing) do not end in
	// endless alarms (0: fixed centres). A fault that develops more
	// slowly than that, seen only as a value outside the learned range,
	// is absorbed, not found.
	Drift int `json:"drift,omitempty"`
	// Cycle is the slowest variation the learning rows showed as normal,
	// in rows (their dominant period, or the window without one): the
	// drift moves a channel's centre only after its readings stayed on
	// one side of it for a whole Cycle, so it does not follow the
	// channel's own cycle (0: on every row, as in models from before it).
	Cycle int `json:"cycle,omitempty"`
	// Settle: an alarm that has lasted Settle rows in a row (no channel
	// finding) is taken as a new normal level: each channel's centre
	// moves to the mean of the alarm's latest rows and a KindNewLevel
	// event says so, so a sensor that steps to another level and stays
	// there is flagged for Settle rows, not for ever (relearn if the new
	// level is not normal). A window the model cannot reconstruct at the
	// new level stays flagged. 0: never. Learning sets twice its rows:
	// the new level must have lasted twice as long as everything learned.
	Settle int `json:"settle,omitempty"`
	// Rows is how many out-of-sample normal rows the tails were learned
	// from; Source says how ("cross-fitted", "held-out", "calibration").
	Rows   int    `json:"rows"`
	Source string `json:"source,omitempty"`
}

// resolve fills the defaults.
func (s Settings) resolve() Settings {
	if s.Rate == 0 {
		s.Rate = DefaultAlarmRate
	}
	if s.Clip == 0 {
		s.Clip = 10
	}
	if s.Hysteresis == 0 {
		s.Hysteresis = 0.8
	}
	if s.MinRows == 0 {
		s.MinRows = 1
	}
	if s.Passes == 0 {
		s.Passes = 2
	}
	if s.Hop == 0 {
		s.Hop = 1
	}
	if s.Outlier == 0 && len(s.Scale) > 0 {
		s.Outlier = 4 * medianOf(s.Scale)
	}
	return s
}

// check validates resolved settings for a model of c channels and window
// steps.
func (s *Settings) check(c, steps int) error {
	if err := s.checkLevels(c); err != nil {
		return err
	}
	if err := s.checkRows(c, steps); err != nil {
		return err
	}
	return s.checkTails()
}

// checkLevels checks the version, the rate and the per-channel scales.
func (s *Settings) checkLevels(c int) error {
	switch {
	case s.Version != settingsVersion:
		return fmt.Errorf("anomaly: settings version %d (this edge reads %d): the model was calibrated by another edge; learn or calibrate it again", s.Version, settingsVersion)
	case !(s.Rate > 0 && s.Rate < 0.5):
		return fmt.Errorf("anomaly: false-alarm rate %v outside (0, 0.5)", s.Rate)
	case !(s.Clip > 0) || math.IsInf(s.Clip, 0):
		return fmt.Errorf("anomaly: clip %v must be positive", s.Clip)
	case len(s.Scale) != c:
		return fmt.Errorf("anomaly: %d channel scales for %d channels", len(s.Scale), c)
	case !(s.Alpha > 0 && s.Alpha <= 1) || s.Persist < 1 || s.Persist > maxPersist:
		return fmt.Errorf("anomaly: smoothing weight %v outside (0, 1] or persistence %d outside [1, %d]", s.Alpha, s.Persist, maxPersist)
	case !(s.Hysteresis > 0 && s.Hysteresis <= 1):
		return fmt.Errorf("anomaly: hysteresis %v outside (0, 1]", s.Hysteresis)
	}
	for _, v := range s.Scale {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("anomaly: a channel scale is %v", v)
		}
	}
	return nil
}

// checkRows checks the settings counted in rows and the limits per
// channel.
func (s *Settings) checkRows(c, steps int) error {
	switch {
	case s.MinRows < 1 || s.MinRows > 1<<20:
		return fmt.Errorf("anomaly: min rows %d", s.MinRows)
	case (s.Missing != nil && len(s.Missing) != c) || (s.Frozen != nil && len(s.Frozen) != c):
		return fmt.Errorf("anomaly: %d missing and %d frozen limits for %d channels", len(s.Missing), len(s.Frozen), c)
	case math.IsNaN(s.Outlier) || math.IsInf(s.Outlier, 0) || s.Passes < 1 || s.Passes > 16:
		return fmt.Errorf("anomaly: outlier level %v and passes %d (1 to 16)", s.Outlier, s.Passes)
	case s.Hop < 1 || s.Hop > steps:
		return fmt.Errorf("anomaly: hop %d outside [1, %d]", s.Hop, steps)
	case s.Drift < 0 || s.Drift > 1<<30:
		return fmt.Errorf("anomaly: drift over %d rows", s.Drift)
	case s.Cycle < 0 || s.Cycle > 1<<30:
		return fmt.Errorf("anomaly: a cycle of %d rows", s.Cycle)
	case s.Settle < 0 || s.Settle > 1<<30:
		return fmt.Errorf("anomaly: settle after %d rows", s.Settle)
	}
	return nil
}

// checkTails checks the learned tails.
func (s *Settings) checkTails() error {
	for i := range s.Tails {
		if s.Tails[i].N == 0 {
			return fmt.Errorf("anomaly: no learned tail for %s", statNames[i])
		}
		if err := s.Tails[i].check(); err != nil {
			return fmt.Errorf("%s: %w", statNames[i], err)
		}
	}
	if s.Change.N != 0 {
		if err := s.Change.check(); err != nil {
			return fmt.Errorf("change: %w", err)
		}
	}
	return nil
}

// ErrNoSettings says the model has no learned scorer settings.
var ErrNoSettings = errors.New("anomaly: the model has no learned threshold (learn it with edge train or edge watch, or calibrate it on normal data: edge calibrate)")

// Section is the scorer's settings in a model file (Apps["anomaly"]),
// validated on load and store.
var Section = model.NewSection(AppName, settingsVersion, func(m *model.Model, s *Settings) error {
	r := s.resolve()
	return r.check(m.Channels, m.Steps)
})

// Load returns the settings stored in m, with defaults filled in.
func Load(m *model.Model) (Settings, error) {
	s, ok, err := Section.Get(m)
	if !ok {
		return Settings{}, ErrNoSettings
	}
	if err != nil {
		return Settings{}, err
	}
	return s.resolve(), nil
}

// Store writes s into m's settings.
func Store(m *model.Model, s Settings) error {
	return Section.Put(m, s)
}

// Thresholds returns each statistic's threshold at the settings' rate
// (each statistic gets Rate/NumStats, the Bonferroni share).
func (s Settings) Thresholds() [NumStats]float64 {
	var t [NumStats]float64
	for i := range t {
		t[i] = s.Tails[i].Threshold(s.resolve().Rate / NumStats)
	}
	return t
}

// NoLower keeps, for each statistic, the tail of old where its threshold
// at s's rate is higher than s's (and old's channel scales where they are
// larger), so a calibration on rows the model trained on cannot lower
// the learned thresholds. It returns how many tails it kept.
func (s *Settings) NoLower(old Settings) int {
	if len(old.Scale) != len(s.Scale) {
		return 0
	}
	kept := 0
	scaled := false
	for ch, v := range old.Scale {
		if v > s.Scale[ch] {
			scaled = true
		}
	}
	if scaled {
		// Thresholds are in units of the scales: take old's whole.
		s.Scale, s.Tails, s.Alpha, s.Persist = old.Scale, old.Tails, old.Alpha, old.Persist
		return NumStats
	}
	r := s.resolve().Rate / NumStats
	for i := range s.Tails {
		if old.Tails[i].Threshold(r) > s.Tails[i].Threshold(r) {
			if i == StatSmooth && (old.Alpha != s.Alpha || old.Persist != s.Persist) {
				continue
			}
			s.Tails[i] = old.Tails[i]
			kept++
		}
	}
	return kept
}
