package service

import (
	"math"
	"strconv"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/internal/lineproto"
)

// With output.format influx, each reading goes out as one line of line
// protocol once every processor of its device has had its say: the
// reading's own measurement, tags and fields (or, for a JSON reading,
// measurement edge with group and device tags and the raw channels), plus
// <channel>_clean for each cleaned value, anomaly_score and anomaly_flag.
// A reading the timestamp policy dropped goes out as it came. This is
// what Telegraf's processors.execd expects of a processor: metrics in on
// stdin, the same metrics, with fields added, out on stdout.

// influxRow is a reading waiting for its results.
type influxRow struct {
	line            int
	r               Reading
	clean           []float32
	score           float64
	flag            bool
	cleaned, scored bool // the results are in
	denDone, scDone bool // the processor is past this row (results or a drop)
}

// influxOut reports whether the device's results go out as line protocol.
func (d *device) influxOut() bool { return d.g.s.cfg.Output.Format == "influx" }

// queueInflux keeps a reading until its results are in.
func (d *device) queueInflux(r Reading) {
	d.rows = append(d.rows, influxRow{line: r.Line, r: r, denDone: d.den == nil, scDone: d.sc == nil})
}

// influxCleaned records a cleaned row's values.
func (d *device) influxCleaned(smp *denoise.Sample) {
	for i := range d.rows {
		row := &d.rows[i]
		if row.line < smp.Line {
			row.denDone = true // dropped by the denoiser's timestamp policy
			continue
		}
		if row.line == smp.Line {
			row.clean = append(row.clean[:0], smp.Values...)
			row.cleaned, row.denDone = true, true
		}
		break
	}
	d.drainInflux(false)
}

// influxScored records a row's score.
func (d *device) influxScored(sc *anomaly.Score) {
	for i := range d.rows {
		row := &d.rows[i]
		if row.line < sc.Line {
			row.scDone = true
			continue
		}
		if row.line == sc.Line {
			row.score, row.flag, row.scored, row.scDone = sc.Score, sc.Flag, true, true
		}
		break
	}
	d.drainInflux(false)
}

// drainInflux sends the rows whose results are all in, in order (all of
// them when the stream ends).
func (d *device) drainInflux(all bool) {
	n := 0
	for n < len(d.rows) && (all || d.rows[n].denDone && d.rows[n].scDone) {
		if d.buf = d.appendInflux(d.buf[:0], &d.rows[n]); len(d.buf) > 0 {
			d.publish(topic(d.g.s.cfg.Output.CleanTopic, d.g.cfg.Name, d.name), d.buf)
		}
		n++
	}
	d.rows = append(d.rows[:0], d.rows[n:]...)
}

func (d *device) appendInflux(b []byte, row *influxRow) []byte {
	m := row.r.orig
	if m != nil {
		b = lineproto.AppendMeasurement(b, m.name)
		for _, t := range m.tags {
			b = append(b, ',')
			b = lineproto.AppendKey(b, t.key)
			b = append(b, '=')
			b = lineproto.AppendKey(b, t.value)
		}
	} else {
		b = append(b, "edge,group="...)
		b = lineproto.AppendKey(b, d.g.cfg.Name)
		if d.name != "" {
			b = append(b, ",device="...)
			b = lineproto.AppendKey(b, d.name)
		}
	}
	b = append(b, ' ')
	start := len(b)
	if m != nil {
		for _, f := range m.fields {
			b = append(b, ',')
			b = lineproto.AppendKey(b, f.key)
			b = append(b, '=')
			b = append(b, f.value...)
		}
	} else {
		b = d.appendFields(b, "", row.r.Values)
	}
	if row.cleaned {
		b = d.appendFields(b, "_clean", row.clean)
	}
	if row.scored {
		b = append(b, ",anomaly_score="...)
		b = strconv.AppendFloat(b, row.score, 'g', 7, 64)
		b = append(b, ",anomaly_flag="...)
		b = strconv.AppendBool(b, row.flag)
	}
	if len(b) == start { // no field at all: not a line
		return b[:0]
	}
	b = append(b[:start], b[start+1:]...) // the first field's comma
	switch {
	case m != nil && m.ts != "":
		b = append(b, ' ')
		b = append(b, m.ts...)
	case m == nil && row.r.HasTime && !math.IsNaN(row.r.Time):
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(math.Round(row.r.Time*1e9)), 10)
	}
	return b
}

// appendFields appends ,<channel><suffix>=<value> for each valid value.
func (d *device) appendFields(b []byte, suffix string, vals []float32) []byte {
	for c, v := range vals {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			continue
		}
		b = append(b, ',')
		b = lineproto.AppendKey(b, d.g.names[c]+suffix)
		b = append(b, '=')
		b = strconv.AppendFloat(b, float64(v), 'g', -1, 32)
	}
	return b
}
