// Package quant turns a float32 model into an int8 one by post-training
// quantisation, TFLite/ONNX-compatible:
//
//   - weights: int8, symmetric, one scale per output channel, in [-127, 127];
//   - biases: int32 in accumulator units (scale s_x*s_w[c], zero point 0);
//   - activations: int8, asymmetric, one scale and zero point per tensor, from
//     ranges calibrated on representative windows by min/max, a percentile,
//     or the clipping range that minimises the expected squared error (MSE).
//
// Any layer can stay float32. Quantize returns the int8 model and a Report
// with, per layer and end to end, how far int8 is from float32.
package quant

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/edgeml/edge/model"
)

// Method selects how an activation tensor's range is calibrated.
type Method string

// The calibration methods.
const (
	// MinMax takes the observed minimum and maximum.
	MinMax Method = "minmax"
	// Percentile clips at the given two-sided percentile (Options.Percentile).
	Percentile Method = "percentile"
	// MSE picks the clipping range that minimises the expected squared
	// quantisation error (rounding inside, clipping outside) on the histogram.
	MSE Method = "mse"
)

// DefaultInputSpread is the InputSpread edge train and edge quantize use.
const DefaultInputSpread = 8

// DefaultInputRange is the int8 input range edge's own models get at the
// least: ±8 robust units (a step of 0.063 units), where a few hundred
// quiet learning rows could leave it at ±2 and clip every larger move.
const DefaultInputRange = 8

// Options configure Quantize.
type Options struct {
	Method     Method   // default MSE
	Percentile float64  // for Percentile, e.g. 99.99 (default)
	KeepFloat  []string // layers to keep in float32, by name: "encoder.0", "decoder.2"
	// Headroom widens every calibrated activation range by this fraction
	// (0.5: half again as wide) at the cost of precision (about 6 dB of
	// SQNR per doubling), so data that drifts past what calibration saw
	// is not clipped. Default 0.
	Headroom float64
	// FloatBottleneck keeps the layers on either side of the code in
	// float32: the encoder's last layer and the decoder's first. They are
	// the smallest layers of an autoencoder (latent × width MACs), yet
	// every bit of the window passes through the code, so int8 there costs
	// the most accuracy for the least speed.
	FloatBottleneck bool
	// InputSpread, if positive, keeps the encoder's first layer in float32
	// (so the input is never int8) when the calibration data's widest
	// channel spans more than this many times the narrowest moving
	// channel's range, normalised: one int8 scale for the whole input
	// would leave that channel about log2(spread) bits fewer than 8 (8:
	// 3 bits).
	// One-hot or rarely moving channels beside a continuous one do that.
	InputSpread float64
	// InputRange, if positive, makes the input's int8 range cover at
	// least [-InputRange, InputRange] (in the model's normalised units):
	// readings beyond the calibration data's range are clipped by int8
	// while float32 sees them, so the two models score a sensor that
	// leaves its learned range differently. Ignored for models without a
	// normalisation (their input is in raw units).
	InputRange float64
	Bins       int // histogram bins (default 2048)
	Batch      int // windows per calibration call (default 64)
}

func (o *Options) defaults() error {
	if o.Method == "" {
		o.Method = MSE
	}
	switch o.Method {
	case MinMax, MSE:
	case Percentile:
		if o.Percentile == 0 {
			o.Percentile = 99.99
		}
		if !(o.Percentile > 50 && o.Percentile <= 100) {
			return fmt.Errorf("quant: percentile %v outside (50, 100]", o.Percentile)
		}
	default:
		return fmt.Errorf("quant: unknown method %q (minmax, percentile or mse)", o.Method)
	}
	if o.Bins == 0 {
		o.Bins = 2048
	}
	if !(o.InputRange >= 0 && o.InputRange <= 1e6) {
		return fmt.Errorf("quant: input range %v outside [0, 1e6]", o.InputRange)
	}
	if !(o.Headroom >= 0 && o.Headroom <= 10) {
		return fmt.Errorf("quant: headroom %v outside [0, 10]", o.Headroom)
	}
	if o.Bins < 16 || o.Bins > 1<<20 {
		return fmt.Errorf("quant: %d histogram bins outside [16, 1048576]", o.Bins)
	}
	if o.Batch == 0 {
		o.Batch = 64
	}
	return nil
}

// Quantize returns an int8 copy of the float32 model m, with activation
// ranges calibrated on data (whole windows, raw units, time-major), and the
// calibration report, measured on the same data.
func Quantize(m *model.Model, data []float32, opt Options) (*model.Model, *Report, error) {
	if err := opt.defaults(); err != nil {
		return nil, nil, err
	}
	if m.Quantized() {
		return nil, nil, errors.New("quant: the model is already quantised")
	}
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	win := m.Steps * m.Channels
	if len(data) == 0 || len(data)%win != 0 {
		return nil, nil, fmt.Errorf("quant: calibration data holds %d values, not a whole number of %d-value windows", len(data), win)
	}
	for i, v := range data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, nil, fmt.Errorf("quant: calibration value %d (window %d) is %v", i, i/win, v)
		}
	}
	keep := map[string]bool{}
	for _, k := range opt.KeepFloat {
		keep[k] = true
	}
	if opt.FloatBottleneck {
		for i := len(m.Encoder) - 1; i >= 0; i-- {
			if m.Encoder[i].Kind != model.Reshape {
				keep[fmt.Sprintf("encoder.%d", i)] = true
				break
			}
		}
		for i, l := range m.Decoder {
			if l.Kind != model.Reshape {
				keep[fmt.Sprintf("decoder.%d", i)] = true
				break
			}
		}
	}
	var notes []string
	if opt.InputSpread > 0 {
		switch sp := inputSpread(m, data); {
		case math.IsInf(sp, 1):
			notes = keepFirstLayer(m, keep, "no input channel moves in the calibration data, so nothing sets an int8 input scale (any later move would be clipped to one step)")
		case sp > opt.InputSpread:
			notes = keepFirstLayer(m, keep, fmt.Sprintf("the widest input channel spans %.0f times the narrowest moving channel's range (limit %g), too wide for one int8 input scale", sp, opt.InputSpread))
		}
	}
	names := layerNames(m)
	for k := range keep {
		if !slices.Contains(names, k) {
			return nil, nil, fmt.Errorf("quant: KeepFloat names %q, which is not a layer with weights (have %s)", k, strings.Join(names, ", "))
		}
	}
	st, err := calibrate(m, data, opt)
	if err != nil {
		return nil, nil, err
	}
	if !m.Norm.Scaled() {
		opt.InputRange = 0 // raw units: no scale to set a range in
	}
	if r := opt.InputRange; r > 0 && notes == nil {
		lo, hi := st[key{"input", false}].rangeOf(opt, true)
		if span := max(-lo, hi); r > 2*span {
			notes = keepFirstLayer(m, keep, fmt.Sprintf("the calibration data span ±%.3g, under half the ±%g the int8 input must cover: an input scale for ±%g would cost the model more than one bit of its inputs", span, r, r))
		}
	}
	q, err := build(m, st, opt, keep)
	if err != nil {
		return nil, nil, err
	}
	rep, err := report(m, q, data, opt)
	if err != nil {
		return nil, nil, err
	}
	rep.Notes = notes
	return q, rep, nil
}

// keepFirstLayer marks the encoder's first layer with weights to stay
// float32 and returns the report's note saying why.
func keepFirstLayer(m *model.Model, keep map[string]bool, why string) []string {
	for i, l := range m.Encoder {
		if l.Kind != model.Reshape {
			name := fmt.Sprintf("encoder.%d", i)
			keep[name] = true
			return []string{fmt.Sprintf("%s stays float32: %s", name, why)}
		}
	}
	return nil
}

// inputSpread returns the largest normalised channel range of the
// calibration windows (each from 0, as the int8 ranges are) over the
// smallest of the channels that move; +Inf if none does (an int8 input
// scale cannot be set from data that never moved).
func inputSpread(m *model.Model, data []float32) float64 {
	c := m.Channels
	shift, scale := m.Norm.Affine(c)
	r := make([]float64, c)
	for i, v := range data {
		ch := i % c
		r[ch] = math.Max(r[ch], math.Abs((float64(v)-float64(shift[ch]))/float64(scale[ch])))
	}
	var moving []float64
	for _, v := range r {
		if v > 1e-9 {
			moving = append(moving, v)
		}
	}
	if len(moving) == 0 {
		return math.Inf(1)
	}
	return slices.Max(moving) / slices.Min(moving)
}

// layerNames lists the layers with weights, as "encoder.<i>"/"decoder.<i>".
func layerNames(m *model.Model) []string {
	var out []string
	for part, layers := range map[string][]model.Layer{"encoder": m.Encoder, "decoder": m.Decoder} {
		for i, l := range layers {
			if l.Kind != model.Reshape {
				out = append(out, fmt.Sprintf("%s.%d", part, i))
			}
		}
	}
	slices.Sort(out)
	return out
}

// forEachBatch runs a traced float session over data in batches.
func forEachBatch(m *model.Model, data []float32, batch int, probe model.Probe) error {
	win := m.Steps * m.Channels
	s, err := m.NewSession(batch)
	if err != nil {
		return err
	}
	out := make([]float32, batch*win)
	for off := 0; off < len(data); off += batch * win {
		end := min(len(data), off+batch*win)
		if err := s.Trace(out[:end-off], data[off:end], probe); err != nil {
			return err
		}
	}
	return nil
}

// tensorStats accumulates one tensor's observed values.
type tensorStats struct {
	lo, hi float64
	hist   []float64
}

type key struct {
	name string
	pre  bool
}

// calibrate observes every tensor of the float model over the data: a
// first pass for the ranges, a second (unless MinMax) for histograms.
func calibrate(m *model.Model, data []float32, opt Options) (map[key]*tensorStats, error) {
	st := map[key]*tensorStats{}
	err := forEachBatch(m, data, opt.Batch, func(name string, pre bool, v []float32) {
		s := st[key{name, pre}]
		if s == nil {
			s = &tensorStats{lo: 0, hi: 0} // ranges always include 0
			st[key{name, pre}] = s
		}
		for _, x := range v {
			s.lo = math.Min(s.lo, float64(x))
			s.hi = math.Max(s.hi, float64(x))
		}
	})
	if err != nil {
		return nil, err
	}
	if opt.Method == MinMax {
		return st, nil
	}
	for _, s := range st {
		s.hist = make([]float64, opt.Bins)
	}
	err = forEachBatch(m, data, opt.Batch, func(name string, pre bool, v []float32) {
		s := st[key{name, pre}]
		w := (s.hi - s.lo) / float64(len(s.hist))
		if w == 0 {
			return
		}
		for _, x := range v {
			b := int((float64(x) - s.lo) / w)
			s.hist[min(max(b, 0), len(s.hist)-1)]++
		}
	})
	return st, err
}

// rangeOf returns the calibrated range of a tensor (always containing 0),
// each end widened by the headroom. A signed tensor (the input, or a
// layer's output that is not rectified) gets at least headroom × the
// other end's magnitude on each side: calibration rows that never went
// below 0 (a sensor resting at its lowest reading, its median) would
// otherwise leave the range [0, hi], and every later reading below the
// learned floor, a sensor dropping, would be clipped to it.
func (s *tensorStats) rangeOf(opt Options, signed bool) (lo, hi float64) {
	lo, hi = s.calibrated(opt)
	h := opt.Headroom
	if !signed {
		return lo * (1 + h), hi * (1 + h)
	}
	return min(lo*(1+h), -h*hi), max(hi*(1+h), -h*lo)
}

// calibrated returns the range the method picks, before any headroom.
func (s *tensorStats) calibrated(opt Options) (lo, hi float64) {
	lo, hi = s.lo, s.hi
	if s.hist == nil || hi == lo {
		return lo, hi
	}
	w := (hi - lo) / float64(len(s.hist))
	var total float64
	for _, c := range s.hist {
		total += c
	}
	switch opt.Method {
	case Percentile:
		tail := total * (100 - opt.Percentile) / 100
		var acc float64
		i := 0
		for ; i < len(s.hist) && acc+s.hist[i] <= tail; i++ {
			acc += s.hist[i]
		}
		plo := lo + float64(float64(i)*w)
		acc = 0
		j := len(s.hist) - 1
		for ; j >= 0 && acc+s.hist[j] <= tail; j-- {
			acc += s.hist[j]
		}
		phi := lo + float64(float64(j+1)*w)
		return math.Min(plo, 0), math.Max(phi, 0)
	case MSE:
		best, bestErr := 1.0, math.Inf(1)
		for f := 1.0; f >= 0.2; f -= 0.01 {
			clo, chi := float64(lo*f), float64(hi*f)
			step := (chi - clo) / 255
			var e float64
			for b, c := range s.hist {
				if c == 0 {
					continue
				}
				x := lo + float64((float64(b)+0.5)*w)
				switch {
				case x < clo:
					e += float64(c * (clo - x) * (clo - x))
				case x > chi:
					e += float64(c * (x - chi) * (x - chi))
				default:
					e += c * step * step / 12
				}
			}
			if e < bestErr {
				best, bestErr = f, e
			}
		}
		return lo * best, hi * best
	}
	return lo, hi
}

// paramsFor returns the int8 encoding of the range [lo, hi] (lo <= 0 <= hi).
func paramsFor(lo, hi float64) *model.QParams {
	if hi-lo < 1e-30 {
		return &model.QParams{Scale: 1, ZeroPoint: 0} // a tensor that is always 0
	}
	s := (hi - lo) / 255
	zp := math.RoundToEven(-128 - lo/s)
	zp = math.Max(-128, math.Min(127, zp))
	return &model.QParams{Scale: float32(math.Max(s, 0x1p-100)), ZeroPoint: int8(zp)}
}

// build quantises the weights and attaches the calibrated encodings.
func build(m *model.Model, st map[key]*tensorStats, opt Options, keep map[string]bool) (*model.Model, error) {
	enc := func(name string, pre, signed bool) (*model.QParams, error) {
		s := st[key{name, pre}]
		if s == nil {
			return nil, fmt.Errorf("quant: no calibration data reached %s", name)
		}
		lo, hi := s.rangeOf(opt, signed)
		if name == "input" && opt.InputRange > 0 {
			lo, hi = min(lo, -opt.InputRange), max(hi, opt.InputRange)
		}
		return paramsFor(lo, hi), nil
	}
	q := &model.Model{Name: m.Name, Steps: m.Steps, Channels: m.Channels, Norm: m.Norm,
		ChannelNames: slices.Clone(m.ChannelNames), Variational: m.Variational,
		Apps: maps.Clone(m.Apps), Provenance: map[string]string{}}
	for k, v := range m.Provenance {
		q.Provenance[k] = v
	}
	q.Provenance["quantization"] = string(opt.Method)
	var err error
	if q.InputQ, err = enc("input", false, true); err != nil {
		return nil, err
	}
	if q.LatentQ, err = enc("latent", false, true); err != nil {
		return nil, err
	}
	inQ := q.InputQ
	for _, part := range []struct {
		name string
		src  []model.Layer
		dst  *[]model.Layer
	}{{"encoder", m.Encoder, &q.Encoder}, {"decoder", m.Decoder, &q.Decoder}} {
		if part.name == "decoder" {
			inQ = q.LatentQ
		}
		for i, l := range part.src {
			l.W, l.B = slices.Clone(l.W), slices.Clone(l.B)
			if l.Kind != model.Reshape {
				name := fmt.Sprintf("%s.%d", part.name, i)
				rectified := l.Act == model.ReLU || l.Act == model.Sigmoid
				if l.OutQ, err = enc(name, false, !rectified); err != nil {
					return nil, err
				}
				if a := l.Act; a != "" && a != model.Identity && a != model.ReLU {
					if l.PreQ, err = enc(name, true, true); err != nil {
						return nil, err
					}
				}
				if !keep[name] {
					err := quantizeWeights(&l, inQ)
					switch {
					case errors.Is(err, errBiasRange):
						// Its input's range is so narrow (a unit that never
						// fired in calibration, a constant channel) that the
						// bias has no int32 code: the layer stays float32,
						// which the report shows.
						l.QW, l.QScale, l.QB = nil, nil, nil
					case err != nil:
						return nil, fmt.Errorf("quant: %s: %w", name, err)
					}
				}
				inQ = l.OutQ
			}
			*part.dst = append(*part.dst, l)
		}
	}
	if err := q.Validate(); err != nil {
		return nil, fmt.Errorf("quant: the quantised model does not validate: %w", err)
	}
	return q, nil
}

// errBiasRange: a bias has no int32 code at the layer's scales.
var errBiasRange = errors.New("a bias does not fit int32")

// quantizeWeights replaces l's float weights by int8 ones: symmetric per
// output channel, the bias in accumulator units of the input encoding in.
func quantizeWeights(l *model.Layer, in *model.QParams) error {
	per := len(l.W) / l.Out
	l.QW = make([]int8, len(l.W))
	l.QScale = make([]float32, l.Out)
	l.QB = make([]int32, l.Out)
	for o := 0; o < l.Out; o++ {
		row := l.W[o*per : (o+1)*per]
		var mx float64
		for _, w := range row {
			mx = math.Max(mx, math.Abs(float64(w)))
		}
		s := mx / 127
		if s < 0x1p-100 {
			s = 1 // an all-zero channel
		}
		l.QScale[o] = float32(s)
		s = float64(l.QScale[o])
		for j, w := range row {
			l.QW[o*per+j] = int8(math.Max(-127, math.Min(127, math.RoundToEven(float64(w)/s))))
		}
		b := math.RoundToEven(float64(l.B[o]) / (float64(in.Scale) * s))
		if b > math.MaxInt32 || b < math.MinInt32 {
			return fmt.Errorf("%w: bias %v of output channel %d at input scale %g and weight scale %g", errBiasRange, l.B[o], o, in.Scale, s)
		}
		l.QB[o] = int32(b)
	}
	l.W, l.B = nil, nil
	return nil
}
