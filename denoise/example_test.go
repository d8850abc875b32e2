package denoise_test

import (
	"fmt"

	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

// Clean a stream in causal mode: each cleaned row comes out as soon as it
// went in, one per input row, in order. The model learns its denoiser (a
// blind-spot predictor per channel) from the noisy rows alone.
func ExampleNew() {
	const channels, learnRows, rows = 4, 10 * 288, 1000
	g, _ := synth.New(synth.Config{Channels: channels, Seed: 3, Noise: 0.3, Linear: true, Season: 10 * 288})
	clean, obs := make([]float32, channels), make([]float32, channels)
	// A model to clean with: learned from the stream's first 10 days, as
	// edge watch does (edge train and edge quantize make one from a file).
	// It should see the whole normal range.
	buf, _ := learn.NewBuffer(g.Names(), learnRows, 0)
	for !buf.Full() {
		g.Next(clean, obs)
		buf.Add(stream.Row{Values: obs})
	}
	m, _, err := buf.Fit(learn.Options{Train: train.Config{Epochs: 1, Seed: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}

	truth := make([]float32, 0, rows*channels)
	noisy := make([]float32, 0, rows*channels)
	cleaned := make([]float32, 0, rows*channels)
	d, err := denoise.New(m, denoise.Config{Mode: denoise.Causal}, func(s *denoise.Sample) error {
		cleaned = append(cleaned, s.Values...) // s is reused: copy what you keep
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("latency:", d.Latency(), "rows")
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
	in, _ := denoise.SNR(noisy, truth, channels, nil)
	out, _ := denoise.SNR(cleaned, truth, channels, nil)
	fmt.Println("cleaned rows:", len(cleaned)/channels)
	fmt.Println("SNR improved by more than 6 dB:", out-in > 6)
	// Output:
	// latency: 0 rows
	// cleaned rows: 1000
	// SNR improved by more than 6 dB: true
}
