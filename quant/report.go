package quant

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/edgeml/edge/model"
)

// LayerReport compares one tensor of the int8 model with the float one.
type LayerReport struct {
	Name      string  // "input", "encoder.0", ..., "latent", ...
	Layer     string  // what the layer is, e.g. "dense 640->128 relu"
	Precision string  // "int8" or "float32"
	Min, Max  float32 // calibrated range of the output
	Scale     float32 // its int8 encoding
	ZeroPoint int8
	// SQNR in dB of the int8 tensor against the float one (higher is
	// better; each bit of precision is about 6 dB), and the RMS error
	// relative to the float tensor's RMS.
	SQNR   float64
	RelRMS float64
}

// Report is the calibration report of Quantize.
type Report struct {
	Method  Method
	Windows int
	Layers  []LayerReport
	// End to end, in normalised units: the mean squared reconstruction
	// error of the float and int8 models against the data, their ratio
	// minus one (the growth int8 causes), and the SQNR of the int8
	// reconstruction against the float one.
	FloatMSE, Int8MSE float64
	Growth            float64
	OutputSQNR        float64
	// Notes say what Quantize decided by itself (see InputSpread).
	Notes []string
}

type pair struct{ sig, noise float64 }

// report runs both models over data and compares them tensor by tensor.
func report(fm, qm *model.Model, data []float32, opt Options) (*Report, error) {
	win := fm.Steps * fm.Channels
	r := &Report{Method: opt.Method, Windows: len(data) / win}
	fs, err := fm.NewSession(opt.Batch)
	if err != nil {
		return nil, err
	}
	qs, err := qm.NewSession(opt.Batch)
	if err != nil {
		return nil, err
	}
	acc := map[string]*pair{}
	var order []string
	fo, qo := make([]float32, opt.Batch*win), make([]float32, opt.Batch*win)
	ref := map[string][]float32{}
	var out pair
	var fErr, qErr float64
	shift, scale := fm.Norm.Affine(fm.Channels)
	for off := 0; off < len(data); off += opt.Batch * win {
		end := min(len(data), off+opt.Batch*win)
		x := data[off:end]
		n := end - off
		clear(ref)
		if err := fs.Trace(fo[:n], x, func(name string, pre bool, v []float32) {
			if !pre {
				ref[name] = slices.Clone(v)
			}
		}); err != nil {
			return nil, err
		}
		if err := qs.Trace(qo[:n], x, func(name string, pre bool, v []float32) {
			f, ok := ref[name]
			if pre || !ok || len(f) != len(v) {
				return
			}
			p := acc[name]
			if p == nil {
				p = &pair{}
				acc[name] = p
				order = append(order, name)
			}
			for i := range v {
				d := float64(v[i]) - float64(f[i])
				p.sig += float64(float64(f[i]) * float64(f[i]))
				p.noise += float64(d * d)
			}
		}); err != nil {
			return nil, err
		}
		for i := 0; i < n; i++ {
			c := i % fm.Channels
			df := (float64(x[i]) - float64(fo[i])) / float64(scale[c])
			dq := (float64(x[i]) - float64(qo[i])) / float64(scale[c])
			fErr += float64(df * df)
			qErr += float64(dq * dq)
			y := (float64(fo[i]) - float64(shift[c])) / float64(scale[c])
			out.sig += float64(y * y)
			d := (float64(qo[i]) - float64(fo[i])) / float64(scale[c])
			out.noise += float64(d * d)
		}
	}
	layers := map[string]*model.Layer{}
	for i := range qm.Encoder {
		layers[fmt.Sprintf("encoder.%d", i)] = &qm.Encoder[i]
	}
	for i := range qm.Decoder {
		layers[fmt.Sprintf("decoder.%d", i)] = &qm.Decoder[i]
	}
	for _, name := range order {
		p := acc[name]
		lr := LayerReport{Name: name, Precision: "int8", SQNR: sqnr(*p), RelRMS: math.Sqrt(p.noise / math.Max(p.sig, 1e-300))}
		var q *model.QParams
		switch name {
		case "input":
			q, lr.Layer = qm.InputQ, "normalised input"
		case "latent":
			q, lr.Layer = qm.LatentQ, "decoder input"
		default:
			l := layers[name]
			q, lr.Layer = l.OutQ, describe(l)
			if l.QW == nil {
				lr.Precision = "float32"
			}
		}
		if q != nil {
			lr.Scale, lr.ZeroPoint = q.Scale, q.ZeroPoint
			lr.Min = q.Scale * float32(-128-int32(q.ZeroPoint))
			lr.Max = q.Scale * float32(127-int32(q.ZeroPoint))
		}
		r.Layers = append(r.Layers, lr)
	}
	total := float64(len(data))
	r.FloatMSE, r.Int8MSE = fErr/total, qErr/total
	r.Growth = r.Int8MSE/math.Max(r.FloatMSE, 1e-300) - 1
	r.OutputSQNR = sqnr(out)
	return r, nil
}

func sqnr(p pair) float64 {
	if p.noise == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(p.sig/p.noise)
}

func describe(l *model.Layer) string {
	s := string(l.Kind)
	switch l.Kind {
	case model.Dense:
		s = fmt.Sprintf("dense %d->%d", l.In, l.Out)
	case model.Conv1D, model.ConvTranspose1D:
		s = fmt.Sprintf("%s %d->%d k%d s%d", l.Kind, l.In, l.Out, l.Kernel, l.Stride)
	}
	if l.Act != "" && l.Act != model.Identity {
		s += " " + string(l.Act)
	}
	return s
}

// WriteTo prints the report as a table.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "calibration: %s over %d windows\n", r.Method, r.Windows)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "tensor\tlayer\tprecision\trange\tscale\tzero point\tSQNR dB\trel. RMS error")
	for _, l := range r.Layers {
		fmt.Fprintf(tw, "%s\t%s\t%s\t[%.4g, %.4g]\t%.4g\t%d\t%.1f\t%.4f\n", l.Name, l.Layer, l.Precision, l.Min, l.Max, l.Scale, l.ZeroPoint, l.SQNR, l.RelRMS)
	}
	tw.Flush()
	fmt.Fprintf(&b, "end to end (normalised units): reconstruction MSE float32 %.5g, int8 %.5g (%+.2f%%); int8 output SQNR %.1f dB against float32\n",
		r.FloatMSE, r.Int8MSE, 100*r.Growth, r.OutputSQNR)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}
