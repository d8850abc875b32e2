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
	// room.csv:3: column 2 (humidity): "n/a" is not a number (a missing value)
}

// Files from spreadsheets and loggers: a byte-order mark, semicolons and
// decimal commas, epoch milliseconds, a label column, a row that goes
// back. The notes say what was detected or guessed.
func ExampleReadCSV_dialects() {
	csv := "\uFEFFts;temp;label\n" +
		"1700000000000;21,5;0\n" +
		"1700000060000;21,7;0\n" +
		"1700000030000;99,0;1\n" + // goes back: dropped and counted
		"1700000120000;21,6;0\n"
	opt := dataset.CSVOptions{Note: func(s string) { fmt.Println("note:", s) }}
	s, err := dataset.ReadCSV(strings.NewReader(csv), "logger.csv", opt)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s.Names, s.Times, s.Values)
	fmt.Println(s.Timing.OutOfOrder, "row dropped, at line", s.Timing.FirstDropped)
	// Output:
	// note: logger.csv: fields separated by ';' (detected; --delimiter to set)
	// note: logger.csv: left out the label-like column label (not a sensor; name it in --channels to use it)
	// note: logger.csv: time column ts: epoch milliseconds (guessed from 1700000000000; --time-unit to set)
	// note: logger.csv:2: decimal commas read as decimal points (21,5 is 21.5; the delimiter is ';')
	// [temp] [1.7e+09 1.70000006e+09 1.70000012e+09] [21.5 21.7 21.6]
	// 1 row dropped, at line 4
}
