package service

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/edgeml/edge/anomaly"
	"github.com/edgeml/edge/denoise"
	"github.com/edgeml/edge/stream"
)

// maxDeviceBytes bounds a device name.
const maxDeviceBytes = 128

// checkDevice refuses device names that cannot go into a topic or a
// metric label: too long, or with control characters, '+' or '#' (a '/'
// is a topic level: a # template's device may span several).
func checkDevice(d string) error {
	if len(d) > maxDeviceBytes {
		return fmt.Errorf("device name of %d bytes (limit %d)", len(d), maxDeviceBytes)
	}
	if i := strings.IndexFunc(d, func(r rune) bool { return unicode.IsControl(r) || r == '+' || r == '#' }); i >= 0 {
		return fmt.Errorf("device name %q: character %q at byte %d", d, d[i], i)
	}
	return nil
}

// device is one installation's stream in a group: its own denoiser,
// scorer, timestamp policy and threshold state over the group's model.
type device struct {
	g        *group
	name     string
	den      *denoise.Denoiser
	sc       *anomaly.Scorer
	flagging bool
	timing   stream.Timing // counted into the metrics so far
	lastImp  int64
	last     time.Time // wall clock of the last reading
	buf      []byte
	sm       streamMetrics
	rows     []influxRow // output.format influx: readings waiting for their results
	held     walRing     // input log numbers of the readings the stream may hold
}

// device returns the named device's stream, making it if it is new and
// the group has room (errTooManyDevices if not).
func (g *group) device(name string) (*device, error) {
	if d := g.devices[name]; d != nil {
		return d, nil
	}
	if len(g.devices) >= g.cfg.MaxDevices {
		return nil, errTooManyDevices
	}
	d := &device{g: g, name: name, last: time.Now()}
	if err := g.newProcessors(d); err != nil {
		return nil, err
	}
	d.sm = g.s.M.stream(g.cfg.Name, name, g.names)
	g.devices[name] = d
	d.discover()
	g.s.M.Devices.With(g.cfg.Name).Set(float64(len(g.devices)))
	return d, nil
}

var errTooManyDevices = errors.New("the group has max_devices streams")

func (g *group) run() {
	defer g.s.wg.Done()
	var tick <-chan time.Time
	if idle := g.idle(); idle > 0 {
		t := time.NewTicker(min(idle/4, time.Minute))
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case r, ok := <-g.in:
			if !ok {
				g.closeAll()
				return
			}
			g.progress.Store(time.Now().UnixNano())
			g.process(r)
			g.s.pins.done(r.wal) // after the device holds it
		case now := <-tick:
			g.expire(now)
		case f := <-g.ctl:
			f()
		}
	}
}

// idle is how long a device may go without readings before its stream
// ends (0: never).
func (g *group) idle() time.Duration {
	if g.cfg.DeviceIdle <= 0 {
		return 0
	}
	return time.Duration(g.cfg.DeviceIdle * float64(time.Second))
}

func (g *group) process(r Reading) {
	d, err := g.device(r.Device)
	if err != nil {
		if errors.Is(err, errTooManyDevices) {
			g.s.M.Refused.With(g.cfg.Name).Inc()
			g.s.log.Warn("reading of a new device refused: the group has max_devices streams", "group", g.cfg.Name, "device", r.Device, "max_devices", g.cfg.MaxDevices)
			return
		}
		g.s.log.Error("device stream", "group", g.cfg.Name, "device", r.Device, "err", err)
		return
	}
	d.push(r)
	d.held.push(r.wal)
}

// expire ends the streams of devices idle for longer than device_idle:
// their last rows are flushed, their series removed.
func (g *group) expire(now time.Time) {
	idle := g.idle()
	var gone []string
	for name, d := range g.devices {
		if now.Sub(d.last) > idle {
			gone = append(gone, name)
		}
	}
	sort.Strings(gone)
	for _, name := range gone {
		g.drop(name)
		g.s.M.Expired.With(g.cfg.Name).Inc()
		g.s.log.Info("device stream ended: no reading for device_idle", "group", g.cfg.Name, "device", name, "device_idle_s", g.cfg.DeviceIdle)
	}
}

// drop ends a device's stream: its last rows flushed, its series removed.
func (g *group) drop(name string) {
	g.devices[name].close()
	delete(g.devices, name)
	g.s.M.forget(g.cfg.Name, name, g.names)
	g.s.M.Devices.With(g.cfg.Name).Set(float64(len(g.devices)))
}

// closeAll flushes every device's last rows, in name order.
func (g *group) closeAll() {
	for _, d := range g.sortedDevices() {
		d.close()
	}
}

// sortedDevices returns the devices in name order.
func (g *group) sortedDevices() []*device {
	names := make([]string, 0, len(g.devices))
	for n := range g.devices {
		names = append(names, n)
	}
	sort.Strings(names)
	ds := make([]*device, len(names))
	for i, n := range names {
		ds[i] = g.devices[n]
	}
	return ds
}

func (d *device) push(r Reading) {
	d.last = time.Now()
	d.sm.in.Inc()
	d.sensorsSeen(r.Values)
	if d.influxOut() {
		d.queueInflux(r)
	}
	row := stream.Row{Time: r.Time, HasTime: r.HasTime, Line: r.Line, Values: r.Values}
	before := d.stats().Windows
	t0 := time.Now()
	if d.den != nil {
		if err := d.den.Push(row); err != nil {
			d.g.s.log.Error("denoise", "group", d.g.cfg.Name, "device", d.name, "line", r.Line, "err", err)
		}
	}
	if d.sc != nil {
		if err := d.sc.Push(row); err != nil {
			d.g.s.log.Error("score", "group", d.g.cfg.Name, "device", d.name, "line", r.Line, "err", err)
		}
	}
	st := d.stats()
	if st.Windows != before {
		d.sm.latency.Observe(time.Since(t0).Seconds())
	}
	d.countTiming(st.Timing, r.Line)
	if st.Imputed != d.lastImp {
		d.sm.imputed.Add(uint64(st.Imputed - d.lastImp))
		d.lastImp = st.Imputed
	}
}

func (d *device) stats() stream.Stats {
	if d.sc != nil {
		return d.sc.Stream().Stats()
	}
	return d.den.Stream().Stats()
}

// close flushes the device's last rows.
func (d *device) close() {
	if d.influxOut() {
		defer d.drainInflux(true)
	}
	if d.den != nil {
		if err := d.den.Close(); err != nil {
			d.g.s.log.Error("denoise flush", "group", d.g.cfg.Name, "device", d.name, "err", err)
		}
	}
	if d.sc != nil {
		if err := d.sc.Close(); err != nil {
			d.g.s.log.Error("score flush", "group", d.g.cfg.Name, "device", d.name, "err", err)
		}
	}
	d.held.clear() // its rows are out
}

// sensorsSeen stamps the channels that have a valid value with the wall
// clock.
func (d *device) sensorsSeen(values []float32) {
	now := float64(time.Now().UnixNano()) / 1e9
	for c, v := range values {
		if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
			d.sm.seen[c].Set(now)
		}
	}
}

// countTiming adds what the timestamp policy did since the last call to
// the metrics, and logs dropped readings with the reason.
func (d *device) countTiming(t stream.Timing, line int) {
	old := d.timing
	d.timing = t
	if n := t.Dropped() - old.Dropped(); n > 0 {
		d.sm.dropped.Add(uint64(n))
		why := "its timestamp repeats the last one"
		switch {
		case t.OutOfOrder > old.OutOfOrder:
			why = "its timestamp goes back"
		case t.FarFuture > old.FarFuture:
			why = "a far-future timestamp this reading did not continue (the reading held before it)"
		case t.BadTime > old.BadTime:
			why = "a missing or impossible timestamp"
		}
		d.g.s.log.Warn("reading dropped: "+why, "group", d.g.cfg.Name, "device", d.name, "line", line)
	}
	if t.Bridged > old.Bridged {
		d.sm.bridged.Add(uint64(t.Bridged - old.Bridged))
	}
	if t.Restarts > old.Restarts {
		d.sm.restarts.Add(uint64(t.Restarts - old.Restarts))
		d.g.s.log.Info("stream restarted after an outage longer than max_gap", "group", d.g.cfg.Name, "device", d.name, "line", line)
	}
}
