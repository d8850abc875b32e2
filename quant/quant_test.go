package quant

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/model"
)

// sensor generates windows of correlated multi-channel signals: a few
// shared slow oscillations mixed differently into each channel, plus
// per-channel offsets, scales and white noise, like readings of related
// sensors. One sensor's windows share its mixing, offsets and gains.
type sensor struct {
	mix            [][3]float64
	offset, gain   []float64
	steps, channel int
	noise          float64
}

func newSensor(rng *rand.Rand, steps, channels int, noise float64) *sensor {
	s := &sensor{mix: make([][3]float64, channels), offset: make([]float64, channels), gain: make([]float64, channels),
		steps: steps, channel: channels, noise: noise}
	for c := range s.mix {
		for k := range s.mix[c] {
			s.mix[c][k] = rng.NormFloat64()
		}
		s.offset[c], s.gain[c] = rng.NormFloat64()*20, 0.5+rng.Float64()*10
	}
	return s
}

func (s *sensor) windows(rng *rand.Rand, n int) []float32 {
	out := make([]float32, n*s.steps*s.channel)
	for w := 0; w < n; w++ {
		var freq, phase [3]float64
		for k := range freq {
			freq[k] = (0.5 + rng.Float64()*2.5) * 2 * math.Pi / float64(s.steps)
			phase[k] = rng.Float64() * 2 * math.Pi
		}
		for t := 0; t < s.steps; t++ {
			for c := 0; c < s.channel; c++ {
				var v float64
				for k := 0; k < 3; k++ {
					v += s.mix[c][k] * math.Sin(freq[k]*float64(t)+phase[k])
				}
				v += s.noise * rng.NormFloat64()
				out[(w*s.steps+t)*s.channel+c] = float32(s.offset[c] + s.gain[c]*v)
			}
		}
	}
	return out
}

func sensorWindows(rng *rand.Rand, n, steps, channels int, noise float64) []float32 {
	return newSensor(rng, steps, channels, noise).windows(rng, n)
}

// meanStd fits the per-channel normalisation of data.
func meanStd(data []float32, channels int) model.Normalization {
	n := model.Normalization{Kind: model.NormMeanStd, Shift: make([]float32, channels), Scale: make([]float32, channels)}
	count := float64(len(data) / channels)
	for c := 0; c < channels; c++ {
		var s, ss float64
		for i := c; i < len(data); i += channels {
			s += float64(data[i])
			ss += float64(data[i]) * float64(data[i])
		}
		mean := s / count
		n.Shift[c] = float32(mean)
		n.Scale[c] = float32(math.Sqrt(ss/count - mean*mean))
	}
	return n
}

// topComponents returns the k leading principal directions of the
// normalised windows (power iteration with deflation).
func topComponents(x [][]float64, k int, rng *rand.Rand) [][]float64 {
	d := len(x[0])
	cov := make([][]float64, d)
	for i := range cov {
		cov[i] = make([]float64, d)
	}
	for _, v := range x {
		for i := 0; i < d; i++ {
			for j := 0; j < d; j++ {
				cov[i][j] += v[i] * v[j]
			}
		}
	}
	var comps [][]float64
	for c := 0; c < k; c++ {
		v := make([]float64, d)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		for it := 0; it < 300; it++ {
			nv := make([]float64, d)
			for i := 0; i < d; i++ {
				for j := 0; j < d; j++ {
					nv[i] += cov[i][j] * v[j]
				}
			}
			for _, p := range comps { // deflate
				var dot float64
				for i := range nv {
					dot += nv[i] * p[i]
				}
				for i := range nv {
					nv[i] -= dot * p[i]
				}
			}
			var norm float64
			for _, e := range nv {
				norm += e * e
			}
			norm = math.Sqrt(norm)
			for i := range nv {
				v[i] = nv[i] / norm
			}
		}
		comps = append(comps, v)
	}
	return comps
}

// pcaModel builds a dense ReLU autoencoder whose float32 reconstruction is
// the PCA reconstruction of the data with k components: the code z = P^T x
// passes the ReLUs as [relu(z), relu(-z)].
func pcaModel(data []float32, steps, channels, k int, rng *rand.Rand) *model.Model {
	norm := meanStd(data, channels)
	d := steps * channels
	var x [][]float64
	for w := 0; w < len(data)/d; w++ {
		v := make([]float64, d)
		for i := range v {
			v[i] = (float64(data[w*d+i]) - float64(norm.Shift[i%channels])) / float64(norm.Scale[i%channels])
		}
		x = append(x, v)
	}
	p := topComponents(x, k, rng)
	dense := func(in, out int, act model.Activation, w func(o, i int) float64) model.Layer {
		l := model.Layer{Kind: model.Dense, In: in, Out: out, Act: act, W: make([]float32, in*out), B: make([]float32, out)}
		for o := 0; o < out; o++ {
			for i := 0; i < in; i++ {
				l.W[o*in+i] = float32(w(o, i))
			}
		}
		return l
	}
	sign := func(o int) float64 { return 1 - 2*float64(o/k) }
	return &model.Model{Name: "pca-relu", Steps: steps, Channels: channels, Norm: norm,
		Encoder: []model.Layer{
			dense(d, 2*k, model.ReLU, func(o, i int) float64 { return sign(o) * p[o%k][i] }),
			dense(2*k, k, model.Identity, func(o, i int) float64 { return b2f(i%k == o) * sign(i) }),
		},
		Decoder: []model.Layer{
			dense(k, 2*k, model.ReLU, func(o, i int) float64 { return b2f(o%k == i) * sign(o) }),
			dense(2*k, d, model.Identity, func(o, i int) float64 { return sign(i) * p[i%k][o] }),
		}}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// haarModel builds a convolutional autoencoder that keeps a two-level Haar
// low-pass of each channel: stride-2 convolutions average pairs of steps
// (twice) and stride-2 transposed convolutions spread them back, with
// every signed value carried as a ReLU pair (positive, negative part).
func haarModel(data []float32, steps, channels int) *model.Model {
	c := channels
	r := 1 / math.Sqrt2
	// split: out[2i] = relu(a_i), out[2i+1] = relu(-a_i), a_i = r*(x[2t][i] + x[2t+1][i])
	down := func(in int, pairs bool) model.Layer {
		l := model.Layer{Kind: model.Conv1D, In: in, Out: 2 * c, Kernel: 2, Stride: 2, Dilation: 1, Act: model.ReLU,
			W: make([]float32, 2*c*2*in), B: make([]float32, 2*c)}
		for i := 0; i < c; i++ {
			for o := 0; o < 2; o++ {
				s := 1 - 2*float64(o)
				for k := 0; k < 2; k++ {
					if pairs { // input channels are (pos, neg) pairs
						l.W[((2*i+o)*2+k)*in+2*i] = float32(s * r)
						l.W[((2*i+o)*2+k)*in+2*i+1] = float32(-s * r)
					} else {
						l.W[((2*i+o)*2+k)*in+i] = float32(s * r)
					}
				}
			}
		}
		return l
	}
	// up: each input step spreads r*a over two output steps.
	up := func(out int, pairs bool, act model.Activation) model.Layer {
		l := model.Layer{Kind: model.ConvTranspose1D, In: 2 * c, Out: out, Kernel: 2, Stride: 2, Dilation: 1, Act: act,
			W: make([]float32, out*2*2*c), B: make([]float32, out)}
		for i := 0; i < c; i++ {
			for k := 0; k < 2; k++ {
				if pairs {
					for o := 0; o < 2; o++ {
						s := 1 - 2*float64(o)
						l.W[((2*i+o)*2+k)*2*c+2*i] = float32(s * r)
						l.W[((2*i+o)*2+k)*2*c+2*i+1] = float32(-s * r)
					}
				} else {
					l.W[(i*2+k)*2*c+2*i] = float32(r)
					l.W[(i*2+k)*2*c+2*i+1] = float32(-r)
				}
			}
		}
		return l
	}
	return &model.Model{Name: "haar-conv", Steps: steps, Channels: channels, Norm: meanStd(data, channels),
		Encoder: []model.Layer{down(c, false), down(2*c, true)},
		Decoder: []model.Layer{up(2*c, true, model.ReLU), up(c, false, model.Identity)}}
}

func TestInt8ErrorGrowth(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const steps, channels = 64, 4
	src := newSensor(rng, steps, channels, 0.2)
	train, test := src.windows(rng, 400), src.windows(rng, 200)
	models := map[string]*model.Model{
		"pca-relu":  pcaModel(train, steps, channels, 6, rng),
		"haar-conv": haarModel(train, steps, channels),
	}
	for name, fm := range models {
		for _, method := range []Method{MSE, MinMax, Percentile} {
			qm, rep, err := Quantize(fm, train, Options{Method: method})
			if err != nil {
				t.Fatalf("%s %s: %v", name, method, err)
			}
			// Measure on held-out windows.
			fe, qe := reconErr(t, fm, test), reconErr(t, qm, test)
			growth := qe/fe - 1
			t.Logf("%s %s: float MSE %.5f, int8 %.5f, growth %+.2f%% (calibration report: %+.2f%%, output SQNR %.1f dB)",
				name, method, fe, qe, 100*growth, 100*rep.Growth, rep.OutputSQNR)
			if growth > 0.05 {
				var b strings.Builder
				rep.WriteTo(&b)
				t.Errorf("%s %s: int8 reconstruction error grows by %.1f%% (> 5%%)\n%s", name, method, 100*growth, b.String())
			}
			if rep.OutputSQNR < 30 {
				t.Errorf("%s %s: int8 output only %.1f dB from float32 (want > 30 dB)", name, method, rep.OutputSQNR)
			}
			if len(rep.Layers) < 5 || rep.Windows != 400 {
				t.Errorf("%s %s: report has %d tensors over %d windows", name, method, len(rep.Layers), rep.Windows)
			}
		}
	}
}

// reconErr is the mean squared reconstruction error in normalised units.
func reconErr(t *testing.T, m *model.Model, data []float32) float64 {
	t.Helper()
	win := m.Steps * m.Channels
	s, err := m.NewSession(16)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]float32, 16)
	var total float64
	n := 0
	for off := 0; off < len(data); off += 16 * win {
		end := min(len(data), off+16*win)
		k := (end - off) / win
		if err := s.Errors(data[off:end], nil, errs[:k], nil); err != nil {
			t.Fatal(err)
		}
		for _, e := range errs[:k] {
			total += float64(e)
			n++
		}
	}
	return total / float64(n)
}

func TestQuantizedModelRoundTripAndFamilies(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	data := sensorWindows(rng, 100, 64, 4, 0.2)
	fm := haarModel(data, 64, 4)
	qm, _, err := Quantize(fm, data, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := qm.Write(&b); err != nil {
		t.Fatal(err)
	}
	loaded, err := model.Read(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var b2 bytes.Buffer
	if err := loaded.Write(&b2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), b2.Bytes()) {
		t.Fatal("int8 model file changes on a round trip")
	}
	x := data[:3*64*4]
	defer func(f kernels.Family) { _ = kernels.Use(f) }(kernels.Current())
	var first []float32
	for _, f := range kernels.Supported() {
		if err := kernels.Use(f); err != nil {
			t.Fatal(err)
		}
		m, err := model.Read(bytes.NewReader(b.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		s, _ := m.NewSession(3)
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
				t.Fatalf("int8 model on %s differs from generic at %d: %v vs %v", f, i, out[i], first[i])
			}
		}
	}
}

func TestKeepFloatAndOptions(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	data := sensorWindows(rng, 50, 16, 3, 0.1)
	fm := pcaModel(data, 16, 3, 4, rng)
	qm, rep, err := Quantize(fm, data, Options{KeepFloat: []string{"decoder.1"}, Method: Percentile, Percentile: 99.9})
	if err != nil {
		t.Fatal(err)
	}
	if qm.Decoder[1].QW != nil || qm.Decoder[1].W == nil || qm.Encoder[0].QW == nil {
		t.Fatal("KeepFloat did not keep decoder.1 in float32 (or kept others)")
	}
	found := false
	for _, l := range rep.Layers {
		if l.Name == "decoder.1" {
			found = l.Precision == "float32"
		}
	}
	if !found {
		t.Error("report does not list decoder.1 as float32")
	}
	if g := reconErr(t, qm, data)/reconErr(t, fm, data) - 1; g > 0.05 {
		t.Errorf("mixed-precision model: error growth %.1f%%", 100*g)
	}
	var b strings.Builder
	if _, err := rep.WriteTo(&b); err != nil || !strings.Contains(b.String(), "end to end") {
		t.Errorf("report text: %q, %v", b.String(), err)
	}
	for _, bad := range []Options{{Method: "entropy"}, {Method: Percentile, Percentile: 30}, {KeepFloat: []string{"encoder.9"}}, {Bins: 3}} {
		if _, _, err := Quantize(fm, data, bad); err == nil {
			t.Errorf("options %+v accepted", bad)
		}
	}
	if _, _, err := Quantize(fm, data[:7], Options{}); err == nil {
		t.Error("partial window accepted")
	}
	// FloatBottleneck keeps the code layer and the decoder's first layer.
	bm, _, err := Quantize(fm, data, Options{FloatBottleneck: true})
	if err != nil {
		t.Fatal(err)
	}
	last := len(bm.Encoder) - 1
	if bm.Encoder[last].QW != nil || bm.Decoder[0].QW != nil || (last > 0 && bm.Encoder[0].QW == nil) || (len(bm.Decoder) > 1 && bm.Decoder[len(bm.Decoder)-1].QW == nil) {
		t.Errorf("FloatBottleneck: encoder %d/%d, decoder 0 int8 %v", last, len(bm.Encoder), bm.Decoder[0].QW != nil)
	}
	// Headroom widens every calibrated range: 0.5 makes the output scales
	// of a min-max calibration half again as large.
	mm, _, err := Quantize(fm, data, Options{Method: MinMax})
	if err != nil {
		t.Fatal(err)
	}
	hm, _, err := Quantize(fm, data, Options{Method: MinMax, Headroom: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mm.Encoder[0].OutQ.Scale, hm.Encoder[0].OutQ.Scale; math.Abs(float64(b/a)-1.5) > 0.02 {
		t.Errorf("headroom 0.5: encoder.0 output scale %g -> %g (ratio %.3f, want 1.5)", a, b, b/a)
	}
	for _, h := range []float64{-0.1, 11, math.NaN()} {
		if _, _, err := Quantize(fm, data, Options{Headroom: h}); err == nil {
			t.Errorf("headroom %v accepted", h)
		}
	}
	if _, _, err := Quantize(qm, data, Options{}); err == nil {
		t.Error("quantising an int8 model accepted")
	}
	nan := append([]float32(nil), data...)
	nan[5] = float32(math.NaN())
	if _, _, err := Quantize(fm, nan, Options{}); err == nil || !strings.Contains(err.Error(), "window 0") {
		t.Errorf("NaN calibration data: %v", err)
	}
}

// A layer whose input never moves in calibration (a dead unit, a
// constant channel) has a bias no int32 code can hold: it stays float32,
// as the report says, instead of failing the whole model.
func TestBiasOutOfRangeKeepsLayerFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	data := sensorWindows(rng, 50, 16, 3, 0.1)
	fm := pcaModel(data, 16, 3, 4, rng)
	for i := range fm.Decoder[0].W {
		fm.Decoder[0].W[i] *= 1e-12
	}
	for i := range fm.Decoder[0].B {
		fm.Decoder[0].B[i] *= 1e-12
	}
	for i := range fm.Decoder[1].B {
		fm.Decoder[1].B[i] += 0.5
	}
	qm, rep, err := Quantize(fm, data, Options{Method: MinMax})
	if err != nil {
		t.Fatal(err)
	}
	if qm.Decoder[1].QW != nil || qm.Decoder[1].W == nil || qm.Encoder[0].QW == nil {
		t.Fatal("decoder.1 not kept in float32 (or others not quantised)")
	}
	for _, l := range rep.Layers {
		if l.Name == "decoder.1" && l.Precision != "float32" {
			t.Errorf("report lists decoder.1 as %s", l.Precision)
		}
	}
	if g := reconErr(t, qm, data)/reconErr(t, fm, data) - 1; g > 0.05 {
		t.Errorf("error growth %.1f%%", 100*g)
	}
}

// One input channel far wider than the others (normalised) keeps the
// first layer in float32 with InputSpread, and says so; without it, or
// with channels of like ranges, the first layer is int8.
func TestInputSpreadKeepsFirstLayerFloat(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	data := sensorWindows(rng, 50, 16, 3, 0.1)
	fm := pcaModel(data, 16, 3, 4, rng)
	wide := slices.Clone(data)
	for i := 0; i < len(wide); i += 3 * 37 { // channel 0 jumps to 400 now and then
		wide[i] = 400
	}
	shift, _ := fm.Norm.Affine(3)
	still := make([]float32, len(data)) // every channel at its centre
	for i := range still {
		still[i] = shift[i%3]
	}
	for _, tc := range []struct {
		name   string
		data   []float32
		spread float64
		float  bool
	}{{"like ranges", data, DefaultInputSpread, false}, {"one wide channel", wide, DefaultInputSpread, true}, {"one wide channel, no limit", wide, 0, false}, {"nothing moves", still, DefaultInputSpread, true}} {
		qm, rep, err := Quantize(fm, tc.data, Options{Method: MinMax, InputSpread: tc.spread})
		if err != nil {
			t.Fatal(err)
		}
		if got := qm.Encoder[0].QW == nil; got != tc.float {
			t.Errorf("%s: encoder.0 float32 %v, want %v", tc.name, got, tc.float)
		}
		if tc.float != (len(rep.Notes) == 1 && strings.Contains(rep.Notes[0], "encoder.0 stays float32")) {
			t.Errorf("%s: notes %q", tc.name, rep.Notes)
		}
	}
}

// Calibration rows that never went below a channel's centre (a sensor
// resting at its lowest reading) must not leave the input's int8 range
// starting at 0: with headroom, readings below the learned floor are
// representable, by at least headroom × the top of the range. Rectified
// outputs keep their floor at 0.
func TestHeadroomBothSidesOfSignedTensors(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	data := sensorWindows(rng, 50, 16, 3, 0.1)
	fm := pcaModel(data, 16, 3, 4, rng)
	shift, scale := fm.Norm.Affine(3)
	rest := slices.Clone(data) // every reading at or above its centre
	for i, v := range rest {
		ch := i % 3
		rest[i] = shift[ch] + float32(math.Abs(float64(v-shift[ch])))
	}
	lowest := func(q *model.QParams) float64 { return float64(-128-int(q.ZeroPoint)) * float64(q.Scale) }
	highest := func(q *model.QParams) float64 { return float64(127-int(q.ZeroPoint)) * float64(q.Scale) }
	for _, h := range []float64{0, 0.25} {
		qm, _, err := Quantize(fm, rest, Options{Method: MinMax, Headroom: h})
		if err != nil {
			t.Fatal(err)
		}
		var top float64
		for i, v := range rest {
			top = max(top, float64((v-shift[i%3])/scale[i%3]))
		}
		lo, hi := lowest(qm.InputQ), highest(qm.InputQ)
		want := -h * top
		if lo > want+float64(qm.InputQ.Scale) || hi < top*(1+h)-float64(qm.InputQ.Scale) {
			t.Errorf("headroom %g: input range [%g, %g], want to reach %g below and %g above", h, lo, hi, want, top*(1+h))
		}
		if h == 0 && lo < -float64(qm.InputQ.Scale) {
			t.Errorf("no headroom: input range starts at %g, below the calibrated 0", lo)
		}
		for i, l := range qm.Encoder {
			if l.Act == model.ReLU && l.OutQ != nil && l.OutQ.ZeroPoint != -128 {
				t.Errorf("headroom %g: encoder.%d (relu) zero point %d, want -128", h, i, l.OutQ.ZeroPoint)
			}
		}
	}
}

// InputRange widens the input's int8 range to cover at least ±InputRange
// where the calibration data spanned less, and leaves a wider one alone.
func TestInputRangeFloor(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	data := sensorWindows(rng, 50, 16, 3, 0.1)
	fm := pcaModel(data, 16, 3, 4, rng)
	lowest := func(q *model.QParams) float64 { return float64(-128-int(q.ZeroPoint)) * float64(q.Scale) }
	highest := func(q *model.QParams) float64 { return float64(127-int(q.ZeroPoint)) * float64(q.Scale) }
	plain, _, err := Quantize(fm, data, Options{Method: MinMax})
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := lowest(plain.InputQ), highest(plain.InputQ)
	span := max(-lo, hi)
	for _, r := range []float64{2.5 * span, 1.5 * span, 0.5} {
		q, rep, err := Quantize(fm, data, Options{Method: MinMax, InputRange: r})
		if err != nil {
			t.Fatal(err)
		}
		// More than twice the calibrated span would cost the inputs more
		// than a bit: the first layer reads them in float32 instead.
		wide := r > 2*span
		if got := q.Encoder[0].QW == nil; got != wide || wide != (len(rep.Notes) == 1 && strings.Contains(rep.Notes[0], "under half")) {
			t.Errorf("InputRange %g (span %g): encoder.0 float32 %v, notes %q", r, span, got, rep.Notes)
		}
		glo, ghi := lowest(q.InputQ), highest(q.InputQ)
		s := float64(q.InputQ.Scale)
		if glo > min(lo, -r)+s || ghi < max(hi, r)-s || glo < min(lo, -r)-s || ghi > max(hi, r)+s {
			t.Errorf("InputRange %g: input range [%g, %g], want [%g, %g]", r, glo, ghi, min(lo, -r), max(hi, r))
		}
	}
	// A model without a normalisation reads raw units: no range to floor.
	raw := pcaModel(data, 16, 3, 4, rng)
	raw.Norm = model.Normalization{Kind: model.NormNone}
	rq, _, err := Quantize(raw, data, Options{Method: MinMax, InputRange: 1e5})
	if err != nil {
		t.Fatal(err)
	}
	if got := highest(rq.InputQ); got > 1e4 {
		t.Errorf("raw-unit model: InputRange applied, input reaches %g", got)
	}
	if _, _, err := Quantize(fm, data, Options{Method: MinMax, InputRange: -1}); err == nil {
		t.Error("a negative InputRange was accepted")
	}
}
