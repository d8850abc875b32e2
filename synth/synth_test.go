package synth

import (
	"math"
	"testing"
)

func TestGenerator(t *testing.T) {
	g, err := New(Config{Channels: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	clean, obs := g.Series(5000)
	var nan, spikes int
	var num, den float64
	for i := range clean {
		if math.IsNaN(float64(obs[i])) {
			nan++
			continue
		}
		d := float64(obs[i] - clean[i])
		if math.Abs(d) > 4*float64(g.gain[i%4]) {
			spikes++
		}
		num += d * d
	}
	mean := make([]float64, 4)
	for i, v := range clean {
		mean[i%4] += float64(v) / 5000
	}
	for i, v := range clean {
		d := float64(v) - mean[i%4]
		den += d * d
	}
	snr := 10 * math.Log10(den/num)
	if nan == 0 || spikes == 0 {
		t.Errorf("no dropouts (%d) or impulses (%d) in 20000 values", nan, spikes)
	}
	if snr < 10 || snr > 40 {
		t.Errorf("observation SNR %.1f dB, expected a noisy but clear signal", snr)
	}
	// Channels are correlated through the shared drivers.
	var c01, v0, v1 float64
	for i := 0; i < 5000; i++ {
		a, b := float64(clean[i*4])-mean[0], float64(clean[i*4+1])-mean[1]
		c01 += a * b
		v0 += a * a
		v1 += b * b
	}
	if math.Abs(c01/math.Sqrt(v0*v1)) < 0.1 {
		t.Errorf("channels 0 and 1 barely correlated: %.3f", c01/math.Sqrt(v0*v1))
	}
	// Deterministic.
	g2, _ := New(Config{Channels: 4, Seed: 1})
	c2, o2 := g2.Series(5000)
	for i := range c2 {
		if c2[i] != clean[i] || (o2[i] != obs[i] && !math.IsNaN(float64(o2[i]))) {
			t.Fatal("not deterministic")
		}
	}
	if len(g.Names()) != 4 || g.Names()[0] != "temp_1" {
		t.Errorf("names %v", g.Names())
	}
}
