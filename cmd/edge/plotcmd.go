package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/pca"
	"github.com/edgeml/edge/plot"
	"github.com/edgeml/edge/stream"
)

func cmdPlot(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("plot", stderr)
	var sf streamFlags
	sf.register(fs)
	out := fs.String("o", "", "output file(s), .png or .svg, comma-separated (required)")
	show := fs.String("show", "", "comma-separated channels to draw (default: the first four)")
	maxRows := fs.Int("max-rows", 1<<21, "refuse inputs longer than this many rows")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge plot MODEL FILE.csv -o OUT.png[,OUT.svg] [flags]

Denoises (centred) and scores a CSV of readings with the model and draws:
each shown channel's input against its cleaned version, the anomaly score
with the threshold and the flagged spans, and the windows' latent codes
in two dimensions (their two principal components), flagged ones in red.

Flags:`)
		fs.PrintDefaults()
	}
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("%w: want MODEL and FILE.csv", errUsage)
	}
	if *out == "" {
		return fmt.Errorf("%w: -o OUT.png or OUT.svg is required", errUsage)
	}
	outs := strings.Split(*out, ",")
	for _, o := range outs {
		if e := strings.ToLower(filepath.Ext(o)); e != ".png" && e != ".svg" {
			return fmt.Errorf("%w: -o %s: want a .png or .svg file", errUsage, o)
		}
	}
	if err := sf.check(); err != nil {
		return err
	}
	m, err := model.Load(pos[0])
	if err != nil {
		return err
	}
	in, err := openInput(pos[1], m, &sf, stdin)
	if err != nil {
		return err
	}
	defer in.close()
	names := in.rd.Names()
	ch := len(names)
	var times, raw, clean []float64
	d, err := denoise.New(m, denoise.Config{Stream: sf.config()}, func(s *denoise.Sample) error {
		t := float64(s.Line)
		if s.HasTime {
			t = s.Time
		}
		times = append(times, t)
		for i := range s.Values {
			v := float64(s.Input[i])
			if s.Missing[i] {
				v = math.NaN()
			}
			raw = append(raw, v)
			clean = append(clean, float64(s.Values[i]))
		}
		return nil
	})
	if err != nil {
		return err
	}
	type win struct {
		t0, t1, raw, change float64
		flag                bool
	}
	var wins []win
	var codes []float32
	set, scoreErr := anomaly.Load(m)
	var sc *anomaly.Scorer
	enc, err := m.NewSession(1)
	if err != nil {
		return err
	}
	code := make([]float32, m.Latent())
	if scoreErr == nil {
		sc, err = anomaly.New(m, anomaly.Config{Settings: set, Stream: sf.config()}, func(s *anomaly.Score) error {
			t := float64(s.Line)
			if s.HasTime {
				t = s.Time
			}
			wins = append(wins, win{t, t, s.Score, s.Change, s.Flag})
			return nil
		})
		if err != nil {
			return err
		}
	}
	// The latent codes, from a stream of its own over the same windows.
	latCfg := stream.ForModel(m, sf.hop)
	latHop := latCfg.Hop
	lat, err := stream.New(latCfg, latentProc(func(x []float32) error {
		if err := enc.Encode(code, x); err != nil {
			return err
		}
		codes = append(codes, code...)
		return nil
	}))
	if err != nil {
		return err
	}
	rows := 0
	push := func(r stream.Row) error {
		rows++
		if rows > *maxRows {
			return fmt.Errorf("%s: more than %d rows; plot a part (or raise --max-rows)", in.name, *maxRows)
		}
		if err := d.Push(r); err != nil {
			return err
		}
		if sc != nil {
			if err := sc.Push(r); err != nil {
				return err
			}
		}
		return lat.Push(r)
	}
	end := func() error {
		if err := d.Close(); err != nil {
			return err
		}
		if sc != nil {
			if err := sc.Close(); err != nil {
				return err
			}
		}
		return lat.Close()
	}
	if err := pump(in, push, end); err != nil {
		return err
	}
	if dropped, notes := timingReport(d.Stream().Stats().Timing, d.Stream().Config().MaxGap); len(dropped)+len(notes) > 0 {
		fmt.Fprintf(stderr, "edge plot: %s: %s\n", in.name, strings.Join(append(dropped, notes...), "; "))
	}
	if len(times) == 0 {
		return fmt.Errorf("%s: no rows to plot", in.name)
	}
	// The x axis: days or hours since the first row, or line numbers.
	scale, unit := 1.0, "line"
	origin := 0.0
	if in.rd.HasTime() {
		origin = times[0]
		span := times[len(times)-1] - origin
		scale, unit = 3600, "hours"
		if span > 3*86400 {
			scale, unit = 86400, "days"
		}
		unit += " since " + time.Unix(int64(origin), 0).UTC().Format("2006-01-02 15:04")
	}
	x := func(t float64) float64 { return (t - origin) / scale }
	xs := make([]float64, len(times))
	for i, t := range times {
		xs[i] = x(t)
	}
	pick := names[:min(4, ch)]
	if *show != "" {
		pick = strings.Split(*show, ",")
	}
	fig := &plot.Figure{Title: fmt.Sprintf("edge: %s on %s", filepath.Base(pos[0]), in.name)}
	var spans []plot.Span
	for _, w := range wins {
		if w.flag {
			spans = append(spans, plot.Span{X0: x(w.t0), X1: x(w.t1), Color: plot.RedFill, Label: "flagged"})
		}
	}
	for _, name := range pick {
		c := -1
		for i, n := range names {
			if n == strings.TrimSpace(name) {
				c = i
			}
		}
		if c < 0 {
			return fmt.Errorf("%w: --show %q: no such channel (have %s)", errUsage, name, strings.Join(names, ", "))
		}
		ri, ci := make([]float64, len(times)), make([]float64, len(times))
		for i := range times {
			ri[i], ci[i] = raw[i*ch+c], clean[i*ch+c]
		}
		fig.Panels = append(fig.Panels, &plot.Panel{Title: names[c], XLabel: unit, Spans: spans,
			Lines: []plot.Line{{Label: "input", X: xs, Y: ri, Color: plot.Gray, Width: 1}, {Label: "cleaned", X: xs, Y: ci, Color: plot.Blue, Width: 1.6}}})
	}
	if sc != nil {
		sx, sy, cy := make([]float64, len(wins)), make([]float64, len(wins)), make([]float64, len(wins))
		for i, w := range wins {
			sx[i], sy[i], cy[i] = x(w.t1), w.raw, w.change
		}
		fig.Panels = append(fig.Panels, &plot.Panel{Title: "anomaly score and change score (0.5 at the threshold)", XLabel: unit, Spans: spans,
			Lines: []plot.Line{{Label: "change", X: sx, Y: cy, Color: plot.Gray, Width: 1},
				{Label: "score", X: sx, Y: sy, Color: plot.Orange, Width: 1.4}},
			HLines: []plot.HLine{{Y: 0.5, Label: "threshold", Color: plot.Red, Dash: true}}})
	} else {
		fmt.Fprintf(stderr, "edge plot: no score panel: %v\n", scoreErr)
	}
	if p := latentPanel(codes, m.Latent(), wins2flags(len(codes)/max(1, m.Latent()), func(i int) bool {
		end := m.Steps - 1 + i*latHop // the code's window ends at this row
		return end < len(wins) && wins[end].flag
	})); p != nil {
		fig.Panels = append(fig.Panels, p)
	}
	for _, o := range outs {
		if err := fig.Save(o); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", o)
	}
	return nil
}

func wins2flags(n int, f func(int) bool) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

// latentPanel scatters codes (dim values each) on their two principal
// components, flagged windows in red.
func latentPanel(codes []float32, dim int, flags []bool) *plot.Panel {
	n := len(codes) / max(dim, 1)
	if n < 3 || dim < 1 {
		return nil
	}
	var px, py []float64
	if dim == 1 {
		for i := 0; i < n; i++ {
			px, py = append(px, float64(i)), append(py, float64(codes[i]))
		}
	} else {
		p, err := pca.Fit(codes, dim, 2)
		if err != nil {
			return nil
		}
		for i := 0; i < n; i++ {
			var a, b float64
			for j := 0; j < dim; j++ {
				v := float64(codes[i*dim+j]) - p.Mean[j]
				a += v * p.Components[0][j]
				b += v * p.Components[1][j]
			}
			px, py = append(px, a), append(py, b)
		}
	}
	normal := plot.Points{Label: "normal window", Color: plot.Blue, Radius: 2}
	flagged := plot.Points{Label: "flagged window", Color: plot.Red, Radius: 3}
	for i := range px {
		if i < len(flags) && flags[i] {
			flagged.X, flagged.Y = append(flagged.X, px[i]), append(flagged.Y, py[i])
		} else {
			normal.X, normal.Y = append(normal.X, px[i]), append(normal.Y, py[i])
		}
	}
	return &plot.Panel{Title: "latent space: the windows' codes on their two principal components", XLabel: "component 1", YLabel: "component 2",
		Points: []plot.Points{normal, flagged}, Weight: 1.4}
}

// latentProc adapts a function to stream.Processor (windows only).
type latentProc func(x []float32) error

func (f latentProc) Window(_ *stream.Stream, _ int64, x []float32) error { return f(x) }
func (f latentProc) EndSegment(*stream.Stream) error                     { return nil }
