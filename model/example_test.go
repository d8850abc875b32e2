package model_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/edgeml/edge/model"
)

// tinyModel is a dense autoencoder for windows of 4 steps x 2 channels that
// keeps each channel's mean over the window: the encoder averages, the
// decoder spreads the averages back.
func tinyModel() *model.Model {
	enc := model.Layer{Kind: model.Dense, In: 8, Out: 2, W: make([]float32, 16), B: make([]float32, 2)}
	dec := model.Layer{Kind: model.Dense, In: 2, Out: 8, W: make([]float32, 16), B: make([]float32, 8)}
	for t := 0; t < 4; t++ {
		for c := 0; c < 2; c++ {
			enc.W[c*8+t*2+c] = 0.25 // latent c = mean of channel c
			dec.W[(t*2+c)*2+c] = 1  // every step of channel c = latent c
		}
	}
	return &model.Model{Name: "tiny", Steps: 4, Channels: 2,
		Norm:    model.Normalization{Kind: model.NormMeanStd, Shift: []float32{20, 0}, Scale: []float32{5, 1}},
		Encoder: []model.Layer{enc}, Decoder: []model.Layer{dec}}
}

// Reconstruct a window, encode it, and measure the reconstruction error.
func ExampleSession() {
	m := tinyModel()
	s, err := m.NewSession(1) // every buffer is allocated here
	if err != nil {
		fmt.Println(err)
		return
	}
	// One window, time-major: (step 0: ch0, ch1), (step 1: ch0, ch1), ...
	x := []float32{21, 1, 19, -1, 22, 2, 18, -2}
	recon := make([]float32, len(x))
	if err := s.Reconstruct(recon, x); err != nil {
		fmt.Println(err)
		return
	}
	latent := make([]float32, m.Latent())
	_ = s.Encode(latent, x)
	perChannel := make([]float32, m.Channels)
	window := make([]float32, 1)
	_ = s.Errors(x, nil, window, perChannel)
	fmt.Println("reconstruction:", recon)
	fmt.Printf("latent (normalised): %.3f\n", latent)
	fmt.Printf("error per channel (normalised): %.3f\n", perChannel)
	// Output:
	// reconstruction: [20 0 20 0 20 0 20 0]
	// latent (normalised): [0.000 0.000]
	// error per channel (normalised): [0.100 2.500]
}

// Save a model and load it back; Load validates the file and packs the
// weights for this CPU.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "edge")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.edge")
	if err := tinyModel().Save(path); err != nil {
		fmt.Println(err)
		return
	}
	m, err := model.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Name, m.Steps, "x", m.Channels, "latent", m.Latent(), "int8:", m.Quantized())
	// Output: tiny 4 x 2 latent 2 int8: false
}
