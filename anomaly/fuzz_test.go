package anomaly

import (
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/stream"
)

// FuzzSettings: settings read from a model file, valid ones mutated, are
// accepted and scored with, or refused with an error, never a panic.
func FuzzSettings(f *testing.F) {
	m := testModel(f, 4, 3)
	set := calibrated(f, m, 300)
	valid, _ := json.Marshal(set)
	f.Add(valid)
	f.Add([]byte(`{"version": 2}`))
	f.Add([]byte(`{"version": 2, "rate": 0.01, "scale": [1, 1, 1], "alpha": 1, "persist": 1}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m.Apps = map[string]json.RawMessage{AppName: raw}
		s, err := Load(m)
		if err != nil {
			return
		}
		sc, err := New(m, Config{Settings: s}, func(*Score) error { return nil })
		if err != nil {
			return
		}
		rng := rand.New(rand.NewPCG(1, 1))
		for _, row := range [][]float32{normalRows(rng, 1, 3), {1e30, -1e30, 0}, normalRows(rng, 1, 3)} {
			for i := 0; i < 6; i++ {
				if err := sc.Push(stream.Row{Values: row}); err != nil {
					t.Fatal(err)
				}
			}
		}
		_ = sc.Close()
	})
}
