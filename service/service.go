package service

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
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

// Metrics are the service's metrics, each labelled by group.
type Metrics struct {
	Reg        *metrics.Registry
	In         *metrics.CounterVec // readings accepted
	Invalid    *metrics.CounterVec // payloads rejected (malformed, unknown group: no group label)
	Dropped    *metrics.CounterVec // readings dropped by the timestamp policy (see stream.Clock)
	Bridged    *metrics.CounterVec // time gaps the streams bridged
	Restarts   *metrics.CounterVec // outages that restarted a stream
	Imputed    *metrics.CounterVec // values imputed
	Cleaned    *metrics.CounterVec // cleaned rows published
	Windows    *metrics.CounterVec // windows scored
	Anomalies  *metrics.CounterVec // anomaly events started
	PublishErr *metrics.CounterVec // results the sink refused (e.g. offline queue full)
	Latency    *metrics.HistogramVec
	Model      *metrics.GaugeVec // 1, labelled with the group's model file and its sha256
	Score      *metrics.GaugeVec // the last row's score
	Flag       *metrics.GaugeVec // 1 while the group is flagged
	// SensorSeen is when each channel last had a valid value (Unix
	// seconds, wall clock): alert on time() - edge_sensor_last_valid_timestamp_seconds.
	SensorSeen *metrics.GaugeVec
}

func newMetrics() *Metrics {
	r := metrics.New()
	return &Metrics{Reg: r,
		In:         r.CounterVec("edge_readings_in_total", "readings accepted from the input", "group"),
		Invalid:    r.CounterVec("edge_readings_invalid_total", "payloads rejected: malformed, non-numeric or for an unknown group", "group"),
		Dropped:    r.CounterVec("edge_readings_dropped_total", "readings dropped by the timestamp policy: repeated, earlier, far-future or missing timestamps", "group"),
		Bridged:    r.CounterVec("edge_gaps_bridged_total", "time gaps (over 1.5 sampling periods, up to max_gap) the streams went on across", "group"),
		Restarts:   r.CounterVec("edge_stream_restarts_total", "outages longer than max_gap sampling periods that restarted a stream", "group"),
		Imputed:    r.CounterVec("edge_values_imputed_total", "missing or invalid values imputed", "group"),
		Cleaned:    r.CounterVec("edge_readings_out_total", "cleaned readings published", "group"),
		Windows:    r.CounterVec("edge_windows_scored_total", "windows scored for anomalies", "group"),
		Anomalies:  r.CounterVec("edge_anomalies_total", "anomaly events started", "group"),
		PublishErr: r.CounterVec("edge_publish_failures_total", "results that could not be handed to the output (offline queue full)", "group"),
		Latency:    r.HistogramVec("edge_inference_seconds", "time to process a reading that completed a window (inference included)", metrics.ExponentialBuckets(1e-6, 2, 20), "group"),
		Model:      r.GaugeVec("edge_model_info", "the model each group runs: its file and the file's sha256", "group", "file", "sha256"),
		Score:      r.GaugeVec("edge_score", "the anomaly score of the group's last scored row, in [0, 1] (0.5 at the threshold)", "group"),
		Flag:       r.GaugeVec("edge_flag", "1 while the group's rows are flagged as anomalous, else 0", "group"),
		SensorSeen: r.GaugeVec("edge_sensor_last_valid_timestamp_seconds", "when the channel last had a valid value (Unix seconds, wall clock)", "group", "channel"),
	}
}

// groupMetrics are one group's series of the service's metrics.
type groupMetrics struct {
	in, dropped, bridged, restarts, imputed, cleaned, windows, anomalies, publishErr *metrics.Counter
	latency                                                                          *metrics.Histogram
	score, flag                                                                      *metrics.Gauge
	seen                                                                             []*metrics.Gauge // per channel
}

func (m *Metrics) group(name string, channels []string) groupMetrics {
	gm := groupMetrics{in: m.In.With(name), dropped: m.Dropped.With(name), bridged: m.Bridged.With(name),
		restarts: m.Restarts.With(name), imputed: m.Imputed.With(name), cleaned: m.Cleaned.With(name),
		windows: m.Windows.With(name), anomalies: m.Anomalies.With(name), publishErr: m.PublishErr.With(name),
		latency: m.Latency.With(name), score: m.Score.With(name), flag: m.Flag.With(name)}
	for _, c := range channels {
		gm.seen = append(gm.seen, m.SensorSeen.With(name, c))
	}
	m.Invalid.With(name) // the series exists from the start, at 0
	return gm
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
	gm       groupMetrics
	progress atomic.Int64 // wall clock (Unix ns) of the last reading processed
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
		m, sum, err := loadModel(gc.Model)
		if err != nil {
			return nil, fmt.Errorf("groups[%d] (%s): %w", i, gc.Name, err)
		}
		met.Model.With(gc.Name, gc.Model, sum).Set(1)
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
		g.gm = met.group(gc.Name, g.names)
		g.progress.Store(time.Now().UnixNano())
		s.groups[gc.Name] = g
		s.order = append(s.order, g)
	}
	for _, g := range s.order {
		s.wg.Add(1)
		go g.run()
	}
	return s, nil
}

// loadModel loads a model file and returns it with the file's sha256 (hex).
func loadModel(path string) (*model.Model, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	h := sha256.New()
	m, err := model.Read(bufio.NewReader(io.TeeReader(f, h)))
	if err == nil {
		_, err = io.Copy(h, f) // the hash covers the whole file
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return m, hex.EncodeToString(h.Sum(nil)), nil
}

// Group returns the channel names of a group (nil if unknown).
func (s *Service) Group(name string) []string {
	if g := s.groups[name]; g != nil {
		return g.names
	}
	return nil
}

// knownGroup returns name if it is a configured group, else "" (the
// metrics' series of readings for no known group).
func (s *Service) knownGroup(name string) string {
	if s.groups[name] != nil {
		return name
	}
	return ""
}

// Stalled returns the name of a group that has readings waiting and has
// processed none for longer than limit ("" if none): what the systemd
// watchdog checks before each ping.
func (s *Service) Stalled(limit time.Duration) string {
	now := time.Now().UnixNano()
	for _, g := range s.order {
		if len(g.in) > 0 && now-g.progress.Load() > int64(limit) {
			return g.cfg.Name
		}
	}
	return ""
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
		s.M.Invalid.With("").Inc()
		return fmt.Errorf("unknown group %q", r.Group)
	}
	if len(r.Values) != len(g.names) {
		s.M.Invalid.With(r.Group).Inc()
		return fmt.Errorf("group %s: %d values for %d channels", r.Group, len(r.Values), len(g.names))
	}
	if r.Line == 0 {
		r.Line = int(g.seq.Add(1))
	}
	select {
	case g.in <- r:
		g.gm.in.Inc()
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
		g.progress.Store(time.Now().UnixNano())
		g.sensorsSeen(r.Values)
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
			g.gm.latency.Observe(time.Since(t0).Seconds())
		}
		g.countTiming(st.Timing, r.Line)
		if st.Imputed != g.lastImp {
			g.gm.imputed.Add(uint64(st.Imputed - g.lastImp))
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

// sensorsSeen stamps the channels that have a valid value with the wall
// clock.
func (g *group) sensorsSeen(values []float32) {
	now := float64(time.Now().UnixNano()) / 1e9
	for c, v := range values {
		if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			g.gm.seen[c].Set(now)
		}
	}
}

// countTiming adds what the timestamp policy did since the last call to
// the metrics, and logs dropped readings with the reason.
func (g *group) countTiming(t stream.Timing, line int) {
	old := g.timing
	g.timing = t
	if d := t.Dropped() - old.Dropped(); d > 0 {
		g.gm.dropped.Add(uint64(d))
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
		g.gm.bridged.Add(uint64(t.Bridged - old.Bridged))
	}
	if t.Restarts > old.Restarts {
		g.gm.restarts.Add(uint64(t.Restarts - old.Restarts))
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
	g.gm.cleaned.Inc()
	g.publish(topic(g.s.cfg.Output.CleanTopic, g.cfg.Name), b)
	return nil
}

func (g *group) publish(t string, b []byte) {
	if err := g.s.sink.Publish(t, b); err != nil {
		g.gm.publishErr.Inc()
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
		g.gm.windows.Inc()
	}
	g.gm.score.Set(sc.Score)
	kind := ""
	switch {
	case sc.Onset && sc.Kind == anomaly.KindNewLevel:
		kind = "new_level" // the flag ends as its rows fall below the threshold
	case sc.Onset:
		kind = "start"
		g.flagging = true
		g.gm.anomalies.Inc()
		g.gm.flag.Set(1)
	case g.flagging && !sc.Flag:
		kind = "end"
		g.flagging = false
		g.gm.flag.Set(0)
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
