// Package service is edge run: readings arrive (MQTT, a serial line or
// stdin), each configured sensor group denoises and/or scores its own
// stream, and cleaned values and anomaly events go out (MQTT topics or
// stdout), with metrics and structured logs, for months under systemd.
package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeml/edge/dataset"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/stream"
)

// Config is the service's configuration file (JSON).
type Config struct {
	Groups  []GroupConfig `json:"groups"`
	Input   InputConfig   `json:"input"`
	MQTT    *MQTTConfig   `json:"mqtt,omitempty"`
	Output  OutputConfig  `json:"output"`
	Metrics MetricsConfig `json:"metrics"`
	Log     LogConfig     `json:"log"`
	// Queue bounds the readings waiting for each group's worker; a full
	// queue makes the input wait (MQTT then holds back its acknowledgements).
	Queue int `json:"queue,omitempty"`
	// Host names this edge in topics ({host}), events and Home Assistant
	// (default: the machine's host name).
	Host string `json:"host,omitempty"`
	// ModelWatch, if positive, checks the groups' model files this often
	// (seconds) and swaps in a changed one, as SIGHUP does.
	ModelWatch float64 `json:"model_watch,omitempty"`
}

// GroupConfig is one sensor group: a model and what to do with its stream.
type GroupConfig struct {
	Name  string `json:"name"`
	Model string `json:"model"`
	// Channels names the payload fields in the model's channel order
	// (default: the model's channel names).
	Channels []string `json:"channels,omitempty"`
	// Topic the group's readings arrive on (MQTT; default edge/NAME/in).
	// A {device} segment (sensors/{device}/readings) or wildcards (+, #)
	// give each device its own stream over the group's model: the device
	// is the {device} segment, else the segments the wildcards match.
	Topic   string `json:"topic,omitempty"`
	Denoise string `json:"denoise,omitempty"` // "", "centred" or "causal"
	Score   bool   `json:"score,omitempty"`
	Hop     int    `json:"hop,omitempty"` // default: the model's
	// MaxGap: a time gap longer than this many sampling periods restarts
	// the group's stream; shorter gaps are bridged (default 100, or the
	// longest gap in the model's training data; negative: never).
	MaxGap float64 `json:"max_gap,omitempty"`
	// Grace: a reading may arrive up to Grace readings late (a publisher
	// that resends out of order) and still take its place in time order;
	// results wait as many readings (default 0; at most 4096).
	Grace int `json:"grace,omitempty"`
	// MaxDevices bounds the group's device streams (default 1000):
	// readings of further devices are refused and counted.
	MaxDevices int `json:"max_devices,omitempty"`
	// DeviceIdle: a device without readings for this many seconds has
	// its stream ended (its last rows flushed, its memory and series
	// freed; default 3600; negative: never).
	DeviceIdle float64 `json:"device_idle,omitempty"`
}

// InputConfig chooses where readings come from.
type InputConfig struct {
	Source string `json:"source"` // "mqtt", "serial" or "stdin"
	// Serial line settings.
	Port string `json:"port,omitempty"`
	Baud int    `json:"baud,omitempty"`
	// Format of the readings: "json" (an object per message or line, with
	// a "group" field on serial and stdin lines when there are several
	// groups), "influx" (InfluxDB line protocol, as Telegraf writes it: the
	// measurement names the group when there are several; an MQTT message
	// may hold several lines) or, on serial and stdin, "csv" (the fields
	// named by Columns, for the one group named by Group), or, on MQTT,
	// "value": a plain value per message, its channel the topic's
	// {channel} segment (ESPHome, Home Assistant, Homie), made into rows
	// by device within Assemble seconds.
	Format string `json:"format,omitempty"`
	// Assemble: with format value, a row is released this many seconds
	// after its first value even if channels are missing (default 1).
	Assemble float64  `json:"assemble,omitempty"`
	Columns  []string `json:"columns,omitempty"`
	Group    string   `json:"group,omitempty"`
	// Delimiter of csv lines: ",", ";" (with decimal commas), "tab", "|"
	// (default: the one that splits the first line into Columns).
	Delimiter string `json:"delimiter,omitempty"`
	// TimeUnit of numeric timestamps, csv and json: s, ms, us, ns or
	// auto (default: each told by its magnitude, see dataset.GuessUnit).
	TimeUnit string `json:"time_unit,omitempty"`
	delim    rune
	unit     dataset.TimeUnit
}

// MQTTConfig is the broker connection.
type MQTTConfig struct {
	URL string `json:"url"` // mqtt://host:1883 or mqtts://host:8883
	// Protocol: "5" (default, through autopaho) or "3.1.1" for brokers
	// that do not speak MQTT 5.
	Protocol      string `json:"protocol,omitempty"`
	ClientID      string `json:"client_id"`
	Username      string `json:"username,omitempty"`
	PasswordFile  string `json:"password_file,omitempty"`
	CAFile        string `json:"ca_file,omitempty"`
	CertFile      string `json:"cert_file,omitempty"`
	KeyFile       string `json:"key_file,omitempty"`
	KeepAlive     int    `json:"keep_alive,omitempty"`     // seconds, default 30
	SessionExpiry int    `json:"session_expiry,omitempty"` // seconds, default 86400
	// OfflineQueue bounds the results held while the broker is away;
	// overflow is dropped and counted (default 100000).
	OfflineQueue int `json:"offline_queue,omitempty"`
	// QueueDir, if set, keeps the offline queue's overflow on disk: results
	// made while the broker is away go to a spool there and survive a
	// restart, a reboot or a kill (default $STATE_DIRECTORY/queue
	// under systemd, else memory only). QueueBytes bounds it (default
	// 256 MiB).
	QueueDir   string `json:"queue_dir,omitempty"`
	QueueBytes int64  `json:"queue_bytes,omitempty"`
	// InputLog ("on", the default with a queue_dir, or "off") keeps every
	// message in a write-ahead log (queue_dir/input) and acknowledges it
	// to the broker only once it is on the disk; a message leaves the log
	// once its results are acknowledged by the broker or in the disk
	// queue. So a kill, a reboot or a broker restart loses no reading:
	// the log's messages are processed again at the next start (results
	// at least once). InputBytes bounds the log (default 256 MiB); past
	// half of it, the device stream that holds the oldest reading is
	// flushed, as at device_idle. AckDelay (ms, default 20) is how long an
	// acknowledgement waits to share the log's sync with others.
	InputLog   string  `json:"input_log,omitempty"`
	InputBytes int64   `json:"input_bytes,omitempty"`
	AckDelay   float64 `json:"ack_delay,omitempty"`
	// StatusTopic carries edge's availability, retained: "online" once
	// connected, "offline" at shutdown and, as the connection's Will, when
	// edge vanishes (default edge/{host}/status; "off": none).
	StatusTopic string `json:"status_topic,omitempty"`
	// DiscoveryPrefix, if set (Home Assistant's is "homeassistant"),
	// publishes retained discovery configurations: per group (and device)
	// an anomaly score sensor and an anomaly binary_sensor.
	DiscoveryPrefix string `json:"discovery_prefix,omitempty"`
	// ModelTopic, if set, is where a fleet pushes models: a retained
	// message holding a model file, per group ({group}) and cohort
	// ({cohort}), e.g. edge/models/{cohort}/{group}. A model that passes
	// the group's checks is written over the group's model file (the old
	// one kept as FILE.prev) and swapped in; the result goes to
	// ModelAckTopic (default edge/{host}/models/ack).
	ModelTopic    string `json:"model_topic,omitempty"`
	Cohort        string `json:"cohort,omitempty"` // default "default"
	ModelAckTopic string `json:"model_ack_topic,omitempty"`
}

// OutputConfig names where results go. Topics may hold {group}.
type OutputConfig struct {
	CleanTopic  string `json:"clean_topic,omitempty"`  // default edge/{group}/clean
	EventsTopic string `json:"events_topic,omitempty"` // default edge/{group}/events
	ScoresTopic string `json:"scores_topic,omitempty"` // every window's score; default none
	// StateTopic receives, retained, each stream's last score and flag
	// ({"score", "flag", "ts"}) at every window and flag change: what Home
	// Assistant's entities read (default edge/{host}/{group}/{device}/state
	// with discovery on, else none).
	StateTopic string `json:"state_topic,omitempty"`
	// Stdout writes results as JSON lines ({"topic", "payload"}) instead
	// of publishing them (the default without MQTT).
	Stdout bool `json:"stdout,omitempty"`
	// Format of the results: "json" (default), or "influx": each reading
	// as one line of line protocol, its cleaned values, anomaly_score and
	// anomaly_flag added (on stdout, just the lines: edge run as Telegraf's
	// processors.execd).
	Format string `json:"format,omitempty"`
}

// MetricsConfig is the Prometheus endpoint.
type MetricsConfig struct {
	Listen string `json:"listen,omitempty"` // default 127.0.0.1:9097; "off": none
}

// LogConfig sets up log/slog.
type LogConfig struct {
	Level  string `json:"level,omitempty"`  // debug, info (default), warn, error
	Format string `json:"format,omitempty"` // text (default) or json
}

// LoadConfig reads and checks a configuration file.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) > 1<<20 {
		return nil, fmt.Errorf("%s: %d bytes; a configuration is at most 1 MiB", path, len(data))
	}
	var c Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, jsonPlace(data, err))
	}
	if err := c.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// jsonPlace adds the line and column of a decoding error.
func jsonPlace(data []byte, err error) error {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 || off > int64(len(data)) {
		return err
	}
	line := 1 + bytes.Count(data[:off], []byte("\n"))
	col := off - int64(bytes.LastIndexByte(data[:off], '\n'))
	return fmt.Errorf("line %d, column %d: %w", line, col, err)
}

// Check fills the defaults (Defaults), validates (Validate), and records
// the parsed forms of the input's delimiter and time unit.
func (c *Config) Check() error {
	c.Defaults()
	if err := c.Validate(); err != nil {
		return err
	}
	c.Input.delim, _ = dataset.ParseDelimiter(c.Input.Delimiter) // validated
	c.Input.unit, _ = dataset.ParseTimeUnit(c.Input.TimeUnit)
	return nil
}

// Defaults fills the fields left empty with their defaults.
func (c *Config) Defaults() {
	for i := range c.Groups {
		g := &c.Groups[i]
		if g.Topic == "" && g.Name != "" {
			g.Topic = "edge/" + g.Name + "/in"
		}
		if g.MaxDevices == 0 {
			g.MaxDevices = 1000
		}
		if g.DeviceIdle == 0 {
			g.DeviceIdle = 3600
		}
	}
	if c.Queue == 0 {
		c.Queue = 1024
	}
	in := &c.Input
	if in.Source == "" {
		in.Source = "stdin"
		if c.MQTT != nil {
			in.Source = "mqtt"
		}
	}
	if in.Source == "serial" && in.Baud == 0 {
		in.Baud = 115200
	}
	if in.Format == "" {
		in.Format = "json"
	}
	if in.Assemble == 0 {
		in.Assemble = 1
	}
	if in.Format == "csv" && in.Group == "" && len(c.Groups) == 1 {
		in.Group = c.Groups[0].Name
	}
	if m := c.MQTT; m != nil {
		if m.Protocol == "" {
			m.Protocol = "5"
		}
		if m.ClientID == "" {
			host, _ := os.Hostname()
			m.ClientID = "edge-" + host
		}
		if m.KeepAlive == 0 {
			m.KeepAlive = 30
		}
		if m.SessionExpiry == 0 {
			m.SessionExpiry = 86400
		}
		if m.OfflineQueue == 0 {
			m.OfflineQueue = 100000
		}
	}
	o := &c.Output
	if o.CleanTopic == "" {
		o.CleanTopic = "edge/{group}/clean"
	}
	if o.EventsTopic == "" {
		o.EventsTopic = "edge/{group}/events"
	}
	if c.MQTT == nil {
		o.Stdout = true
	}
	if c.Metrics.Listen == "" {
		c.Metrics.Listen = "127.0.0.1:9097"
	}
	c.hostDefaults()
}

// hostDefaults fills the host, the status and state topics, and puts the
// host into every topic template ({host} is fixed for the run).
func (c *Config) hostDefaults() {
	if c.Host == "" {
		c.Host, _ = os.Hostname()
		c.Host = strings.NewReplacer("/", "_", "+", "_", "#", "_").Replace(c.Host)
	}
	o := &c.Output
	if m := c.MQTT; m != nil {
		if m.StatusTopic == "" {
			m.StatusTopic = "edge/{host}/status"
		}
		if m.DiscoveryPrefix != "" && o.StateTopic == "" {
			o.StateTopic = "edge/{host}/{group}/{device}/state"
		}
		m.StatusTopic = strings.ReplaceAll(m.StatusTopic, "{host}", c.Host)
		if m.Cohort == "" {
			m.Cohort = "default"
		}
		if d := os.Getenv("STATE_DIRECTORY"); m.QueueDir == "" && d != "" {
			m.QueueDir = filepath.Join(strings.Split(d, ":")[0], "queue")
		}
		if m.QueueBytes == 0 {
			m.QueueBytes = 256 << 20
		}
		if m.InputLog == "" && m.QueueDir != "" {
			m.InputLog = "on"
		}
		if m.InputBytes == 0 {
			m.InputBytes = 256 << 20
		}
		if m.AckDelay == 0 {
			m.AckDelay = 20
		}
		if m.ModelAckTopic == "" {
			m.ModelAckTopic = "edge/{host}/models/ack"
		}
		m.ModelAckTopic = strings.ReplaceAll(m.ModelAckTopic, "{host}", c.Host)
		m.ModelTopic = strings.NewReplacer("{host}", c.Host, "{cohort}", m.Cohort).Replace(m.ModelTopic)
	}
	for _, t := range []*string{&o.CleanTopic, &o.EventsTopic, &o.ScoresTopic, &o.StateTopic} {
		*t = strings.ReplaceAll(*t, "{host}", c.Host)
	}
	for i := range c.Groups {
		c.Groups[i].Topic = strings.ReplaceAll(c.Groups[i].Topic, "{host}", c.Host)
	}
}

// Validate checks a configuration whose defaults are filled, naming the
// field at fault; it changes nothing.
func (c *Config) Validate() error {
	seen, err := c.validateGroups()
	if err != nil {
		return err
	}
	if c.Queue < 1 || c.Queue > 1<<20 {
		return fmt.Errorf("queue %d outside [1, 1048576]", c.Queue)
	}
	if err := c.validateInput(seen); err != nil {
		return err
	}
	if err := c.MQTT.validate(); err != nil {
		return err
	}
	if c.Host == "" || strings.ContainsAny(c.Host, "/+#") || len(c.Host) > 64 {
		return fmt.Errorf("host %q: a name of 1 to 64 characters without / + #", c.Host)
	}
	if f := c.Output.Format; f != "" && f != "json" && f != "influx" {
		return fmt.Errorf("output.format %q: want json or influx", f)
	}
	switch c.Log.Level {
	case "", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q: want debug, info, warn or error", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		return fmt.Errorf("log.format %q: want text or json", c.Log.Format)
	}
	return nil
}

// validateGroups checks the groups and returns their names.
func (c *Config) validateGroups() (map[string]bool, error) {
	if len(c.Groups) == 0 {
		return nil, errors.New("groups: at least one sensor group is needed")
	}
	seen := map[string]bool{}
	for i := range c.Groups {
		g := &c.Groups[i]
		at := fmt.Sprintf("groups[%d]", i)
		switch {
		case g.Name == "" || strings.ContainsAny(g.Name, "/+#") || len(g.Name) > 64:
			return nil, fmt.Errorf("%s.name %q: a name of 1 to 64 characters without / + #", at, g.Name)
		case seen[g.Name]:
			return nil, fmt.Errorf("%s.name %q: used twice", at, g.Name)
		case g.Model == "":
			return nil, fmt.Errorf("%s.model: the model file is required", at)
		case g.Denoise != "" && !validMode(g.Denoise):
			return nil, fmt.Errorf("%s.denoise %q: want centred (or centered), causal or nothing", at, g.Denoise)
		case g.Denoise == "" && !g.Score:
			return nil, fmt.Errorf("%s: neither denoise nor score is set: the group would do nothing", at)
		case g.Hop < 0 || g.Hop > 1<<16:
			return nil, fmt.Errorf("%s.hop %d", at, g.Hop)
		case g.Grace < 0 || g.Grace > stream.MaxGrace:
			return nil, fmt.Errorf("%s.grace %d outside [0, %d]", at, g.Grace, stream.MaxGrace)
		case g.MaxDevices < 1 || g.MaxDevices > 1<<20:
			return nil, fmt.Errorf("%s.max_devices %d outside [1, 1048576]", at, g.MaxDevices)
		case math.IsNaN(g.DeviceIdle) || math.IsInf(g.DeviceIdle, 0):
			return nil, fmt.Errorf("%s.device_idle %v", at, g.DeviceIdle)
		}
		if _, err := filterOf(g.Topic); err != nil {
			return nil, fmt.Errorf("%s.topic %q: %w", at, g.Topic, err)
		}
		seen[g.Name] = true
	}
	return seen, nil
}

// validateInput checks the input section against the groups' names.
func (c *Config) validateInput(groups map[string]bool) error {
	in := &c.Input
	switch in.Source {
	case "mqtt":
		if c.MQTT == nil {
			return errors.New("input.source mqtt: the mqtt section is missing")
		}
	case "serial":
		if in.Port == "" {
			return errors.New("input.port: the serial device is required (e.g. /dev/ttyUSB0)")
		}
	case "stdin":
	default:
		return fmt.Errorf("input.source %q: want mqtt, serial or stdin", in.Source)
	}
	if _, err := dataset.ParseDelimiter(in.Delimiter); err != nil {
		return fmt.Errorf("input.delimiter: %w", err)
	}
	if _, err := dataset.ParseTimeUnit(in.TimeUnit); err != nil {
		return fmt.Errorf("input.time_unit: %w", err)
	}
	switch in.Format {
	case "json", "influx":
	case "value":
		if in.Source != "mqtt" {
			return errors.New("input.format value: plain values come one per MQTT message")
		}
		for i, g := range c.Groups {
			if !strings.Contains(g.Topic, "{channel}") {
				return fmt.Errorf("groups[%d].topic %q: input.format value needs a {channel} segment", i, g.Topic)
			}
		}
		if !(in.Assemble > 0 && in.Assemble <= 3600) {
			return fmt.Errorf("input.assemble %v: want seconds in (0, 3600]", in.Assemble)
		}
	case "csv":
		if in.Source == "mqtt" {
			return errors.New("input.format csv: MQTT payloads are json or influx (line protocol)")
		}
		if in.Group == "" {
			return errors.New("input.group: csv lines feed one group; name it")
		}
		if !groups[in.Group] {
			return fmt.Errorf("input.group %q is not a configured group", in.Group)
		}
		if len(in.Columns) == 0 {
			return errors.New("input.columns: csv lines need their column names (ts for the timestamp, then channels)")
		}
	default:
		return fmt.Errorf("input.format %q: want json, influx (line protocol), value (MQTT) or csv", in.Format)
	}
	return nil
}

// validate checks the mqtt section (nil: none).
func (m *MQTTConfig) validate() error {
	if m == nil {
		return nil
	}
	if !strings.HasPrefix(m.URL, "mqtt://") && !strings.HasPrefix(m.URL, "mqtts://") && !strings.HasPrefix(m.URL, "tcp://") && !strings.HasPrefix(m.URL, "ssl://") && !strings.HasPrefix(m.URL, "tls://") {
		return fmt.Errorf("mqtt.url %q: want mqtt://host:port or mqtts://host:port", m.URL)
	}
	switch m.Protocol {
	case "5", "3.1.1":
	default:
		return fmt.Errorf("mqtt.protocol %q: want 5 or 3.1.1", m.Protocol)
	}
	if m.KeepAlive < 1 || m.KeepAlive > 65535 || m.SessionExpiry < 0 || m.OfflineQueue < 1 || m.OfflineQueue > 1<<24 {
		return errors.New("mqtt: keep_alive in [1, 65535] s, session_expiry ≥ 0, offline_queue in [1, 16777216]")
	}
	if (m.CertFile == "") != (m.KeyFile == "") {
		return errors.New("mqtt: a client certificate needs both cert_file and key_file")
	}
	if strings.ContainsAny(m.StatusTopic, "+#") {
		return fmt.Errorf("mqtt.status_topic %q: no wildcards in a topic edge publishes to", m.StatusTopic)
	}
	if m.QueueBytes < 0 || m.InputBytes < 0 {
		return fmt.Errorf("mqtt.queue_bytes %d, input_bytes %d: not negative", m.QueueBytes, m.InputBytes)
	}
	switch {
	case m.InputLog != "" && m.InputLog != "on" && m.InputLog != "off":
		return fmt.Errorf("mqtt.input_log %q: on or off", m.InputLog)
	case m.InputLog == "on" && m.QueueDir == "":
		return errors.New("mqtt.input_log on needs a queue_dir (the log is kept there)")
	case m.AckDelay < 0 || m.AckDelay > 10000:
		return fmt.Errorf("mqtt.ack_delay %g ms outside [0, 10000]", m.AckDelay)
	}
	if m.ModelTopic != "" && (strings.ContainsAny(m.ModelTopic, "+#") || !strings.Contains(m.ModelTopic, "{group}")) {
		return fmt.Errorf("mqtt.model_topic %q: a topic with {group} and no wildcards", m.ModelTopic)
	}
	if strings.ContainsAny(m.DiscoveryPrefix, "+#") {
		return fmt.Errorf("mqtt.discovery_prefix %q: no wildcards", m.DiscoveryPrefix)
	}
	return nil
}

// topic fills an output topic template's {group} and {device}; a device's
// results on a template without {device} carry it in their payload only.
func topic(pattern, group, device string) string {
	t := strings.ReplaceAll(pattern, "{group}", group)
	if device == "" {
		return strings.ReplaceAll(t, "/{device}", "")
	}
	return strings.ReplaceAll(t, "{device}", device)
}

// validMode reports whether s names a denoising mode as denoise.ParseMode
// reads it (centred, centered, centre, center, causal): one spelling rule
// for the command line and the configuration.
func validMode(s string) bool {
	_, err := denoise.ParseMode(s)
	return err == nil
}
