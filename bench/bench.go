// Package bench measures edge's kernels: single layers, a 512^3 GEMM and a
// whole int8 layer chain, per kernel family, at several batch sizes. `edge
// bench` prints its table; bench_test.go holds the same work as Go
// benchmarks; RESULTS.md records figures beside the peers' (XNNPACK, oneDNN,
// ONNX Runtime, PyTorch) measured in the same run by peers.sh.
package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/model"
)

// Shape is a GEMM shape: Batch rows (M) of K inputs against N outputs.
type Shape struct{ N, K int }

func (s Shape) String() string { return fmt.Sprintf("%dx%d", s.K, s.N) }

// AutoencoderDims returns the layer widths of the reference dense autoencoder.
func AutoencoderDims() []int { return []int{640, 128, 128, 128, 128, 8, 128, 128, 128, 128, 640} }

// DefaultShapes are the distinct layer shapes of AutoencoderDims plus a
// 512x512 layer (with batch 512 it is the 512^3 GEMM).
func DefaultShapes() []Shape {
	var out []Shape
	dims := AutoencoderDims()
	for i := 0; i+1 < len(dims); i++ {
		s := Shape{N: dims[i+1], K: dims[i]}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return append(out, Shape{512, 512})
}

// Config selects what to measure.
type Config struct {
	Families []kernels.Family // default: every supported family
	Shapes   []Shape          // single layers; default DefaultShapes
	Batches  []int            // default 1, 16, 256
	Chain    []int            // widths of the int8 chain; default AutoencoderDims; empty slice: none
	// Kinds: "int8", "float32", "chain", "model-dense", "model-conv"
	// (default: these), "train" (training throughput, not by default: it
	// takes seconds per family) and "stream" (denoiser and scorer streams,
	// 1 and 8 channels, samples per second).
	Kinds []string
	// TrainBatch and TrainThreads set the training runs (default 32 and
	// 1 and every core).
	TrainBatch   int
	TrainThreads []int
	// Models are timed whole through the API (kind "model": Reconstruct,
	// batch windows per call), e.g. models loaded from files.
	Models  []*model.Model
	MinTime time.Duration // time per measurement; default 200ms
	Iters   int           // if > 0: the median of exactly Iters timed blocks, instead of MinTime
}

// Row is one measurement.
type Row struct {
	Family   kernels.Family
	Kind     string // "int8", "float32" or "chain"
	Shape    string
	Batch    int
	NsPerOp  float64 // median ns per call (per batch)
	GOPS     float64 // 2*MACs per second / 1e9
	PerInput float64 // ns per sample (per batch row)
}

// ParseShapes parses "KxN,KxN" (inputs x outputs).
func ParseShapes(s string) ([]Shape, error) {
	var out []Shape
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, n, ok := strings.Cut(f, "x")
		ki, err1 := strconv.Atoi(k)
		ni, err2 := strconv.Atoi(n)
		if !ok || err1 != nil || err2 != nil || ki < 1 || ni < 1 || ki > kernels.MaxK || ni > kernels.MaxN {
			return nil, fmt.Errorf("bench: bad shape %q: want KxN (inputs x outputs), e.g. 640x128", f)
		}
		out = append(out, Shape{N: ni, K: ki})
	}
	return out, nil
}

// ParseInts parses a comma- or space-separated list of positive integers.
func ParseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("bench: bad number %q in %q", f, s)
		}
		out = append(out, v)
	}
	return out, nil
}

func (c *Config) defaults() {
	if c.Families == nil {
		c.Families = kernels.Supported()
	}
	if c.Shapes == nil {
		c.Shapes = DefaultShapes()
	}
	if c.Batches == nil {
		c.Batches = []int{1, 16, 256}
	}
	if c.Chain == nil {
		c.Chain = AutoencoderDims()
	}
	if c.Kinds == nil {
		c.Kinds = []string{"int8", "float32", "chain", "model-dense", "model-conv"}
	}
	if c.MinTime == 0 {
		c.MinTime = 200 * time.Millisecond
	}
	if c.TrainBatch == 0 {
		c.TrainBatch = 32
	}
	if c.TrainThreads == nil {
		c.TrainThreads = []int{1}
		if n := runtime.NumCPU(); n > 1 {
			c.TrainThreads = append(c.TrainThreads, n)
		}
	}
}

// Run measures everything cfg selects, printing each row to w as it is
// measured (w may be nil), and returns the rows.
func Run(cfg Config, w io.Writer) ([]Row, error) {
	cfg.defaults()
	for _, f := range cfg.Families {
		if !f.Supported() {
			return nil, fmt.Errorf("bench: family %s needs %s, which this CPU lacks", f, f.Needs())
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var tw *tabwriter.Writer
	if w != nil {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "family\tkernel\tshape KxN\tbatch\tns/call\tns/sample\tGOPS\t")
	}
	var rows []Row
	emit := func(r Row) {
		rows = append(rows, r)
		if tw != nil {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.0f\t%.1f\t%.2f\t\n", r.Family, r.Kind, r.Shape, r.Batch, r.NsPerOp, r.PerInput, r.GOPS)
		}
	}
	if tw != nil {
		defer tw.Flush()
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for _, kind := range cfg.Kinds {
		if kind == "train" {
			if err := cfg.trainRows(rng, emit); err != nil {
				return rows, err
			}
			continue
		}
		if kind == "stream" {
			if err := cfg.streamRows(rng, emit); err != nil {
				return rows, err
			}
			continue
		}
		for _, f := range cfg.Families {
			for _, b := range cfg.Batches {
				switch kind {
				case "int8", "float32":
					for _, s := range cfg.Shapes {
						bm, err := layerBench(kind, f, s, b, rng)
						if err != nil {
							return rows, err
						}
						ns := cfg.measure(bm)
						emit(rowOf(f, kind, s.String(), b, ns, float64(s.N*s.K)))
					}
				case "chain":
					if len(cfg.Chain) < 2 {
						continue
					}
					ch, err := NewChain(f, cfg.Chain, b, rng)
					if err != nil {
						return rows, err
					}
					ns := cfg.measure(ch.Run)
					emit(rowOf(f, kind, dimsString(cfg.Chain), b, ns, float64(ch.MACs())))
				case "model-dense", "model-conv":
					for _, prec := range []string{"float32", "int8"} {
						r, err := cfg.modelRun(kind, prec, f, b, rng)
						if err != nil {
							return rows, err
						}
						ns := cfg.measure(r.Run)
						emit(rowOf(f, kind+"/"+prec, r.s.Model().Name, b, ns, float64(r.MACs())))
					}
				case "model":
					for _, m := range cfg.Models {
						r, err := NewModelRun(m, f, b, rng)
						if err != nil {
							return rows, err
						}
						prec := "float32"
						if m.Quantized() {
							prec = "int8"
						}
						ns := cfg.measure(r.Run)
						emit(rowOf(f, "model/"+prec, m.Name, b, ns, float64(r.MACs())))
					}
				default:
					return rows, fmt.Errorf("bench: unknown kind %q (want int8, float32, chain, model-dense, model-conv, model, stream or train)", kind)
				}
			}
		}
	}
	return rows, nil
}

// trainRows measures training throughput for the dense and conv models,
// each family and thread count: one row per run, batch TrainBatch,
// "call" = one step. GOPS counts 3 forward passes' worth of MACs per
// window (forward, backward to the inputs, backward to the weights).
func (c *Config) trainRows(rng *rand.Rand, emit func(Row)) error {
	// Run holds the calling goroutine on its thread for steadier single-
	// thread timing; training's spinning workers yield the processor, and
	// a yield from a locked thread costs a thread hand-off, so release it.
	runtime.UnlockOSThread()
	defer runtime.LockOSThread()
	prev := kernels.Current()
	defer kernels.Use(prev)
	for _, f := range c.Families {
		if err := kernels.Use(f); err != nil {
			return err
		}
		for _, kind := range []string{"dense", "conv"} {
			for _, th := range c.TrainThreads {
				rate, macs, err := TrainRate(kind, c.TrainBatch, th, c.MinTime, rng)
				if err != nil {
					return err
				}
				ns := 1e9 / rate
				name := "dense-640"
				if kind == "conv" {
					name = "conv-128x8"
				}
				emit(Row{Family: f, Kind: fmt.Sprintf("train/%dthr", th), Shape: name, Batch: c.TrainBatch,
					NsPerOp: ns * float64(c.TrainBatch), PerInput: ns, GOPS: 6 * float64(macs) * rate / 1e9})
			}
		}
	}
	return nil
}

// streamRows measures the streams of StreamModel (window 64, hop 8) for 1
// and 8 channels: one row per family, workload and width; "call" = one
// sample, GOPS from the windows' MACs (one window per hop samples, two
// reconstructions each for the robust pass).
func (c *Config) streamRows(rng *rand.Rand, emit func(Row)) error {
	prev := kernels.Current()
	defer kernels.Use(prev)
	for _, f := range c.Families {
		if err := kernels.Use(f); err != nil {
			return err
		}
		for _, ch := range []int{1, 8} {
			m, err := StreamModel(ch, rng)
			if err != nil {
				return err
			}
			for _, kind := range []string{"denoise-centred", "denoise-causal", "score"} {
				p, err := NewStreamPusher(kind, m, 8, rng)
				if err != nil {
					return err
				}
				rate, err := StreamRate(p, c.MinTime)
				if err != nil {
					return err
				}
				ns := 1e9 / rate
				emit(Row{Family: f, Kind: "stream/" + kind, Shape: fmt.Sprintf("64x%dch", ch), Batch: 1,
					NsPerOp: ns, PerInput: ns, GOPS: 2 * 2 * float64(m.MACs()) / 8 * rate / 1e9})
			}
		}
	}
	return nil
}

func rowOf(f kernels.Family, kind, shape string, batch int, ns, macsPerSample float64) Row {
	return Row{Family: f, Kind: kind, Shape: shape, Batch: batch, NsPerOp: ns,
		PerInput: ns / float64(batch), GOPS: 2 * macsPerSample * float64(batch) / ns}
}

func dimsString(d []int) string {
	s := make([]string, len(d))
	for i, v := range d {
		s[i] = strconv.Itoa(v)
	}
	return strings.Join(s, "-")
}

func (c *Config) measure(fn func()) float64 {
	if c.Iters > 0 {
		return MeasureN(fn, c.Iters)
	}
	return Measure(fn, c.MinTime)
}

// Measure returns the median time of one call of fn in ns: calls are timed
// in blocks of at least 20µs (so the clock's cost vanishes), for about
// minTime in all (and at least five blocks), after a warm-up.
func Measure(fn func(), minTime time.Duration) float64 {
	return measure(fn, minTime, 0)
}

// MeasureN is Measure with exactly n timed blocks.
func MeasureN(fn func(), n int) float64 {
	return measure(fn, 0, n)
}

func measure(fn func(), minTime time.Duration, blocks int) float64 {
	fn()
	reps := 1
	for {
		t0 := time.Now()
		for i := 0; i < reps; i++ {
			fn()
		}
		if d := time.Since(t0); d >= 20*time.Microsecond {
			break
		}
		reps *= 2
	}
	var samples []float64
	deadline := time.Now().Add(minTime)
	more := func() bool {
		if blocks > 0 {
			return len(samples) < blocks
		}
		return len(samples) < 5 || time.Now().Before(deadline)
	}
	for more() {
		t0 := time.Now()
		for i := 0; i < reps; i++ {
			fn()
		}
		samples = append(samples, float64(time.Since(t0).Nanoseconds())/float64(reps))
		if len(samples) > 100000 {
			break
		}
	}
	slices.Sort(samples)
	return samples[len(samples)/2]
}

func randInt8(rng *rand.Rand, n, extra int, lo int) []int8 {
	s := make([]int8, n, n+extra)
	for i := range s {
		s[i] = int8(rng.IntN(128-lo) + lo)
	}
	return s
}

// layerBench builds one layer of the given kind and returns a call of it.
func layerBench(kind string, f kernels.Family, s Shape, batch int, rng *rand.Rand) (func(), error) {
	if kind == "float32" {
		w := make([]float32, s.N*s.K)
		for i := range w {
			w[i] = float32(rng.NormFloat64())
		}
		p, err := kernels.PackF32For(f, w, s.N, s.K)
		if err != nil {
			return nil, err
		}
		x := make([]float32, batch*s.K)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		y := make([]float32, batch*s.N)
		bias := make([]float32, s.N)
		return func() { _ = p.Gemm(batch, x, s.K, y, s.N, bias) }, nil
	}
	p, err := packRandomQ8(f, s.N, s.K, rng)
	if err != nil {
		return nil, err
	}
	x := randInt8(rng, batch*s.K, kernels.Slack, -128)
	y := make([]int8, batch*s.N)
	return func() { _ = p.Gemm(batch, x, s.K, y, s.N, kernels.ReLU(-128)) }, nil
}

func packRandomQ8(f kernels.Family, n, k int, rng *rand.Rand) (*kernels.Q8Weights, error) {
	w := randInt8(rng, n*k, 0, -127)
	bias := make([]int32, n)
	scale := make([]float32, n)
	for j := range bias {
		bias[j] = int32(rng.IntN(2001) - 1000)
		scale[j] = 0.05 * 0.01 / 0.5
	}
	return kernels.PackQ8For(f, w, n, k, bias, scale, 0)
}

// Chain is a stack of int8 dense layers that stays int8 from end to end, as
// XNNPACK's qs8 fully-connected chain in ../shared/peers does: ReLU between
// layers, a linear last layer.
type Chain struct {
	layers []*kernels.Q8Weights
	bufs   [][]int8
	batch  int
	dims   []int
}

// NewChain builds a chain of random layers with the given widths.
func NewChain(f kernels.Family, dims []int, batch int, rng *rand.Rand) (*Chain, error) {
	c := &Chain{batch: batch, dims: dims}
	for i := 0; i+1 < len(dims); i++ {
		p, err := packRandomQ8(f, dims[i+1], dims[i], rng)
		if err != nil {
			return nil, err
		}
		c.layers = append(c.layers, p)
	}
	for _, d := range dims {
		c.bufs = append(c.bufs, randInt8(rng, batch*d, kernels.Slack, -128))
	}
	return c, nil
}

// MACs returns the multiply-accumulates per sample.
func (c *Chain) MACs() int {
	m := 0
	for i := 0; i+1 < len(c.dims); i++ {
		m += c.dims[i] * c.dims[i+1]
	}
	return m
}

// Run pushes one batch through every layer.
func (c *Chain) Run() {
	for i, l := range c.layers {
		o := kernels.ReLU(0)
		if i == len(c.layers)-1 {
			o = kernels.Linear(0)
		}
		_ = l.Gemm(c.batch, c.bufs[i], c.dims[i], c.bufs[i+1], c.dims[i+1], o)
	}
}

// modelRun builds the model workload of a kind in a precision for family f.
func (c *Config) modelRun(kind, prec string, f kernels.Family, batch int, rng *rand.Rand) (*ModelRun, error) {
	var m *model.Model
	var err error
	if kind == "model-dense" {
		if c.Chain[0] != c.Chain[len(c.Chain)-1] || c.Chain[0]%8 != 0 {
			return nil, fmt.Errorf("bench: model-dense needs chain widths that start and end with the same multiple of 8, not %v", c.Chain)
		}
		m, err = DenseAutoencoder(c.Chain, c.Chain[0]/8, 8, rng)
	} else {
		m = ConvAutoencoder(rng)
	}
	if err != nil {
		return nil, err
	}
	if prec == "int8" {
		if m, err = Quantized(m, rng); err != nil {
			return nil, err
		}
	}
	return NewModelRun(m, f, batch, rng)
}
