// Package synth generates realistic multi-channel sensor streams for demos,
// tests and benchmarks: a few shared latent drivers (a daily cycle, faster
// oscillations, a slow seasonal drift, a random-walk trend) mixed into
// correlated channels with their own offsets, gains and (often
// non-linear) responses, then observed
// through Gaussian noise, impulse spikes and dropouts, with optional
// labelled anomalies (spikes, level shifts, drifts, frozen sensors, broken
// correlations). Everything is deterministic for a seed, and generated
// here: no third-party data.
package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Config describes a sensor installation.
type Config struct {
	Channels int     // sensors (default 8)
	Day      float64 // samples per daily cycle (default 288: one every 5 minutes)
	// Periods of the faster shared oscillations, in samples (default 37, 91).
	Periods []float64
	Season  float64 // samples per seasonal cycle (default 30 days)
	Trend   float64 // random-walk step of the shared trend (default 0.002)
	// Observation noise, in units of each channel's gain (its signal
	// scale; the signal's own spread is about 1.5 to 3 gains). A negative
	// value turns a default off.
	Noise       float64 // Gaussian standard deviation (default 0.1)
	ImpulseProb float64 // chance per value of an impulse spike (default 0.002)
	ImpulseSize float64 // in gains (default 6)
	DropoutProb float64 // chance per step that a channel starts a dropout (default 0.0005)
	DropoutLen  int     // length of a dropout in samples (default 12)
	// Linear makes every sensor respond linearly to the drivers. By
	// default, as real sensors do, some saturate (tanh), some grow
	// exponentially and some have a quadratic part; the rest are linear
	// (channel c gets response c mod 4).
	Linear bool
	// Anomalies are applied to the observations at their sample indices.
	Anomalies []Anomaly
	Seed      uint64
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
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
		*v = math.Max(*v, 0)
	}
	def(&c.Trend, 0.002)
	def(&c.Noise, 0.1)
	def(&c.ImpulseProb, 0.002)
	def(&c.ImpulseSize, 6)
	def(&c.DropoutProb, 0.0005)
	if c.DropoutLen == 0 {
		c.DropoutLen = 12
	}
}

// Kind is a kind of anomaly.
type Kind uint8

// The anomaly kinds. None labels normal samples.
const (
	None Kind = iota
	// Spike: a short burst (3 to 8 samples) far off the signal.
	Spike
	// LevelShift: the channel reads a constant offset too high or low.
	LevelShift
	// Drift: the offset grows linearly over the anomaly (a sensor
	// losing calibration).
	Drift
	// Frozen: the sensor repeats its last reading exactly.
	Frozen
	// BrokenCorrelation: the channel's variation is inverted, so it keeps
	// its level and spread but moves against the channels it tracked.
	BrokenCorrelation
	numKinds
)

// Kinds lists the anomaly kinds (without None).
func Kinds() []Kind { return []Kind{Spike, LevelShift, Drift, Frozen, BrokenCorrelation} }

func (k Kind) String() string {
	switch k {
	case None:
		return "none"
	case Spike:
		return "spike"
	case LevelShift:
		return "level-shift"
	case Drift:
		return "drift"
	case Frozen:
		return "frozen"
	case BrokenCorrelation:
		return "broken-correlation"
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Anomaly is one labelled anomaly on one channel.
type Anomaly struct {
	Kind    Kind
	Start   int     // first sample
	Len     int     // samples
	Channel int     // sensor
	Size    float64 // offset (spike, level shift) or final offset (drift), in gains; signed
}

// Generator produces one installation's readings, step by step.
type Generator struct {
	cfg      Config
	rng      *rand.Rand
	drivers  []float64
	load     [][]float64 // channel x driver loadings
	offset   []float64
	gain     []float64
	phase    []float64 // per driver
	trend    float64
	t        int
	dropLeft []int
	frozen   []float64 // per channel: the reading a frozen sensor repeats
	last     []float64 // per channel: the last observation
	names    []string
	anoms    []Anomaly // sorted by start
	next     int       // first anomaly that may still be active
}

// New returns a generator for the installation cfg describes.
func New(cfg Config) (*Generator, error) {
	cfg.defaults()
	if cfg.Channels < 1 || cfg.Channels > 1024 {
		return nil, fmt.Errorf("synth: %d channels outside [1, 1024]", cfg.Channels)
	}
	g := &Generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x5e5)), dropLeft: make([]int, cfg.Channels),
		frozen: make([]float64, cfg.Channels), last: make([]float64, cfg.Channels)}
	nd := 3 + len(cfg.Periods) // daily, season, trend, the oscillations
	g.drivers = make([]float64, nd)
	kinds := []string{"temp", "humidity", "pressure", "current", "vibration", "flow", "voltage", "co2"}
	for c := 0; c < cfg.Channels; c++ {
		row := make([]float64, nd)
		for d := range row {
			row[d] = g.rng.NormFloat64()
		}
		row[0] += float64(1.5 * float64(1-2*(c%2))) // every channel follows the day, in or out of phase
		g.load = append(g.load, row)
		g.offset = append(g.offset, math.Round(g.rng.NormFloat64()*50))
		g.gain = append(g.gain, 0.5+float64(4*float64(g.rng.Float64())))
		g.names = append(g.names, fmt.Sprintf("%s_%d", kinds[c%len(kinds)], c/len(kinds)+1))
	}
	for d := 0; d < nd; d++ {
		g.phase = append(g.phase, float64(float64(g.rng.Float64())*2*math.Pi))
	}
	g.anoms = append([]Anomaly(nil), cfg.Anomalies...)
	sort.SliceStable(g.anoms, func(i, j int) bool { return g.anoms[i].Start < g.anoms[j].Start })
	for _, a := range g.anoms {
		if a.Kind == None || a.Kind >= numKinds || a.Len < 1 || a.Start < 0 || a.Channel < 0 || a.Channel >= cfg.Channels {
			return nil, fmt.Errorf("synth: bad anomaly %+v", a)
		}
	}
	return g, nil
}

// Names returns the channel names.
func (g *Generator) Names() []string { return g.names }

// Channels returns the number of channels.
func (g *Generator) Channels() int { return g.cfg.Channels }

// Step returns the index of the next sample.
func (g *Generator) Step() int { return g.t }

// Gain returns channel c's gain: noise, impulses and anomaly sizes are in
// these units.
func (g *Generator) Gain(c int) float64 { return g.gain[c] }

// Next writes the next sample's clean signal (noise- and anomaly-free)
// and its observation (both Channels values), and returns the kind of
// anomaly active at this sample (None if none). Observations may hold NaN
// during dropouts.
func (g *Generator) Next(clean, observed []float32) Kind {
	c := g.cfg
	t := float64(g.t)
	d := g.drivers
	d[0] = math.Sin(2*math.Pi*t/c.Day + g.phase[0])
	d[1] = math.Sin(2*math.Pi*t/c.Season + g.phase[1])
	g.trend += float64(c.Trend * g.rng.NormFloat64())
	g.trend *= 0.9995 // mean-reverting, so the trend stays bounded
	d[2] = g.trend * 10
	for i, p := range c.Periods {
		d[3+i] = 0.5 * math.Sin(2*math.Pi*t/p+g.phase[3+i])
	}
	for g.next < len(g.anoms) && g.anoms[g.next].Start+g.anoms[g.next].Len <= g.t {
		g.next++
	}
	label := None
	for ch := 0; ch < c.Channels; ch++ {
		var s float64
		for k, v := range d {
			s += float64(g.load[ch][k] * v)
		}
		v := g.offset[ch] + float64(g.gain[ch]*g.response(ch, s))
		clean[ch] = float32(v)
		// The anomalies on this channel change what the sensor sees.
		frozen := false
		for i := g.next; i < len(g.anoms) && g.anoms[i].Start <= g.t; i++ {
			a := g.anoms[i]
			if a.Channel != ch || g.t >= a.Start+a.Len {
				continue
			}
			label = a.Kind
			switch a.Kind {
			case Spike, LevelShift:
				v += float64(a.Size * g.gain[ch])
			case Drift:
				v += a.Size * g.gain[ch] * float64(g.t-a.Start+1) / float64(a.Len)
			case Frozen:
				if g.t == a.Start {
					g.frozen[ch] = g.last[ch]
					if math.IsNaN(g.frozen[ch]) || g.t == 0 {
						g.frozen[ch] = v
					}
				}
				frozen = true
			case BrokenCorrelation:
				v = g.offset[ch] + float64(g.gain[ch]*g.response(ch, -s))
			}
		}
		o := v + float64(g.gain[ch]*c.Noise*g.rng.NormFloat64())
		if g.rng.Float64() < c.ImpulseProb {
			o += float64(g.gain[ch] * c.ImpulseSize * float64(1-2*g.rng.IntN(2)))
		}
		if g.dropLeft[ch] == 0 && g.rng.Float64() < c.DropoutProb {
			g.dropLeft[ch] = c.DropoutLen
		}
		if frozen {
			o = g.frozen[ch]
		}
		g.last[ch] = o
		if g.dropLeft[ch] > 0 {
			g.dropLeft[ch]--
			o = math.NaN()
		}
		observed[ch] = float32(o)
	}
	g.t++
	return label
}

// response maps channel ch's mix of drivers to its reading (before offset
// and gain).
func (g *Generator) response(ch int, s float64) float64 {
	if g.cfg.Linear {
		return s
	}
	switch ch % 4 {
	case 1: // saturating, like relative humidity near its limits
		return 2 * math.Tanh(s/2)
	case 2: // exponential, like a gas concentration or a leakage current
		return 2.5 * (math.Exp(s/5) - 1)
	case 3: // partly quadratic, like power against current
		return s + float64(0.15*s*math.Abs(s))
	}
	return s
}

// Series generates n samples: the clean signal and the observations,
// time-major (n*Channels values each).
func (g *Generator) Series(n int) (clean, observed []float32) {
	clean, observed, _ = g.Labelled(n)
	return clean, observed
}

// Labelled generates n samples like Series and the anomaly kind of each.
func (g *Generator) Labelled(n int) (clean, observed []float32, labels []Kind) {
	c := g.cfg.Channels
	clean, observed, labels = make([]float32, n*c), make([]float32, n*c), make([]Kind, n)
	for i := 0; i < n; i++ {
		labels[i] = g.Next(clean[i*c:(i+1)*c], observed[i*c:(i+1)*c])
	}
	return clean, observed, labels
}

// Schedule returns count anomalies spread evenly over samples [start,
// start+n), cycling through every kind, on random channels, with typical
// durations and sizes, separated by normal stretches. It is deterministic
// for seed.
func Schedule(start, n, count, channels int, seed uint64) []Anomaly {
	if count < 1 || n < count || channels < 1 {
		return nil
	}
	rng := rand.New(rand.NewPCG(seed, 0xa0a))
	slot := n / count
	var out []Anomaly
	kinds := Kinds()
	for i := 0; i < count; i++ {
		k := kinds[i%len(kinds)]
		sign := float64(1 - 2*rng.IntN(2))
		a := Anomaly{Kind: k, Channel: rng.IntN(channels)}
		switch k {
		case Spike:
			// A burst, unlike the single-sample impulses of the noise.
			a.Len, a.Size = 3+rng.IntN(6), sign*(5+float64(5*float64(rng.Float64())))
		case LevelShift:
			a.Len, a.Size = 60+rng.IntN(120), sign*(2+float64(2*float64(rng.Float64())))
		case Drift:
			a.Len, a.Size = 150+rng.IntN(150), sign*(3+float64(2*float64(rng.Float64())))
		case Frozen:
			a.Len = 60 + rng.IntN(120)
		case BrokenCorrelation:
			a.Len = 60 + rng.IntN(120)
		}
		a.Len = min(a.Len, slot/2)
		// Somewhere in the middle half of its slot.
		a.Start = start + i*slot + slot/4 + rng.IntN(max(1, slot/2-a.Len+1))
		out = append(out, a)
	}
	return out
}
