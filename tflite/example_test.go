package tflite_test

import (
	"fmt"
	"os"

	"github.com/edgeml/edge/tflite"
)

// Import an int8 TFLite model (a 12-6-3-6-12 dense autoencoder with int8
// input and output tensors) as an int8 edge model with its own scales,
// reading its 12 inputs as 3 steps of 4 channels.
func ExampleImport() {
	data, err := os.ReadFile("testdata/dense_int8.tflite")
	if err != nil {
		fmt.Println(err)
		return
	}
	m, rep, err := tflite.Import(data, tflite.Options{Steps: 3})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d steps x %d channels, code %d, int8 %v\n", m.Steps, m.Channels, m.Latent(), m.Quantized())
	for _, mp := range rep.Mappings {
		fmt.Printf("op %d %s -> %s\n", mp.Index, mp.Op, mp.Edge)
	}
	// Output:
	// 3 steps x 4 channels, code 3, int8 true
	// op 0 FULLY_CONNECTED -> encoder.0 dense 12->6 relu, int8
	// op 1 FULLY_CONNECTED -> encoder.1 dense 6->3 relu, int8
	// op 2 FULLY_CONNECTED -> decoder.0 dense 3->6 relu, int8
	// op 3 FULLY_CONNECTED -> decoder.1 dense 6->12 identity, int8
}
