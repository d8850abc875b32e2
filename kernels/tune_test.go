//go:build !purego

package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkTuneQ8(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][3]int{{16, 128, 640}, {256, 128, 640}, {256, 640, 128}, {16, 640, 128}, {256, 128, 128}, {512, 512, 512}} {
		c := randQ8Case(rng, s[0], s[1], s[2])
		c.xs, c.ys = s[2], s[1]
		c.x = make([]int8, s[0]*s[2], s[0]*s[2]+Slack)
		w, _ := PackQ8For(AVX512, c.w, c.n, c.k, c.bias, c.scale, c.zx)
		y := make([]int8, s[0]*s[1])
		for _, ts := range q8Tiles(AVX512) {
			if ts.mr < 3 {
				continue
			}
			b.Run(fmt.Sprintf("%dx%dx%d/%dx%d", s[0], s[1], s[2], ts.mr, ts.nv), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					gemmForced(w, c.m, c.x, c.xs, y, c.ys, c.out, ts)
				}
				b.ReportMetric(2*float64(s[0]*s[1]*s[2])*float64(b.N)/b.Elapsed().Seconds()/1e9, "GOPS")
			})
		}
	}
}

func BenchmarkTuneF32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][3]int{{16, 128, 640}, {256, 128, 640}, {256, 640, 128}} {
		c := randF32Case(rng, s[0], s[1], s[2])
		c.xs, c.ys = s[2], s[1]
		c.x, c.y = make([]float32, s[0]*s[2]), make([]float32, s[0]*s[1])
		for _, f := range []Family{AVX512, AVX2} {
			w, _ := PackF32For(f, c.w, c.n, c.k)
			for _, ts := range f32Tiles(f) {
				if ts.mr < 4 {
					continue
				}
				b.Run(fmt.Sprintf("%s/%dx%dx%d/%dx%d", f, s[0], s[1], s[2], ts.mr, ts.nv), func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						f32Forced(w, c.m, c.x, c.xs, c.y, c.ys, c.bias, initBias, ts)
					}
					b.ReportMetric(2*float64(s[0]*s[1]*s[2])*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOPS")
				})
			}
		}
	}
}

func BenchmarkTuneQ8Row(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, s := range [][3]int{{1, 128, 640}, {1, 640, 128}, {1, 128, 128}} {
		c := randQ8Case(rng, s[0], s[1], s[2])
		c.xs, c.ys = s[2], s[1]
		c.x = make([]int8, s[0]*s[2], s[0]*s[2]+Slack)
		w, _ := PackQ8For(AVX512, c.w, c.n, c.k, c.bias, c.scale, c.zx)
		y := make([]int8, s[0]*s[1])
		for nv := 1; nv <= 8; nv++ {
			ts := tileShape{1, nv}
			b.Run(fmt.Sprintf("%dx%dx%d/%dx%d", s[0], s[1], s[2], ts.mr, ts.nv), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					gemmForced(w, c.m, c.x, c.xs, y, c.ys, c.out, ts)
				}
			})
		}
	}
}
