package bench

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/edgeml/edge/kernels"
)

func TestRunSmall(t *testing.T) {
	cfg := Config{
		Families: []kernels.Family{kernels.Generic, kernels.Best()},
		Shapes:   []Shape{{N: 8, K: 33}},
		Batches:  []int{1, 5},
		Chain:    []int{20, 8, 20},
		MinTime:  time.Millisecond,
	}
	cfg.Kinds = []string{"int8", "float32", "chain"}
	rows, err := Run(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Kinds = []string{"int8", "float32", "chain"}
	if want := 2 * 2 * 3; len(rows) != want { // families x batches x (int8, float32, chain)
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	for _, r := range rows {
		if !(r.NsPerOp > 0) || !(r.GOPS > 0) || r.PerInput != r.NsPerOp/float64(r.Batch) {
			t.Errorf("implausible row %+v", r)
		}
	}
	if _, err := Run(Config{Kinds: []string{"int4"}, Families: []kernels.Family{kernels.Generic}, MinTime: time.Millisecond}, nil); err == nil {
		t.Error("unknown kind accepted")
	}
}

func TestParse(t *testing.T) {
	s, err := ParseShapes("640x128, 8x128")
	if err != nil || len(s) != 2 || s[0] != (Shape{N: 128, K: 640}) || s[1] != (Shape{N: 128, K: 8}) {
		t.Errorf("ParseShapes = %v, %v", s, err)
	}
	for _, bad := range []string{"640", "0x3", "ax3", "3x-1", "70000x1"} {
		if _, err := ParseShapes(bad); err == nil {
			t.Errorf("ParseShapes(%q) accepted", bad)
		}
	}
	if v, err := ParseInts("1, 16 256"); err != nil || len(v) != 3 || v[2] != 256 {
		t.Errorf("ParseInts = %v, %v", v, err)
	}
	if _, err := ParseInts("1,x"); err == nil {
		t.Error("ParseInts accepted x")
	}
}

func BenchmarkChain(b *testing.B) {
	for _, f := range kernels.Supported() {
		for _, batch := range []int{1, 16, 256} {
			b.Run(fmt.Sprintf("%s/batch=%d", f, batch), func(b *testing.B) {
				c, err := NewChain(f, AutoencoderDims(), batch, rand.New(rand.NewPCG(1, 1)))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					c.Run()
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/sample")
			})
		}
	}
}

func BenchmarkLayers(b *testing.B) {
	for _, kind := range []string{"int8", "float32"} {
		for _, f := range kernels.Supported() {
			for _, s := range []Shape{{128, 640}, {512, 512}} {
				for _, batch := range []int{1, 16, 256} {
					b.Run(fmt.Sprintf("%s/%s/%s/batch=%d", kind, f, s, batch), func(b *testing.B) {
						fn, err := layerBench(kind, f, s, batch, rand.New(rand.NewPCG(1, 1)))
						if err != nil {
							b.Fatal(err)
						}
						b.ReportAllocs()
						b.ResetTimer()
						for i := 0; i < b.N; i++ {
							fn()
						}
						b.ReportMetric(2*float64(s.N*s.K*batch)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
					})
				}
			}
		}
	}
}

// BenchmarkSpeedup measures families against each other in the same run and
// reports the ratios: AVX2 over Generic (target: at least 10x) and the best
// family over AVX2, on the 256x128x640 int8 GEMM.
func BenchmarkSpeedup(b *testing.B) {
	s := Shape{N: 128, K: 640}
	time1 := func(f kernels.Family) float64 {
		fn, err := layerBench("int8", f, s, 256, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			b.Fatal(err)
		}
		return Measure(fn, 100*time.Millisecond)
	}
	if !kernels.AVX2.Supported() {
		b.Skip("SKIPPED: the CPU lacks AVX2")
	}
	for i := 0; i < b.N; i++ {
		g, a, best := time1(kernels.Generic), time1(kernels.AVX2), time1(kernels.Best())
		b.ReportMetric(g/a, "avx2/generic")
		b.ReportMetric(a/best, kernels.Best().String()+"/avx2")
	}
}

func TestTrainRows(t *testing.T) {
	before := kernels.Current()
	if before == kernels.Best() {
		// Start from another family, so the test sees Run restore it.
		if err := kernels.Use(kernels.Generic); err != nil {
			t.Fatal(err)
		}
		defer kernels.Use(before)
		before = kernels.Generic
	}
	// One family keeps this quick under qemu, where the ARM matrix runs it.
	cfg := Config{Families: []kernels.Family{kernels.Best()}, Kinds: []string{"train"},
		TrainBatch: 2, TrainThreads: []int{1, 2}, MinTime: time.Millisecond}
	rows, err := Run(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2*2 { // (dense, conv) x threads
		t.Fatalf("%d rows, want 4", len(rows))
	}
	for _, r := range rows {
		if !(r.PerInput > 0) || !(r.GOPS > 0) || r.Batch != 2 || r.NsPerOp != 2*r.PerInput {
			t.Errorf("implausible row %+v", r)
		}
	}
	if kernels.Current() != before {
		t.Errorf("the training rows left family %s in use, not %s", kernels.Current(), before)
	}
}

// BenchmarkStream reports the streaming throughput, one core, of the
// denoiser (both modes) and the scorer for 1 and 8 channels (window 64,
// hop 8), and their allocations per sample, which must be zero.
func BenchmarkStream(b *testing.B) {
	for _, ch := range []int{1, 8} {
		m, err := StreamModel(ch, rand.New(rand.NewPCG(1, uint64(ch))))
		if err != nil {
			b.Fatal(err)
		}
		for _, kind := range []string{"denoise-centred", "denoise-causal", "score"} {
			b.Run(fmt.Sprintf("%s/%dch", kind, ch), func(b *testing.B) {
				p, err := NewStreamPusher(kind, m, 8, rand.New(rand.NewPCG(2, 2)))
				if err != nil {
					b.Fatal(err)
				}
				for i := 0; i < 512; i++ {
					_ = p.Push()
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := p.Push(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

func TestStreamZeroAllocs(t *testing.T) {
	for _, ch := range []int{1, 8} {
		m, err := StreamModel(ch, rand.New(rand.NewPCG(1, uint64(ch))))
		if err != nil {
			t.Fatal(err)
		}
		for _, kind := range []string{"denoise-centred", "denoise-causal", "score"} {
			p, err := NewStreamPusher(kind, m, 8, rand.New(rand.NewPCG(2, 2)))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 512; i++ {
				_ = p.Push()
			}
			if a := testing.AllocsPerRun(2000, func() { _ = p.Push() }); a != 0 {
				t.Errorf("%s, %d channels: %v allocations per sample", kind, ch, a)
			}
			if p.Count == 0 {
				t.Errorf("%s: nothing came out", kind)
			}
			if r, err := StreamRate(p, time.Millisecond); err != nil || !(r > 0) {
				t.Errorf("%s: rate %v, %v", kind, r, err)
			}
		}
	}
	if _, err := NewStreamPusher("forecast", nil, 8, nil); err == nil {
		t.Error("an unknown kind was accepted")
	}
}
