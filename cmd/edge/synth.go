package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/edgeml/edge/internal/atomicfile"
	"github.com/edgeml/edge/synth"
)

func cmdSynth(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("synth", stderr)
	out := fs.String("o", "-", "CSV file to write (- : stdout)")
	channels := fs.Int("channels", 8, "sensors")
	days := fs.Float64("days", 14, "days of readings, one every 5 minutes")
	noise := fs.Float64("noise", 0.3, "Gaussian noise, in each sensor's gain")
	anomalies := fs.Float64("anomalies", 0, "labelled anomalies per day (spikes, level shifts, drifts, frozen sensors, broken correlations)")
	after := fs.Float64("anomalies-after", 0, "days of normal readings before the first anomaly")
	labels := fs.String("labels", "", "write the anomalies (kind, channel, first and last line) to this CSV")
	nonlinear := fs.Bool("nonlinear", false, "give some sensors non-linear responses (saturating, exponential, quadratic)")
	skip := fs.Float64("skip-days", 0, "start this many days into the installation's life (the same seed continues the same readings)")
	seed := fs.Uint64("seed", 1, "random seed: the same seed gives the same installation and readings")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge synth [flags]

Writes readings of a generated sensor installation as CSV: shared daily,
seasonal and faster cycles and a drifting trend, mixed into correlated
sensors, observed through Gaussian noise, impulses and dropouts (empty
fields), optionally with labelled anomalies. Generated here, so free to
use; deterministic for a seed.

Flags:`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	rows := int(*days * 288)
	skipRows := int(*skip * 288)
	if *channels < 1 || *channels > 1024 || rows < 1 || rows > 1<<24 || skipRows < 0 || skipRows > 1<<24 || *anomalies < 0 || *after < 0 || *noise < 0 {
		return fmt.Errorf("%w: want 1 to 1024 channels, a positive number of days (at most %d rows) and non-negative noise and anomaly rates", errUsage, 1<<24)
	}
	start := int(*after * 288)
	var anoms []synth.Anomaly
	if *anomalies > 0 && start < rows {
		n := max(1, int(*anomalies*float64(rows-start)/288))
		anoms = synth.Schedule(skipRows+start, rows-start, n, *channels, *seed+7)
	}
	cfg := synth.Config{Channels: *channels, Noise: *noise, Anomalies: anoms, Seed: *seed, Linear: !*nonlinear}
	if *noise == 0 {
		cfg.Noise = -1
	}
	g, err := synth.New(cfg)
	if err != nil {
		return err
	}
	write := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64<<10)
		writeSynthRows(bw, g, *channels, skipRows, rows)
		return bw.Flush()
	}
	if *out == "-" {
		err = write(stdout)
	} else {
		err = atomicfile.Write(*out, 0o644, write)
	}
	if err != nil {
		return err
	}
	if *labels != "" {
		err := atomicfile.Write(*labels, 0o644, func(w io.Writer) error {
			fmt.Fprintln(w, "kind,channel,first_line,last_line,size")
			for _, a := range anoms {
				// Line 1 is the header: sample i is on line i+2.
				first := a.Start - skipRows + 2
				if _, err := fmt.Fprintf(w, "%s,%s,%d,%d,%.2f\n", a.Kind, g.Names()[a.Channel], first, first+a.Len-1, a.Size); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if *out != "-" {
		fmt.Fprintf(stderr, "edge synth: wrote %d rows of %d sensors to %s (%d anomalies)\n", rows, *channels, *out, len(anoms))
	}
	return nil
}

// writeSynthRows writes the CSV header and rows [skipRows, skipRows+rows)
// of g, one every 5 minutes from 2026-01-01.
func writeSynthRows(bw *bufio.Writer, g *synth.Generator, channels, skipRows, rows int) {
	bw.WriteString("time")
	for _, n := range g.Names() {
		bw.WriteString("," + n)
	}
	bw.WriteString("\n")
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clean, obs := make([]float32, channels), make([]float32, channels)
	for i := 0; i < skipRows; i++ {
		g.Next(clean, obs)
	}
	var b []byte
	for i := skipRows; i < skipRows+rows; i++ {
		g.Next(clean, obs)
		b = t0.Add(time.Duration(i)*5*time.Minute).AppendFormat(b[:0], time.RFC3339)
		for _, v := range obs {
			b = append(b, ',')
			if !math.IsNaN(float64(v)) {
				b = strconv.AppendFloat(b, float64(v), 'f', 3, 32)
			}
		}
		b = append(b, '\n')
		bw.Write(b)
	}
}
