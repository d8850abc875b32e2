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

func TestAnomalies(t *testing.T) {
	sched := []Anomaly{
		{Kind: Spike, Start: 100, Len: 2, Channel: 0, Size: 8},
		{Kind: LevelShift, Start: 300, Len: 50, Channel: 1, Size: -3},
		{Kind: Drift, Start: 500, Len: 100, Channel: 2, Size: 4},
		{Kind: Frozen, Start: 700, Len: 40, Channel: 3},
		{Kind: BrokenCorrelation, Start: 900, Len: 60, Channel: 0},
	}
	cfg := Config{Channels: 4, Seed: 2, Noise: -1, ImpulseProb: -1, DropoutProb: -1, Anomalies: sched}
	g, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clean, obs, labels := g.Labelled(1100)
	for i, l := range labels {
		want := None
		for _, a := range sched {
			if i >= a.Start && i < a.Start+a.Len {
				want = a.Kind
			}
		}
		if l != want {
			t.Fatalf("sample %d labelled %s, want %s", i, l, want)
		}
	}
	at := func(i, c int) float64 { return float64(obs[i*4+c] - clean[i*4+c]) }
	if d := at(100, 0); math.Abs(d-8*g.Gain(0)) > 1e-3*g.Gain(0)*8+1e-3 {
		t.Errorf("spike offset %v, want %v", d, 8*g.Gain(0))
	}
	if d := at(320, 1); math.Abs(d+3*g.Gain(1)) > 1e-3 {
		t.Errorf("level shift %v, want %v", d, -3*g.Gain(1))
	}
	if d := at(599, 2); math.Abs(d-4*g.Gain(2)) > 1e-3 {
		t.Errorf("drift at its end %v, want %v", d, 4*g.Gain(2))
	}
	for i := 700; i < 740; i++ {
		if obs[i*4+3] != obs[699*4+3] {
			t.Fatalf("frozen sensor changed at %d", i)
		}
	}
	if obs[740*4+3] == obs[699*4+3] {
		t.Error("frozen sensor did not recover")
	}
	// A broken correlation mirrors the channel about its offset: clean and
	// observed move in opposite directions.
	var dot float64
	for i := 901; i < 960; i++ {
		dot += float64(clean[i*4]-clean[(i-1)*4]) * float64(obs[i*4]-obs[(i-1)*4])
	}
	if dot >= 0 {
		t.Errorf("broken correlation: the channel still moves with its signal (%v)", dot)
	}
	// Outside anomalies, without noise, observation equals the clean signal.
	for _, i := range []int{50, 250, 650, 1050} {
		for c := 0; c < 4; c++ {
			if obs[i*4+c] != clean[i*4+c] {
				t.Errorf("sample %d channel %d: observed %v, clean %v", i, c, obs[i*4+c], clean[i*4+c])
			}
		}
	}
	if _, err := New(Config{Channels: 2, Anomalies: []Anomaly{{Kind: Spike, Len: 1, Channel: 2}}}); err == nil {
		t.Error("an anomaly on channel 2 of 2 was accepted")
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule(1000, 10000, 10, 8, 1)
	if len(s) != 10 {
		t.Fatalf("%d anomalies", len(s))
	}
	seen := map[Kind]int{}
	for i, a := range s {
		seen[a.Kind]++
		if a.Start < 1000+i*1000 || a.Start+a.Len > 1000+(i+1)*1000 || a.Channel < 0 || a.Channel >= 8 {
			t.Errorf("anomaly %d out of its slot: %+v", i, a)
		}
	}
	for _, k := range Kinds() {
		if seen[k] != 2 {
			t.Errorf("kind %s appears %d times, want 2", k, seen[k])
		}
	}
}

func TestNextAllocatesNothing(t *testing.T) {
	g, _ := New(Config{Channels: 8, Anomalies: Schedule(0, 5000, 5, 8, 1)})
	c, o := make([]float32, 8), make([]float32, 8)
	if n := testing.AllocsPerRun(1000, func() { g.Next(c, o) }); n != 0 {
		t.Errorf("Next allocates %v times", n)
	}
}
