package service

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// sender publishes results in order, up to maxInFlight at a time (each
// goes onto the wire after the one before it, without waiting for its
// acknowledgement), and takes a result off its queue only once the
// broker has acknowledged it and every result before it: so a result is
// always either acknowledged, or on disk (spill), or in the queue's
// memory, and the input log can tell which (durableFrom). It serves MQTT
// 3.1.1 always and MQTT 5 with a disk queue (mqtt.queue_dir).
type sender struct {
	q     chan outMsg
	spill *spillQueue // with mqtt.queue_dir: the queue, spilling to disk
	// start sends a result and returns once it is ordered after the ones
	// started before it; the function it returns reports whether the
	// broker acknowledged it.
	start   func(r outMsg, stop <-chan struct{}) func() bool
	m       *brokerMetrics
	log     *slog.Logger
	wg      sync.WaitGroup
	stop    chan struct{}
	pending atomic.Int64
}

// maxInFlight bounds the results sent and not yet acknowledged;
// maxLoaded bounds the results the sender reads ahead of the oldest.
const (
	maxInFlight = 32
	maxLoaded   = 512
)

// outMsg is one message to publish.
type outMsg struct {
	topic   string
	payload []byte
	retain  bool
}

// newSender makes the queue (spilling to dir if it is set); begin starts
// publishing through start (whose wait must return at once false once
// stop is closed).
func newSender(max int, dir string, maxBytes int64, start func(outMsg, <-chan struct{}) func() bool, m *brokerMetrics, log *slog.Logger) (*sender, error) {
	s := &sender{q: make(chan outMsg, max), start: start, m: m, log: log, stop: make(chan struct{})}
	if dir != "" { // results survive a restart while the broker is away
		sq, err := newSpillQueue(dir, maxBytes)
		if err != nil {
			return nil, fmt.Errorf("mqtt.queue_dir: %w", err)
		}
		s.spill = sq
		s.pending.Store(int64(sq.Len()))
		m.QueueLen.Set(float64(sq.Len()))
	}
	return s, nil
}

// begin starts sending, once start can be called.
func (s *sender) begin() {
	s.wg.Add(1)
	go s.send()
}

// setOnline tells the queue the connection's state.
func (s *sender) setOnline(on bool) {
	if s.spill != nil {
		s.spill.setOnline(on)
	}
}

// send publishes queued results; without a disk queue, one at a time.
func (s *sender) send() {
	defer s.wg.Done()
	if s.spill != nil {
		s.sendWindow()
		return
	}
	for {
		var r outMsg
		select {
		case r = <-s.q:
		case <-s.stop:
			return
		}
		for !s.start(r, s.stop)() {
			if !s.pause() {
				return
			}
		}
		s.m.QueueLen.Set(float64(s.pending.Add(-1)))
	}
}

// pause waits a moment between attempts; false once stopped.
func (s *sender) pause() bool {
	select {
	case <-s.stop:
		return false
	case <-time.After(200 * time.Millisecond):
		return true
	}
}

// slot is a loaded result in the sender's window.
type slot struct {
	r     outMsg
	state int // waiting, inFlight or acked
}

const (
	waiting = iota
	inFlight
	acked
)

// window is the results the sender has loaded from the head of the disk
// queue, oldest first.
type window struct {
	slots    []*slot
	inFlight int
	done     chan *slotDone
	launched int // slots sent (they are the first ones)
}

type slotDone struct {
	s  *slot
	ok bool
}

// sendWindow publishes the disk queue's results: it loads up to
// maxLoaded from the head, sends each topic's oldest unacknowledged one
// (up to maxInFlight), and pops the head while it is acknowledged. After
// a failed publish (offline) it lets the sends in flight end, pauses,
// and starts again from the head (results in memory may go to disk
// meanwhile): a result may then go twice (at least once).
func (s *sender) sendWindow() {
	w := &window{done: make(chan *slotDone, maxInFlight)}
	failed := false
	for {
		for len(w.slots) < maxLoaded && !failed {
			b, ok := s.spill.load()
			if !ok {
				break
			}
			r, _ := decodeResult(b) // edge wrote it
			w.slots = append(w.slots, &slot{r: r})
		}
		if !failed {
			s.launch(w)
		}
		if w.inFlight == 0 {
			if failed {
				s.spill.rewind()
				w.slots, w.launched, failed = nil, 0, false
				if !s.pause() {
					return
				}
				continue
			}
			select {
			case <-s.spill.Wait():
				continue
			case <-s.stop:
				return
			}
		}
		select {
		case d := <-w.done:
			w.inFlight--
			if d.ok {
				d.s.state = acked
			} else {
				d.s.state, failed = waiting, true
			}
		case <-s.stop:
			for ; w.inFlight > 0; w.inFlight-- {
				<-w.done // they end at once on stop
			}
			return
		}
		for len(w.slots) > 0 && w.slots[0].state == acked {
			s.spill.pop()
			w.slots = w.slots[1:]
			w.launched--
			s.m.QueueLen.Set(float64(s.pending.Add(-1)))
		}
	}
}

// launch sends the waiting results in order, up to maxInFlight in all:
// each starts once the one before is ordered on the wire.
func (s *sender) launch(w *window) {
	for _, sl := range w.slots[w.launched:] {
		if w.inFlight >= maxInFlight {
			return
		}
		sl.state = inFlight
		w.inFlight++
		w.launched++
		wait := s.start(sl.r, s.stop)
		go func(sl *slot) { w.done <- &slotDone{sl, wait()} }(sl)
	}
}

// encodeResult and decodeResult frame a result for the disk queue: retain
// (1 byte), the topic's length (2), the topic, the payload.
func encodeResult(r outMsg) []byte {
	b := make([]byte, 3, 3+len(r.topic)+len(r.payload))
	if r.retain {
		b[0] = 1
	}
	binary.BigEndian.PutUint16(b[1:3], uint16(len(r.topic)))
	return append(append(b, r.topic...), r.payload...)
}

func decodeResult(b []byte) (outMsg, bool) {
	if len(b) < 3 {
		return outMsg{}, false
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if len(b) < 3+n {
		return outMsg{}, false
	}
	return outMsg{retain: b[0] == 1, topic: string(b[3 : 3+n]), payload: b[3+n:]}, true
}

// Publish queues a result.
func (s *sender) Publish(topic string, payload []byte) error {
	return s.enqueue(outMsg{topic: topic, payload: append([]byte(nil), payload...)})
}

// PublishRetained queues a retained message.
func (s *sender) PublishRetained(topic string, payload []byte) error {
	return s.enqueue(outMsg{topic: topic, payload: append([]byte(nil), payload...), retain: true})
}

func (s *sender) enqueue(r outMsg) error {
	if s.spill != nil {
		if s.pending.Load() >= int64(cap(s.q)) {
			s.m.Overflow.Inc()
			return ErrQueueFull
		}
		if err := s.spill.Enqueue(encodeResult(r)); err != nil {
			s.m.Overflow.Inc()
			return err
		}
		s.m.QueueLen.Set(float64(s.pending.Add(1)))
		return nil
	}
	select {
	case s.q <- r:
		s.m.QueueLen.Set(float64(s.pending.Add(1)))
		return nil
	default:
		s.m.Overflow.Inc()
		return ErrQueueFull
	}
}

// close waits (until ctx ends) for the queue to empty, stops sending and
// keeps what is left on disk for the next run.
func (s *sender) close(ctx context.Context) error {
	var err error
	for s.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			s.log.Warn("mqtt: results left unsent at shutdown", "queued", s.pending.Load(), "kept_on_disk", s.spill != nil)
			err = ctx.Err()
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	close(s.stop)
	s.wg.Wait()
	if s.spill != nil {
		_ = s.spill.close() // what is left waits on disk for the next run
	}
	return err
}
