package model

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/edgeml/edge/kernels"
)

func sha256Hex(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// quantizeByHand turns a float model into an int8 one with fixed activation
// ranges: per-channel symmetric weights, biases in accumulator units. It is
// a test stand-in for package quant (which imports this package).
func quantizeByHand(m *Model) *Model {
	q := m.Clone()
	q.Encoder = append([]Layer(nil), m.Encoder...)
	q.Decoder = append([]Layer(nil), m.Decoder...)
	q.InputQ = &QParams{Scale: 8.0 / 255, ZeroPoint: 0}
	q.LatentQ = &QParams{Scale: 16.0 / 255, ZeroPoint: 0}
	rangeOf := func(a Activation) QParams {
		switch a.orIdentity() {
		case ReLU:
			return QParams{Scale: 6.0 / 255, ZeroPoint: -128}
		case Sigmoid:
			return QParams{Scale: 1.0 / 255, ZeroPoint: -128}
		case Tanh:
			return QParams{Scale: 2.0 / 255, ZeroPoint: 0}
		}
		return QParams{Scale: 12.0 / 255, ZeroPoint: 0}
	}
	in := *q.InputQ
	for _, layers := range [][]Layer{q.Encoder, q.Decoder} {
		for i := range layers {
			l := &layers[i]
			if l.Kind == Reshape {
				continue
			}
			per := len(l.W) / l.Out
			l.QW = make([]int8, len(l.W))
			l.QScale = make([]float32, l.Out)
			l.QB = make([]int32, l.Out)
			for o := 0; o < l.Out; o++ {
				var mx float64
				for _, w := range l.W[o*per : (o+1)*per] {
					mx = math.Max(mx, math.Abs(float64(w)))
				}
				s := mx / 127
				if s == 0 {
					s = 1
				}
				l.QScale[o] = float32(s)
				for j, w := range l.W[o*per : (o+1)*per] {
					l.QW[o*per+j] = int8(math.RoundToEven(float64(w) / s))
				}
				l.QB[o] = int32(math.RoundToEven(float64(l.B[o]) / (float64(in.Scale) * s)))
			}
			l.W, l.B = nil, nil
			out := rangeOf(l.Act)
			l.OutQ = &out
			if a := l.Act.orIdentity(); a != Identity && a != ReLU {
				pre := QParams{Scale: 12.0 / 255, ZeroPoint: 0}
				l.PreQ = &pre
			}
			in = out
		}
		in = *q.LatentQ
	}
	return q
}

func quantizedTestModel(t testing.TB) *Model {
	t.Helper()
	m := quantizeByHand(randomWeights(testModels()["conv"](), rand.New(rand.NewPCG(21, 22))))
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestInt8Runs checks the int8 executor on every test architecture: it runs,
// it stays near the float model it came from, it is identical on every
// kernel family, and it allocates nothing.
func TestInt8Runs(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	defer func(f kernels.Family) { _ = kernels.Use(f) }(kernels.Current())
	for name, build := range testModels() {
		fm := randomWeights(build(), rng)
		qm := quantizeByHand(fm)
		x := randomWindows(rng, fm, 3)
		want := make([]float32, len(x))
		fs, _ := fm.NewSession(3)
		if err := fs.Reconstruct(want, x); err != nil {
			t.Fatal(err)
		}
		var first []float32
		// Half the models round their output to an int8 grid, as imported
		// models with an int8 output tensor do.
		if len(name)%2 == 0 {
			qm.OutputQ = &QParams{Scale: 0.05, ZeroPoint: 3}
		}
		for _, f := range kernels.Supported() {
			if err := kernels.Use(f); err != nil {
				t.Fatal(err)
			}
			s, err := qm.NewSession(3)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got := make([]float32, len(x))
			if err := s.Reconstruct(got, x); err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = got
				// Near the float model: these are crude fixed ranges, so only
				// check that the error is a fraction of the signal.
				var num, den float64
				for i := range got {
					c := i % fm.Channels
					d := float64(got[i]-want[i]) / float64(fm.Norm.Scale[c])
					num += d * d
					w := float64(want[i]-fm.Norm.Shift[c]) / float64(fm.Norm.Scale[c])
					den += w * w
				}
				if num > 0.1*den {
					t.Errorf("%s: int8 output far from float: relative squared error %.3f", name, num/den)
				}
				if a := testing.AllocsPerRun(20, func() { _ = s.Reconstruct(got, x) }); a != 0 {
					t.Errorf("%s: int8 Reconstruct allocates %v times", name, a)
				}
				if q := qm.OutputQ; q != nil {
					for i, v := range got {
						c := i % fm.Channels
						k := float64((v-fm.Norm.Shift[c])/fm.Norm.Scale[c])/float64(q.Scale) + float64(q.ZeroPoint)
						if math.Abs(k-math.Round(k)) > 1e-3 || k < -128.001 || k > 127.001 {
							t.Fatalf("%s: output %d (%v) is not on the output's int8 grid (%.4f steps)", name, i, v, k)
						}
					}
				}
				continue
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(first[i]) {
					t.Fatalf("%s on %s: int8 output[%d] = %v, generic %v", name, f, i, got[i], first[i])
				}
			}
		}
	}
}
