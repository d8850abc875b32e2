package service

import (
	"encoding/json"
	"math"
	"slices"
	"sort"
	"strconv"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/denoise"
)

func appendTime(b []byte, t float64, has bool) []byte {
	if !has {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, t, 'f', -1, 64)
}

func appendNum(b []byte, v float64) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', 7, 32)
}

// cleaned publishes one cleaned row.
func (d *device) cleaned(smp *denoise.Sample) error {
	g := d.g
	if d.influxOut() {
		d.sm.cleaned.Inc()
		d.influxCleaned(smp)
		return nil
	}
	b := append(d.buf[:0], `{"group":`...)
	b = strconv.AppendQuote(b, g.cfg.Name)
	if d.name != "" {
		b = append(b, `,"device":`...)
		b = strconv.AppendQuote(b, d.name)
	}
	b = append(b, `,"ts":`...)
	b = appendTime(b, smp.Time, smp.HasTime)
	b = append(b, `,"line":`...)
	b = strconv.AppendInt(b, int64(smp.Line), 10)
	b = append(b, `,"values":{`...)
	for c, v := range smp.Values {
		if c > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, g.names[c])
		b = append(b, ':')
		b = appendNum(b, float64(v))
	}
	b = append(b, '}')
	first := true
	for c, miss := range smp.Missing {
		if !miss {
			continue
		}
		if first {
			b = append(b, `,"imputed":[`...)
			first = false
		} else {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, g.names[c])
	}
	if !first {
		b = append(b, ']')
	}
	b = append(b, '}')
	d.buf = b
	d.sm.cleaned.Inc()
	d.publish(topic(g.s.cfg.Output.CleanTopic, g.cfg.Name, d.name), b)
	return nil
}

func (d *device) publish(t string, b []byte) {
	if err := d.g.s.sink.Publish(t, b); err != nil {
		d.sm.publishErr.Inc()
		d.g.s.log.Warn("result not published", "topic", t, "err", err)
	}
}

// Event is the JSON of an anomaly event or window score.
type Event struct {
	Group     string   `json:"group"`
	Device    string   `json:"device,omitempty"`
	Host      string   `json:"host"`                   // the edge that scored it
	Model     string   `json:"model_sha256,omitempty"` // the model file's sha256
	Version   string   `json:"version,omitempty"`      // edge's version
	Event     string   `json:"event,omitempty"`        // "start", "end" or "new_level"
	Time      *float64 `json:"ts"`
	Line      int      `json:"line"`
	StartTime *float64 `json:"event_ts,omitempty"`
	StartLine int      `json:"event_line,omitempty"`
	Score     float64  `json:"score"` // in [0, 1], 0.5 at the threshold
	P         float64  `json:"p"`     // the row's p-value under normal operation
	// Change: how much more surprising the row is than the 16 before it,
	// on the score's scale (see anomaly.Score.Change).
	Change float64 `json:"change"`
	Flag   bool    `json:"flag"`
	// Kind says what an event is about: "anomaly", or a channel that is
	// "missing" or "frozen" (its name first in Top), or "new_level" (the
	// anomaly that started at event_line lasted so long that its level
	// is now taken as normal; see anomaly.Settings.Settle).
	Kind string    `json:"kind,omitempty"`
	Top  []Channel `json:"top"`
}

// Channel is one channel's share of a window's error.
type Channel struct {
	Name  string  `json:"channel"`
	Share float32 `json:"share"`
}

func (d *device) scored(sc *anomaly.Score) error {
	g := d.g
	if sc.Window {
		d.sm.windows.Inc()
	}
	d.sm.score.Set(sc.Score)
	if d.influxOut() {
		d.influxScored(sc)
	}
	wasFlagging := d.flagging
	kind := ""
	switch {
	case sc.Onset && sc.Kind == anomaly.KindNewLevel:
		kind = "new_level" // the flag ends as its rows fall below the threshold
	case sc.Onset:
		kind = "start"
		d.flagging = true
		d.sm.anomalies.Inc()
		d.sm.flag.Set(1)
	case d.flagging && !sc.Flag:
		kind = "end"
		d.flagging = false
		d.sm.flag.Set(0)
	}
	d.publishState(sc, d.flagging != wasFlagging)
	scores := g.s.cfg.Output.ScoresTopic
	if d.influxOut() || kind == "" && (scores == "" || !sc.Window) {
		return nil // line protocol carries the score and flag with the reading
	}
	ev := Event{Group: g.cfg.Name, Device: d.name, Host: g.s.cfg.Host, Model: g.sha256, Version: g.s.version, Event: kind, Line: sc.Line, Score: sc.Score, P: sc.P, Change: sc.Change, Flag: sc.Flag, Kind: sc.Kind}
	if sc.HasTime {
		t := sc.Time
		ev.Time = &t
	}
	if sc.Onset {
		ev.StartLine = sc.EventLine
		if sc.HasTime {
			t := sc.EventTime
			ev.StartTime = &t
		}
	}
	idx := make([]int, len(sc.Contrib))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return sc.Contrib[idx[a]] > sc.Contrib[idx[b]] })
	if sc.Finding != anomaly.NoFinding {
		idx = append([]int{sc.FindingChannel}, slices.DeleteFunc(idx, func(i int) bool { return i == sc.FindingChannel })...)
	}
	for _, c := range idx[:min(3, len(idx))] {
		ev.Top = append(ev.Top, Channel{g.names[c], sc.Contrib[c]})
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if kind != "" {
		g.s.log.Info("anomaly "+kind, "group", g.cfg.Name, "device", d.name, "line", sc.Line, "score", sc.Score, "top", ev.Top[0].Name)
		d.publish(topic(g.s.cfg.Output.EventsTopic, g.cfg.Name, d.name), b)
	}
	if scores != "" {
		d.publish(topic(scores, g.cfg.Name, d.name), b)
	}
	return nil
}
