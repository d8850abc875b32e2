package service

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
)

// The fault table of issue 14: 3000 readings go through edge, run as a
// child process (so that it can be killed with SIGKILL), and mosquitto
// (persistence on, so that it can be killed too), while a fault strikes
// mid-stream. Every reading's cleaned row must arrive: 0 lost. Rows may
// arrive twice (at least once); the table counts them: a consumer keys
// them by device and timestamp (InfluxDB overwrites a point with the same
// series and time), which suppresses them downstream.

const faultReadings = 3000

// faultCase is one fault.
type faultCase struct {
	name  string
	grace int // the group's grace window (rows)
	// strike runs once the collector has 40% of the rows: it does the
	// fault and returns when the system should heal.
	strike func(t *testing.T, f *faultRig)
	// order permutes the readings a publisher sends after a broker restart
	// (nil: in order).
	shuffle bool
	// farFuture stamps one reading at ts 1e300: it is dropped, no other.
	farFuture bool
	// kills: the fault kills a process (the default run has only these).
	kills bool
	// brokerMayLose: mosquitto saves its state after the fact, so a kill
	// -9 may lose messages it had acknowledged, readings from the publisher
	// or rows from edge (counted apart: not edge's).
	brokerMayLose bool
}

var faultCases = []faultCase{
	{name: "kill -9 edge", kills: true, strike: func(t *testing.T, f *faultRig) {
		f.edge.kill9(t)
		time.Sleep(300 * time.Millisecond)
		f.edge.start(t)
	}},
	{name: "kill -9 broker (persistence on)", kills: true, brokerMayLose: true, strike: func(t *testing.T, f *faultRig) {
		f.broker.kill9(t)
		time.Sleep(300 * time.Millisecond)
		f.broker.start(t)
	}},
	{name: "broker restart, publisher out of order", grace: 16, shuffle: true, strike: func(t *testing.T, f *faultRig) {
		f.broker.term(t)
		time.Sleep(300 * time.Millisecond)
		f.broker.start(t)
	}},
	{name: "kill -9 edge while offline (reboot)", kills: true, strike: func(t *testing.T, f *faultRig) {
		f.pub.pause(true)
		f.broker.term(t) // results pile up in edge's disk queue
		time.Sleep(500 * time.Millisecond)
		f.edge.kill9(t)
		f.broker.start(t)
		f.edge.start(t)
		f.pub.pause(false)
	}},
	{name: "a far-future reading", farFuture: true, strike: func(*testing.T, *faultRig) {}},
}

// TestFaultTable runs the three faults that kill a process once each,
// the MQTT protocol and denoise mode taking turns (a broker restart and
// a far-future reading have their own tests: TestMQTTMosquittoRestart,
// TestFarFutureReading); with EDGE_FAULTS=full, every fault for every
// pair (about 4 minutes; the table in bench/RESULTS.md).
func TestFaultTable(t *testing.T) {
	bin := mosquittoPath(t)
	type pair struct{ protocol, mode string }
	pairs := []pair{{"5", "causal"}, {"3.1.1", "centred"}, {"5", "centred"}, {"3.1.1", "causal"}}
	full := os.Getenv("EDGE_FAULTS") == "full"
	var mu sync.Mutex
	var table []string
	t.Run("faults", func(t *testing.T) {
		for i, fc := range faultCases {
			for j, p := range pairs {
				if !full && (j != i%len(pairs) || !fc.kills) {
					continue
				}
				name := fmt.Sprintf("%s/mqtt%s/%s", fc.name, p.protocol, p.mode)
				t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
					if !full {
						t.Parallel() // each its own broker, edge and folder; the full table runs one at a time
					}
					row := runFault(t, bin, fc, p.protocol, p.mode)
					mu.Lock()
					table = append(table, row)
					mu.Unlock()
				})
			}
		}
	})
	if !full {
		t.Log("the faults that kill a process ran once each; EDGE_FAULTS=full runs every fault for both protocols and both modes")
	}
	t.Logf("fault table (%d readings each; lost: readings the broker delivered to edge without a row; broker: readings or rows the broker acknowledged and then lost to its kill -9):\n%-34s %-6s %-8s %5s %7s %6s %9s %8s\n%s",
		faultReadings, "fault", "mqtt", "mode", "lost", "broker", "dups", "redeliv.", "replayed", strings.Join(table, "\n"))
}

// faultRig is one run's broker, edge, publisher and collector.
type faultRig struct {
	broker *mosquitto
	edge   *edgeProc
	pub    *publisher
	col    *collector
	wit    *witness
}

func runFault(t *testing.T, bin string, fc faultCase, protocol, mode string) string {
	dir := t.TempDir()
	port := freePort(t)
	f := &faultRig{broker: &mosquitto{bin: bin, dir: dir, port: port}}
	f.broker.start(t)
	defer f.broker.stop()
	cfg := Config{
		Groups:  []GroupConfig{{Name: "site", Model: testModel(t), Denoise: mode, Grace: fc.grace}},
		MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", port), ClientID: "edge-fault", KeepAlive: 5, SessionExpiry: 3600, Protocol: protocol, QueueDir: filepath.Join(dir, "state")},
		Metrics: MetricsConfig{Listen: "off"},
	}
	f.edge = &edgeProc{cfg: filepath.Join(dir, "edge.json"), log: filepath.Join(dir, "edge.log")}
	b, _ := json.Marshal(cfg)
	os.WriteFile(f.edge.cfg, b, 0o644)
	defer func() {
		if t.Failed() || os.Getenv("EDGE_FAULTS_LOG") != "" {
			l, _ := os.ReadFile(f.edge.log)
			t.Logf("edge's log:\n%s", tail(string(l), 40))
		}
	}()
	f.edge.start(t)
	defer f.edge.stop()
	f.col = newCollector(t, port, "fault-collector")
	f.wit = newWitness(t, port)
	rs := readings(faultReadings, 1000)
	want := len(rs)
	if fc.farFuture {
		rs[700] = []byte(strings.Replace(string(rs[700]), `{"ts":`, `{"ts":1e300,"was":`, 1))
		want--
	}
	f.pub = newPublisher(t, port, rs, fc.shuffle)
	go f.pub.run()
	waitFor(t, 60*time.Second, "40% of the rows", func() bool { n, _, _ := f.col.distinct(); return n >= want*2/5 })
	fc.strike(t, f)
	// The stream holds its last rows (the grace window, a centred
	// window's second half) until more come or it stops: wait for the
	// publisher and a quiet second, stop edge (SIGTERM flushes), count.
	waitFor(t, 60*time.Second, "the publisher", func() bool { return f.pub.done.Load() })
	last, quiet := -1, time.Now()
	for n, _, _ := f.col.distinct(); n < want && time.Since(quiet) < 2*time.Second; n, _, _ = f.col.distinct() {
		if n != last {
			last, quiet = n, time.Now()
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.edge.term(t)
	deadline := time.Now().Add(20 * time.Second)
	for n, _, _ := f.col.distinct(); n < want && time.Now().Before(deadline); n, _, _ = f.col.distinct() {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // late duplicates
	n, deliveries, _ := f.col.distinct()
	lost, byBroker := f.losses(rs, fc.farFuture)
	logText, _ := os.ReadFile(f.edge.log)
	if fc.brokerMayLose && lost > 0 {
		// One edge process ran: it says what it did with what it got. A
		// row it published and the broker acknowledged, then lost to its
		// kill, is the broker's loss.
		in, _ := strconv.Atoi(logCount(string(logText), "in"))
		dropped, _ := strconv.Atoi(logCount(string(logText), "dropped"))
		out, _ := strconv.Atoi(logCount(string(logText), "out"))
		edge := max(0, in-dropped-out)
		lost, byBroker = edge, byBroker+lost-edge
	}
	if lost != 0 || (byBroker != 0 && !fc.brokerMayLose) {
		t.Errorf("%d of %d rows: %d readings lost by edge, %d by the broker", n, want, lost, byBroker)
	}
	return fmt.Sprintf("%-34s %-6s %-8s %5d %7d %6d %9s %8s", fc.name, protocol, mode, lost, byBroker, deliveries-n,
		logCount(string(logText), "redelivered"), logCount(string(logText), "replayed"))
}

// logCount returns the last count the helper logged for a metric.
func logCount(log, what string) string {
	v := "0"
	for _, l := range strings.Split(log, "\n") {
		if k, rest, ok := strings.Cut(l, "fault-helper "+what+"="); ok && k == "" {
			v = strings.TrimSpace(rest)
		}
	}
	return v
}

// TestFaultEdgeHelper is edge in TestFaultTable's child process; it runs
// only there (EDGE_FAULT_CONFIG names the configuration).
func TestFaultEdgeHelper(t *testing.T) {
	path := os.Getenv("EDGE_FAULT_CONFIG")
	if path == "" {
		t.Skip("not a test: the edge process TestFaultTable starts (and kills)")
	}
	var cfg Config
	b, err := os.ReadFile(path)
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err == nil {
		err = cfg.Check()
	}
	if err != nil {
		fmt.Println("fault-helper config:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var svc *Service
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	err = Run(ctx, &cfg, Options{Log: log, Ready: func(s *Service, _ string) { svc = s }})
	if svc != nil {
		fmt.Printf("fault-helper replayed=%d\nfault-helper redelivered=%d\n", svc.M.Replayed.Value(), svc.M.Redelivered.Value())
		fmt.Printf("fault-helper in=%d\nfault-helper dropped=%d\nfault-helper out=%d\n", svc.M.In.Total(), svc.M.Dropped.Total(), svc.M.Cleaned.Total())
	}
	if err != nil {
		fmt.Println("fault-helper:", err)
	}
	os.Exit(0)
}

// edgeProc is edge in a child process: this test binary, running
// TestFaultEdgeHelper.
type edgeProc struct {
	cfg, log string
	cmd      *exec.Cmd
}

func (e *edgeProc) start(t *testing.T) {
	t.Helper()
	lf, err := os.OpenFile(e.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	e.cmd = exec.Command(os.Args[0], "-test.run=^TestFaultEdgeHelper$")
	e.cmd.Env = append(os.Environ(), "EDGE_FAULT_CONFIG="+e.cfg)
	e.cmd.Stdout, e.cmd.Stderr = lf, lf
	if err := e.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lf.Close()
}

func (e *edgeProc) kill9(t *testing.T) {
	t.Helper()
	e.cmd.Process.Kill()
	e.cmd.Wait()
	e.cmd = nil
}

func (e *edgeProc) term(t *testing.T) {
	t.Helper()
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	e.cmd.Wait()
	e.cmd = nil
}

func (e *edgeProc) stop() {
	if e.cmd != nil {
		e.cmd.Process.Kill()
		e.cmd.Wait()
	}
}

// mosquitto is a broker in a child process, persistence on (saved on
// every change).
type mosquitto struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
}

// mosquittoPath finds mosquitto, or skips the test, loudly.
func mosquittoPath(t *testing.T) string {
	t.Helper()
	if bin, err := exec.LookPath("mosquitto"); err == nil {
		return bin
	}
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("SKIPPED: mosquitto not installed, so this broker test did NOT run (apt-get install mosquitto; .ci/run does)")
	return ""
}

func (m *mosquitto) start(t *testing.T) {
	t.Helper()
	conf := filepath.Join(m.dir, "mosquitto.conf")
	user := ""
	if os.Geteuid() == 0 {
		user = "user root\n" // else mosquitto drops to its own user, which cannot write the test's directory
	}
	os.WriteFile(conf, []byte(user+fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nautosave_interval 1\nautosave_on_changes true\nmax_queued_messages 100000\nlog_dest file %s/mosquitto.log\nlog_type error\nlog_type warning\n", m.port, m.dir, m.dir)), 0o644)
	m.cmd = exec.Command(m.bin, "-c", conf)
	m.cmd.Stdout, m.cmd.Stderr = io.Discard, io.Discard
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "mosquitto to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", m.port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (m *mosquitto) kill9(t *testing.T) {
	m.cmd.Process.Kill()
	m.cmd.Wait()
	m.cmd = nil
}

func (m *mosquitto) term(t *testing.T) {
	m.cmd.Process.Signal(syscall.SIGTERM)
	m.cmd.Wait()
	m.cmd = nil
}

func (m *mosquitto) stop() {
	if m.cmd != nil {
		m.cmd.Process.Kill()
		m.cmd.Wait()
	}
}

// publisher sends the readings with QoS 1, each until the broker
// acknowledges it (at least once), through outages; with shuffle, the
// readings it sends after its first outage come in shuffled blocks of 8,
// as a device that resends its backlog out of order. It sends about 650
// a second, so that edge checkpoints its input log before the fault.
type publisher struct {
	cm      *autopaho.ConnectionManager
	rs      [][]byte
	shuffle bool
	paused  atomic.Bool
	done    atomic.Bool
	mu      sync.Mutex
	outage  bool
}

func newPublisher(t *testing.T, port int, rs [][]byte, shuffle bool) *publisher {
	t.Helper()
	p := &publisher{rs: rs, shuffle: shuffle}
	u, _ := url.Parse(fmt.Sprintf("mqtt://127.0.0.1:%d", port))
	cm, err := autopaho.NewConnection(context.Background(), autopaho.ClientConfig{
		ServerUrls: []*url.URL{u}, KeepAlive: 5, SessionExpiryInterval: 3600,
		ReconnectBackoff: autopaho.NewConstantBackoff(100 * time.Millisecond),
		OnConnectionDown: func() bool { p.mu.Lock(); p.outage = true; p.mu.Unlock(); return true },
		ClientConfig:     paho.ClientConfig{ClientID: "fault-publisher"},
	})
	if err != nil {
		t.Fatal(err)
	}
	p.cm = cm
	t.Cleanup(func() { cm.Disconnect(context.Background()) })
	return p
}

func (p *publisher) pause(on bool) { p.paused.Store(on) }

func (p *publisher) run() {
	defer p.done.Store(true)
	order := make([]int, len(p.rs))
	for i := range order {
		order[i] = i
	}
	shuffled := false
	start := time.Now()
	for k := 0; k < len(order); k++ {
		if d := time.Until(start.Add(time.Duration(k) * 1500 * time.Microsecond)); d > 0 {
			time.Sleep(d)
		}
		for p.paused.Load() {
			time.Sleep(20 * time.Millisecond)
			start = start.Add(20 * time.Millisecond)
		}
		p.mu.Lock()
		if p.shuffle && p.outage && !shuffled { // the backlog, out of order
			shuffled = true
			rng := rand.New(rand.NewPCG(1, 2))
			for b := k; b+8 <= len(order); b += 8 {
				rng.Shuffle(8, func(i, j int) { order[b+i], order[b+j] = order[b+j], order[b+i] })
			}
		}
		p.mu.Unlock()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = p.cm.AwaitConnection(ctx)
			_, err := p.cm.Publish(ctx, &paho.Publish{Topic: "edge/site/in", QoS: 1, Payload: p.rs[order[k]]})
			cancel()
			if err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// losses counts the readings without a row: those the broker delivered
// (to edge or the witness) and those it never delivered to anyone.
func (f *faultRig) losses(rs [][]byte, farFuture bool) (byEdge, byBroker int) {
	rows := f.col.timestamps()
	seen := f.wit.timestamps()
	for i, r := range rs {
		if farFuture && i == 700 {
			continue
		}
		ts := readingTS(r)
		switch {
		case rows[ts]:
		case seen[ts]:
			byEdge++
		default:
			byBroker++
		}
	}
	return byEdge, byBroker
}

func readingTS(payload []byte) float64 {
	var v struct {
		TS float64 `json:"ts"`
	}
	json.Unmarshal(payload, &v)
	return v.TS
}

// timestamps returns the set of timestamps with a cleaned row.
func (c *collector) timestamps() map[float64]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[float64]bool, len(c.clean))
	for ts := range c.clean {
		m[ts] = true
	}
	return m
}

// witness subscribes to edge's input topic with a session of its own:
// what it gets, the broker delivered.
type witness struct {
	mu   sync.Mutex
	seen map[float64]bool
}

func newWitness(t *testing.T, port int) *witness {
	t.Helper()
	w := &witness{seen: map[float64]bool{}}
	testClient(t, port, "fault-witness", 5, []string{"edge/site/in"}, func(_ string, payload []byte) {
		w.mu.Lock()
		w.seen[readingTS(payload)] = true
		w.mu.Unlock()
	})
	return w
}

func (w *witness) timestamps() map[float64]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := make(map[float64]bool, len(w.seen))
	for ts := range w.seen {
		m[ts] = true
	}
	return m
}
