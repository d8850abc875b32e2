package service

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startMochi runs the embedded broker on port.
func startMochi(t testing.TB, port int) *mqtt.Server {
	t.Helper()
	s := mqtt.New(&mqtt.Options{InlineClient: true, Logger: discardLogger()})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: fmt.Sprintf("127.0.0.1:%d", port)})); err != nil {
		t.Fatal(err)
	}
	go s.Serve()
	return s
}

// collector is a test MQTT client: it records results by topic and line
// and publishes readings, with QoS 1 on a persistent session.
type collector struct {
	mu     sync.Mutex
	clean  map[float64]int // timestamp -> deliveries
	events int
	cm     *autopaho.ConnectionManager
}

func newCollector(t testing.TB, port int, id string) *collector {
	t.Helper()
	c := &collector{clean: map[float64]int{}}
	c.cm = testClient(t, port, id, 5, []string{"edge/site/clean", "edge/site/events"}, func(topic string, payload []byte) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if strings.HasSuffix(topic, "/events") {
			c.events++
			return
		}
		c.clean[readingTS(payload)]++
	})
	return c
}

// testClient connects an MQTT 5 client with a persistent session (an
// hour), subscribed with QoS 1 to topics (again after every reconnect),
// each message going to on; it is disconnected when the test ends.
func testClient(t testing.TB, port int, id string, keepAlive uint16, topics []string, on func(topic string, payload []byte)) *autopaho.ConnectionManager {
	t.Helper()
	u, _ := url.Parse(fmt.Sprintf("mqtt://127.0.0.1:%d", port))
	cfg := autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: keepAlive, SessionExpiryInterval: 3600,
		ReconnectBackoff: autopaho.NewConstantBackoff(200 * time.Millisecond),
		ClientConfig:     paho.ClientConfig{ClientID: id},
	}
	if len(topics) > 0 {
		subs := make([]paho.SubscribeOptions, len(topics))
		for i, tp := range topics {
			subs[i] = paho.SubscribeOptions{Topic: tp, QoS: 1}
		}
		cfg.OnConnectionUp = func(cm *autopaho.ConnectionManager, _ *paho.Connack) {
			go cm.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: subs})
		}
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			on(pr.Packet.Topic, pr.Packet.Payload)
			return true, nil
		}}
	}
	cm, err := autopaho.NewConnection(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cm.AwaitConnection(ctx); err != nil {
		t.Fatal(err)
	}
	if len(topics) > 0 {
		time.Sleep(200 * time.Millisecond) // the subscription
	}
	t.Cleanup(func() { cm.Disconnect(context.Background()) })
	return cm
}

func (c *collector) publish(t *testing.T, payload []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.cm.Publish(ctx, &paho.Publish{Topic: "edge/site/in", QoS: 1, Payload: payload}); err != nil {
		t.Fatalf("publishing a reading: %v", err)
	}
}

func (c *collector) distinct() (lines, deliveries, events int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range c.clean {
		deliveries += n
	}
	return len(c.clean), deliveries, c.events
}

// startService runs edge run's service against the broker on port.
func startService(t *testing.T, port int, protocol string) (svc func() *Service, metricsURL func() string, stop func() error) {
	t.Helper()
	cfg := &Config{
		Groups:  []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "causal", Score: true}},
		MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "edge-under-test", KeepAlive: 5, SessionExpiry: 3600, Protocol: protocol},
		Metrics: MetricsConfig{Listen: "127.0.0.1:0"},
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	return runInProcess(t, cfg)
}

// runInProcess runs the service on cfg until stop is called, and
// returns, once it runs, the service and its metrics URL.
func runInProcess(t testing.TB, cfg *Config) (svc func() *Service, metricsURL func() string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	var s *Service
	var addr string
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Options{Log: discardLogger(), Ready: func(sv *Service, a string) {
			mu.Lock()
			s, addr = sv, a
			mu.Unlock()
		}})
	}()
	waitFor(t, 10*time.Second, "the service", func() bool { mu.Lock(); defer mu.Unlock(); return s != nil })
	return func() *Service { mu.Lock(); defer mu.Unlock(); return s },
		func() string { mu.Lock(); defer mu.Unlock(); return "http://" + addr + "/metrics" },
		func() error { cancel(); return <-done }
}

// metricValue returns the sum over the series of metric name.
func metricValue(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "\n"+name) {
		t.Fatalf("metric %s not exposed:\n%s", name, b)
	}
	return metricSum(string(b), name)
}

// TestMQTTMochi: readings over the embedded broker come back cleaned, one
// per reading, with the anomaly event; malformed payloads are counted and
// the service keeps running; SIGTERM-style cancellation drains.
func TestMQTTMochi(t *testing.T) {
	for _, protocol := range []string{"5", "3.1.1"} {
		t.Run("mqtt"+protocol, func(t *testing.T) { testMochi(t, protocol) })
	}
}

func testMochi(t *testing.T, protocol string) {
	port := freePort(t)
	broker := startMochi(t, port)
	defer broker.Close()
	svc, murl, stop := startService(t, port, protocol)
	col := newCollector(t, port, "collector")
	rs := readings(600, 400)
	for i, r := range rs {
		col.publish(t, r)
		if i == 50 {
			col.publish(t, []byte("garbage"))
			col.publish(t, []byte(`{"ts":5,"temp_1":"hot"}`))
		}
	}
	waitFor(t, 30*time.Second, "every cleaned reading", func() bool { n, _, _ := col.distinct(); return n == len(rs) })
	want := map[string]byte{"5": 5, "3.1.1": 4}[protocol]
	if cl, ok := broker.Clients.Get("edge-under-test"); !ok {
		t.Error("edge's connection is not at the broker")
	} else if cl.Properties.ProtocolVersion != want || cl.Properties.Clean {
		t.Errorf("edge's connection: protocol version %d (want %d), clean session %v (want a persistent one)", cl.Properties.ProtocolVersion, want, cl.Properties.Clean)
	}
	// The metrics endpoint tells the same story as the counters.
	if v := metricValue(t, murl(), "edge_readings_invalid_total"); v != 2 {
		t.Errorf("/metrics: edge_readings_invalid_total %v, want 2", v)
	}
	if v := metricValue(t, murl(), "edge_mqtt_connected"); v != 1 {
		t.Errorf("/metrics: edge_mqtt_connected %v, want 1", v)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lines, deliveries, events := col.distinct()
	t.Logf("%d readings: %d cleaned rows (%d deliveries), %d events", len(rs), lines, deliveries, events)
	if events == 0 {
		t.Error("no anomaly event")
	}
	s := svc()
	if s.M.Invalid.Total() != 2 || s.M.In.Total() != uint64(len(rs)) || s.M.Cleaned.Total() != uint64(len(rs)) {
		t.Errorf("metrics: invalid %d (want 2), in %d, out %d (want %d)", s.M.Invalid.Total(), s.M.In.Total(), s.M.Cleaned.Total(), len(rs))
	}
}

// TestMQTTMosquittoRestart: against Debian's mosquitto (with persistence),
// the broker is stopped and restarted mid-stream; afterwards every
// accepted reading's cleaned row has arrived (at least once) and the
// metrics count the reconnect.
func TestMQTTMosquittoRestart(t *testing.T) {
	for _, protocol := range []string{"5", "3.1.1"} {
		t.Run("mqtt"+protocol, func(t *testing.T) { testMosquittoRestart(t, protocol) })
	}
}

func testMosquittoRestart(t *testing.T, protocol string) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		t.Skip("SKIPPED: mosquitto not installed, so the broker-restart test did NOT run (apt-get install mosquitto; .ci/run does)")
	}
	dir := t.TempDir()
	port := freePort(t)
	conf := filepath.Join(dir, "mosquitto.conf")
	user := ""
	if os.Geteuid() == 0 {
		user = "user root\n" // else mosquitto drops to its own user, which cannot write the test's directory
	}
	os.WriteFile(conf, []byte(user+fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nautosave_interval 1\nlog_dest file %s/mosquitto.log\nlog_type all\n", port, dir, dir)), 0o644)
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "mosquitto.log"))
			t.Logf("mosquitto log:\n%s", tail(string(b), 60))
		}
	}()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "-c", conf)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "mosquitto to listen", func() bool {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				c.Close()
			}
			return err == nil
		})
		return cmd
	}
	broker := start()
	defer func() { broker.Process.Kill(); broker.Wait() }()
	svc, murl, stop := startService(t, port, protocol)
	col := newCollector(t, port, "collector")
	rs := readings(600, 400)
	for _, r := range rs[:300] {
		col.publish(t, r)
	}
	waitFor(t, 30*time.Second, "some results before the restart", func() bool { n, _, _ := col.distinct(); return n >= 100 })
	// Stop the broker mid-stream (results still flowing), wait, restart.
	broker.Process.Signal(syscall.SIGTERM)
	broker.Wait()
	time.Sleep(500 * time.Millisecond)
	broker = start()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := col.cm.AwaitConnection(ctx); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs[300:] {
		col.publish(t, r)
	}
	waitFor(t, 60*time.Second, "every cleaned reading after the restart", func() bool {
		n, _, _ := col.distinct()
		if testing.Verbose() {
			t.Logf("%d of %d cleaned rows; accepted %d, cleaned %d", n, len(rs), svc().M.In.Total(), svc().M.Cleaned.Total())
		}
		return n == len(rs)
	})
	if v := metricValue(t, murl(), "edge_mqtt_reconnects_total"); v < 1 {
		t.Errorf("reconnects counted: %v", v)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	lines, deliveries, events := col.distinct()
	s := svc()
	t.Logf("%d readings, %d accepted: %d distinct cleaned rows, %d deliveries (duplicates are allowed: at least once), %d events",
		len(rs), s.M.In.Total(), lines, deliveries, events)
	if s.M.In.Total() < uint64(len(rs)) || lines != len(rs) {
		t.Errorf("accepted %d, cleaned rows arrived for %d of %d readings", s.M.In.Total(), lines, len(rs))
	}
}

func tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
