package demo

import (
	"fmt"

	"github.com/edgeml/edge/pca"
	"github.com/edgeml/edge/plot"
)

// Figure draws the test days: for the first channels, the clean signal,
// the input and the int8 denoiser's centred output; the int8 anomaly score
// with its threshold; labelled anomalies (gray) and flags (red); and the
// windows' latent codes on their two principal components.
func (r *Report) Figure(channels int) *plot.Figure {
	d := r.Data
	ch := r.Config.Channels
	day := float64(r.Config.Day)
	n := d.Test.Rows
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i) / day
	}
	var labelled, flagged []plot.Span
	for _, a := range d.Test.Anomalies {
		s := float64(a.Start-d.Test.Start) / day
		labelled = append(labelled, plot.Span{X0: s, X1: s + float64(a.Len)/day, Color: plot.GrayFill, Label: "labelled anomaly"})
	}
	w := float64(r.Config.Window)
	for i, f := range r.Flags {
		if f {
			e := float64(r.WindowEnds[i])
			flagged = append(flagged, plot.Span{X0: (e - w + 1) / day, X1: e / day, Color: plot.RedFill, Label: "flagged"})
		}
	}
	spans := append(append([]plot.Span{}, labelled...), flagged...)
	fig := &plot.Figure{Title: fmt.Sprintf("edge demo: %d generated sensors, %d test days, int8 model on %s kernels", ch, n/r.Config.Day, r.Family)}
	clean := r.Cleaned["int8/centred"]
	for c := 0; c < min(channels, ch); c++ {
		in, cl, truth := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := 0; i < n; i++ {
			in[i] = float64(d.Test.Observed[i*ch+c]) // NaN in dropouts: gaps
			cl[i] = float64(clean[i*ch+c])
			truth[i] = float64(d.Test.Clean[i*ch+c])
		}
		fig.Panels = append(fig.Panels, &plot.Panel{Title: d.Names[c], XLabel: "days", Spans: spans, Lines: []plot.Line{
			{Label: "input", X: xs, Y: in, Color: plot.Gray, Width: 1},
			{Label: "clean truth", X: xs, Y: truth, Color: plot.Green, Width: 1},
			{Label: "denoised (int8)", X: xs, Y: cl, Color: plot.Blue, Width: 1.4},
		}})
	}
	sc := r.TestScores["int8"]
	sx := make([]float64, len(sc))
	for i, e := range r.WindowEnds {
		sx[i] = float64(e) / day
	}
	fig.Panels = append(fig.Panels, &plot.Panel{Title: "anomaly score (int8), 0.5 at the threshold", XLabel: "days", Spans: spans,
		Lines:  []plot.Line{{Label: "score", X: sx, Y: sc, Color: plot.Orange, Width: 1.4}},
		HLines: []plot.HLine{{Y: 0.5, Label: "threshold", Color: plot.Red, Dash: true}}})
	if p := r.latentPanel(); p != nil {
		fig.Panels = append(fig.Panels, p)
	}
	return fig
}

func (r *Report) latentPanel() *plot.Panel {
	k := r.LatentDim
	n := len(r.WindowEnds)
	if k < 2 || n < 3 {
		return nil
	}
	p, err := pca.Fit(r.Latent, k, 2)
	if err != nil {
		return nil
	}
	normal := plot.Points{Label: "normal window", Color: plot.Blue, Radius: 2}
	anom := plot.Points{Label: "window with a labelled anomaly", Color: plot.Red, Radius: 2.5}
	for i := 0; i < n; i++ {
		var a, b float64
		for j := 0; j < k; j++ {
			v := float64(r.Latent[i*k+j]) - p.Mean[j]
			a += float64(v * p.Components[0][j])
			b += float64(v * p.Components[1][j])
		}
		if r.WindowLabels[i] {
			anom.X, anom.Y = append(anom.X, a), append(anom.Y, b)
		} else {
			normal.X, normal.Y = append(normal.X, a), append(normal.Y, b)
		}
	}
	return &plot.Panel{Title: "latent space: the test windows' codes on their two principal components", XLabel: "component 1", YLabel: "component 2",
		Points: []plot.Points{normal, anom}, Weight: 1.4}
}
