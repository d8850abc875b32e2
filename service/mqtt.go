package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/autopaho/queue"
	"github.com/eclipse/paho.golang/autopaho/queue/memory"
	"github.com/eclipse/paho.golang/paho"

	"github.com/edgeml/edge/metrics"
)

// MQTT is the broker connection: it subscribes to the groups' topics with
// QoS 1 on a persistent session (resubscribing after every reconnect) and
// publishes results with QoS 1 through a bounded offline queue, so results
// made while the broker is away are delivered when it is back (at least
// once), and overflow is dropped and counted.
type MQTT struct {
	*brokerMetrics
	b broker
}

// broker is one MQTT protocol's client: mqtt5 (autopaho) or mqtt311
// (mqtt.protocol "3.1.1").
type broker interface {
	Publish(topic string, payload []byte) error
	PublishRetained(topic string, payload []byte) error
	AwaitConnection(ctx context.Context) error
	Close(ctx context.Context) error
	outbox() *sender // the ordered sender of results (nil: MQTT 5 without a disk queue)
}

// mqtt5 is the MQTT 5 client, autopaho's, with a bounded offline queue.
type mqtt5 struct {
	cm     *autopaho.ConnectionManager
	q      *boundedQueue
	log    *slog.Logger
	status string     // the status topic ("": none)
	snd    *sender    // with mqtt.queue_dir: results in order, through the disk queue
	wire   *wireCount // with snd: the PUBLISH packets on the wire
}

// brokerMetrics are the connection's metrics, whatever the protocol.
type brokerMetrics struct {
	Reconnects *metrics.Counter
	Connected  *metrics.Gauge
	QueueLen   *metrics.Gauge
	Overflow   *metrics.Counter
}

// ErrQueueFull is returned by Publish when the offline queue is full.
var ErrQueueFull = errors.New("mqtt: offline queue full")

// Message is one message from the broker.
type Message struct {
	Topic   string
	Payload []byte
	// Duplicate: the broker marked it as a redelivery.
	Duplicate bool
	// Ack, with mqtt.input_log on, acknowledges the message to the
	// broker; the handler calls it once, in the order messages came (nil:
	// the message is acknowledged when the handler returns).
	Ack func()
}

// DialMQTT connects (retrying in the background with backoff) and
// subscribes to topics; each message goes to handle, one at a time.
func DialMQTT(ctx context.Context, c *MQTTConfig, topics []string, handle func(Message), reg *metrics.Registry, log *slog.Logger) (*MQTT, error) {
	u, secure, err := brokerURL(c.URL)
	if err != nil {
		return nil, err
	}
	m := &MQTT{brokerMetrics: &brokerMetrics{
		Reconnects: reg.Counter("edge_mqtt_reconnects_total", "connections to the broker after the first"),
		Connected:  reg.Gauge("edge_mqtt_connected", "1 while connected to the broker"),
		QueueLen:   reg.Gauge("edge_mqtt_queue_length", "results waiting in the offline queue"),
		Overflow:   reg.Counter("edge_mqtt_queue_dropped_total", "results dropped because the offline queue was full"),
	}}
	v5 := &mqtt5{log: log, q: &boundedQueue{Queue: memory.New(), max: int64(c.OfflineQueue), m: m.brokerMetrics}}
	var ups atomic.Int64
	cfg := autopaho.ClientConfig{
		ServerUrls:                    []*url.URL{u},
		KeepAlive:                     uint16(c.KeepAlive),
		CleanStartOnInitialConnection: false,
		SessionExpiryInterval:         uint32(c.SessionExpiry),
		ReconnectBackoff:              autopaho.NewExponentialBackoff(200*time.Millisecond, 30*time.Second, time.Second, 2),
		ConnectTimeout:                10 * time.Second,
		Queue:                         v5.q,
		OnConnectionUp: func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			if ups.Add(1) > 1 {
				m.Reconnects.Inc()
			}
			m.Connected.Set(1)
			log.Info("mqtt connected", "broker", u.Host)
			if v5.snd != nil {
				v5.snd.setOnline(true)
			}
			onUp5(cm, c.status(), topics, log)
		},
		OnConnectionDown: func() bool {
			m.Connected.Set(0)
			if v5.snd != nil {
				v5.snd.setOnline(false)
			}
			log.Warn("mqtt connection lost; reconnecting")
			return true
		},
		OnConnectError: func(err error) { log.Warn("mqtt connect", "broker", u.Host, "err", err) },
		ClientConfig: paho.ClientConfig{
			ClientID:                   c.ClientID,
			EnableManualAcknowledgment: c.InputLog == "on",
			SendAcksInterval:           5 * time.Millisecond,
			OnPublishReceived:          []func(paho.PublishReceived) (bool, error){receive5(c, handle)},
			OnClientError:              func(err error) { log.Warn("mqtt client", "err", err) },
		},
	}
	if st := c.status(); st != "" { // the Will: offline if edge vanishes
		cfg.WillMessage = &paho.WillMessage{Topic: st, Payload: []byte("offline"), QoS: 1, Retain: true}
	}
	v5.status = c.status()
	if cfg.ConnectUsername, cfg.ConnectPassword, err = credentials(c); err != nil {
		return nil, err
	}
	if cfg.TlsCfg, err = tlsConfig(c, secure); err != nil {
		return nil, err
	}
	if c.Protocol == "3.1.1" {
		if m.b, err = dial311(c, u, cfg.TlsCfg, cfg.ConnectUsername, cfg.ConnectPassword, topics, handle, m.brokerMetrics, log); err != nil {
			return nil, err
		}
		return m, nil
	}
	if log.Enabled(context.Background(), slog.LevelDebug) {
		cfg.Errors = pahoLog{log, "autopaho"}
		cfg.PahoErrors = pahoLog{log, "paho"}
		if os.Getenv("EDGE_PAHO_DEBUG") != "" {
			cfg.PahoDebug = pahoLog{log, "paho-debug"}
			cfg.Debug = pahoLog{log, "autopaho-debug"}
		}
	}
	if c.QueueDir != "" { // results survive a restart while the broker is away
		// Made before the connection, whose callbacks use it; it starts
		// sending once the connection manager is there. It keeps results
		// in order on the wire.
		if v5.snd, err = newSender(c.OfflineQueue, c.QueueDir, c.QueueBytes, v5.start, m.brokerMetrics, log); err != nil {
			return nil, err
		}
		v5.wire = newWireCount()
		tc := cfg.TlsCfg
		cfg.AttemptConnection = func(ctx context.Context, _ autopaho.ClientConfig, u *url.URL) (net.Conn, error) {
			return dialWire(ctx, u, tc, v5.wire)
		}
	}
	cm, err := autopaho.NewConnection(ctx, cfg)
	if err != nil {
		if v5.snd != nil {
			_ = v5.snd.spill.close()
		}
		return nil, fmt.Errorf("mqtt: %w", err)
	}
	v5.cm = cm
	if v5.snd != nil {
		v5.snd.begin() // now that start has a connection manager
	}
	m.b = v5
	return m, nil
}

// receive5 passes MQTT 5 messages to handle, with their acknowledgement
// when the input log sends it.
func receive5(c *MQTTConfig, handle func(Message)) func(paho.PublishReceived) (bool, error) {
	return func(pr paho.PublishReceived) (bool, error) {
		msg := Message{Topic: pr.Packet.Topic, Payload: pr.Packet.Payload, Duplicate: pr.Packet.Duplicate()}
		if c.InputLog == "on" {
			cl, p := pr.Client, pr.Packet
			msg.Ack = func() { _ = cl.Ack(p) }
		}
		handle(msg)
		return true, nil
	}
}

// brokerURL parses mqtt.url: the scheme autopaho wants, whether it is TLS,
// and the default port.
func brokerURL(s string) (*url.URL, bool, error) {
	u, err := url.Parse(s)
	if err != nil {
		return nil, false, fmt.Errorf("mqtt.url: %w", err)
	}
	secure := false
	switch u.Scheme {
	case "mqtts", "ssl", "tls":
		u.Scheme, secure = "tls", true
	case "tcp", "mqtt":
		u.Scheme = "mqtt"
	}
	if u.Port() == "" {
		if secure {
			u.Host += ":8883"
		} else {
			u.Host += ":1883"
		}
	}
	return u, secure, nil
}

// onUp5 runs on every MQTT 5 connection: the birth message (edge is
// online, retained) and the subscriptions.
func onUp5(cm *autopaho.ConnectionManager, status string, topics []string, log *slog.Logger) {
	if status != "" {
		go func() {
			p := &paho.Publish{Topic: status, QoS: 1, Retain: true, Payload: []byte("online")}
			if _, err := cm.Publish(context.Background(), p); err != nil {
				log.Warn("mqtt: status online", "err", err)
			}
		}()
	}
	if len(topics) == 0 {
		return
	}
	subs := make([]paho.SubscribeOptions, len(topics))
	for i, t := range topics {
		subs[i] = paho.SubscribeOptions{Topic: t, QoS: 1}
	}
	go func() {
		if _, err := cm.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: subs}); err != nil {
			log.Error("mqtt subscribe", "err", err)
		}
	}()
}

// Publish queues a result with QoS 1; it fails only if the queue is full.
func (m *MQTT) Publish(topic string, payload []byte) error { return m.b.Publish(topic, payload) }

// PublishRetained queues a message the broker keeps for later
// subscribers (status, discovery, state), with QoS 1.
func (m *MQTT) PublishRetained(topic string, payload []byte) error {
	return m.b.PublishRetained(topic, payload)
}

// status returns the status topic, "" when it is off.
func (c *MQTTConfig) status() string {
	if c.StatusTopic == "off" {
		return ""
	}
	return c.StatusTopic
}

// outbox returns the ordered sender of results (nil: MQTT 5 without a
// disk queue).
func (m *MQTT) outbox() *sender { return m.b.outbox() }

// AwaitConnection waits for the first connection.
func (m *MQTT) AwaitConnection(ctx context.Context) error { return m.b.AwaitConnection(ctx) }

// Close waits (until ctx ends) for the offline queue to empty, then
// disconnects.
func (m *MQTT) Close(ctx context.Context) error { return m.b.Close(ctx) }

func (m *mqtt5) Publish(topic string, payload []byte) error {
	if m.snd != nil {
		return m.snd.Publish(topic, payload)
	}
	p := &paho.Publish{Topic: topic, QoS: 1, Payload: append([]byte(nil), payload...)}
	return m.cm.PublishViaQueue(context.Background(), &autopaho.QueuePublish{Publish: p})
}

func (m *mqtt5) PublishRetained(topic string, payload []byte) error {
	if m.snd != nil {
		return m.snd.PublishRetained(topic, payload)
	}
	p := &paho.Publish{Topic: topic, QoS: 1, Retain: true, Payload: append([]byte(nil), payload...)}
	return m.cm.PublishViaQueue(context.Background(), &autopaho.QueuePublish{Publish: p})
}

func (m *mqtt5) outbox() *sender { return m.snd }

func (m *mqtt5) AwaitConnection(ctx context.Context) error { return m.cm.AwaitConnection(ctx) }

func (m *mqtt5) Close(ctx context.Context) error {
	if m.status != "" { // a clean disconnect sends no Will: say it
		_ = m.PublishRetained(m.status, []byte("offline"))
	}
	if m.snd != nil {
		err := m.snd.close(ctx)
		dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = m.cm.Disconnect(dctx)
		return err
	}
	for m.q.n.Load() > 0 {
		select {
		case <-ctx.Done():
			m.log.Warn("mqtt: results left unsent at shutdown", "queued", m.q.n.Load())
			_ = m.cm.Disconnect(context.Background())
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	// The last entry leaves the queue when it is handed to the client:
	// give its acknowledgement a moment.
	time.Sleep(100 * time.Millisecond)
	dctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return m.cm.Disconnect(dctx)
}

// start sends one result and returns once its PUBLISH is on the wire (or
// the attempt ended); the function it returns waits for the broker's
// acknowledgement (within 10 s; at once false when stopping).
func (m *mqtt5) start(r outMsg, stop <-chan struct{}) func() bool {
	before := m.wire.n.Load()
	res := make(chan bool, 1)
	go func() { res <- m.publish(r, stop) }()
	for m.wire.n.Load() == before {
		select {
		case ok := <-res:
			return func() bool { return ok }
		case <-m.wire.wrote:
		case <-stop:
			return func() bool { return <-res }
		}
	}
	return func() bool { return <-res }
}

// publish sends one result and reports whether the broker acknowledged
// it (within 10 s; at once false when stopping).
func (m *mqtt5) publish(r outMsg, stop <-chan struct{}) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	go func() {
		select {
		case <-stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := m.cm.Publish(ctx, &paho.Publish{Topic: r.topic, QoS: 1, Retain: r.retain, Payload: r.payload})
	return err == nil
}

// boundedQueue counts the entries of an autopaho queue and refuses new
// ones beyond max.
type boundedQueue struct {
	queue.Queue
	n   atomic.Int64
	max int64
	m   *brokerMetrics
}

func (q *boundedQueue) Enqueue(p io.Reader) error {
	if q.n.Load() >= q.max {
		q.m.Overflow.Inc()
		return ErrQueueFull
	}
	if err := q.Queue.Enqueue(p); err != nil {
		return err
	}
	q.m.QueueLen.Set(float64(q.n.Add(1)))
	return nil
}

func (q *boundedQueue) Peek() (queue.Entry, error) {
	e, err := q.Queue.Peek()
	if err != nil {
		return nil, err
	}
	return &countedEntry{Entry: e, q: q}, nil
}

type countedEntry struct {
	queue.Entry
	q *boundedQueue
}

func (e *countedEntry) Remove() error {
	err := e.Entry.Remove()
	e.q.m.QueueLen.Set(float64(e.q.n.Add(-1)))
	return err
}

func (e *countedEntry) Quarantine() error {
	err := e.Entry.Quarantine()
	e.q.m.QueueLen.Set(float64(e.q.n.Add(-1)))
	return err
}

// pahoLog passes the MQTT libraries' error logs to slog at debug level.
type pahoLog struct {
	log  *slog.Logger
	from string
}

func (p pahoLog) Println(v ...interface{}) { p.log.Debug(fmt.Sprint(v...), "from", p.from) }
func (p pahoLog) Printf(format string, v ...interface{}) {
	p.log.Debug(fmt.Sprintf(format, v...), "from", p.from)
}

// credentials returns the user name and password to connect with: the
// password from mqtt.password_file, else EDGE_MQTT_PASSWORD.
func credentials(c *MQTTConfig) (string, []byte, error) {
	if c.Username == "" {
		return "", nil, nil
	}
	pw := []byte(os.Getenv("EDGE_MQTT_PASSWORD"))
	if c.PasswordFile != "" {
		b, err := os.ReadFile(c.PasswordFile)
		if err != nil {
			return "", nil, fmt.Errorf("mqtt.password_file: %w", err)
		}
		pw = []byte(strings.TrimRight(string(b), "\r\n"))
	}
	return c.Username, pw, nil
}

// tlsConfig returns the TLS configuration (nil: plain TCP): TLS 1.2 or
// later, the CA file's roots, the client certificate.
func tlsConfig(c *MQTTConfig, secure bool) (*tls.Config, error) {
	if !secure && c.CAFile == "" && c.CertFile == "" {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("mqtt.ca_file %s: no PEM certificate in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("mqtt.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
