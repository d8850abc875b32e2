package linalg

import (
	"math"
	"slices"
	"testing"
)

func TestCholSolve(t *testing.T) {
	a := []float64{4, 2, 0, 2, 5, 1, 0, 1, 3}
	want := []float64{1, -2, 3}
	b := make([]float64, 3)
	for i := range 3 {
		for j := range 3 {
			b[i] += a[i*3+j] * want[j]
		}
	}
	x, err := CholSolve(a, b, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range x {
		if math.Abs(x[i]-want[i]) > 1e-12 {
			t.Fatalf("x = %v, want %v", x, want)
		}
	}
	if _, err := CholSolve([]float64{1, 2, 2, 1}, []float64{1, 1}, 2); err == nil {
		t.Error("an indefinite matrix solved")
	}
}

func TestCorrelatedPeers(t *testing.T) {
	const n, c = 200, 4
	x := make([]float32, n*c)
	for i := range n {
		v := math.Sin(float64(i) / 7)
		x[i*c], x[i*c+1], x[i*c+2], x[i*c+3] = float32(v), float32(-2*v), float32(math.Cos(float64(i)/3)), 5
	}
	p := CorrelatedPeers(x, c, 1)
	if !slices.Equal(p[0], []int{1}) || !slices.Equal(p[1], []int{0}) || len(p[3]) != 0 {
		t.Errorf("peers %v: channels 0 and 1 are each other's, the constant channel has none", p)
	}
}
