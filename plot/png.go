package plot

import (
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// PNG writes the figure as a PNG image.
func (f *Figure) PNG(w io.Writer) error {
	width, height := f.size()
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	c := &pngCanvas{img: img}
	if err := f.draw(c); err != nil {
		return err
	}
	return png.Encode(w, img)
}

// uniform returns a source of c, read as a straight (not premultiplied)
// color: the package's colors state their opacity in A.
func uniform(c color.RGBA) *image.Uniform {
	return image.NewUniform(color.NRGBA(c))
}

type pngCanvas struct {
	img *image.RGBA
	r   *vector.Rasterizer
}

// fill rasterises, in color c, the path that build adds within the
// pixel box [x0, x1) x [y0, y1) (image coordinates); the rasterizer works
// on that box only, so small shapes cost little.
func (p *pngCanvas) fill(c color.RGBA, x0, y0, x1, y1 float64, build func(r *vector.Rasterizer, ox, oy float32)) {
	b := p.img.Bounds()
	box := image.Rect(int(math.Floor(x0))-2, int(math.Floor(y0))-2, int(math.Ceil(x1))+2, int(math.Ceil(y1))+2).Intersect(b)
	if box.Empty() {
		return
	}
	if p.r == nil {
		p.r = vector.NewRasterizer(box.Dx(), box.Dy())
	} else {
		p.r.Reset(box.Dx(), box.Dy())
	}
	build(p.r, float32(box.Min.X), float32(box.Min.Y))
	p.r.Draw(p.img, box, uniform(c), image.Point{})
}

func (p *pngCanvas) polyline(x, y []float64, c color.RGBA, width float64, dash bool) {
	if len(x) < 2 {
		return
	}
	h := float32(width / 2)
	x0, x1, y0, y1 := x[0], x[0], y[0], y[0]
	for i := range x {
		x0, x1 = math.Min(x0, x[i]), math.Max(x1, x[i])
		y0, y1 = math.Min(y0, y[i]), math.Max(y1, y[i])
	}
	w := width
	p.fill(c, x0-w, y0-w, x1+w, y1+w, func(r *vector.Rasterizer, ox, oy float32) {
		// Each segment is a quad of the line's width; all quads wind the
		// same way, so their overlaps at the joints do not cancel.
		along := 0.0
		for i := 1; i < len(x); i++ {
			x0, y0, x1, y1 := x[i-1], y[i-1], x[i], y[i]
			dx, dy := x1-x0, y1-y0
			l := math.Hypot(dx, dy)
			if l == 0 {
				continue
			}
			if dash {
				// 6 on, 4 off, along the whole line.
				for s := 0.0; s < l; {
					phase := math.Mod(along+s, 10)
					run := math.Min(l-s, 10-phase)
					if phase < 6 {
						run = math.Min(l-s, 6-phase)
						quad(r, x0+dx*s/l, y0+dy*s/l, x0+dx*(s+run)/l, y0+dy*(s+run)/l, h, ox, oy)
					}
					s += run
				}
				along += l
				continue
			}
			quad(r, x0, y0, x1, y1, h, ox, oy)
		}
	})
}

func quad(r *vector.Rasterizer, x0, y0, x1, y1 float64, h, ox, oy float32) {
	dx, dy := x1-x0, y1-y0
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	// Extend by half the width at both ends for round-ish joints.
	ex, ey := float32(float32(dx/l)*h), float32(float32(dy/l)*h)
	nx, ny := -ey, ex
	ax, ay := float32(x0)-ex-ox, float32(y0)-ey-oy
	bx, by := float32(x1)+ex-ox, float32(y1)+ey-oy
	r.MoveTo(ax+nx, ay+ny)
	r.LineTo(bx+nx, by+ny)
	r.LineTo(bx-nx, by-ny)
	r.LineTo(ax-nx, ay-ny)
	r.ClosePath()
}

func (p *pngCanvas) rect(x0, y0, x1, y1 float64, c color.RGBA) {
	rc := image.Rect(int(math.Round(x0)), int(math.Round(y0)), int(math.Round(x1)), int(math.Round(y1)))
	draw.Draw(p.img, rc, uniform(c), image.Point{}, draw.Over)
}

func (p *pngCanvas) circle(x, y, rad float64, c color.RGBA) {
	p.fill(c, x-rad, y-rad, x+rad, y+rad, func(r *vector.Rasterizer, ox, oy float32) {
		const n = 16
		for i := 0; i <= n; i++ {
			a := 2 * math.Pi * float64(i) / n
			px, py := float32(x+float64(rad*math.Cos(a)))-ox, float32(y+float64(rad*math.Sin(a)))-oy
			if i == 0 {
				r.MoveTo(px, py)
			} else {
				r.LineTo(px, py)
			}
		}
		r.ClosePath()
	})
}

func (p *pngCanvas) text(x, y float64, s string, anchor int, c color.RGBA, bold bool) {
	face := basicfont.Face7x13
	d := &font.Drawer{Dst: p.img, Src: uniform(c), Face: face}
	w := d.MeasureString(s).Round()
	switch anchor {
	case 0:
		x -= float64(float64(w) / 2)
	case 1:
		x -= float64(w)
	}
	d.Dot = fixed.P(int(math.Round(x)), int(math.Round(y)))
	d.DrawString(s)
	if bold { // overstrike one pixel to the right
		d.Dot = fixed.P(int(math.Round(x))+1, int(math.Round(y)))
		d.DrawString(s)
	}
}

// vtext draws the text rotated a quarter turn anticlockwise: rendered on a
// scratch image, then copied column by column.
func (p *pngCanvas) vtext(x, y float64, s string, c color.RGBA) {
	face := basicfont.Face7x13
	d := &font.Drawer{Face: face}
	w := d.MeasureString(s).Round()
	h := 13
	tmp := image.NewRGBA(image.Rect(0, 0, w, h))
	d.Dst, d.Src, d.Dot = tmp, uniform(c), fixed.P(0, 10)
	d.DrawString(s)
	ox, oy := int(math.Round(x))-h/2, int(math.Round(y))+w/2
	for ty := 0; ty < h; ty++ {
		for tx := 0; tx < w; tx++ {
			px := tmp.RGBAAt(tx, ty)
			if px.A == 0 {
				continue
			}
			// (tx, ty) -> (ty, -tx): rotated anticlockwise.
			p.img.Set(ox+ty, oy-tx, px)
		}
	}
}
