package service

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// sender publishes results one at a time, in order, and takes a result
// off its queue only once the broker has acknowledged it: so a result is
// always either acknowledged, or on disk (spill), or in the queue's
// memory, and the input log can tell which (durableFrom). It serves MQTT
// 3.1.1 always and MQTT 5 with a disk queue (mqtt.queue_dir).
type sender struct {
	q       chan outMsg
	spill   *spillQueue // with mqtt.queue_dir: the queue, spilling to disk
	publish func(r outMsg, stop <-chan struct{}) bool
	m       *brokerMetrics
	log     *slog.Logger
	wg      sync.WaitGroup
	stop    chan struct{}
	pending atomic.Int64
}

// outMsg is one message to publish.
type outMsg struct {
	topic   string
	payload []byte
	retain  bool
}

// newSender makes the queue (spilling to dir if it is set) and starts
// publishing through publish, which must report whether the broker
// acknowledged the message (at once false once stop is closed).
func newSender(max int, dir string, maxBytes int64, publish func(outMsg, <-chan struct{}) bool, m *brokerMetrics, log *slog.Logger) (*sender, error) {
	s := &sender{q: make(chan outMsg, max), publish: publish, m: m, log: log, stop: make(chan struct{})}
	if dir != "" { // results survive a restart while the broker is away
		sq, err := newSpillQueue(dir, maxBytes)
		if err != nil {
			return nil, fmt.Errorf("mqtt.queue_dir: %w", err)
		}
		s.spill = sq
		s.pending.Store(int64(sq.Len()))
		m.QueueLen.Set(float64(sq.Len()))
	}
	s.wg.Add(1)
	go s.send()
	return s, nil
}

// setOnline tells the queue the connection's state.
func (s *sender) setOnline(on bool) {
	if s.spill != nil {
		s.spill.setOnline(on)
	}
}

// send publishes queued results in order, waiting out disconnections. A
// result left unsent (offline) stays at the queue's head, free to go to
// disk meanwhile.
func (s *sender) send() {
	defer s.wg.Done()
	for {
		r, done, leave, ok := s.next()
		if !ok {
			return
		}
		sent := true
		for !s.publish(r, s.stop) {
			if s.spill != nil {
				leave()
				sent = false
				break
			}
			if !s.pause() {
				return
			}
		}
		if !sent { // offered again after a pause
			if !s.pause() {
				return
			}
			continue
		}
		done()
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

// next waits for the oldest result and returns it with the functions
// that take it off the queue and that leave it there (false once
// stopped).
func (s *sender) next() (r outMsg, done, leave func(), ok bool) {
	noop := func() {}
	if s.spill == nil {
		select {
		case r := <-s.q:
			return r, noop, noop, true
		case <-s.stop:
			return outMsg{}, nil, nil, false
		}
	}
	for {
		select {
		case <-s.spill.Wait():
		case <-s.stop:
			return outMsg{}, nil, nil, false
		}
		e, err := s.spill.Peek()
		if err != nil {
			continue
		}
		rd, _ := e.Reader()
		rec, _ := io.ReadAll(rd)
		if r, ok := decodeResult(rec); ok {
			return r, func() { _ = e.Remove() }, func() { _ = e.Leave() }, true
		}
		_ = e.Quarantine() // cannot happen: edge wrote it
		s.m.QueueLen.Set(float64(s.pending.Add(-1)))
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
		if err := s.spill.Enqueue(bytes.NewReader(encodeResult(r))); err != nil {
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

// durableFrom returns the number of the first result that is neither
// acknowledged by the broker nor on the disk (all results before it
// are); ok is false without a disk queue.
func (s *sender) durableFrom() (uint64, bool) {
	if s.spill == nil {
		return 0, false
	}
	return s.spill.durableFrom(), true
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
