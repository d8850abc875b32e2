package model

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/edgeml/edge/kernels"
)

// randomWeights fills every layer's float weights with values of a scale
// that keeps activations O(1), and sets a per-channel normalisation.
func randomWeights(m *Model, rng *rand.Rand) *Model {
	for _, layers := range [][]Layer{m.Encoder, m.Decoder} {
		for i := range layers {
			l := &layers[i]
			if l.Kind == Reshape {
				continue
			}
			fan := l.In
			if l.Kind != Dense {
				fan = l.In * l.Kernel
			}
			l.W = make([]float32, l.weightCount())
			for j := range l.W {
				l.W[j] = float32(rng.NormFloat64() / math.Sqrt(float64(fan)))
			}
			l.B = make([]float32, l.Out)
			for j := range l.B {
				l.B[j] = float32(rng.NormFloat64() * 0.1)
			}
		}
	}
	m.Norm = Normalization{Kind: NormMeanStd, Shift: make([]float32, m.Channels), Scale: make([]float32, m.Channels)}
	for c := range m.Norm.Shift {
		m.Norm.Shift[c] = float32(rng.NormFloat64() * 10)
		m.Norm.Scale[c] = float32(0.5 + rng.Float64()*5)
	}
	return m
}

// testModels are architectures that exercise every layer kind, padding,
// stride, dilation, output padding, reshapes and a variational head.
func testModels() map[string]func() *Model {
	return map[string]func() *Model{
		"dense": func() *Model {
			return &Model{Steps: 16, Channels: 3,
				Encoder: []Layer{{Kind: Dense, In: 48, Out: 20, Act: ReLU}, {Kind: Dense, In: 20, Out: 6, Act: Tanh}},
				Decoder: []Layer{{Kind: Dense, In: 6, Out: 20, Act: LeakyReLU, Alpha: 0.1}, {Kind: Dense, In: 20, Out: 48}}}
		},
		"conv": func() *Model {
			return &Model{Steps: 32, Channels: 4,
				Encoder: []Layer{
					{Kind: Conv1D, In: 4, Out: 8, Kernel: 5, Stride: 2, Padding: 2, Dilation: 1, Act: ReLU},
					{Kind: Conv1D, In: 8, Out: 8, Kernel: 3, Stride: 2, Padding: 1, Dilation: 1, Act: Sigmoid},
					{Kind: Dense, In: 64, Out: 10}},
				Decoder: []Layer{
					{Kind: Dense, In: 10, Out: 64, Act: ReLU},
					{Kind: Reshape, Steps: 8, Channels: 8},
					{Kind: ConvTranspose1D, In: 8, Out: 8, Kernel: 4, Stride: 2, Padding: 1, Dilation: 1, Act: ReLU},
					{Kind: ConvTranspose1D, In: 8, Out: 4, Kernel: 4, Stride: 2, Padding: 1, Dilation: 1}}}
		},
		"dilated": func() *Model {
			return &Model{Steps: 20, Channels: 3,
				Encoder: []Layer{
					{Kind: Conv1D, In: 3, Out: 5, Kernel: 3, Stride: 1, Padding: 2, Dilation: 2, Act: LeakyReLU, Alpha: 0.2},
					{Kind: Conv1D, In: 5, Out: 6, Kernel: 3, Stride: 3, Padding: 0, Dilation: 1, Act: Tanh}},
				Decoder: []Layer{
					{Kind: ConvTranspose1D, In: 6, Out: 5, Kernel: 5, Stride: 3, Padding: 1, Dilation: 1, OutputPadding: 2, Act: ReLU},
					{Kind: Conv1D, In: 5, Out: 3, Kernel: 3, Stride: 1, Padding: 1, Dilation: 1}}}
		},
		"vae": func() *Model {
			return &Model{Steps: 8, Channels: 2, Variational: true,
				Encoder: []Layer{{Kind: Dense, In: 16, Out: 12, Act: ReLU}, {Kind: Dense, In: 12, Out: 8}},
				Decoder: []Layer{{Kind: Dense, In: 4, Out: 12, Act: Sigmoid}, {Kind: Dense, In: 12, Out: 16}}}
		},
	}
}

// ref is the oracle: the model's layers written out directly, in float64,
// on one window (time-major), with none of the plan's tricks.
func ref(m *Model, x []float32) (recon []float64, latent []float64) {
	t, c := m.Steps, m.Channels
	cur := make([]float64, t*c)
	for i, v := range x {
		cur[i] = float64(v)
		if m.Norm.Kind == NormMeanStd {
			cur[i] = (float64(v) - float64(m.Norm.Shift[i%c])) / float64(m.Norm.Scale[i%c])
		}
	}
	run := func(layers []Layer) {
		for _, l := range layers {
			switch l.Kind {
			case Reshape:
				t, c = l.Steps, l.Channels
				continue
			case Dense:
				out := make([]float64, l.Out)
				for o := range out {
					acc := float64(l.B[o])
					for i := 0; i < l.In; i++ {
						acc += float64(l.W[o*l.In+i]) * cur[i]
					}
					out[o] = acc
				}
				cur, t, c = out, 1, l.Out
			case Conv1D:
				to := (t+2*l.Padding-l.Dilation*(l.Kernel-1)-1)/l.Stride + 1
				out := make([]float64, to*l.Out)
				for ot := 0; ot < to; ot++ {
					for o := 0; o < l.Out; o++ {
						acc := float64(l.B[o])
						for k := 0; k < l.Kernel; k++ {
							it := ot*l.Stride + k*l.Dilation - l.Padding
							if it < 0 || it >= t {
								continue
							}
							for i := 0; i < l.In; i++ {
								acc += float64(l.W[(o*l.Kernel+k)*l.In+i]) * cur[it*c+i]
							}
						}
						out[ot*l.Out+o] = acc
					}
				}
				cur, t, c = out, to, l.Out
			case ConvTranspose1D:
				to := (t-1)*l.Stride - 2*l.Padding + (l.Kernel - 1) + l.OutputPadding + 1
				out := make([]float64, to*l.Out)
				for ot := 0; ot < to; ot++ {
					for o := 0; o < l.Out; o++ {
						out[ot*l.Out+o] = float64(l.B[o])
					}
				}
				for it := 0; it < t; it++ { // scatter form
					for k := 0; k < l.Kernel; k++ {
						ot := it*l.Stride + k - l.Padding
						if ot < 0 || ot >= to {
							continue
						}
						for o := 0; o < l.Out; o++ {
							for i := 0; i < l.In; i++ {
								out[ot*l.Out+o] += float64(l.W[(o*l.Kernel+k)*l.In+i]) * cur[it*c+i]
							}
						}
					}
				}
				cur, t, c = out, to, l.Out
			}
			for i := range cur {
				cur[i] = float64(activate(l.Act.orIdentity(), l.Alpha, float32(cur[i])))
			}
		}
	}
	run(m.Encoder)
	latent = cur
	if m.Variational {
		latent = cur[:len(cur)/2]
		cur, t, c = append([]float64(nil), latent...), 1, len(latent)
	}
	run(m.Decoder)
	recon = make([]float64, len(cur))
	for i, v := range cur {
		recon[i] = v
		if m.Norm.Kind == NormMeanStd {
			recon[i] = v*float64(m.Norm.Scale[i%m.Channels]) + float64(m.Norm.Shift[i%m.Channels])
		}
	}
	return recon, latent
}

func randomWindows(rng *rand.Rand, m *Model, n int) []float32 {
	x := make([]float32, n*m.Steps*m.Channels)
	for i := range x {
		c := i % m.Channels
		x[i] = m.Norm.Shift[c] + m.Norm.Scale[c]*float32(rng.NormFloat64())
	}
	return x
}

func closeTo(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	var scale float64
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - want[i]); d > tol*(1+scale) {
			t.Fatalf("%s[%d] = %v, want %v (|diff| %g)", what, i, got[i], want[i], d)
		}
	}
}

func TestFloatAgainstOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, build := range testModels() {
		t.Run(name, func(t *testing.T) {
			m := randomWeights(build(), rng)
			if err := m.Validate(); err != nil {
				t.Fatal(err)
			}
			for _, batch := range []int{1, 3} {
				s, err := m.NewSession(batch)
				if err != nil {
					t.Fatal(err)
				}
				x := randomWindows(rng, m, batch)
				recon := make([]float32, len(x))
				if err := s.Reconstruct(recon, x); err != nil {
					t.Fatal(err)
				}
				lat := make([]float32, batch*m.Latent())
				if err := s.Encode(lat, x); err != nil {
					t.Fatal(err)
				}
				win := m.Steps * m.Channels
				for w := 0; w < batch; w++ {
					wantR, wantL := ref(m, x[w*win:(w+1)*win])
					closeTo(t, "latent", lat[w*m.Latent():(w+1)*m.Latent()], wantL, 1e-4)
					closeTo(t, "reconstruction", recon[w*win:(w+1)*win], wantR, 1e-4)
				}
				// Decode of the latent gives the reconstruction back.
				dec := make([]float32, len(x))
				if err := s.Decode(dec, lat); err != nil {
					t.Fatal(err)
				}
				for i := range dec {
					if dec[i] != recon[i] {
						t.Fatalf("Decode(Encode(x))[%d] = %v, Reconstruct(x) = %v", i, dec[i], recon[i])
					}
				}
			}
		})
	}
}

// TestFamiliesIdentical runs every model on every kernel family and
// requires the same bits.
func TestFamiliesIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	defer func(f kernels.Family) { _ = kernels.Use(f) }(kernels.Current())
	for name, build := range testModels() {
		m := randomWeights(build(), rng)
		x := randomWindows(rng, m, 2)
		var first []float32
		for _, f := range kernels.Supported() {
			if err := kernels.Use(f); err != nil {
				t.Fatal(err)
			}
			s, err := m.NewSession(2)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, len(x))
			if err := s.Reconstruct(out, x); err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = out
				continue
			}
			for i := range out {
				if math.Float32bits(out[i]) != math.Float32bits(first[i]) {
					t.Fatalf("%s on %s: output[%d] = %v, generic gave %v", name, f, i, out[i], first[i])
				}
			}
		}
	}
}

func TestReconstructAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for name, build := range testModels() {
		m := randomWeights(build(), rng)
		s, err := m.NewSession(4)
		if err != nil {
			t.Fatal(err)
		}
		x := randomWindows(rng, m, 4)
		out := make([]float32, len(x))
		perWin := make([]float32, 4)
		perCh := make([]float32, 4*m.Channels)
		lat := make([]float32, 4*m.Latent())
		if a := testing.AllocsPerRun(20, func() {
			_ = s.Reconstruct(out, x)
			_ = s.Reconstruct(out[:m.Steps*m.Channels], x[:m.Steps*m.Channels])
			_ = s.Encode(lat, x)
			_ = s.Decode(out, lat)
			_ = s.Errors(x, nil, perWin, perCh)
		}); a != 0 {
			t.Errorf("%s: %v allocations per call", name, a)
		}
	}
}

func TestConcurrentSessions(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	m := randomWeights(testModels()["conv"](), rng)
	x := randomWindows(rng, m, 2)
	want := make([]float32, len(x))
	s0, err := m.NewSession(2)
	if err != nil {
		t.Fatal(err)
	}
	if err := s0.Reconstruct(want, x); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := m.NewSession(2)
			if err != nil {
				t.Error(err)
				return
			}
			out := make([]float32, len(x))
			for i := 0; i < 50; i++ {
				if err := s.Reconstruct(out, x); err != nil {
					t.Error(err)
					return
				}
			}
			for i := range out {
				if out[i] != want[i] {
					t.Errorf("concurrent session: output[%d] = %v, want %v", i, out[i], want[i])
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	m := randomWeights(testModels()["dense"](), rng)
	s, err := m.NewSession(2)
	if err != nil {
		t.Fatal(err)
	}
	x := randomWindows(rng, m, 2)
	recon := make([]float32, len(x))
	win := make([]float32, 2)
	ch := make([]float32, 2*m.Channels)
	if err := s.Errors(x, recon, win, ch); err != nil {
		t.Fatal(err)
	}
	W := m.Steps * m.Channels
	for w := 0; w < 2; w++ {
		var total float64
		perCh := make([]float64, m.Channels)
		for i := 0; i < W; i++ {
			c := i % m.Channels
			d := float64(x[w*W+i]-recon[w*W+i]) / float64(m.Norm.Scale[c])
			total += d * d
			perCh[c] += d * d / float64(m.Steps)
		}
		if math.Abs(float64(win[w])-total/float64(W)) > 1e-4*total/float64(W) {
			t.Errorf("window %d error %v, want %v", w, win[w], total/float64(W))
		}
		var mean float64
		for c := range perCh {
			if math.Abs(float64(ch[w*m.Channels+c])-perCh[c]) > 1e-4*(perCh[c]+1e-9) {
				t.Errorf("window %d channel %d error %v, want %v", w, c, ch[w*m.Channels+c], perCh[c])
			}
			mean += perCh[c] / float64(m.Channels)
		}
		if math.Abs(mean-float64(win[w])) > 1e-4*mean {
			t.Errorf("window error %v is not the mean of the channel errors %v", win[w], mean)
		}
	}
	// Bad calls say what is wrong.
	if err := s.Reconstruct(recon[:5], x[:5]); err == nil {
		t.Error("partial window accepted")
	}
	if err := s.Reconstruct(make([]float32, 3*W), randomWindows(rng, m, 3)); err == nil {
		t.Error("more windows than the batch accepted")
	}
	if err := s.Errors(x, nil, make([]float32, 1), nil); err == nil {
		t.Error("short window error buffer accepted")
	}
}

func TestPool(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	m := randomWeights(testModels()["conv"](), rng)
	x := randomWindows(rng, m, 37)
	want := make([]float32, len(x))
	s, _ := m.NewSession(37)
	if err := s.Reconstruct(want, x); err != nil {
		t.Fatal(err)
	}
	wantErr := make([]float32, 37)
	if err := s.Errors(x, nil, wantErr, nil); err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 3, 0} {
		p, err := m.NewPool(workers, 4)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float32, len(x))
		if err := p.Reconstruct(got, x); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("pool of %d: output[%d] = %v, want %v", workers, i, got[i], want[i])
			}
		}
		win := make([]float32, 37)
		ch := make([]float32, 37*m.Channels)
		if err := p.Errors(x, win, ch); err != nil {
			t.Fatal(err)
		}
		for i := range win {
			if win[i] != wantErr[i] {
				t.Fatalf("pool of %d: window error %d = %v, want %v", workers, i, win[i], wantErr[i])
			}
		}
	}
	if _, err := m.NewPool(-1, 1); err == nil {
		t.Error("negative worker count accepted")
	}
}

// TestFoldBatchNorm compares a layer followed by batch normalisation with
// the folded layer.
func TestFoldBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	m := randomWeights(testModels()["conv"](), rng)
	l := &m.Encoder[0] // conv1d 4->8
	n := l.Out
	gamma, beta, mean, variance := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	for i := 0; i < n; i++ {
		gamma[i], beta[i] = float32(0.5+rng.Float64()), float32(rng.NormFloat64())
		mean[i], variance[i] = float32(rng.NormFloat64()), float32(0.1+rng.Float64())
	}
	const eps = 1e-5
	x := randomWindows(rng, m, 1)
	// The layer's pre-activation output, then BN, in float64.
	before := m.Clone()
	before.Encoder[0].Act = Identity
	var pre []float32
	s, _ := before.NewSession(1)
	out := make([]float32, len(x))
	if err := s.Trace(out, x, func(name string, p bool, v []float32) {
		if name == "encoder.0" && !p {
			pre = append([]float32(nil), v...)
		}
	}); err != nil {
		t.Fatal(err)
	}
	folded := m.Clone()
	fl := folded.Encoder[0]
	fl.W, fl.B = append([]float32(nil), l.W...), append([]float32(nil), l.B...)
	fl.Act = Identity
	if err := FoldBatchNorm(&fl, gamma, beta, mean, variance, eps); err != nil {
		t.Fatal(err)
	}
	folded.Encoder[0] = fl
	var post []float32
	s2, _ := folded.NewSession(1)
	if err := s2.Trace(out, x, func(name string, p bool, v []float32) {
		if name == "encoder.0" && !p {
			post = append([]float32(nil), v...)
		}
	}); err != nil {
		t.Fatal(err)
	}
	for i := range pre {
		c := i % n
		want := (float64(pre[i])-float64(mean[c]))*float64(gamma[c])/math.Sqrt(float64(variance[c])+eps) + float64(beta[c])
		if math.Abs(float64(post[i])-want) > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("folded output %d = %v, BN(layer) = %v", i, post[i], want)
		}
	}
	if err := FoldBatchNorm(&m.Decoder[1], gamma, beta, mean, variance, eps); err == nil {
		t.Error("folding into a reshape accepted")
	}
	if err := FoldBatchNorm(&fl, gamma[:3], beta, mean, variance, eps); err == nil {
		t.Error("batch norm of the wrong size accepted")
	}
}

func TestVariational(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	m := randomWeights(testModels()["vae"](), rng)
	s, err := m.NewSession(3)
	if err != nil {
		t.Fatal(err)
	}
	x := randomWindows(rng, m, 3)
	lat := m.Latent()
	mean, logVar := make([]float32, 3*lat), make([]float32, 3*lat)
	if err := s.EncodeDistribution(mean, logVar, x); err != nil {
		t.Fatal(err)
	}
	win := m.Steps * m.Channels
	for w := 0; w < 3; w++ {
		// The oracle's encoder output holds mean then log-variance.
		var full []float64
		{
			cp := m.Clone()
			cp.Variational = false
			cp.Decoder = []Layer{{Kind: Dense, In: 2 * lat, Out: win, W: make([]float32, 2*lat*win), B: make([]float32, win)}}
			_, full = ref(cp, x[w*win:(w+1)*win])
		}
		closeTo(t, "mean", mean[w*lat:(w+1)*lat], full[:lat], 1e-4)
		closeTo(t, "log-variance", logVar[w*lat:(w+1)*lat], full[lat:], 1e-4)
	}
	// Generation decodes draws from the prior: same seed, same windows;
	// different seed, different windows; all finite.
	g1, g2, g3 := make([]float32, 2*win), make([]float32, 2*win), make([]float32, 2*win)
	_ = s.Generate(g1, rand.New(rand.NewPCG(1, 1)))
	_ = s.Generate(g2, rand.New(rand.NewPCG(1, 1)))
	_ = s.Generate(g3, rand.New(rand.NewPCG(2, 2)))
	same, diff := true, false
	for i := range g1 {
		same = same && g1[i] == g2[i]
		diff = diff || g1[i] != g3[i]
		if math.IsNaN(float64(g1[i])) || math.IsInf(float64(g1[i]), 0) {
			t.Fatalf("generated value %d is %v", i, g1[i])
		}
	}
	if !same || !diff {
		t.Errorf("Generate: same seed same output %v, other seed differs %v", same, diff)
	}
	if err := testModelsRW(rng, "dense").mustSession(t).EncodeDistribution(mean, logVar, x); err == nil {
		t.Error("EncodeDistribution on a non-variational model accepted")
	}
}

func testModelsRW(rng *rand.Rand, name string) *Model {
	return randomWeights(testModels()[name](), rng)
}

func (m *Model) mustSession(t *testing.T) *Session {
	t.Helper()
	s, err := m.NewSession(3)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMinMaxNormalisation: minmax maps each channel's range to [0, 1]
// before the encoder, and back after the decoder.
func TestMinMaxNormalisation(t *testing.T) {
	m := &Model{Steps: 1, Channels: 2,
		Norm:    Normalization{Kind: NormMinMax, Shift: []float32{10, -4}, Scale: []float32{20, 8}},
		Encoder: []Layer{{Kind: Dense, In: 2, Out: 2, W: []float32{1, 0, 0, 1}, B: []float32{0, 0}}},
		Decoder: []Layer{{Kind: Dense, In: 2, Out: 2, W: []float32{1, 0, 0, 1}, B: []float32{0, 0}}}}
	s := m.mustSession(t)
	lat := make([]float32, 2)
	if err := s.Encode(lat, []float32{20, 4}); err != nil {
		t.Fatal(err)
	}
	if lat[0] != 0.5 || lat[1] != 1 {
		t.Errorf("minmax-normalised (20, 4) = %v, want [0.5 1]", lat)
	}
	out := make([]float32, 2)
	if err := s.Reconstruct(out, []float32{20, 4}); err != nil || out[0] != 20 || out[1] != 4 {
		t.Errorf("identity model through minmax: %v, %v", out, err)
	}
}
