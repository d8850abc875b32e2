package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/metrics"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// Sink takes the results: MQTT, stdout, or a test's recorder.
type Sink interface {
	// Publish sends payload to topic. It must not keep payload.
	Publish(topic string, payload []byte) error
}

// Reading is one row of one group's sensors.
type Reading struct {
	Group   string
	Time    float64 // seconds since the Unix epoch, if HasTime
	HasTime bool
	Values  []float32 // in the group's channel order; NaN: missing
	Line    int       // input line or message number, for messages
}

// Metrics are the service's counters.
type Metrics struct {
	Reg        *metrics.Registry
	In         *metrics.Counter // readings accepted
	Invalid    *metrics.Counter // payloads rejected (malformed, unknown group)
	Dropped    *metrics.Counter // readings dropped by the timestamp policy (see stream.Clock)
	Bridged    *metrics.Counter // time gaps the streams bridged
	Restarts   *metrics.Counter // outages that restarted a stream
	Imputed    *metrics.Counter // values imputed
	Cleaned    *metrics.Counter // cleaned rows published
	Windows    *metrics.Counter // windows scored
	Anomalies  *metrics.Counter // anomaly events started
	PublishErr *metrics.Counter // results the sink refused (e.g. offline queue full)
	Latency    *metrics.Histogram
}

func newMetrics() *Metrics {
	r := metrics.New()
	return &Metrics{Reg: r,
		In:         r.Counter("edge_readings_in_total", "readings accepted from the input"),
		Invalid:    r.Counter("edge_readings_invalid_total", "payloads rejected: malformed, non-numeric or for an unknown group"),
		Dropped:    r.Counter("edge_readings_dropped_total", "readings dropped by the timestamp policy: repeated, earlier, far-future or missing timestamps"),
		Bridged:    r.Counter("edge_gaps_bridged_total", "time gaps (over 1.5 sampling periods, up to max_gap) the streams went on across"),
		Restarts:   r.Counter("edge_stream_restarts_total", "outages longer than max_gap sampling periods that restarted a stream"),
		Imputed:    r.Counter("edge_values_imputed_total", "missing or invalid values imputed"),
		Cleaned:    r.Counter("edge_readings_out_total", "cleaned readings published"),
		Windows:    r.Counter("edge_windows_scored_total", "windows scored for anomalies"),
		Anomalies:  r.Counter("edge_anomalies_total", "anomaly events started"),
		PublishErr: r.Counter("edge_publish_failures_total", "results that could not be handed to the output (offline queue full)"),
		Latency:    r.Histogram("edge_inference_seconds", "time to process a reading that completed a window (inference included)", metrics.ExponentialBuckets(1e-6, 2, 20)),
	}
}

// group is one sensor group's pipeline, run by its own goroutine.
type group struct {
	cfg      GroupConfig
	m        *model.Model
	names    []string
	den      *denoise.Denoiser
	sc       *anomaly.Scorer
	in       chan Reading
	s        *Service
	buf      []byte
	flagging bool
	seq      atomic.Int64  // readings numbered when the input has no lines
	timing   stream.Timing // counted into the metrics so far
	lastImp  int64
}

// Service runs the groups.
type Service struct {
	cfg    *Config
	groups map[string]*group
	order  []*group
	sink   Sink
	log    *slog.Logger
	M      *Metrics
	wg     sync.WaitGroup
	closed bool
	mu     sync.RWMutex // Accept holds it shared while sending; Close exclusively
}

// New loads each group's model and prepares its pipeline.
func New(cfg *Config, sink Sink, log *slog.Logger) (*Service, error) {
	return build(cfg, sink, log, newMetrics())
}

func build(cfg *Config, sink Sink, log *slog.Logger, met *Metrics) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, groups: map[string]*group{}, sink: sink, log: log, M: met}
	for i, gc := range cfg.Groups {
		m, err := model.Load(gc.Model)
		if err != nil {
			return nil, fmt.Errorf("groups[%d] (%s): %w", i, gc.Name, err)
		}
		g := &group{cfg: gc, m: m, s: s, in: make(chan Reading, cfg.Queue)}
		g.names = gc.Channels
		if len(g.names) == 0 {
			g.names = m.ChannelNames
		}
		if len(g.names) == 0 {
			for c := 0; c < m.Channels; c++ {
				g.names = append(g.names, fmt.Sprintf("ch%d", c))
			}
		}
		if len(g.names) != m.Channels {
			return nil, fmt.Errorf("groups[%d] (%s).channels: %d names for a model of %d channels", i, gc.Name, len(g.names), m.Channels)
		}
		st := stream.Config{Hop: gc.Hop, MaxGap: gc.MaxGap}
		if gc.Denoise != "" {
			mode, err := denoise.ParseMode(gc.Denoise)
			if err != nil {
				return nil, fmt.Errorf("groups[%d].denoise: %w", i, err)
			}
			if g.den, err = denoise.New(m, denoise.Config{Mode: mode, Stream: st}, g.cleaned); err != nil {
				return nil, fmt.Errorf("groups[%d] (%s): %w", i, gc.Name, err)
			}
		}
		if gc.Score {
			if g.sc, err = anomaly.New(m, anomaly.Config{Stream: st}, g.scored); err != nil {
				return nil, fmt.Errorf("groups[%d] (%s): the scorer: %w (calibrate the model's threshold with edge calibrate)", i, gc.Name, err)
			}
		}
		s.groups[gc.Name] = g
		s.order = append(s.order, g)
	}
	for _, g := range s.order {
		s.wg.Add(1)
		go g.run()
	}
	return s, nil
}

// Group returns the channel names of a group (nil if unknown).
func (s *Service) Group(name string) []string {
	if g := s.groups[name]; g != nil {
		return g.names
	}
	return nil
}

// ErrClosed is returned by Accept after Close.
var ErrClosed = errors.New("service: closed")

// Accept queues a reading for its group, waiting while the queue is full
// or until ctx ends. The reading's Values are kept: do not reuse them.
func (s *Service) Accept(ctx context.Context, r Reading) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	g := s.groups[r.Group]
	if g == nil {
		s.M.Invalid.Inc()
		return fmt.Errorf("unknown group %q", r.Group)
	}
	if len(r.Values) != len(g.names) {
		s.M.Invalid.Inc()
		return fmt.Errorf("group %s: %d values for %d channels", r.Group, len(r.Values), len(g.names))
	}
	if r.Line == 0 {
		r.Line = int(g.seq.Add(1))
	}
	select {
	case g.in <- r:
		s.M.In.Inc()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting, processes every queued reading, flushes each
// group's last rows, and returns when all results are with the sink.
func (s *Service) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	for _, g := range s.order {
		close(g.in)
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (g *group) run() {
	defer g.s.wg.Done()
	for r := range g.in {
		row := stream.Row{Time: r.Time, HasTime: r.HasTime, Line: r.Line, Values: r.Values}
		var before int64
		if g.sc != nil {
			before = g.sc.Stream().Stats().Windows
		} else {
			before = g.den.Stream().Stats().Windows
		}
		t0 := time.Now()
		if g.den != nil {
			if err := g.den.Push(row); err != nil {
				g.s.log.Error("denoise", "group", g.cfg.Name, "line", r.Line, "err", err)
			}
		}
		if g.sc != nil {
			if err := g.sc.Push(row); err != nil {
				g.s.log.Error("score", "group", g.cfg.Name, "line", r.Line, "err", err)
			}
		}
		var st stream.Stats
		if g.sc != nil {
			st = g.sc.Stream().Stats()
		} else {
			st = g.den.Stream().Stats()
		}
		if st.Windows != before {
			g.s.M.Latency.Observe(time.Since(t0).Seconds())
		}
		g.countTiming(st.Timing, r.Line)
		if st.Imputed != g.lastImp {
			g.s.M.Imputed.Add(uint64(st.Imputed - g.lastImp))
			g.lastImp = st.Imputed
		}
	}
	if g.den != nil {
		if err := g.den.Close(); err != nil {
			g.s.log.Error("denoise flush", "group", g.cfg.Name, "err", err)
		}
	}
	if g.sc != nil {
		if err := g.sc.Close(); err != nil {
			g.s.log.Error("score flush", "group", g.cfg.Name, "err", err)
		}
	}
}

// countTiming adds what the timestamp policy did since the last call to
// the metrics, and logs dropped readings with the reason.
func (g *group) countTiming(t stream.Timing, line int) {
	old := g.timing
	g.timing = t
	if d := t.Dropped() - old.Dropped(); d > 0 {
		g.s.M.Dropped.Add(uint64(d))
		why := "its timestamp repeats the last one"
		switch {
		case t.OutOfOrder > old.OutOfOrder:
			why = "its timestamp goes back"
		case t.FarFuture > old.FarFuture:
			why = "a far-future timestamp this reading did not continue (the reading held before it)"
		case t.BadTime > old.BadTime:
			why = "a missing or impossible timestamp"
		}
		g.s.log.Warn("reading dropped: "+why, "group", g.cfg.Name, "line", line)
	}
	if t.Bridged > old.Bridged {
		g.s.M.Bridged.Add(uint64(t.Bridged - old.Bridged))
	}
	if t.Restarts > old.Restarts {
		g.s.M.Restarts.Add(uint64(t.Restarts - old.Restarts))
		g.s.log.Info("stream restarted after an outage longer than max_gap", "group", g.cfg.Name, "line", line)
	}
}

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
func (g *group) cleaned(smp *denoise.Sample) error {
	b := append(g.buf[:0], `{"group":`...)
	b = strconv.AppendQuote(b, g.cfg.Name)
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
	g.buf = b
	g.s.M.Cleaned.Inc()
	g.publish(topic(g.s.cfg.Output.CleanTopic, g.cfg.Name), b)
	return nil
}

func (g *group) publish(t string, b []byte) {
	if err := g.s.sink.Publish(t, b); err != nil {
		g.s.M.PublishErr.Inc()
		g.s.log.Warn("result not published", "topic", t, "err", err)
	}
}

// Event is the JSON of an anomaly event or window score.
type Event struct {
	Group     string   `json:"group"`
	Event     string   `json:"event,omitempty"` // "start", "end" or "new_level"
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

func (g *group) scored(sc *anomaly.Score) error {
	if sc.Window {
		g.s.M.Windows.Inc()
	}
	kind := ""
	switch {
	case sc.Onset && sc.Kind == anomaly.KindNewLevel:
		kind = "new_level" // the flag ends as its rows fall below the threshold
	case sc.Onset:
		kind = "start"
		g.flagging = true
		g.s.M.Anomalies.Inc()
	case g.flagging && !sc.Flag:
		kind = "end"
		g.flagging = false
	}
	scores := g.s.cfg.Output.ScoresTopic
	if kind == "" && (scores == "" || !sc.Window) {
		return nil
	}
	ev := Event{Group: g.cfg.Name, Event: kind, Line: sc.Line, Score: sc.Score, P: sc.P, Change: sc.Change, Flag: sc.Flag, Kind: sc.Kind}
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
		g.s.log.Info("anomaly "+kind, "group", g.cfg.Name, "line", sc.Line, "score", sc.Score, "top", ev.Top[0].Name)
		g.publish(topic(g.s.cfg.Output.EventsTopic, g.cfg.Name), b)
	}
	if scores != "" {
		g.publish(topic(scores, g.cfg.Name), b)
	}
	return nil
}
