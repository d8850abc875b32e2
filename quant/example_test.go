package quant_test

import (
	"fmt"
	"math"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/quant"
)

// Quantise a float32 model to int8 on representative windows.
func ExampleQuantize() {
	// A float model: windows of 8 steps x 1 channel, a 2-value code.
	enc := model.Layer{Kind: model.Dense, In: 8, Out: 2, Act: model.Tanh, W: make([]float32, 16), B: make([]float32, 2)}
	dec := model.Layer{Kind: model.Dense, In: 2, Out: 8, W: make([]float32, 16), B: make([]float32, 8)}
	for t := 0; t < 8; t++ {
		enc.W[t], enc.W[8+t] = float32(math.Cos(float64(t)))/4, float32(math.Sin(float64(t)))/4
		dec.W[t*2], dec.W[t*2+1] = float32(math.Cos(float64(t))), float32(math.Sin(float64(t)))
	}
	m := &model.Model{Steps: 8, Channels: 1, Encoder: []model.Layer{enc}, Decoder: []model.Layer{dec}}
	// Calibration windows, raw units.
	var data []float32
	for w := 0; w < 100; w++ {
		for t := 0; t < 8; t++ {
			data = append(data, float32(math.Sin(float64(w)+float64(t)/3)))
		}
	}
	q, report, err := quant.Quantize(m, data, quant.Options{Method: quant.MSE})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("int8:", q.Quantized(), "tensors reported:", len(report.Layers))
	fmt.Println("int8 output within 35 dB of float32:", report.OutputSQNR > 35)
	// Output:
	// int8: true tensors reported: 4
	// int8 output within 35 dB of float32: true
}
