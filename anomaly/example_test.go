package anomaly_test

import (
	"fmt"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/quant"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

// What edge train, quantize, calibrate and score do, in Go: train on
// normal readings, quantise, store a threshold calibrated on more normal
// readings, then score a stream in which one sensor's level shifts by 5
// times its gain at row 11620. The event is reported from the first window
// over the threshold to the window that confirmed it, with the sensor to
// blame. (The 99.5th-percentile threshold sits above the windows holding
// the generator's single-sample glitches, so a shift must outweigh one.)
func ExampleNew() {
	const channels, day = 6, 288
	g, _ := synth.New(synth.Config{Channels: channels, Seed: 11, Linear: true, Anomalies: []synth.Anomaly{
		{Kind: synth.LevelShift, Start: 40*day + 100, Len: 150, Channel: 4, Size: 5},
	}})
	_, normal := g.Series(35 * day)
	s := &dataset.Series{Source: "normal", Names: g.Names(), Values: normal, Lines: make([]int, 35*day)}
	if _, err := s.ImputeHold(); err != nil { // dropouts
		fmt.Println(err)
		return
	}
	fm, _, err := train.FitSeries(s, train.SeriesOptions{Window: 32, Hop: 4,
		Arch: train.Arch{Hidden: []int{64}, Latent: 8}, Config: train.Config{Epochs: 2, Seed: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	calib, _, _ := s.Windows(32, 8)
	m, _, err := quant.Quantize(fm, calib, quant.Options{Method: quant.MinMax, Headroom: 0.25})
	if err != nil {
		fmt.Println(err)
		return
	}
	_, more := g.Series(5 * day) // days 35-39: normal, to calibrate on
	set, err := anomaly.CalibrateSeries(m, more, anomaly.CalibOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := anomaly.Store(m, set); err != nil {
		fmt.Println(err)
		return
	}

	var events []string
	sc, err := anomaly.New(m, anomaly.Config{}, func(s *anomaly.Score) error {
		if s.Onset {
			events = append(events, fmt.Sprintf("rows %d-%d: %s (%.0f%% of the error)", s.EventLine, s.Line, g.Names()[s.Top], 100*s.Contrib[s.Top]))
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	row := make([]float32, channels)
	for i := 40 * day; i < 41*day; i++ {
		g.Next(make([]float32, channels), row)
		sc.Push(stream.Row{Line: i, Values: row})
	}
	sc.Close()
	for _, e := range events {
		fmt.Println(e)
	}
	// Output:
	// rows 11616-11651: vibration_1 (36% of the error)
}
