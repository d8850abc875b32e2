// Package plot draws the charts edge writes: stacked panels of time
// series, shaded spans, reference lines and scatter plots, as SVG or PNG.
// It is small on purpose (the device binary carries it): no fonts beyond
// a built-in bitmap face for PNG, and long series are reduced to each
// pixel column's extremes, so a spike of one sample stays visible.
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/edgeml/edge/internal/atomicfile"
)

// Figure is a stack of panels sharing the figure's width.
type Figure struct {
	Title         string
	Width, Height int // pixels (default 1000 x 260 per panel)
	Panels        []*Panel
}

// Panel is one chart: lines, points, shaded spans and horizontal lines
// over automatically scaled axes.
type Panel struct {
	Title, XLabel, YLabel string
	Lines                 []Line
	Points                []Points
	Spans                 []Span
	HLines                []HLine
	// Weight sets the panel's share of the figure's height (default 1).
	Weight float64
}

// Line is a polyline.
type Line struct {
	Label string
	X, Y  []float64
	Color color.RGBA
	Width float64 // pixels (default 1.2)
	Dash  bool
}

// Points is a scatter series.
type Points struct {
	Label  string
	X, Y   []float64
	Color  color.RGBA
	Radius float64 // pixels (default 2.5)
}

// Span shades the x-range [X0, X1].
type Span struct {
	X0, X1 float64
	Color  color.RGBA // use a translucent color
	Label  string
}

// HLine is a horizontal reference line.
type HLine struct {
	Y     float64
	Label string
	Color color.RGBA
	Dash  bool
}

// Palette holds the colors edge uses. Colors are straight RGBA: A is the
// opacity, and R, G, B are not premultiplied by it.
var (
	Blue   = color.RGBA{31, 119, 180, 255}
	Orange = color.RGBA{230, 120, 20, 255}
	Green  = color.RGBA{44, 160, 44, 255}
	Red    = color.RGBA{214, 39, 40, 255}
	Gray   = color.RGBA{150, 150, 150, 255}
	Purple = color.RGBA{148, 103, 189, 255}
	// Translucent fills for spans.
	RedFill  = color.RGBA{214, 39, 40, 50}
	GrayFill = color.RGBA{120, 120, 120, 40}
)

// canvas is what a renderer draws on; y grows downwards.
type canvas interface {
	polyline(x, y []float64, c color.RGBA, width float64, dash bool)
	rect(x0, y0, x1, y1 float64, c color.RGBA)
	circle(x, y, r float64, c color.RGBA)
	// text at (x, y): anchor -1 start, 0 middle, 1 end; y is the baseline.
	text(x, y float64, s string, anchor int, c color.RGBA, bold bool)
	// vtext draws text rotated a quarter turn anticlockwise, centred at (x, y).
	vtext(x, y float64, s string, c color.RGBA)
}

// Save writes the figure to path, as SVG or PNG by its extension.
func (f *Figure) Save(path string) error {
	var write func(io.Writer) error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".svg":
		write = f.SVG
	case ".png":
		write = f.PNG
	default:
		return fmt.Errorf("plot: %s: want a .svg or .png file name", path)
	}
	if err := atomicfile.Write(path, 0o644, write); err != nil {
		return fmt.Errorf("plot: writing %w", err)
	}
	return nil
}

func (f *Figure) size() (int, int) {
	w, h := f.Width, f.Height
	if w <= 0 {
		w = 1000
	}
	if h <= 0 {
		h = 40 + 260*len(f.Panels)
	}
	return w, h
}

// draw lays the figure out on c.
func (f *Figure) draw(c canvas) error {
	if len(f.Panels) == 0 {
		return errors.New("plot: a figure needs at least one panel")
	}
	w, h := f.size()
	c.rect(0, 0, float64(w), float64(h), color.RGBA{255, 255, 255, 255})
	top := 10.0
	if f.Title != "" {
		c.text(float64(w)/2, 24, f.Title, 0, color.RGBA{0, 0, 0, 255}, true)
		top = 36
	}
	var total float64
	for _, p := range f.Panels {
		total += weight(p)
	}
	y := top
	for _, p := range f.Panels {
		ph := (float64(h) - top - 4) * weight(p) / total
		p.draw(c, 0, y, float64(w), ph)
		y += ph
	}
	return nil
}

func weight(p *Panel) float64 {
	if p.Weight > 0 {
		return p.Weight
	}
	return 1
}

// Layout margins of a panel, in pixels.
const (
	marginLeft   = 70
	marginRight  = 20
	marginTop    = 22
	marginBottom = 38
)

func (p *Panel) draw(c canvas, x0, y0, w, h float64) {
	left, right := x0+marginLeft, x0+w-marginRight
	top, bottom := y0+marginTop, y0+h-marginBottom
	if right-left < 20 || bottom-top < 20 {
		return
	}
	xlo, xhi, ylo, yhi := p.bounds()
	px := func(x float64) float64 { return left + float64((x-xlo)/(xhi-xlo)*(right-left)) }
	py := func(y float64) float64 { return bottom - float64((y-ylo)/(yhi-ylo)*(bottom-top)) }
	black := color.RGBA{0, 0, 0, 255}
	grid := color.RGBA{225, 225, 225, 255}
	if p.Title != "" {
		c.text(left, y0+15, p.Title, -1, black, true)
	}
	// Grid and ticks.
	yt := ticks(ylo, yhi, 5)
	for _, t := range yt {
		yy := py(t)
		c.polyline([]float64{left, right}, []float64{yy, yy}, grid, 1, false)
		c.text(left-6, yy+4, formatTick(t, yt), 1, black, false)
	}
	xt := ticks(xlo, xhi, 8)
	for _, t := range xt {
		xx := px(t)
		c.polyline([]float64{xx, xx}, []float64{top, bottom}, grid, 1, false)
		c.text(xx, bottom+15, formatTick(t, xt), 0, black, false)
	}
	if p.XLabel != "" {
		c.text((left+right)/2, bottom+32, p.XLabel, 0, black, false)
	}
	if p.YLabel != "" {
		c.vtext(x0+14, (top+bottom)/2, p.YLabel, black)
	}
	for _, s := range mergeSpans(p.Spans) {
		a, b := math.Max(px(s.X0), left), math.Min(px(s.X1), right)
		if b >= a {
			c.rect(a, top, math.Max(b, a+1), bottom, s.Color)
		}
	}
	for _, l := range p.Lines {
		xs, ys := reduce(l.X, l.Y, int(right-left))
		sx, sy := make([]float64, 0, len(xs)), make([]float64, 0, len(ys))
		flush := func() {
			if len(sx) > 0 {
				c.polyline(sx, sy, l.Color, lineWidth(l.Width), l.Dash)
			}
			sx, sy = sx[:0], sy[:0]
		}
		for i := range xs {
			if math.IsNaN(ys[i]) || math.IsNaN(xs[i]) {
				flush() // a gap in the data is a gap in the line
				continue
			}
			sx = append(sx, px(xs[i]))
			sy = append(sy, py(clamp(ys[i], ylo, yhi)))
		}
		flush()
	}
	for _, pt := range p.Points {
		r := pt.Radius
		if r <= 0 {
			r = 2.5
		}
		for i := range pt.X {
			if !math.IsNaN(pt.X[i]) && !math.IsNaN(pt.Y[i]) {
				c.circle(px(pt.X[i]), py(pt.Y[i]), r, pt.Color)
			}
		}
	}
	for _, hl := range p.HLines {
		if hl.Y >= ylo && hl.Y <= yhi {
			yy := py(hl.Y)
			c.polyline([]float64{left, right}, []float64{yy, yy}, hl.Color, 1.5, hl.Dash)
		}
	}
	// Frame and legend.
	c.polyline([]float64{left, right, right, left, left}, []float64{top, top, bottom, bottom, top}, color.RGBA{90, 90, 90, 255}, 1, false)
	lx := right - 8
	for _, e := range p.legend() {
		c.text(lx, y0+15, e.label, 1, e.color, false)
		lx -= float64(7*float64(len(e.label))) + 22
		c.rect(lx+8, y0+7, lx+18, y0+15, e.color)
	}
}

type legendEntry struct {
	label string
	color color.RGBA
}

func (p *Panel) legend() []legendEntry {
	var out []legendEntry
	add := func(label string, c color.RGBA) {
		if label != "" {
			c.A = 255
			out = append(out, legendEntry{label, c})
		}
	}
	for _, l := range p.Lines {
		add(l.Label, l.Color)
	}
	for _, pt := range p.Points {
		add(pt.Label, pt.Color)
	}
	for _, h := range p.HLines {
		add(h.Label, h.Color)
	}
	seen := map[string]bool{}
	for _, s := range p.Spans {
		if !seen[s.Label] {
			seen[s.Label] = true
			add(s.Label, s.Color)
		}
	}
	// Drawn right to left: reverse, so the first entry ends up leftmost.
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

func lineWidth(w float64) float64 {
	if w <= 0 {
		return 1.2
	}
	return w
}

func clamp(v, lo, hi float64) float64 { return math.Min(math.Max(v, lo), hi) }

// bounds returns the data range of the panel, padded by 4%.
func (p *Panel) bounds() (xlo, xhi, ylo, yhi float64) {
	xlo, ylo = math.Inf(1), math.Inf(1)
	xhi, yhi = math.Inf(-1), math.Inf(-1)
	see := func(x, y float64) {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			xlo, xhi = math.Min(xlo, x), math.Max(xhi, x)
		}
		if !math.IsNaN(y) && !math.IsInf(y, 0) {
			ylo, yhi = math.Min(ylo, y), math.Max(yhi, y)
		}
	}
	for _, l := range p.Lines {
		for i := range l.X {
			see(l.X[i], l.Y[i])
		}
	}
	for _, pt := range p.Points {
		for i := range pt.X {
			see(pt.X[i], pt.Y[i])
		}
	}
	for _, h := range p.HLines {
		see(math.NaN(), h.Y)
	}
	for _, s := range p.Spans {
		see(s.X0, math.NaN())
		see(s.X1, math.NaN())
	}
	if math.IsInf(xlo, 0) {
		xlo, xhi = 0, 1
	}
	if math.IsInf(ylo, 0) {
		ylo, yhi = 0, 1
	}
	if xhi == xlo {
		xlo, xhi = xlo-1, xhi+1
	}
	if yhi == ylo {
		ylo, yhi = ylo-1, yhi+1
	}
	pad := float64(0.04 * (yhi - ylo))
	xpad := 0.0
	if len(p.Points) > 0 {
		xpad = float64(0.04 * (xhi - xlo)) // keep markers off the frame
	}
	return xlo - xpad, xhi + xpad, ylo - pad, yhi + pad
}

// ticks returns about n round tick values within [lo, hi].
func ticks(lo, hi float64, n int) []float64 {
	span := hi - lo
	if !(span > 0) || n < 1 {
		return nil
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for t := math.Ceil(lo/step) * step; t <= hi+float64(step*1e-9); t += step {
		if math.Abs(t) < step*1e-9 {
			t = 0
		}
		out = append(out, t)
	}
	return out
}

// formatTick prints a tick with as many decimals as its axis's step needs.
func formatTick(v float64, all []float64) string {
	if v == 0 {
		return "0"
	}
	step := 1.0
	if len(all) > 1 {
		step = all[1] - all[0]
	}
	a := math.Abs(v)
	if a >= 1e6 || a < 1e-4 {
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
	// Decimals for the step, plus one for steps like 2.5 or 0.25.
	dec := max(0, int(math.Ceil(-float64(math.Log10(step))-1e-9)))
	if r := float64(step * math.Pow(10, float64(dec))); math.Abs(r-math.Round(r)) > 1e-6 {
		dec++
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// mergeSpans joins overlapping spans of the same color and label, so
// overlapping translucent fills do not darken.
func mergeSpans(in []Span) []Span {
	if len(in) < 2 {
		return in
	}
	s := append([]Span(nil), in...)
	sort.SliceStable(s, func(i, j int) bool { return s[i].X0 < s[j].X0 })
	out := s[:1]
	for _, v := range s[1:] {
		last := &out[len(out)-1]
		if v.Color == last.Color && v.Label == last.Label && v.X0 <= last.X1 {
			last.X1 = math.Max(last.X1, v.X1)
			continue
		}
		out = append(out, v)
	}
	return out
}

// reduce keeps, for series longer than about 2 points per pixel column,
// the first, minimum, maximum and last point of each column, in order.
func reduce(x, y []float64, columns int) ([]float64, []float64) {
	n := min(len(x), len(y))
	if columns < 1 || n <= 4*columns {
		return x[:n], y[:n]
	}
	per := float64(n) / float64(columns)
	ox, oy := make([]float64, 0, 4*columns), make([]float64, 0, 4*columns)
	for col := 0; col < columns; col++ {
		a, b := int(float64(col)*per), int(float64(col+1)*per)
		if b <= a {
			continue
		}
		lo, hi := a, a
		gap := false
		for i := a; i < b; i++ {
			if math.IsNaN(y[i]) {
				gap = true
				continue
			}
			if math.IsNaN(y[lo]) || y[i] < y[lo] {
				lo = i
			}
			if math.IsNaN(y[hi]) || y[i] > y[hi] {
				hi = i
			}
		}
		idx := []int{a, lo, hi, b - 1}
		if hi < lo {
			idx[1], idx[2] = hi, lo
		}
		for _, i := range idx {
			ox, oy = append(ox, x[i]), append(oy, y[i])
		}
		if gap {
			ox, oy = append(ox, x[b-1]), append(oy, math.NaN())
		}
	}
	return ox, oy
}
