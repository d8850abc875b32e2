package learn_test

import (
	"fmt"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

// A deployment with no data yet: learn a model from the first 3000 rows of
// the stream, then score what follows, where a sensor freezes.
func ExampleBuffer() {
	const learnRows, rows = 3000, 4000
	g, _ := synth.New(synth.Config{Channels: 4, Seed: 7, Anomalies: []synth.Anomaly{
		{Kind: synth.Frozen, Start: 3400, Len: 200, Channel: 2},
	}})
	buf, err := learn.NewBuffer(g.Names(), learnRows, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	clean, obs := make([]float32, 4), make([]float32, 4)
	for !buf.Full() {
		g.Next(clean, obs)
		buf.Add(stream.Row{Values: obs})
	}
	m, _, err := buf.Fit(learn.Options{Train: train.Config{Epochs: 5, Seed: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("learned an int8 model of %d channels x %d rows\n", m.Channels, m.Steps)

	onset, blamed := -1, ""
	sc, err := anomaly.New(m, anomaly.Config{}, func(s *anomaly.Score) error {
		if s.Onset && onset < 0 {
			onset, blamed = s.Line, g.Names()[s.Top]
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for i := learnRows; i < rows; i++ {
		g.Next(clean, obs)
		sc.Push(stream.Row{Line: i, Values: obs})
	}
	sc.Close()
	fmt.Printf("flagged %d rows after the sensor froze, blamed on %s\n", onset-3400, blamed)
	// Output:
	// learned an int8 model of 4 channels x 32 rows
	// flagged 6 rows after the sensor froze, blamed on pressure_1
}
