package service

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

// assembler makes rows of readings from messages that carry one plain
// value each, on a topic naming its channel (ESPHome's and Home
// Assistant's state topics, Homie's properties): a device's values make a
// row once every channel has one, or once the row's first value is older
// than the window (the channels without one missing), or when a channel
// already in the row comes again (a new row starts). The row's time is
// the wall clock of its first value: plain values carry no timestamp.
type assembler struct {
	mu      sync.Mutex
	window  time.Duration
	pending map[string]*partial // by group and device
	emit    func(Reading)
}

type partial struct {
	r     Reading
	have  int
	first time.Time
}

func newAssembler(window time.Duration, emit func(Reading)) *assembler {
	return &assembler{window: window, pending: map[string]*partial{}, emit: emit}
}

// add takes one message's value for a group's channel.
func (a *assembler) add(group, device string, names []string, channel string, payload []byte, now time.Time, seq int64) error {
	c := -1
	for i, n := range names {
		if n == channel {
			c = i
		}
	}
	if c < 0 {
		return fmt.Errorf("%q is not a channel of group %s (%s)", channel, group, strings.Join(names, ", "))
	}
	v, err := plainValue(payload)
	if err != nil {
		return fmt.Errorf("channel %s: %w", channel, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	key := group + "\x00" + device
	p := a.pending[key]
	if p != nil && !math.IsNaN(float64(p.r.Values[c])) {
		a.release(key, p) // the channel again: its row is done
		p = nil
	}
	if p == nil {
		p = &partial{r: Reading{Group: group, Device: device, Values: make([]float32, len(names)), Time: float64(now.UnixNano()) / 1e9, HasTime: true}, first: now}
		for i := range p.r.Values {
			p.r.Values[i] = float32(math.NaN())
		}
		a.pending[key] = p
	}
	p.r.Values[c] = v
	if p.r.wal == 0 || (seq != 0 && seq < p.r.wal) {
		p.r.wal = seq // the row is held in the log by its oldest value
	}
	if !math.IsNaN(float64(v)) {
		p.have++
	}
	if p.have == len(names) {
		a.release(key, p)
	}
	return nil
}

// flush releases the rows whose first value is older than the window.
func (a *assembler) flush(now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, p := range a.pending {
		if now.Sub(p.first) >= a.window {
			a.release(key, p)
		}
	}
}

// release hands on a row (before it leaves pending: the input log's pin
// sees it in one place or the other).
func (a *assembler) release(key string, p *partial) {
	a.emit(p.r)
	delete(a.pending, key)
}

// oldest returns the lowest input log number of the rows held
// (math.MaxInt64: none).
func (a *assembler) oldest() int64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	m := int64(math.MaxInt64)
	for _, p := range a.pending {
		if p.r.wal != 0 {
			m = min(m, p.r.wal)
		}
	}
	return m
}

// plainValue reads a plain payload: a number, ON/OFF and the like as 1
// and 0, or a missing value (empty, unavailable, unknown, nan, null).
func plainValue(payload []byte) (float32, error) {
	s := strings.TrimSpace(string(payload))
	if len(s) > 64 {
		return 0, fmt.Errorf("a plain value of %d bytes", len(s))
	}
	switch strings.ToLower(s) {
	case "", "unavailable", "unknown", "nan", "null", "none":
		return float32(math.NaN()), nil
	case "on", "true", "open", "detected":
		return 1, nil
	case "off", "false", "closed", "clear":
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.Abs(v) > math.MaxFloat32 {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return float32(v), nil
}
