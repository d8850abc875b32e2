package realdata

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/train"
)

// EdgeDefault is edge's user path with default settings: learn a model
// from the learning rows as edge watch and edge train do (learn.Fit),
// then stream the rows through the int8 model's anomaly scorer.
func EdgeDefault(lp *Part) (Learned, error) { return EdgeWith(learn.Options{})(lp) }

// Variants are the model families compared by part 8 of the evaluation:
// the default (a dense autoencoder from its PCA start, fine-tuned), the
// PCA start alone (a linear autoencoder), a 1-D convolutional one and a
// variational one (scored on its mean path), all with the same
// thresholds, smoothing and findings; and the default without
// re-levelling lasting alarms ("no-settle").
func Variants() map[string]learn.Options {
	vanilla := &train.Corruption{}
	return map[string]learn.Options{
		"dense": {},
		"pca":   {Init: "pca", Train: train.Config{Epochs: 1, LR: 1e-12}},
		"conv":  {Arch: train.Arch{Kind: "conv"}},
		"vae":   {Arch: train.Arch{Variational: true}, Corrupt: vanilla},
		// The default model without re-levelling (anomaly.Settings.Settle).
		"no-settle": {Score: anomaly.Settings{Settle: -1}},
	}
}

// EdgeWith is EdgeDefault with other learning options.
func EdgeWith(opt learn.Options) EdgeFunc {
	return func(lp *Part) (Learned, error) { return edgeWith(lp, opt) }
}

func edgeWith(lp *Part, opt learn.Options) (Learned, error) {
	s := &dataset.Series{Source: lp.Source, Names: lp.Names, Values: lp.X, Times: lp.Times, Lines: make([]int, lp.Len())}
	fm, qm, rep, err := learn.Fit(s, opt)
	if err != nil {
		return nil, err
	}
	note := fmt.Sprintf("window %d (period %d), latent %d, smoothing %.3g×%d, best epoch %d", rep.Window, rep.Period, rep.Latent,
		rep.Settings.Alpha, rep.Settings.Persist, rep.Train.BestEpoch)
	warned := slices.Concat(rep.Constant, rep.Unsettled)
	if len(warned) > 0 {
		note += "; learning warned about " + strings.Join(warned, ", ")
	}
	return &modelScorer{m: qm, float: fm, note: note, warned: warned}, nil
}

// modelScorer scores with a model and its stored settings; float is the
// float32 model the int8 one came from (nil if none).
type modelScorer struct {
	m, float *model.Model
	note     string
	causes   []int8
	changes  []float64
	warned   []string // channels learning warned about (constant or changing level)
}

// Warned returns the channels learning warned about: held one value, or
// changed level across the learning rows.
func (s *modelScorer) Warned() []string { return s.warned }

func (s *modelScorer) Score(context, test *Part) ([]float64, []bool, error) {
	scores, flags, causes, changes, err := scoreRows(s.m, context, test)
	s.causes, s.changes = causes, changes
	return scores, flags, err
}

// Changes returns the change scores of the last Score's rows (see
// anomaly.Score.Change).
func (s *modelScorer) Changes() []float64 { return s.changes }

// Causes returns the causes of the last Score's flags (see scoreRows).
func (s *modelScorer) Causes() []int8 { return s.causes }

func (s *modelScorer) Note() string { return s.note }

// Float scores with the float32 model, for the int8 comparison.
func (s *modelScorer) Float(context, test *Part) ([]float64, []bool, error) {
	if s.float == nil {
		return nil, nil, nil
	}
	return ScoreRows(s.float, context, test)
}

// ScoreRows streams context rows then test rows through a scorer for m
// and returns, for each test row, its score and flag (rows the stream
// dropped get NaN and no flag).
func ScoreRows(m *model.Model, context, test *Part) ([]float64, []bool, error) {
	s, f, _, _, err := scoreRows(m, context, test)
	return s, f, err
}

// Causes of a flag, for diagnostics: the statistic with the smallest tail
// probability (anomaly.StatSPE...), or causeFinding.
const causeFinding = anomaly.NumStats

// scoreRows is ScoreRows, also returning each flagged row's cause (-1 for
// rows not flagged) and each row's change score.
func scoreRows(m *model.Model, context, test *Part) ([]float64, []bool, []int8, []float64, error) {
	set, err := anomaly.Load(m)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	nc := 0
	if context != nil {
		nc = context.Len()
	}
	n := nc + test.Len()
	scores := make([]float64, n)
	flags := make([]bool, n)
	causes := make([]int8, n)
	changes := make([]float64, n)
	for i := range scores {
		scores[i], causes[i], changes[i] = math.NaN(), -1, math.NaN()
	}
	sc, err := anomaly.New(m, anomaly.Config{}, func(s *anomaly.Score) error {
		r := s.Line - 1
		scores[r], flags[r], changes[r] = s.Score, s.Flag, s.Change
		if s.Flag {
			causes[r] = causeFinding
			if s.Finding == anomaly.NoFinding {
				best := 2.0
				for i, v := range s.Stats {
					if p := set.Tails[i].Prob(v); p < best {
						best, causes[r] = p, int8(i)
					}
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	c := test.C()
	push := func(p *Part, base int) error {
		for t := 0; t < p.Len(); t++ {
			r := stream.Row{Values: p.X[t*c : (t+1)*c], Line: base + t + 1}
			if p.Times != nil {
				r.Time, r.HasTime = p.Times[t], true
			}
			if err := sc.Push(r); err != nil {
				return err
			}
		}
		return nil
	}
	if context != nil {
		if err := push(context, 0); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	if err := push(test, nc); err != nil {
		return nil, nil, nil, nil, err
	}
	if err := sc.Close(); err != nil {
		return nil, nil, nil, nil, err
	}
	return scores[nc:], flags[nc:], causes[nc:], changes[nc:], nil
}

// EdgeDenoise is edge's denoising user path with default settings: learn
// a model from the noisy learning rows (learn.Fit), then clean the test
// rows as a stream through the int8 model's denoiser, with its default
// method (the blind-spot predictor) and, for comparison, the autoencoder
// (overlap-added reconstructions).
func EdgeDenoise(lp, tp *Part, mode denoise.Mode) (map[string][]float32, string, error) {
	s := &dataset.Series{Source: lp.Source, Names: lp.Names, Values: lp.X, Times: lp.Times, Lines: make([]int, lp.Len())}
	_, qm, rep, err := learn.Fit(s, learn.Options{})
	if err != nil {
		return nil, "", err
	}
	out := map[string][]float32{}
	// The method learning chose for the mode, and the autoencoder's.
	if out[DefaultMethod], err = CleanRows(qm, tp, mode, ""); err != nil {
		return nil, "", err
	}
	if out[denoise.MethodAutoencoder], err = CleanRows(qm, tp, mode, denoise.MethodAutoencoder); err != nil {
		return nil, "", err
	}
	p := rep.Denoiser
	note := fmt.Sprintf("risks %v, filters chosen %v; mix %.2f own %v median %v gains %.2f; autoencoder window %d latent %d",
		rep.DenoiseRisk, rep.Filters, p.Mix, p.Own, p.Med, p.Gain, rep.Window, rep.Latent)
	return out, note, nil
}

// CleanRows streams rows through a denoiser for m using method and
// returns one cleaned row per row (a row the stream dropped keeps its
// input value).
func CleanRows(m *model.Model, p *Part, mode denoise.Mode, method string) ([]float32, error) {
	c := p.C()
	out := held(p.X, c)
	d, err := denoise.New(m, denoise.Config{Mode: mode, Settings: denoise.Settings{Method: method}}, func(s *denoise.Sample) error {
		copy(out[(s.Line-1)*c:s.Line*c], s.Values)
		return nil
	})
	if err != nil {
		return nil, err
	}
	for t := 0; t < p.Len(); t++ {
		r := stream.Row{Values: p.X[t*c : (t+1)*c], Line: t + 1}
		if p.Times != nil {
			r.Time, r.HasTime = p.Times[t], true
		}
		if err := d.Push(r); err != nil {
			return nil, err
		}
	}
	return out, d.Close()
}
