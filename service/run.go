package service

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeml/edge/internal/sdnotify"

	"go.bug.st/serial"
)

// stdoutSink writes results as JSON lines {"topic", "payload"}, or, with
// raw, the payloads alone (line protocol), one per line.
type stdoutSink struct {
	mu  sync.Mutex
	w   *bufio.Writer
	raw bool
}

func (s *stdoutSink) Publish(topic string, payload []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.raw {
		s.w.Write(payload)
		return s.w.WriteByte('\n')
	}
	s.w.WriteString(`{"topic":`)
	b, _ := json.Marshal(topic)
	s.w.Write(b)
	s.w.WriteString(`,"payload":`)
	s.w.Write(payload)
	s.w.WriteString("}\n")
	return nil
}

// every calls f every d on its own goroutine until the returned function
// is called (and returns once the goroutine has ended).
func every(d time.Duration, f func(now time.Time)) (stop func()) {
	done, ended := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(ended)
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				f(now)
			}
		}
	}()
	return func() { close(done); <-ended }
}

func (s *stdoutSink) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Flush()
}

// Options are what Run needs besides the configuration.
type Options struct {
	Stdin  io.Reader
	Stdout io.Writer
	Log    *slog.Logger
	// DrainTimeout bounds the wait for queued results at shutdown
	// (default 10 s).
	DrainTimeout time.Duration
	// Ready, if set, is called once the service runs (for tests).
	Ready func(s *Service, metricsAddr string)
	// Version is the build's version, for edge_build_info (default: the
	// main module's version from the build information).
	Version string
	// Reload, when it receives, makes the service read its groups' model
	// files again and swap in the changed ones (SIGHUP).
	Reload <-chan struct{}
}

// Run runs the service until ctx ends (SIGTERM) or the input ends (stdin
// or a serial line closed), then drains: every accepted reading is
// processed and its results handed on before Run returns.
func Run(ctx context.Context, cfg *Config, o Options) error {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = 10 * time.Second
	}
	var sink Sink
	var out *stdoutSink
	var mq *MQTT
	inCtx, stopInput := context.WithCancel(ctx)
	defer stopInput()
	if cfg.Output.Stdout {
		out = &stdoutSink{w: bufio.NewWriterSize(o.Stdout, 64<<10), raw: cfg.Output.Format == "influx"}
		sink = out
	}
	reg := newMetrics()
	reg.Reg.RegisterProcess()
	reg.Reg.Info("edge_build_info", "the build of edge that runs: version and Go version", []string{"version", "goversion"}, []string{buildVersion(o.Version), runtime.Version()})
	rt := newRouter(cfg, log)
	if err := rt.openLog(); err != nil {
		return err
	}
	defer rt.closeLog()
	if cfg.MQTT != nil {
		// The connection outlives ctx: after SIGTERM it still has to
		// deliver the drained results.
		connCtx, connCancel := context.WithCancel(context.Background())
		defer connCancel()
		var err error
		if mq, err = DialMQTT(connCtx, cfg.MQTT, rt.filters, rt.handle, reg.Reg, log); err != nil {
			return err
		}
		if sink == nil {
			sink = mq
		}
	}
	svc, err := build(cfg, sink, log, reg, buildVersion(o.Version)) // on the registry the MQTT metrics are on
	if err != nil {
		if mq != nil {
			mq.Close(context.Background())
		}
		return err
	}
	rt.start(svc)
	var cp *checkpointer
	if rt.wal != nil {
		cp = &checkpointer{rt: rt, out: mq.outbox(), maxBytes: cfg.MQTT.InputBytes, log: log}
		defer cp.start()()
	}
	srv, addr, err := serveMetrics(cfg, svc, log)
	if err != nil {
		svc.Close()
		return err
	}
	if o.Ready != nil {
		o.Ready(svc, addr)
	}
	if out != nil {
		// So that a reader (a pipe, Telegraf) sees results as they come.
		defer every(100*time.Millisecond, func(time.Time) { _ = out.flush() })()
	}
	if err := sdnotify.Notify(sdnotify.Ready); err != nil {
		log.Warn("systemd notification", "err", err)
	}
	stopWatchdog := watchdog(svc, log)
	stopReload := reloader(svc, cfg, o.Reload, log)
	defer stopReload()
	runErr := waitInput(ctx, startInput(inCtx, cfg, o, svc, log), log)
	stopWatchdog()
	_ = sdnotify.Notify(sdnotify.Stopping)
	stopInput()
	rt.stop()
	svc.Close()
	dctx, cancel := context.WithTimeout(context.Background(), o.DrainTimeout)
	defer cancel()
	if mq != nil {
		err := mq.Close(dctx)
		if cp != nil {
			cp.final(mq.outbox().spill.kept())
		}
		if err != nil && runErr == nil {
			runErr = fmt.Errorf("mqtt: results still queued at the drain timeout: %w", err)
		}
	}
	if out != nil {
		if err := out.flush(); err != nil && runErr == nil {
			runErr = err
		}
	}
	if srv != nil {
		srv.Close()
	}
	log.Info("stopped", "readings_in", svc.M.In.Total(), "readings_out", svc.M.Cleaned.Total(), "anomalies", svc.M.Anomalies.Total(), "invalid", svc.M.Invalid.Total())
	return runErr
}

// reloader swaps in changed model files on a signal (reload) and, with
// model_watch, when their content changes; it returns its stop function.
func reloader(svc *Service, cfg *Config, reload <-chan struct{}, log *slog.Logger) (stop func()) {
	stopWatch := func() {}
	if cfg.ModelWatch > 0 {
		stopWatch = every(time.Duration(cfg.ModelWatch*float64(time.Second)), func(time.Time) { _ = svc.ReloadModels() })
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-reload:
				_ = sdnotify.Notify(sdnotify.Reloading)
				log.Info("reloading the models")
				_ = svc.ReloadModels()
				_ = sdnotify.Notify(sdnotify.Ready)
			}
		}
	}()
	return func() { close(done); stopWatch() }
}

// watchdog pings systemd's watchdog (when the unit sets WatchdogSec)
// while no group is stalled, and returns the function that stops it. A
// stalled group stops the pings, and systemd restarts the service.
func watchdog(svc *Service, log *slog.Logger) (stop func()) {
	d := sdnotify.WatchdogInterval()
	if d == 0 {
		return func() {}
	}
	return every(d, func(time.Time) {
		if g := svc.Stalled(2 * d); g != "" {
			log.Error("group stalled: no watchdog ping", "group", g)
			return
		}
		_ = sdnotify.Notify(sdnotify.Watchdog)
	})
}

// buildVersion returns v, else the main module's version from the build
// information, else "dev".
func buildVersion(v string) string {
	if v != "" {
		return v
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}

// router hands MQTT messages to the service's groups by topic, and to
// the group's device the topic names; messages wait until the service is
// built (start).
type router struct {
	cfg     *Config
	log     *slog.Logger
	filters []string          // the subscribed topic filters, in the groups' order
	exact   map[string]string // topic -> group, for templates without wildcards
	routes  []route           // the other templates, in the groups' order
	models  map[string]string // model push topic -> group
	ready   chan struct{}
	svc     *Service
	asm     *assembler // input.format value: rows from one value per message
	stopAsm func()     // stops the assembler's window
	wal     *inputLog  // mqtt.input_log: messages on disk until their results are safe
	replay  []logRecord
	// handling is the log number of the message being handled (0: none).
	handling atomic.Int64
}

// route is a group's input topic template with wildcards or {device}.
type route struct{ template, group string }

func newRouter(cfg *Config, log *slog.Logger) *router {
	rt := &router{cfg: cfg, log: log, exact: map[string]string{}, models: map[string]string{}, ready: make(chan struct{})}
	if m := cfg.MQTT; m != nil && m.ModelTopic != "" {
		for _, g := range cfg.Groups {
			t := strings.ReplaceAll(m.ModelTopic, "{group}", g.Name)
			rt.filters = append(rt.filters, t)
			rt.models[t] = g.Name
		}
	}
	if cfg.Input.Source == "mqtt" {
		for _, g := range cfg.Groups {
			f, _ := filterOf(g.Topic) // validated
			rt.filters = append(rt.filters, f)
			if f == g.Topic && !strings.ContainsAny(f, "+#") {
				rt.exact[f] = g.Name
			} else {
				rt.routes = append(rt.routes, route{g.Topic, g.Name})
			}
		}
	}
	return rt
}

// openLog opens the input log (mqtt.input_log on, MQTT input) and reads
// the messages it still holds, for start.
func (rt *router) openLog() error {
	m := rt.cfg.MQTT
	if m == nil || m.InputLog != "on" || rt.cfg.Input.Source != "mqtt" {
		return nil
	}
	var err error
	delay := time.Duration(m.AckDelay * float64(time.Millisecond))
	rt.wal, rt.replay, err = openInputLog(filepath.Join(m.QueueDir, "input"), m.InputBytes, delay)
	return err
}

// closeLog sends the acknowledgements still waiting and closes the log.
func (rt *router) closeLog() {
	if rt.wal != nil {
		_ = rt.wal.close()
	}
}

// start lets the messages through to svc; with plain values, it starts
// releasing incomplete rows after input.assemble seconds.
func (rt *router) start(svc *Service) {
	rt.svc = svc
	if rt.cfg.Input.Format == "value" {
		window := time.Duration(rt.cfg.Input.Assemble * float64(time.Second))
		rt.asm = newAssembler(window, func(r Reading) { rt.accept(r, "") })
		rt.stopAsm = every(max(window/4, 10*time.Millisecond), rt.asm.flush)
	}
	if len(rt.replay) > 0 {
		rt.log.Info("input log: processing the messages of the last run whose results were not yet safe", "messages", len(rt.replay))
	}
	for _, r := range rt.replay { // before any new message
		rt.process(r.topic, r.payload, r.arrival, r.seq)
	}
	rt.svc.M.Replayed.Add(uint64(len(rt.replay)))
	rt.replay = nil
	close(rt.ready)
}

// match returns the group, device and channel of a message's topic.
func (rt *router) match(topic string) (group, device, channel string, ok bool) {
	if g, ok := rt.exact[topic]; ok {
		return g, "", "", true
	}
	for _, r := range rt.routes {
		if d, c, ok := matchTemplate(r.template, topic); ok {
			return r.group, d, c, true
		}
	}
	return "", "", "", false
}

// stop releases the rows the assembler still holds (their missing
// channels missing), once the input has stopped and before the service
// closes: no value taken in is dropped.
func (rt *router) stop() {
	if rt.asm != nil {
		rt.stopAsm()
		rt.asm.flush(time.Now().Add(100 * 365 * 24 * time.Hour))
	}
}

// accept hands a reading to the service; false if the service has
// closed.
func (rt *router) accept(r Reading, topic string) bool {
	// Not the input's context: a reading taken in after the input stopped
	// still waits for room (the groups drain until the service closes).
	err := rt.svc.Accept(context.Background(), r)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, ErrClosed) {
		rt.log.Warn("reading not accepted", "topic", topic, "err", err)
	}
	return !errors.Is(err, ErrClosed)
}

// handle takes a message from the broker: with the input log, it is
// logged, processed, and acknowledged once the log is on the disk; a
// redelivery of a message the log already replayed is acknowledged and
// dropped; a message that comes after the service closed is not
// acknowledged (the broker keeps it for the next run).
func (rt *router) handle(m Message) {
	<-rt.ready
	if rt.wal == nil {
		rt.process(m.Topic, m.Payload, time.Now(), 0)
		if m.Ack != nil {
			m.Ack()
		}
		return
	}
	if m.Duplicate && rt.wal.redelivered(m.Topic, m.Payload) {
		rt.svc.M.Redelivered.Inc()
		rt.wal.afterSync(m.Ack)
		return
	}
	now := time.Now()
	rt.handling.Store(rt.wal.nextSeq()) // before the log has it: pin sees it in one or the other
	seq, err := rt.wal.append(m.Topic, m.Payload, now)
	if err != nil {
		rt.svc.M.LogFull.Inc()
		rt.log.Error("input log: message not logged (it is processed, but a kill before its results are out loses it)", "topic", m.Topic, "err", err)
		seq = 0
	}
	ok := rt.process(m.Topic, m.Payload, now, seq)
	rt.handling.Store(0)
	if ok {
		rt.wal.afterSync(m.Ack)
	}
}

// process routes one message to its group (false: the service has
// closed).
func (rt *router) process(topic string, payload []byte, arrival time.Time, seq int64) bool {
	svc, log := rt.svc, rt.log
	if g, ok := rt.models[topic]; ok {
		if len(payload) > 0 { // an empty retained message clears the push
			svc.pushed(g, payload, rt.cfg.MQTT.ModelAckTopic)
		}
		return true
	}
	group, device, channel, ok := rt.match(topic)
	if !ok {
		svc.M.Invalid.With("").Inc()
		log.Warn("message on an unconfigured topic", "topic", topic)
		return true
	}
	if rt.asm != nil {
		if err := rt.asm.add(group, device, svc.Group(group), channel, payload, arrival, seq); err != nil {
			svc.M.Invalid.With(group).Inc()
			log.Warn("malformed value rejected", "topic", topic, "err", err)
		}
		return true
	}
	rs, err := rt.parse(payload, group)
	if err != nil {
		svc.M.Invalid.With(group).Inc()
		log.Warn("malformed reading rejected", "topic", topic, "err", err)
		return true
	}
	for _, r := range rs {
		if device != "" {
			r.Device = device // the topic's device wins over the payload's
		}
		r.wal = seq
		if !rt.accept(r, topic) {
			return false
		}
	}
	return true
}

// parse reads an MQTT payload: one JSON object, or lines of line
// protocol (a batch from Telegraf's outputs.mqtt); one bad line rejects
// the message.
func (rt *router) parse(payload []byte, group string) ([]Reading, error) {
	names, unit := rt.svc.Group(group), rt.cfg.Input.unit
	if rt.cfg.Input.Format != "influx" {
		r, err := parseJSON(payload, group, names, unit)
		return []Reading{r}, err
	}
	if len(payload) > MaxPayload {
		return nil, fmt.Errorf("payload of %d bytes (limit %d)", len(payload), MaxPayload)
	}
	var rs []Reading
	for i, l := range strings.Split(string(payload), "\n") {
		if l = strings.TrimSpace(l); l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		m, err := parseLine(l)
		if err == nil {
			var r Reading
			if r, err = m.reading(group, names, unit); err == nil {
				r.orig = &m
				rs = append(rs, r)
				continue
			}
		}
		return nil, fmt.Errorf("line %d: %w", i+1, err)
	}
	if len(rs) == 0 {
		return nil, errors.New("no line of line protocol")
	}
	return rs, nil
}

// serveMetrics serves /metrics unless metrics.listen is off, and returns
// the server and its address.
func serveMetrics(cfg *Config, svc *Service, log *slog.Logger) (*http.Server, string, error) {
	if cfg.Metrics.Listen == "off" {
		return nil, "", nil
	}
	ln, err := net.Listen("tcp", cfg.Metrics.Listen)
	if err != nil {
		return nil, "", fmt.Errorf("metrics.listen %s: %w", cfg.Metrics.Listen, err)
	}
	addr := ln.Addr().String()
	mux := http.NewServeMux()
	mux.Handle("/metrics", svc.M.Reg.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	log.Info("metrics", "url", "http://"+addr+"/metrics")
	return srv, addr, nil
}

// startInput reads stdin or the serial line into the service until ctx
// ends; the channel gets the input's end (MQTT messages arrive through
// the router instead, and the channel never gets anything).
func startInput(ctx context.Context, cfg *Config, o Options, svc *Service, log *slog.Logger) <-chan error {
	inputErr := make(chan error, 1)
	switch cfg.Input.Source {
	case "stdin":
		go func() { inputErr <- readLines(ctx, o.Stdin, "stdin", cfg, svc, log) }()
	case "serial":
		go func() {
			p, err := serial.Open(cfg.Input.Port, &serial.Mode{BaudRate: cfg.Input.Baud})
			if err != nil {
				inputErr <- fmt.Errorf("input.port %s: %w", cfg.Input.Port, err)
				return
			}
			go func() { <-ctx.Done(); p.Close() }()
			inputErr <- readLines(ctx, p, cfg.Input.Port, cfg, svc, log)
		}()
	}
	return inputErr
}

// waitInput waits for ctx to end or the input to, and returns the
// input's error.
func waitInput(ctx context.Context, inputErr <-chan error, log *slog.Logger) error {
	select {
	case <-ctx.Done():
		log.Info("stopping: draining accepted readings")
		return nil
	case err := <-inputErr:
		if err != nil {
			log.Error("input", "err", err)
		} else {
			log.Info("input ended: draining")
		}
		return err
	}
}

// readLines feeds JSON or CSV lines to the service.
func readLines(ctx context.Context, r io.Reader, name string, cfg *Config, s *Service, log *slog.Logger) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxPayload+1)
	lp, err := newLineParser(cfg, s)
	if err != nil {
		return err
	}
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if line == 1 {
			text = strings.TrimPrefix(text, "\uFEFF") // a byte-order mark
		}
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		rd, group, err := lp.parse(text, line)
		if errors.Is(err, errHeader) {
			continue
		}
		if err != nil && lp.passThrough() {
			// A processor in a Telegraf pipeline hands on what is not its own.
			s.sink.Publish("", []byte(text))
			log.Debug("line passed through", "input", name, "line", line, "why", err)
			continue
		}
		if err != nil {
			s.M.Invalid.With(s.knownGroup(group)).Inc()
			log.Warn("malformed reading rejected", "input", name, "line", line, "err", err)
			continue
		}
		rd.Line = line
		if err := s.Accept(ctx, rd); err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, ErrClosed) {
				return nil
			}
			log.Warn("reading not accepted", "input", name, "line", line, "err", err)
		}
	}
	if err := sc.Err(); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("%s line %d: %w", name, line+1, err)
	}
	return nil
}

// lineParser reads serial and stdin lines in the input's format.
type lineParser struct {
	cfg *Config
	s   *Service
	csv *csvParser
}

// passThrough reports whether lines that are not readings go out as
// they came: line protocol in and out, as Telegraf's execd processors do.
func (lp *lineParser) passThrough() bool {
	return lp.cfg.Input.Format == "influx" && lp.cfg.Output.Format == "influx" && lp.cfg.Output.Stdout
}

// errHeader marks a CSV header line, skipped.
var errHeader = errors.New("a header line")

func newLineParser(cfg *Config, s *Service) (*lineParser, error) {
	lp := &lineParser{cfg: cfg, s: s}
	if cfg.Input.Format == "csv" {
		var err error
		if lp.csv, err = newCSVParser(cfg.Input.Columns, s.Group(cfg.Input.Group), cfg.Input.Group); err != nil {
			return nil, err
		}
		lp.csv.delim, lp.csv.unit = cfg.Input.delim, cfg.Input.unit
	}
	return lp, nil
}

// parse reads one line and returns its reading and group.
func (lp *lineParser) parse(text string, line int) (Reading, string, error) {
	group := ""
	if len(lp.cfg.Groups) == 1 {
		group = lp.cfg.Groups[0].Name
	}
	switch lp.cfg.Input.Format {
	case "csv":
		rd, err := lp.csv.parse(text)
		if err != nil && line == 1 && isHeader(text, lp.cfg.Input.Columns, lp.csv.delim) {
			return rd, rd.Group, errHeader
		}
		return rd, rd.Group, err
	case "influx":
		m, err := parseLine(text)
		if err != nil {
			return Reading{}, group, err
		}
		if len(lp.cfg.Groups) > 1 {
			group = m.name
		}
		if lp.s.Group(group) == nil {
			return Reading{}, group, fmt.Errorf("measurement %q is not a configured group", m.name)
		}
		rd, err := m.reading(group, lp.s.Group(group), lp.cfg.Input.unit)
		rd.orig = &m
		return rd, group, err
	}
	var head struct {
		Group string `json:"group"`
	}
	if json.Unmarshal([]byte(text), &head) == nil && head.Group != "" {
		group = head.Group
	}
	if lp.s.Group(group) == nil {
		return Reading{}, group, fmt.Errorf("group %q is not configured", group)
	}
	rd, err := parseJSON([]byte(text), group, lp.s.Group(group), lp.cfg.Input.unit)
	return rd, group, err
}

// isHeader reports whether a CSV line that did not parse names columns: a
// field is a configured column or a timestamp name.
func isHeader(line string, columns []string, delim rune) bool {
	for _, f := range strings.Split(line, string(delim)) {
		f = strings.TrimSpace(f)
		if f == "ts" || f == "time" || f == "timestamp" || slices.Contains(columns, f) {
			return true
		}
	}
	return false
}
