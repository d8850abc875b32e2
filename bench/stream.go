package bench

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// StreamModel returns the int8 model the stream benchmarks run: the demo's
// shape for windows of 64 rows of the given channels (dense 64-32 encoder,
// code 12, mirrored decoder, the bottleneck in float32), random weights.
func StreamModel(channels int, rng *rand.Rand) (*model.Model, error) {
	d := 64 * channels
	m, err := DenseAutoencoder([]int{d, 64, 32, 12, 32, 64, d}, 64, channels, rng)
	if err != nil {
		return nil, err
	}
	return Quantized(m, rng)
}

// StreamPusher pushes rows into a denoiser or a scorer.
type StreamPusher struct {
	push  func(stream.Row) error
	row   stream.Row
	data  []float32
	i     int
	Kind  string
	Count int // samples emitted (denoise) or windows scored (score)
}

// NewStreamPusher returns a denoiser ("denoise-centred", "denoise-causal")
// or scorer ("score") for m at hop, fed from a ring of random rows.
func NewStreamPusher(kind string, m *model.Model, hop int, rng *rand.Rand) (*StreamPusher, error) {
	switch kind {
	case "denoise-centred", "denoise-causal", "score":
	default:
		return nil, fmt.Errorf("bench: no stream workload %q (denoise-centred, denoise-causal or score)", kind)
	}
	p := &StreamPusher{Kind: kind, data: Windows(m, 16, rng)}
	sc := stream.Config{Hop: hop}
	switch kind {
	case "denoise-centred", "denoise-causal":
		mode := denoise.Centred
		if kind == "denoise-causal" {
			mode = denoise.Causal
		}
		d, err := denoise.New(m, denoise.Config{Mode: mode, Stream: sc}, func(*denoise.Sample) error { p.Count++; return nil })
		if err != nil {
			return nil, err
		}
		p.push = d.Push
	case "score":
		// Settings learned from the pusher's own rows: the workload is the
		// scoring, whatever the flags say.
		set, err := anomaly.Calibrate(m, p.data[:min(len(p.data), 400*m.Channels)/m.Channels*m.Channels], anomaly.LearnOptions{Base: anomaly.Settings{Hop: hop}})
		if err != nil {
			return nil, err
		}
		s, err := anomaly.New(m, anomaly.Config{Settings: set, Stream: sc}, func(*anomaly.Score) error { p.Count++; return nil })
		if err != nil {
			return nil, err
		}
		p.push = s.Push
	}
	p.row = stream.Row{HasTime: true, Values: make([]float32, m.Channels)}
	return p, nil
}

// Push pushes the next row.
func (p *StreamPusher) Push() error {
	c := len(p.row.Values)
	n := len(p.data) / c
	copy(p.row.Values, p.data[(p.i%n)*c:])
	p.row.Time = float64(p.i)
	p.i++
	return p.push(p.row)
}

// StreamRate pushes rows for about minTime and returns samples per second.
func StreamRate(p *StreamPusher, minTime time.Duration) (float64, error) {
	for i := 0; i < 256; i++ { // warm up: fill the first windows
		if err := p.Push(); err != nil {
			return 0, err
		}
	}
	n := 1024
	for {
		t0 := time.Now()
		for i := 0; i < n; i++ {
			if err := p.Push(); err != nil {
				return 0, err
			}
		}
		if el := time.Since(t0); el >= minTime || n > 1<<26 {
			return float64(n) / el.Seconds(), nil
		}
		n *= 2
	}
}
