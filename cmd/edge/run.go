package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/edgeml/edge/service"
)

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", stderr)
	config := fs.String("config", "", "JSON configuration (groups, input, mqtt, output, metrics, log); the flags below cover one group without a file")
	modelPath := fs.String("model", "", "the model of a single group (without --config)")
	group := fs.String("group", "", "the group's name (default: the model file's name)")
	den := fs.String("denoise", "", "denoise the stream: centred or causal")
	score := fs.Bool("score", false, "score the stream for anomalies (the model needs a threshold: edge calibrate)")
	broker := fs.String("mqtt", "", "broker URL, e.g. mqtt://localhost:1883 or mqtts://host:8883; readings come from --topic, results go to edge/GROUP/clean and edge/GROUP/events")
	topic := fs.String("topic", "", "MQTT topic the readings arrive on (default edge/GROUP/in)")
	clientID := fs.String("client-id", "", "MQTT client id (default edge-HOSTNAME)")
	port := fs.String("serial", "", "read one reading per line from this serial device, e.g. /dev/ttyUSB0")
	baud := fs.Int("baud", 115200, "serial line speed")
	format := fs.String("format", "json", "serial and stdin lines: json (an object per line) or csv (fields named by --columns)")
	columns := fs.String("columns", "", "csv: the fields of a line, e.g. ts,temp,vib (ts: the timestamp)")
	delimiter := fs.String("delimiter", "", "csv: the field delimiter, e.g. ; (with decimal commas) or tab (default: the one that splits the first line into --columns)")
	timeUnit := fs.String("time-unit", "auto", "unit of numeric timestamps: s, ms, us, ns, or auto (each told by its magnitude: beyond 1e11 ms, 1e14 us, 1e17 ns)")
	maxGap := fs.Float64("max-gap", 0, "a time gap longer than this many sampling periods restarts the stream; shorter ones are bridged (default 100, or the longest gap in the model's training data; negative: never)")
	metricsAddr := fs.String("metrics", "127.0.0.1:9097", `Prometheus metrics address (/metrics); "off": none`)
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	logJSON := fs.Bool("log-json", false, "structured logs as JSON (default: text)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: edge run --config FILE
       edge run --model MODEL [--denoise causal] [--score] [--mqtt URL | --serial DEV] [flags]

Runs as a service: readings arrive over MQTT, a serial line (one per line)
or stdin; each sensor group denoises and/or scores its stream; cleaned
values and anomaly events (JSON with timestamp, score, flag and the top
channels) go to MQTT topics, or to stdout as JSON lines. MQTT uses QoS 1
on a persistent session, reconnects with backoff and holds results in a
bounded offline queue while the broker is away (overflow is counted).
SIGTERM drains: every accepted reading is processed and its results
handed on before exit. Metrics in the Prometheus text format on
--metrics (localhost by default). See docs/service.md.

Flags:`)
		fs.PrintDefaults()
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	var cfg *service.Config
	var err error
	switch {
	case *config != "" && *modelPath != "":
		return fmt.Errorf("%w: --config and --model exclude each other", errUsage)
	case *config != "":
		if cfg, err = service.LoadConfig(*config); err != nil {
			return err
		}
	case *modelPath != "":
		name := *group
		if name == "" {
			name = strings.TrimSuffix(filepath.Base(*modelPath), filepath.Ext(*modelPath))
			name = strings.TrimSuffix(name, ".int8")
		}
		cfg = &service.Config{
			Groups:  []service.GroupConfig{{Name: name, Model: *modelPath, Denoise: *den, Score: *score, Topic: *topic, MaxGap: *maxGap}},
			Input:   service.InputConfig{Format: *format, Port: *port, Baud: *baud, Delimiter: *delimiter, TimeUnit: *timeUnit},
			Metrics: service.MetricsConfig{Listen: *metricsAddr},
			Log:     service.LogConfig{Level: *logLevel},
		}
		if *columns != "" {
			cfg.Input.Columns = strings.Split(*columns, ",")
		}
		switch {
		case *port != "":
			cfg.Input.Source = "serial"
		case *broker != "":
			cfg.Input.Source = "mqtt"
		default:
			cfg.Input.Source = "stdin"
		}
		if *broker != "" {
			cfg.MQTT = &service.MQTTConfig{URL: *broker, ClientID: *clientID}
		}
		if *logJSON {
			cfg.Log.Format = "json"
		}
		if err := cfg.Check(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
	default:
		return fmt.Errorf("%w: give --config FILE or --model MODEL", errUsage)
	}
	log := newLogger(stderr, cfg.Log)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reload, stopHUP := reloadSignal()
	defer stopHUP()
	return service.Run(ctx, cfg, service.Options{Stdin: stdin, Stdout: stdout, Log: log, Version: buildVersion(), Reload: reload})
}

// reloadSignal turns SIGHUP (systemctl reload edge) into model reloads;
// a reload already waiting absorbs further signals.
func reloadSignal() (<-chan struct{}, func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-hup:
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}
	}()
	return reload, func() { signal.Stop(hup); close(done) }
}

// newLogger returns the service's logger: text or JSON on stderr, at the
// configured level (default info).
func newLogger(stderr io.Writer, c service.LogConfig) *slog.Logger {
	level := slog.LevelInfo
	switch c.Level {
	case "debug":
		level = slog.LevelDebug
	case "warn":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(stderr, opts))
	}
	return slog.New(slog.NewTextHandler(stderr, opts))
}
