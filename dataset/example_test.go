package dataset_test

import (
	"fmt"
	"strings"

	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/model"
)

// Read a CSV of readings, fit the normalisation on it and cut windows.
func ExampleReadCSV() {
	csv := "timestamp,temp,humidity\n" +
		"2026-11-22T10:00:00Z,21.0,40\n" +
		"2026-11-22T10:01:00Z,21.5,41\n" +
		"2026-11-22T10:02:00Z,22.0,43\n" +
		"2026-11-22T10:03:00Z,22.5,42\n"
	s, err := dataset.ReadCSV(strings.NewReader(csv), "room.csv", dataset.CSVOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Names, s.Len(), "rows")
	norm, _ := s.FitNormalization(model.NormMinMax)
	x, n, _ := s.Windows(2, 1) // windows of 2 rows, one every row
	dataset.Normalize(x, norm, s.Channels())
	fmt.Println(n, "windows; the first:", x[:4])
	// Output:
	// [temp humidity] 4 rows
	// 3 windows; the first: [0 0 0.33333334 0.33333334]
}

// Errors say which file, line and column.
func ExampleReadCSV_error() {
	csv := "temp,humidity\n21.0,40\n21.5,n/a\n"
	_, err := dataset.ReadCSV(strings.NewReader(csv), "room.csv", dataset.CSVOptions{})
	fmt.Println(err)
	// Output:
	// room.csv:3: column 2 (humidity): "n/a" is not a number
}
