package plot

import (
	"bufio"
	"fmt"
	"image/color"
	"io"
	"strings"
)

// SVG writes the figure as an SVG document.
func (f *Figure) SVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	width, height := f.size()
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">`+"\n", width, height, width, height)
	if err := f.draw(&svgCanvas{w: bw}); err != nil {
		return err
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

type svgCanvas struct{ w *bufio.Writer }

func svgColor(c color.RGBA) string {
	return fmt.Sprintf(`rgb(%d,%d,%d)`, c.R, c.G, c.B)
}

func opacity(attr string, c color.RGBA) string {
	if c.A == 255 {
		return ""
	}
	return fmt.Sprintf(` %s="%.3f"`, attr, float64(c.A)/255)
}

func (s *svgCanvas) polyline(x, y []float64, c color.RGBA, width float64, dash bool) {
	var b strings.Builder
	for i := range x {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", x[i], y[i])
	}
	d := ""
	if dash {
		d = ` stroke-dasharray="6,4"`
	}
	fmt.Fprintf(s.w, `<polyline fill="none" stroke="%s"%s stroke-width="%.2f"%s stroke-linejoin="round" points="%s"/>`+"\n",
		svgColor(c), opacity("stroke-opacity", c), width, d, b.String())
}

func (s *svgCanvas) rect(x0, y0, x1, y1 float64, c color.RGBA) {
	fmt.Fprintf(s.w, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"%s/>`+"\n",
		x0, y0, x1-x0, y1-y0, svgColor(c), opacity("fill-opacity", c))
}

func (s *svgCanvas) circle(x, y, r float64, c color.RGBA) {
	fmt.Fprintf(s.w, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"%s/>`+"\n", x, y, r, svgColor(c), opacity("fill-opacity", c))
}

func (s *svgCanvas) text(x, y float64, str string, anchor int, c color.RGBA, bold bool) {
	a := map[int]string{-1: "start", 0: "middle", 1: "end"}[anchor]
	wt := ""
	if bold {
		wt = ` font-weight="bold"`
	}
	fmt.Fprintf(s.w, `<text x="%.1f" y="%.1f" text-anchor="%s" fill="%s"%s>%s</text>`+"\n", x, y, a, svgColor(c), wt, escape(str))
}

func (s *svgCanvas) vtext(x, y float64, str string, c color.RGBA) {
	fmt.Fprintf(s.w, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s" transform="rotate(-90 %.1f %.1f)">%s</text>`+"\n",
		x, y, svgColor(c), x, y, escape(str))
}

func escape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")
	return r.Replace(s)
}
