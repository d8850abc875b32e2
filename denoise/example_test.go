package denoise_test

import (
	"fmt"

	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

// Clean a stream in causal mode: each cleaned row comes out at most one
// hop after it went in, one per input row, in order.
func ExampleNew() {
	const channels, learnRows, rows = 8, 30 * 288, 1000
	g, _ := synth.New(synth.Config{Channels: channels, Seed: 3, Noise: 0.3, Linear: true})
	clean, obs := make([]float32, channels), make([]float32, channels)
	// A model to clean with: learned from the stream's first 30 days, as
	// edge watch does (edge train and edge quantize make one from a file).
	// It should see the whole normal range: a week of a 30-day seasonal
	// cycle gains next to nothing.
	buf, _ := learn.NewBuffer(g.Names(), learnRows, 0)
	for !buf.Full() {
		g.Next(clean, obs)
		buf.Add(stream.Row{Values: obs})
	}
	m, _, err := buf.Fit(learn.Options{Window: 64, Train: train.Config{Epochs: 2, Seed: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}

	truth := make([]float32, 0, rows*channels)
	noisy := make([]float32, 0, rows*channels)
	cleaned := make([]float32, 0, rows*channels)
	d, err := denoise.New(m, denoise.Config{Mode: denoise.Causal, Stream: stream.Config{Hop: 4}}, func(s *denoise.Sample) error {
		cleaned = append(cleaned, s.Values...) // s is reused: copy what you keep
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("latency at most", d.Latency(), "rows")
	for i := 0; i < rows; i++ {
		g.Next(clean, obs)
		truth = append(truth, clean...)
		noisy = append(noisy, obs...)
		if err := d.Push(stream.Row{Line: i + 1, Values: obs}); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := d.Close(); err != nil { // flushes the last rows
		fmt.Println(err)
		return
	}
	denoise.ImputeHold(noisy, channels, nil) // dropouts, for the comparison
	// The first window's rows pass through uncleaned: compare after them.
	skip := m.Steps * channels
	in, _ := denoise.SNR(noisy[skip:], truth[skip:], channels, nil)
	out, _ := denoise.SNR(cleaned[skip:], truth[skip:], channels, nil)
	fmt.Println("cleaned rows:", len(cleaned)/channels)
	fmt.Println("SNR improved by more than 10 dB:", out-in > 10)
	// Output:
	// latency at most 3 rows
	// cleaned rows: 1000
	// SNR improved by more than 10 dB: true
}
