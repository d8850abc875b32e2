package plot

import (
	"bytes"
	"encoding/xml"
	"image/png"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

func sample() *Figure {
	n := 5000
	x, y, z := make([]float64, n), make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i) / 288
		y[i] = math.Sin(float64(i) / 50)
		z[i] = y[i] + 0.1*math.Sin(float64(i)*1.7)
	}
	y[2500] = 5 // one spike must survive the reduction
	y[1000] = math.NaN()
	return &Figure{Title: "test <&>", Width: 800, Panels: []*Panel{
		{Title: "series", XLabel: "days", YLabel: "value", Lines: []Line{{Label: "input", X: x, Y: y, Color: Gray}, {Label: "cleaned", X: x, Y: z, Color: Blue, Width: 2}},
			Spans: []Span{{X0: 5, X1: 6, Color: RedFill, Label: "flagged"}}, HLines: []HLine{{Y: 0.5, Label: "threshold", Color: Red, Dash: true}}},
		{Title: "scatter", Points: []Points{{Label: "normal", X: []float64{0, 1, 2}, Y: []float64{1, 0, 2}, Color: Green}}, Weight: 0.5},
	}}
}

func TestTicks(t *testing.T) {
	got := ticks(0.13, 0.91, 4)
	want := []float64{0.2, 0.4, 0.6, 0.8}
	if len(got) != len(want) {
		t.Fatalf("ticks %v", got)
	}
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("ticks %v", got)
		}
	}
	if ticks(1, 1, 5) != nil || len(ticks(-3, 3, 6)) != 7 {
		t.Error("degenerate or symmetric ranges")
	}
	for _, c := range []struct {
		v    float64
		all  []float64
		want string
	}{{0.6000000000000001, []float64{0.2, 0.4}, "0.6"}, {2.5, []float64{0, 2.5}, "2.5"}, {7.5, []float64{0, 2.5}, "7.5"}, {40, []float64{20, 40}, "40"}, {0.25, []float64{0, 0.25}, "0.25"}} {
		if got := formatTick(c.v, c.all); got != c.want {
			t.Errorf("formatTick(%v, step %v) = %q, want %q", c.v, c.all[1]-c.all[0], got, c.want)
		}
	}
	m := mergeSpans([]Span{{X0: 5, X1: 7, Color: RedFill}, {X0: 1, X1: 2, Color: RedFill}, {X0: 6, X1: 9, Color: RedFill}, {X0: 8, X1: 10, Color: GrayFill}})
	if len(m) != 3 || m[0].X0 != 1 || m[1].X0 != 5 || m[1].X1 != 9 || m[2].Color != GrayFill {
		t.Errorf("merged spans %+v", m)
	}
}

func TestReduceKeepsExtremes(t *testing.T) {
	f := sample()
	l := f.Panels[0].Lines[0]
	x, y := reduce(l.X, l.Y, 700)
	if len(x) > 4*700+700 || len(x) != len(y) {
		t.Fatalf("reduced to %d points", len(x))
	}
	max, gaps := math.Inf(-1), 0
	for i, v := range y {
		if math.IsNaN(v) {
			gaps++
			continue
		}
		max = math.Max(max, v)
		if i > 0 && x[i] < x[i-1] {
			t.Fatal("reduction reordered the points")
		}
	}
	if max != 5 || gaps == 0 {
		t.Errorf("spike max %v, gaps %d: the spike or the gap was lost", max, gaps)
	}
	short := []float64{1, 2, 3}
	if x, _ := reduce(short, short, 100); len(x) != 3 {
		t.Error("a short series was changed")
	}
}

func TestSVG(t *testing.T) {
	var b bytes.Buffer
	if err := sample().SVG(&b); err != nil {
		t.Fatal(err)
	}
	d := xml.NewDecoder(bytes.NewReader(b.Bytes()))
	elems := map[string]int{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			elems[se.Name.Local]++
		}
	}
	if elems["svg"] != 1 || elems["polyline"] < 4 || elems["circle"] != 3 || elems["text"] < 10 {
		t.Errorf("elements %v", elems)
	}
	if !strings.Contains(b.String(), "test &lt;&amp;&gt;") || !strings.Contains(b.String(), "stroke-dasharray") {
		t.Error("title not escaped, or dashed line missing")
	}
}

func TestPNG(t *testing.T) {
	var b bytes.Buffer
	if err := sample().PNG(&b); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&b)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() != 800 || img.Bounds().Dy() != 40+2*260 {
		t.Fatalf("size %v", img.Bounds())
	}
	// The cleaned line (blue) and the span (red tint) appear.
	var blue, tinted int
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if bl > 150 && r < 80 && g > 90 && g < 140 {
				blue++
			}
			// White under a 50/255 veil of (214, 39, 40): about (245, 208, 208).
			if r > 238 && g > 195 && g < 220 && bl > 195 && bl < 220 {
				tinted++
			}
		}
	}
	if blue < 500 || tinted < 500 {
		t.Errorf("%d blue pixels, %d tinted: the line or the span is missing", blue, tinted)
	}
}

func TestSave(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.svg", "a.png"} {
		if err := sample().Save(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	if err := sample().Save(filepath.Join(dir, "a.jpg")); err == nil {
		t.Error("a .jpg was accepted")
	}
	if err := (&Figure{}).Save(filepath.Join(dir, "b.svg")); err == nil {
		t.Error("an empty figure was accepted")
	}
}
