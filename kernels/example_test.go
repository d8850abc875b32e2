package kernels_test

import (
	"fmt"
	"math"

	"github.com/edgeml/edge/kernels"
)

// A dense int8 layer: pack the weights once, then run requantising GEMMs.
func ExamplePackQ8() {
	// Two output channels, three inputs. Weights are per-channel symmetric.
	w := []int8{
		10, -20, 30,
		5, 5, 5,
	}
	bias := []int32{100, -50} // in accumulator units (s_x * s_w)
	// Multiplier per channel: s_x*s_w[j]/s_y.
	scale := []float32{0.01, 0.02}
	layer, err := kernels.PackQ8(w, 2, 3, bias, scale, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	// One row of activations; the buffer carries kernels.Slack spare bytes.
	x := make([]int8, 3, 3+kernels.Slack)
	copy(x, []int8{100, 50, -20})
	y := make([]int8, 2)
	if err := layer.Gemm(1, x, 3, y, 2, kernels.ReLU(0)); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y)
	// Output: [0 12]
}

// Quantise a float32 vector to int8 and back.
func ExampleQuantize() {
	src := []float32{-1, -0.25, 0, 0.125, 0.5, 3}
	q := make([]int8, len(src))
	kernels.Quantize(q, src, 1.0/64, 0) // scale 1/64, zero point 0
	back := make([]float32, len(q))
	kernels.Dequantize(back, q, 1.0/64, 0)
	fmt.Println(q)
	fmt.Println(back)
	// Output:
	// [-64 -16 0 8 32 127]
	// [-1 -0.25 0 0.125 0.5 1.984375]
}

// An int8 tanh activation as a 256-entry lookup table.
func ExampleNewLUT() {
	// Inputs encode x = 0.05*q, outputs y = q/128.
	tanh := kernels.NewLUT(math.Tanh, 0.05, 0, 1.0/128, 0)
	in := []int8{-128, -20, 0, 20, 127}
	out := make([]int8, len(in))
	kernels.LUT(out, in, tanh)
	fmt.Println(out)
	// Output: [-128 -97 0 97 127]
}

// A float32 layer y = x*W^T + b, bit-identical on every kernel family.
func ExamplePackF32() {
	w := []float32{
		1, 2,
		-1, 0.5,
		0, 3,
	}
	layer, err := kernels.PackF32(w, 3, 2)
	if err != nil {
		fmt.Println(err)
		return
	}
	x := []float32{1, 1, 2, -1}
	y := make([]float32, 2*3)
	if err := layer.Gemm(2, x, 2, y, 3, []float32{0.5, 0, -1}); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(y)
	// Output: [3.5 -0.5 2 0.5 -2.5 -4]
}
