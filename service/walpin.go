package service

import (
	"math"
	"sync"

	"github.com/edgeml/edge/stream"
)

// The input log keeps a message until its results are safe. A reading
// is in one place at a time, and moves forward only after it is in the
// next: the router (handling), the assembler (plain values), the group's
// queue (pins.pending) and its device's stream (device.held), where it
// stays until enough later readings have come that its rows are surely
// out. pin reads the places in that order, so it sees every reading.

// walRing holds the log numbers of a device's last readings: those whose
// rows the stream may still hold (the window, the hop, the rows a
// processor keeps waiting for output (History), the grace window and a
// confirmation).
type walRing struct {
	seqs     []int64
	start, n int
}

// resize empties the ring and makes room for the readings a stream of
// this configuration may hold.
func (r *walRing) resize(c stream.Config) {
	n := c.Steps + c.Hop + c.History + 2*c.Grace + 3
	if cap(r.seqs) < n {
		r.seqs = make([]int64, n)
	}
	r.seqs = r.seqs[:n]
	r.start, r.n = 0, 0
}

// push records a reading; the oldest held leaves once the ring is full.
func (r *walRing) push(seq int64) {
	if seq == 0 || len(r.seqs) == 0 {
		return
	}
	if r.n == len(r.seqs) {
		r.start = (r.start + 1) % len(r.seqs)
		r.n--
	}
	r.seqs[(r.start+r.n)%len(r.seqs)] = seq
	r.n++
}

// oldest returns the lowest number held (math.MaxInt64: none).
func (r *walRing) oldest() int64 {
	m := int64(math.MaxInt64)
	for i := 0; i < r.n; i++ {
		m = min(m, r.seqs[(r.start+i)%len(r.seqs)])
	}
	return m
}

func (r *walRing) clear() { r.start, r.n = 0, 0 }

// walPins counts the logged readings on their way to a group.
type walPins struct {
	mu      sync.Mutex
	pending map[int64]int
}

func (p *walPins) add(seq int64) {
	if seq == 0 {
		return
	}
	p.mu.Lock()
	if p.pending == nil {
		p.pending = map[int64]int{}
	}
	p.pending[seq]++
	p.mu.Unlock()
}

func (p *walPins) done(seq int64) {
	if seq == 0 {
		return
	}
	p.mu.Lock()
	if p.pending[seq]--; p.pending[seq] <= 0 {
		delete(p.pending, seq)
	}
	p.mu.Unlock()
}

// oldest returns the lowest number pending (math.MaxInt64: none).
func (p *walPins) oldest() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	m := int64(math.MaxInt64)
	for s := range p.pending {
		m = min(m, s)
	}
	return m
}

// heldPin returns the lowest log number a device stream may still hold
// (math.MaxInt64: none) and the group and device that hold it.
func (s *Service) heldPin() (pin int64, group, device string) {
	pin = math.MaxInt64
	for _, g := range s.order {
		_ = g.do(func() error {
			for _, d := range g.devices {
				if o := d.held.oldest(); o < pin {
					pin, group, device = o, g.cfg.Name, d.name
				}
			}
			return nil
		})
	}
	return pin, group, device
}

// flushDevice ends a device's stream early (its held rows flushed, as at
// device_idle), so that the input log can let go of its readings.
func (s *Service) flushDevice(group, device string) {
	g := s.groups[group]
	if g == nil {
		return
	}
	_ = g.do(func() error {
		if g.devices[device] != nil {
			g.drop(device)
		}
		return nil
	})
}
