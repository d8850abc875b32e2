package onnx_test

import (
	"fmt"
	"os"

	"github.com/edgeml/edge/onnx"
)

// Import a PyTorch export (testdata/gen.py) and run it: a 1-D conv
// autoencoder whose [batch, 4 channels, 16 steps] input becomes windows of
// 16 steps x 4 channels.
func ExampleImport() {
	data, err := os.ReadFile("testdata/conv.onnx")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, rep, err := onnx.Import(data, onnx.Options{Name: "conv"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d steps x %d channels, code %d, %d+%d layers, int8 %v\n", m.Steps, m.Channels, m.Latent(), len(m.Encoder), len(m.Decoder), rep.Int8)
	s, err := m.NewSession(1)
	if err != nil {
		fmt.Println(err)
		return
	}
	window := make([]float32, m.Steps*m.Channels) // time-major: value (t, c) at t*4+c
	recon := make([]float32, len(window))
	fmt.Println(s.Reconstruct(recon, window))
	// Output:
	// 16 steps x 4 channels, code 6, 3+4 layers, int8 false
	// <nil>
}
