package denoise

import (
	"encoding/json"
	"testing"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// FuzzSettings: denoiser settings read from a model file, valid ones
// mutated, are accepted and cleaned with, or refused with an error, never
// a panic.
func FuzzSettings(f *testing.F) {
	const c = 3
	_, noisy := smoothNoisy(400, c, 0.2, 4)
	ImputeHold(noisy, c, nil)
	var set Settings
	set.Centred, _ = FitPredictor(noisy, nil, c, false, 1, 2)
	set.Causal, _ = FitPredictor(noisy, nil, c, true, 1, 2)
	valid, _ := json.Marshal(set)
	f.Add(valid)
	set.CentredFilter, set.CausalFilter = Median(7).Spec, SavitzkyGolay(9, 2).Spec
	set.CentredBlend, set.CausalBlend = []float32{0.2, 0.5, 1}, []float32{0, 0.7, 0.4}
	set.CentredMethod, set.CausalMethod = MethodBlend, MethodFilter
	blend, _ := json.Marshal(set)
	f.Add(blend)
	f.Add([]byte(`{"method": "predictor"}`))
	f.Add([]byte(`{"method": "autoencoder", "passes": 3}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m := &model.Model{Steps: 4, Channels: c, Norm: model.Normalization{Kind: model.NormNone}, Apps: map[string]json.RawMessage{AppName: raw}}
		s, err := Load(m)
		if err != nil {
			return
		}
		for _, mode := range []Mode{Centred, Causal} {
			if s.methodOf(mode) == MethodAutoencoder {
				continue // it needs a real model; its settings were checked by Load
			}
			d, err := New(m, Config{Mode: mode}, func(*Sample) error { return nil })
			if err != nil {
				continue
			}
			for i := 0; i < 80; i++ {
				if err := d.Push(stream.Row{Values: noisy[i*c : (i+1)*c]}); err != nil {
					t.Fatal(err)
				}
			}
			_ = d.Close()
		}
	})
}
