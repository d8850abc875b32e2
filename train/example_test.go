package train_test

import (
	"fmt"
	"math"
	"strings"

	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/train"
)

// sensorCSV returns a CSV of two sensors: a vibration whose frequency and
// amplitude change every 100 rows, and a current that saturates with it.
func sensorCSV(rows int) string {
	var b strings.Builder
	b.WriteString("time,vibration,current\n")
	var th float64
	for t := 0; t < rows; t++ {
		seg := float64(t/100%7) / 7
		th += 2 * math.Pi * (0.03 + 0.1*seg)
		v := (0.5 + 2*math.Abs(math.Sin(7*seg))) * math.Sin(th)
		fmt.Fprintf(&b, "%d,%.4f,%.4f\n", t, v, math.Tanh(2*v))
	}
	return b.String()
}

// Train a dense autoencoder on a CSV of readings, the way edge train does,
// and compare it with PCA of the same latent size.
func ExampleFitSeries() {
	s, err := dataset.ReadCSV(strings.NewReader(sensorCSV(6000)), "sensors.csv", dataset.CSVOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	m, r, err := train.FitSeries(s, train.SeriesOptions{
		Window: 32, // hop defaults to window/4, validation to the last 20% of rows
		Arch:   train.Arch{Hidden: []int{64, 32}, Latent: 4},
		Config: train.Config{Epochs: 30, Seed: 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("channels:", m.ChannelNames, "normalisation:", m.Norm.Kind)
	fmt.Println("windows:", r.TrainWindows, "training,", r.ValWindows, "validation")
	fmt.Println("started from PCA:", r.WarmStarted)
	fmt.Println("beats PCA:", r.ValMSE < r.PCAMSE)
	// Output:
	// channels: [vibration current] normalisation: meanstd
	// windows: 597 training, 147 validation
	// started from PCA: true
	// beats PCA: true
}

// Build a model and train it on windows you cut and normalise yourself.
func ExampleTrain() {
	const steps, channels = 16, 1
	var windows []float32
	for w := 0; w < 200; w++ {
		for t := 0; t < steps; t++ {
			windows = append(windows, float32(math.Sin(float64(w)*0.37+float64(t)*0.4)))
		}
	}
	m, err := train.Build(train.Arch{Steps: steps, Channels: channels, Hidden: []int{32}, Latent: 2}, 7)
	if err != nil {
		fmt.Println(err)
		return
	}
	m.Norm = model.Normalization{Kind: model.NormNone} // the windows are in model units already
	res, err := train.Train(m, windows[:160*steps], windows[160*steps:], train.Config{Epochs: 100, Batch: 16, Seed: 7})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("validation loss fell more than tenfold:", res.ValLoss < res.InitialValLoss/10)
	// Output:
	// validation loss fell more than tenfold: true
}
