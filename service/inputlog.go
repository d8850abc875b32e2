package service

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"sync"
	"time"

	"github.com/edgeml/edge/internal/spool"
)

// inputLog is the write-ahead log of MQTT messages (mqtt.input_log, in
// queue_dir/input): a message is on the disk before the broker gets its
// acknowledgement, and stays there until every result it leads to is
// acknowledged by the broker or in the results' disk queue. At the next
// start, the messages still in the log are processed again, so a kill,
// a reboot or a broker restart loses no reading; their results may come
// twice (at least once), with the same device and timestamp.
type inputLog struct {
	sp      *spool.Spool
	mu      sync.Mutex
	next    int64    // the next message's number
	acks    []func() // acknowledgements waiting for the next sync
	wake    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	delay   time.Duration // how long acknowledgements wait to share a sync
	seed    maphash.Seed
	replay  map[uint64]int // hashes of the replayed messages, for redeliveries
}

// logRecord is one message in the log.
type logRecord struct {
	seq     int64
	arrival time.Time
	topic   string
	payload []byte
}

// encodeLog and decodeLog frame a record: seq (8 bytes), arrival (Unix
// ns, 8), the topic's length (2), the topic, the payload.
func encodeLog(r logRecord) []byte {
	b := make([]byte, 18, 18+len(r.topic)+len(r.payload))
	binary.LittleEndian.PutUint64(b[0:8], uint64(r.seq))
	binary.LittleEndian.PutUint64(b[8:16], uint64(r.arrival.UnixNano()))
	binary.LittleEndian.PutUint16(b[16:18], uint16(len(r.topic)))
	return append(append(b, r.topic...), r.payload...)
}

func decodeLog(b []byte) (logRecord, error) {
	if len(b) < 18 {
		return logRecord{}, errors.New("input log: a record of fewer than 18 bytes")
	}
	n := int(binary.LittleEndian.Uint16(b[16:18]))
	if len(b) < 18+n {
		return logRecord{}, errors.New("input log: a record shorter than its topic")
	}
	return logRecord{
		seq:     int64(binary.LittleEndian.Uint64(b[0:8])),
		arrival: time.Unix(0, int64(binary.LittleEndian.Uint64(b[8:16]))),
		topic:   string(b[18 : 18+n]),
		payload: append([]byte(nil), b[18+n:]...),
	}, nil
}

// openInputLog opens the log in dir (at most maxBytes) and returns the
// messages it still holds, oldest first: they are to be processed again.
func openInputLog(dir string, maxBytes int64, delay time.Duration) (*inputLog, []logRecord, error) {
	sp, err := spool.Open(dir, maxBytes)
	if err != nil {
		return nil, nil, fmt.Errorf("input log: %w", err)
	}
	l := &inputLog{sp: sp, next: 1, wake: make(chan struct{}, 1), stop: make(chan struct{}), stopped: make(chan struct{}), delay: delay, seed: maphash.MakeSeed(), replay: map[uint64]int{}}
	var recs []logRecord
	err = sp.Scan(func(b []byte) error {
		r, err := decodeLog(b)
		if err != nil {
			return err
		}
		recs = append(recs, r)
		l.next = max(l.next, r.seq+1)
		return nil
	})
	if err != nil {
		sp.Close()
		return nil, nil, fmt.Errorf("input log %s: %w", dir, err)
	}
	for _, r := range recs[max(0, len(recs)-maxRedelivered):] {
		l.replay[l.hash(r.topic, r.payload)]++
	}
	go l.syncLoop()
	return l, recs, nil
}

// maxRedelivered bounds the replayed messages a redelivery is compared
// with: a broker redelivers at most its in-flight window.
const maxRedelivered = 4096

func (l *inputLog) hash(topic string, payload []byte) uint64 {
	var h maphash.Hash
	h.SetSeed(l.seed)
	h.WriteString(topic)
	h.WriteByte(0)
	h.Write(payload)
	return h.Sum64()
}

// redelivered reports whether a message the broker marked as a
// redelivery is one of the replayed messages (each matches once).
func (l *inputLog) redelivered(topic string, payload []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.replay) == 0 {
		return false
	}
	k := l.hash(topic, payload)
	if l.replay[k] == 0 {
		return false
	}
	if l.replay[k]--; l.replay[k] == 0 {
		delete(l.replay, k)
	}
	return true
}

// append logs a message and returns its number.
func (l *inputLog) append(topic string, payload []byte, arrival time.Time) (int64, error) {
	l.mu.Lock()
	seq := l.next
	l.next++
	l.mu.Unlock()
	err := l.sp.Append(encodeLog(logRecord{seq: seq, arrival: arrival, topic: topic, payload: payload}))
	return seq, err
}

// nextSeq returns the number the next message will get.
func (l *inputLog) nextSeq() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.next
}

// afterSync runs ack once everything appended so far is on the disk.
func (l *inputLog) afterSync(ack func()) {
	if ack == nil {
		return
	}
	l.mu.Lock()
	l.acks = append(l.acks, ack)
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// syncLoop puts the log on the disk once acknowledgements wait (after
// delay, so that a burst shares one sync), then sends them, in order.
func (l *inputLog) syncLoop() {
	defer close(l.stopped)
	for {
		select {
		case <-l.stop:
			l.flushAcks()
			return
		case <-l.wake:
		}
		select {
		case <-l.stop:
		case <-time.After(l.delay):
		}
		l.flushAcks()
	}
}

func (l *inputLog) flushAcks() {
	l.mu.Lock()
	acks := l.acks
	l.acks = nil
	l.mu.Unlock()
	if len(acks) == 0 {
		return
	}
	_ = l.sp.Sync() // on failure the records are still with the OS: ack anyway
	for _, a := range acks {
		a()
	}
}

// checkpoint drops the messages numbered below upto: their results are
// safe.
func (l *inputLog) checkpoint(upto int64) error {
	for {
		b, err := l.sp.Peek()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if len(b) < 8 || int64(binary.LittleEndian.Uint64(b[:8])) >= upto {
			break
		}
		if err := l.sp.Remove(); err != nil {
			return err
		}
	}
	return l.sp.Sync()
}

// fill returns how full the log is (0 to 1).
func (l *inputLog) fill(maxBytes int64) float64 {
	return float64(l.sp.Bytes()) / float64(maxBytes)
}

// close sends the waiting acknowledgements and closes the log.
func (l *inputLog) close() error {
	close(l.stop)
	<-l.stopped
	return l.sp.Close()
}
