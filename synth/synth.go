// Package synth generates realistic multi-channel sensor streams for demos,
// tests and benchmarks: a few shared latent drivers (a daily cycle, faster
// oscillations, a slow seasonal drift, a random-walk trend) mixed into
// correlated channels with their own offsets and gains, then observed
// through Gaussian noise, impulse spikes and dropouts. Everything is
// deterministic for a seed, and generated here: no third-party data.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Config describes a sensor installation.
type Config struct {
	Channels int     // sensors (default 8)
	Day      float64 // samples per daily cycle (default 288: one every 5 minutes)
	// Periods of the faster shared oscillations, in samples (default 37, 91).
	Periods []float64
	Season  float64 // samples per seasonal cycle (default 30 days)
	Trend   float64 // random-walk step of the shared trend (default 0.002)
	// Observation noise, in units of each channel's signal spread.
	Noise       float64 // Gaussian (default 0.1)
	ImpulseProb float64 // chance per value of an impulse spike (default 0.002)
	ImpulseSize float64 // in signal spreads (default 6)
	DropoutProb float64 // chance per step that a channel starts a dropout (default 0.0005)
	DropoutLen  int     // length of a dropout in samples (default 12)
	Seed        uint64
}

func (c *Config) defaults() {
	if c.Channels == 0 {
		c.Channels = 8
	}
	if c.Day == 0 {
		c.Day = 288
	}
	if c.Periods == nil {
		c.Periods = []float64{37, 91}
	}
	if c.Season == 0 {
		c.Season = 30 * c.Day
	}
	if c.Trend == 0 {
		c.Trend = 0.002
	}
	if c.Noise == 0 {
		c.Noise = 0.1
	}
	if c.ImpulseProb == 0 {
		c.ImpulseProb = 0.002
	}
	if c.ImpulseSize == 0 {
		c.ImpulseSize = 6
	}
	if c.DropoutProb == 0 {
		c.DropoutProb = 0.0005
	}
	if c.DropoutLen == 0 {
		c.DropoutLen = 12
	}
}

// Generator produces one installation's readings, step by step.
type Generator struct {
	cfg      Config
	rng      *rand.Rand
	drivers  int
	load     [][]float64 // channel x driver loadings
	offset   []float64
	gain     []float64
	phase    []float64 // per driver
	trend    float64
	t        int
	dropLeft []int
	names    []string
}

// New returns a generator for the installation cfg describes.
func New(cfg Config) (*Generator, error) {
	cfg.defaults()
	if cfg.Channels < 1 || cfg.Channels > 1024 {
		return nil, fmt.Errorf("synth: %d channels outside [1, 1024]", cfg.Channels)
	}
	g := &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5e5)), dropLeft: make([]int, cfg.Channels)}
	g.drivers = 3 + len(cfg.Periods) // daily, season, trend, the oscillations
	kinds := []string{"temp", "humidity", "pressure", "current", "vibration", "flow", "voltage", "co2"}
	for c := 0; c < cfg.Channels; c++ {
		row := make([]float64, g.drivers)
		for d := range row {
			row[d] = g.rng.NormFloat64()
		}
		row[0] += 1.5 * float64(1-2*(c%2)) // every channel follows the day, in or out of phase
		g.load = append(g.load, row)
		g.offset = append(g.offset, math.Round(g.rng.NormFloat64()*50))
		g.gain = append(g.gain, 0.5+4*g.rng.Float64())
		g.names = append(g.names, fmt.Sprintf("%s_%d", kinds[c%len(kinds)], c/len(kinds)+1))
	}
	for d := 0; d < g.drivers; d++ {
		g.phase = append(g.phase, g.rng.Float64()*2*math.Pi)
	}
	return g, nil
}

// Names returns the channel names.
func (g *Generator) Names() []string { return g.names }

// Channels returns the number of channels.
func (g *Generator) Channels() int { return g.cfg.Channels }

// Step returns the index of the next sample.
func (g *Generator) Step() int { return g.t }

// Next writes the next sample's clean signal and its observation (both
// Channels values). Observations may hold NaN during dropouts.
func (g *Generator) Next(clean, observed []float32) {
	c := g.cfg
	t := float64(g.t)
	drivers := make([]float64, g.drivers)
	drivers[0] = math.Sin(2*math.Pi*t/c.Day + g.phase[0])
	drivers[1] = math.Sin(2*math.Pi*t/c.Season + g.phase[1])
	g.trend += c.Trend * g.rng.NormFloat64()
	g.trend *= 0.9995 // mean-reverting, so the trend stays bounded
	drivers[2] = g.trend * 10
	for i, p := range c.Periods {
		drivers[3+i] = 0.5 * math.Sin(2*math.Pi*t/p+g.phase[3+i])
	}
	for ch := 0; ch < c.Channels; ch++ {
		var s float64
		for d, v := range drivers {
			s += g.load[ch][d] * v
		}
		v := g.offset[ch] + g.gain[ch]*s
		clean[ch] = float32(v)
		o := v + g.gain[ch]*c.Noise*g.rng.NormFloat64()
		if g.rng.Float64() < c.ImpulseProb {
			o += g.gain[ch] * c.ImpulseSize * float64(1-2*g.rng.IntN(2))
		}
		if g.dropLeft[ch] == 0 && g.rng.Float64() < c.DropoutProb {
			g.dropLeft[ch] = c.DropoutLen
		}
		if g.dropLeft[ch] > 0 {
			g.dropLeft[ch]--
			o = math.NaN()
		}
		observed[ch] = float32(o)
	}
	g.t++
}

// Series generates n samples: the clean signal and the observations,
// time-major (n*Channels values each).
func (g *Generator) Series(n int) (clean, observed []float32) {
	c := g.cfg.Channels
	clean, observed = make([]float32, n*c), make([]float32, n*c)
	for i := 0; i < n; i++ {
		g.Next(clean[i*c:(i+1)*c], observed[i*c:(i+1)*c])
	}
	return clean, observed
}
