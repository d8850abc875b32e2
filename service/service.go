package service

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/denoise"
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
	Group string
	// Device tells apart the installations of one group (from the topic's
	// {device} segment or wildcards, or the payload's "device" field):
	// each has its own stream. "": the group's one stream.
	Device  string
	Time    float64 // seconds since the Unix epoch, if HasTime
	HasTime bool
	Values  []float32   // in the group's channel order; NaN: missing
	Line    int         // input line or message number, for messages
	orig    *lineMetric // the line of line protocol it came as, if it did
	wal     int64       // its message's number in the input log (0: none)
}

// Service runs the groups.
type Service struct {
	cfg     *Config
	groups  map[string]*group
	order   []*group
	sink    Sink
	log     *slog.Logger
	M       *Metrics
	wg      sync.WaitGroup
	closed  bool
	mu      sync.RWMutex // Accept holds it shared while sending; Close exclusively
	version string       // edge's, for events and Home Assistant
	pins    walPins      // logged readings on their way to a group
}

// New loads each group's model and prepares its pipeline.
func New(cfg *Config, sink Sink, log *slog.Logger) (*Service, error) {
	return build(cfg, sink, log, newMetrics(), buildVersion(""))
}

func build(cfg *Config, sink Sink, log *slog.Logger, met *Metrics, version string) (*Service, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{cfg: cfg, groups: map[string]*group{}, sink: sink, log: log, M: met, version: version}
	for i, gc := range cfg.Groups {
		g, err := newGroup(s, gc)
		if err != nil {
			return nil, fmt.Errorf("groups[%d] (%s): %w", i, gc.Name, err)
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

// newGroup loads the group's model, compiles it once for all its
// devices, and makes the group's first stream (device ""), which checks
// that the model can denoise and score as configured.
func newGroup(s *Service, gc GroupConfig) (*group, error) {
	m, sum, err := loadModel(gc.Model)
	if err != nil {
		return nil, err
	}
	s.M.Model.With(gc.Name, gc.Model, sum).Set(1)
	g := &group{cfg: gc, m: m, s: s, sha256: sum, in: make(chan Reading, s.cfg.Queue), devices: map[string]*device{}, ctl: make(chan func())}
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
		return nil, fmt.Errorf("channels: %d names for a model of %d channels", len(g.names), m.Channels)
	}
	if gc.Denoise != "" {
		if g.mode, err = denoise.ParseMode(gc.Denoise); err != nil {
			return nil, fmt.Errorf("denoise: %w", err)
		}
	}
	c, err := g.check(m, sum) // the checks every later model passes too
	if err != nil {
		return nil, err
	}
	g.prog = c.prog
	// A topic with wildcards: every reading names its device, so there is
	// no stream without one.
	if f, _ := filterOf(gc.Topic); !strings.ContainsAny(f, "+#") || s.cfg.Input.Source != "mqtt" {
		if _, err := g.device(""); err != nil {
			return nil, err
		}
	}
	g.progress.Store(time.Now().UnixNano())
	s.M.Invalid.With(gc.Name) // the series exists from the start, at 0
	return g, nil
}

// newProcessors makes one device's denoiser and scorer over the group's
// compiled model.
func (g *group) newProcessors(d *device) error {
	st := stream.Config{Hop: g.cfg.Hop, MaxGap: g.cfg.MaxGap, Grace: g.cfg.Grace}
	var err error
	if g.cfg.Denoise != "" {
		if d.den, err = denoise.New(g.m, denoise.Config{Mode: g.mode, Stream: st, Program: g.prog}, d.cleaned); err != nil {
			return err
		}
	}
	if g.cfg.Score {
		if d.sc, err = anomaly.New(g.m, anomaly.Config{Stream: st, Program: g.prog}, d.scored); err != nil {
			return fmt.Errorf("the scorer: %w (calibrate the model's threshold with edge calibrate)", err)
		}
	}
	var c stream.Config
	if d.den != nil {
		c = d.den.Stream().Config()
	}
	if d.sc != nil {
		if sc := d.sc.Stream().Config(); sc.Steps+sc.Hop+sc.History > c.Steps+c.Hop+c.History {
			c = sc
		}
	}
	d.held.resize(c)
	return nil
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
	if err := checkDevice(r.Device); err != nil {
		s.M.Invalid.With(r.Group).Inc()
		return fmt.Errorf("group %s: %w", r.Group, err)
	}
	if r.Line == 0 {
		r.Line = int(g.seq.Add(1))
	}
	s.pins.add(r.wal)
	select {
	case g.in <- r:
		return nil
	case <-ctx.Done():
		s.pins.done(r.wal)
		return ctx.Err()
	}
}

// Close stops accepting, processes every queued reading, flushes each
// device's last rows, and returns when all results are with the sink.
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

// group is one sensor group: its model, compiled once, and a stream per
// device, run by the group's own goroutine.
type group struct {
	cfg      GroupConfig
	m        *model.Model
	prog     *model.Program
	sha256   string // the model file's
	mode     denoise.Mode
	names    []string
	in       chan Reading
	s        *Service
	devices  map[string]*device
	ctl      chan func()  // work for the group's goroutine between readings (model swaps)
	seq      atomic.Int64 // readings numbered when the input has no lines
	progress atomic.Int64 // wall clock (Unix ns) of the last reading processed
}
