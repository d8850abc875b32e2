//go:build purego || !(amd64 || arm64)

package kernels

type tileShape struct{ mr, nv int }

func q8Tiles(Family) []tileShape  { return nil }
func q8NR(Family) int             { return 1 }
func f32Tiles(Family) []tileShape { return nil }
func f32NR(Family) int            { return 1 }

func gemmForced(*Q8Weights, int, []int8, int, []int8, int, Output, tileShape) {
	panic("no tiles without assembly")
}
func gemmF32Forced(*Q8Weights, int, []int8, int, []float32, int, tileShape) {
	panic("no tiles without assembly")
}
func f32Forced(*F32Weights, int, []float32, int, []float32, int, []float32, int, tileShape) {
	panic("no tiles without assembly")
}
