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
	pd, err := collectPlot(m, in, &sf, *maxRows, stderr)
	if err != nil {
		return err
	}
	fig, err := pd.figure(fmt.Sprintf("edge: %s on %s", filepath.Base(pos[0]), in.name), *show, m, stderr)
	if err != nil {
		return err
	}
	for _, o := range outs {
		if err := fig.Save(o); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote %s\n", o)
	}
	return nil
}

// plotWin is one scored row of a plot.
type plotWin struct {
	t0, t1, raw, change float64
	flag                bool
}

// plotData is what edge plot draws: per row its time, input and cleaned
// values; per scored row its score; the windows' latent codes.
type plotData struct {
	names             []string
	hasTime           bool
	times, raw, clean []float64
	wins              []plotWin
	codes             []float32
	latHop            int
	scored            bool
	scoreErr          error
}

// collectPlot runs the denoiser, the scorer (if the model has settings)
// and the encoder over the input, collecting what the plot draws.
func collectPlot(m *model.Model, in *input, sf *streamFlags, maxRows int, stderr io.Writer) (*plotData, error) {
	pd := &plotData{names: in.rd.Names(), hasTime: in.rd.HasTime()}
	d, err := denoise.New(m, denoise.Config{Stream: sf.config()}, func(s *denoise.Sample) error {
		t := float64(s.Line)
		if s.HasTime {
			t = s.Time
		}
		pd.times = append(pd.times, t)
		for i := range s.Values {
			v := float64(s.Input[i])
			if s.Missing[i] {
				v = math.NaN()
			}
			pd.raw = append(pd.raw, v)
			pd.clean = append(pd.clean, float64(s.Values[i]))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sc, err := pd.scorer(m, sf)
	if err != nil {
		return nil, err
	}
	lat, err := pd.encoder(m, sf)
	if err != nil {
		return nil, err
	}
	rows := 0
	push := func(r stream.Row) error {
		if rows++; rows > maxRows {
			return fmt.Errorf("%s: more than %d rows; plot a part (or raise --max-rows)", in.name, maxRows)
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
		return nil, err
	}
	if dropped, notes := timingReport(d.Stream().Stats().Timing, d.Stream().Config().MaxGap); len(dropped)+len(notes) > 0 {
		fmt.Fprintf(stderr, "edge plot: %s: %s\n", in.name, strings.Join(append(dropped, notes...), "; "))
	}
	if len(pd.times) == 0 {
		return nil, fmt.Errorf("%s: no rows to plot", in.name)
	}
	return pd, nil
}

// scorer returns a scorer that collects the plot's scores, or nil (and
// the reason in scoreErr) if the model has no anomaly settings.
func (pd *plotData) scorer(m *model.Model, sf *streamFlags) (*anomaly.Scorer, error) {
	set, err := anomaly.Load(m)
	if err != nil {
		pd.scoreErr = err
		return nil, nil
	}
	pd.scored = true
	return anomaly.New(m, anomaly.Config{Settings: set, Stream: sf.config()}, func(s *anomaly.Score) error {
		t := float64(s.Line)
		if s.HasTime {
			t = s.Time
		}
		pd.wins = append(pd.wins, plotWin{t, t, s.Score, s.Change, s.Flag})
		return nil
	})
}

// encoder returns a stream of its own over the same windows that collects
// their latent codes.
func (pd *plotData) encoder(m *model.Model, sf *streamFlags) (*stream.Stream, error) {
	enc, err := m.NewSession(1)
	if err != nil {
		return nil, err
	}
	code := make([]float32, m.Latent())
	cfg := stream.ForModel(m, sf.hop)
	pd.latHop = cfg.Hop
	return stream.New(cfg, latentProc(func(x []float32) error {
		if err := enc.Encode(code, x); err != nil {
			return err
		}
		pd.codes = append(pd.codes, code...)
		return nil
	}))
}

// figure draws the shown channels (default: the first four), the scores
// and the latent space.
func (pd *plotData) figure(title, show string, m *model.Model, stderr io.Writer) (*plot.Figure, error) {
	// The x axis: days or hours since the first row, or line numbers.
	scale, unit := 1.0, "line"
	origin := 0.0
	if pd.hasTime {
		origin = pd.times[0]
		span := pd.times[len(pd.times)-1] - origin
		scale, unit = 3600, "hours"
		if span > 3*86400 {
			scale, unit = 86400, "days"
		}
		unit += " since " + time.Unix(int64(origin), 0).UTC().Format("2006-01-02 15:04")
	}
	x := func(t float64) float64 { return (t - origin) / scale }
	fig := &plot.Figure{Title: title}
	var spans []plot.Span
	for _, w := range pd.wins {
		if w.flag {
			spans = append(spans, plot.Span{X0: x(w.t0), X1: x(w.t1), Color: plot.RedFill, Label: "flagged"})
		}
	}
	panels, err := pd.channelPanels(show, x, unit, spans)
	if err != nil {
		return nil, err
	}
	fig.Panels = panels
	if pd.scored {
		sx, sy, cy := make([]float64, len(pd.wins)), make([]float64, len(pd.wins)), make([]float64, len(pd.wins))
		for i, w := range pd.wins {
			sx[i], sy[i], cy[i] = x(w.t1), w.raw, w.change
		}
		fig.Panels = append(fig.Panels, &plot.Panel{Title: "anomaly score and change score (0.5 at the threshold)", XLabel: unit, Spans: spans,
			Lines: []plot.Line{{Label: "change", X: sx, Y: cy, Color: plot.Gray, Width: 1},
				{Label: "score", X: sx, Y: sy, Color: plot.Orange, Width: 1.4}},
			HLines: []plot.HLine{{Y: 0.5, Label: "threshold", Color: plot.Red, Dash: true}}})
	} else {
		fmt.Fprintf(stderr, "edge plot: no score panel: %v\n", pd.scoreErr)
	}
	if p := latentPanel(pd.codes, m.Latent(), wins2flags(len(pd.codes)/max(1, m.Latent()), func(i int) bool {
		end := m.Steps - 1 + i*pd.latHop // the code's window ends at this row
		return end < len(pd.wins) && pd.wins[end].flag
	})); p != nil {
		fig.Panels = append(fig.Panels, p)
	}
	return fig, nil
}

// channelPanels draws each shown channel's input against its cleaned
// values.
func (pd *plotData) channelPanels(show string, x func(float64) float64, unit string, spans []plot.Span) ([]*plot.Panel, error) {
	names, ch := pd.names, len(pd.names)
	xs := make([]float64, len(pd.times))
	for i, t := range pd.times {
		xs[i] = x(t)
	}
	pick := names[:min(4, ch)]
	if show != "" {
		pick = strings.Split(show, ",")
	}
	var panels []*plot.Panel
	for _, name := range pick {
		c := -1
		for i, n := range names {
			if n == strings.TrimSpace(name) {
				c = i
			}
		}
		if c < 0 {
			return nil, fmt.Errorf("%w: --show %q: no such channel (have %s)", errUsage, name, strings.Join(names, ", "))
		}
		ri, ci := make([]float64, len(pd.times)), make([]float64, len(pd.times))
		for i := range pd.times {
			ri[i], ci[i] = pd.raw[i*ch+c], pd.clean[i*ch+c]
		}
		panels = append(panels, &plot.Panel{Title: names[c], XLabel: unit, Spans: spans,
			Lines: []plot.Line{{Label: "input", X: xs, Y: ri, Color: plot.Gray, Width: 1}, {Label: "cleaned", X: xs, Y: ci, Color: plot.Blue, Width: 1.6}}})
	}
	return panels, nil
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
				a += float64(v * p.Components[0][j])
				b += float64(v * p.Components[1][j])
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
