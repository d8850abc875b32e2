package service

import (
	"log/slog"
	"math"
	"time"
)

// checkpointer lets the input log drop the messages whose results are
// safe: every second it takes the log number no reading before which is
// still held anywhere (pin) and the count of results made so far, and
// once those results are acknowledged by the broker or on the disk,
// drops the messages before that number.
type checkpointer struct {
	rt       *router
	out      *sender
	maxBytes int64
	log      *slog.Logger
	pending  bool
	upto     int64  // the candidate: messages below it are settled
	results  uint64 // the results made when it was taken
}

// pin returns the lowest log number still held somewhere, and the
// device stream that holds it if that is where it is. The places are
// read in the order readings move through them (see walpin.go).
func (rt *router) pin() (pin int64, group, device string) {
	pin = rt.wal.nextSeq()
	if h := rt.handling.Load(); h > 0 {
		pin = min(pin, h)
	}
	if rt.asm != nil {
		pin = min(pin, rt.asm.oldest())
	}
	pin = min(pin, rt.svc.pins.oldest())
	if hp, g, d := rt.svc.heldPin(); hp < pin {
		return hp, g, d
	}
	return pin, "", ""
}

// tick commits the pending candidate if its results are safe, or takes
// a new one; past half the log's bytes, it flushes the device stream
// that holds the oldest reading.
func (c *checkpointer) tick() {
	if !c.pending {
		pin, group, device := c.rt.pin()
		c.upto, c.results, c.pending = pin, c.out.spill.enqueued(), true
		if device != "" || group != "" {
			if c.rt.wal.fill(c.maxBytes) > 0.5 {
				c.log.Warn("input log over half full: flushing the device stream that holds its oldest reading", "group", group, "device", device)
				c.rt.svc.M.LogFlushes.Inc()
				c.rt.svc.flushDevice(group, device)
			}
		}
	}
	if c.out.spill.durableFrom() >= c.results {
		if err := c.rt.wal.checkpoint(c.upto); err != nil {
			c.log.Error("input log checkpoint", "err", err)
		}
		c.pending = false
	}
	c.rt.svc.M.LogBytes.Set(float64(c.rt.wal.sp.Bytes()))
}

// start runs tick every second until the returned function is called.
func (c *checkpointer) start() (stop func()) {
	return every(time.Second, func(time.Time) { c.tick() })
}

// final is the checkpoint at shutdown, once the service has closed (all
// readings processed, streams flushed) and the results are delivered
// or kept on the disk (kept): the log keeps only what was not settled.
func (c *checkpointer) final(kept bool) {
	if !kept {
		c.log.Warn("input log: some results could not be kept; the log's messages will be processed again at the next start")
		return
	}
	upto := c.rt.wal.nextSeq()
	if h := c.rt.handling.Load(); h > 0 {
		upto = min(upto, h)
	}
	if o := c.rt.svc.pins.oldest(); o != math.MaxInt64 {
		upto = min(upto, o)
	}
	if err := c.rt.wal.checkpoint(upto); err != nil {
		c.log.Error("input log checkpoint", "err", err)
	}
}
