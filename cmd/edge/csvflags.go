package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/stream"
)

// csvFlags are the flags of every command that reads a CSV of readings:
// the dialect and the unit of numeric timestamps.
type csvFlags struct {
	delimiter, timeUnit string
	skipRows            int
	notes               io.Writer // where the reader's notes go (stderr)
	cmd                 string    // "edge NAME", the notes' prefix
}

func (f *csvFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.delimiter, "delimiter", "auto", `field delimiter: auto (the one that splits the header and the first data line alike: , ; tab or |), or one character; "tab" for tabs. With ; a decimal comma (1,5) is read`)
	fs.IntVar(&f.skipRows, "skip-rows", 0, "lines to skip before the header (a logger's preamble)")
	fs.StringVar(&f.timeUnit, "time-unit", "auto", "unit of numeric timestamps: s, ms, us, ns, or auto (guessed from the first one: beyond 1e11 ms, 1e14 us, 1e17 ns; the guess is printed)")
	f.notes, f.cmd = fs.Output(), fs.Name()
}

// options returns the reader's options for the flags, with the time column
// and a comma-separated list of channels ("" for all).
func (f *csvFlags) options(timeCol, channels string) (dataset.CSVOptions, error) {
	opt := dataset.CSVOptions{TimeColumn: timeCol, SkipRows: f.skipRows}
	var err error
	if opt.Delimiter, err = dataset.ParseDelimiter(f.delimiter); err != nil {
		return opt, fmt.Errorf("%w: --delimiter: %v", errUsage, err)
	}
	if opt.TimeUnit, err = dataset.ParseTimeUnit(f.timeUnit); err != nil {
		return opt, fmt.Errorf("%w: --time-unit: %v", errUsage, err)
	}
	if f.skipRows < 0 {
		return opt, fmt.Errorf("%w: --skip-rows %d must not be negative", errUsage, f.skipRows)
	}
	if channels != "" {
		for _, c := range strings.Split(channels, ",") {
			opt.Channels = append(opt.Channels, strings.TrimSpace(c))
		}
	}
	if f.notes != nil {
		opt.Note = func(s string) { fmt.Fprintf(f.notes, "%s: %s\n", f.cmd, s) }
	}
	return opt, nil
}

// check reports a bad flag value as a usage error before any input is
// opened.
func (f *csvFlags) check() error {
	_, err := f.options("", "")
	return err
}

// timingReport describes what the timestamp policy did: problems (rows
// dropped, which make the exit status 3 for streams) and notes (gaps).
func timingReport(t stream.Timing, maxGap float64) (problems, notes []string) {
	for _, c := range []struct {
		n    int64
		what string
	}{
		{t.Duplicates, "a repeated timestamp"},
		{t.OutOfOrder, "a timestamp going back"},
		{t.FarFuture, "a far-future timestamp (the next row went back before it)"},
		{t.BadTime, "a missing or impossible timestamp"},
	} {
		if c.n > 0 {
			problems = append(problems, fmt.Sprintf("%d rows dropped for %s", c.n, c.what))
		}
	}
	if len(problems) > 0 && t.FirstDropped > 0 {
		problems = append(problems, fmt.Sprintf("the first dropped at line %d", t.FirstDropped))
	}
	if t.Bridged > 0 {
		notes = append(notes, fmt.Sprintf("%d time gaps bridged (the rows went on as consecutive samples)", t.Bridged))
	}
	if t.Restarts > 0 {
		limit := "--max-gap"
		if maxGap > 0 {
			limit = fmt.Sprintf("%g", maxGap)
		}
		notes = append(notes, fmt.Sprintf("%d outages longer than %s sampling periods (the stream restarted after each)", t.Restarts, limit))
	}
	return problems, notes
}
