package anomaly_test

import (
	"fmt"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/learn"
	"github.com/edgeml/edge/stream"
	"github.com/edgeml/edge/synth"
	"github.com/edgeml/edge/train"
)

// What edge train, quantize and score do, in Go: learn a model and its
// thresholds from 10 days of normal readings (learn.Fit cross-fits the
// thresholds on rows no model trained on), then score the next day, in
// which one sensor's level shifts by 5 times its gain at row 100 for 150
// rows. Every row gets a score; the event is reported once, two rows into
// the shift, with the sensor to blame; the flag ends a few rows after the
// shift, once the window has left it. The change score is at least 0.5
// on a few rows where the shift begins and a few more, not through its 150
// rows: rank rows by it to count detections.
func ExampleNew() {
	const channels, day = 6, 288
	g, _ := synth.New(synth.Config{Channels: channels, Seed: 11, Linear: true, Season: 5 * day, Anomalies: []synth.Anomaly{
		{Kind: synth.LevelShift, Start: 10*day + 100, Len: 150, Channel: 4, Size: 5},
	}})
	_, normal := g.Series(10 * day)
	s := &dataset.Series{Source: "normal", Names: g.Names(), Values: normal, Lines: make([]int, 10*day)}
	_, m, _, err := learn.Fit(s, learn.Options{Train: train.Config{Epochs: 1, Seed: 1}})
	if err != nil {
		fmt.Println(err)
		return
	}
	rows, first, last := 0, -1, -1
	var events []string
	var changed []int // rows whose change score is at least 0.5
	sc, err := anomaly.New(m, anomaly.Config{}, func(s *anomaly.Score) error {
		rows++
		if s.Flag {
			if first < 0 {
				first = s.Line
			}
			last = s.Line
		}
		if s.Change >= 0.5 {
			changed = append(changed, s.Line)
		}
		if s.Onset {
			events = append(events, fmt.Sprintf("%s from row %d: %s", s.Kind, s.EventLine, g.Names()[s.Top]))
		}
		return nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	clean, row := make([]float32, channels), make([]float32, channels)
	for i := 0; i < day; i++ {
		g.Next(clean, row)
		sc.Push(stream.Row{Line: i, Values: row})
	}
	sc.Close()
	fmt.Println("rows scored:", rows)
	for _, e := range events {
		fmt.Println(e)
	}
	fmt.Printf("flagged from row %d to row %d\n", first, last)
	fmt.Println("change score at least 0.5 on rows", changed)
	// Output:
	// rows scored: 288
	// anomaly from row 102: vibration_1
	// flagged from row 102 to row 260
	// change score at least 0.5 on rows [102 103 104 105 106 107 124 125 254]
}
