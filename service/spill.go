package service

import (
	"bytes"
	"io"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/autopaho/queue"

	"github.com/edgeml/edge/internal/spool"
)

// spillQueue is the MQTT 5 client's queue of results: in memory while the
// broker is reachable and the backlog small, in a spool on disk (mqtt.
// queue_dir) while it is away or the backlog grows, and at shutdown. So
// results made while the broker is away survive a restart, a reboot or a
// kill, and a healthy link writes nothing to the SD card.
type spillQueue struct {
	mu      sync.Mutex
	mem     []memEntry
	next    uint64 // the number the next result gets
	sp      *spool.Spool
	online  bool
	peeked  bool // mem[0] is with the client: it stays in memory until Remove or Leave
	memMax  int
	waiting []chan struct{}
	stop    chan struct{}
	lost    int // results left in memory at close: the spool was full
}

// newSpillQueue opens the spool in dir (its records from an earlier run
// come first).
func newSpillQueue(dir string, maxBytes int64) (*spillQueue, error) {
	sp, err := spool.Open(dir, maxBytes)
	if err != nil {
		return nil, err
	}
	q := &spillQueue{sp: sp, memMax: 1024, stop: make(chan struct{})}
	go q.syncEvery(time.Second)
	return q, nil
}

// syncEvery puts the spool on the disk every d.
func (q *spillQueue) syncEvery(d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-q.stop:
			return
		case <-t.C:
			_ = q.sp.Sync()
		}
	}
}

// setOnline records the connection's state; going offline moves the
// results in memory to the spool.
func (q *spillQueue) setOnline(on bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.online = on
	if !on {
		q.spillLocked()
	}
}

func (q *spillQueue) spillLocked() {
	keep := 0
	if q.peeked && len(q.mem) > 0 {
		keep = 1 // the oldest, with the client: it still comes first
	}
	for len(q.mem) > keep && q.sp.Append(q.mem[keep].data) == nil {
		q.mem = append(q.mem[:keep], q.mem[keep+1:]...)
	}
}

// Len returns the results held, in memory and on disk.
func (q *spillQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.mem) + q.sp.Len()
}

// Wait returns a channel closed once the queue holds something.
func (q *spillQueue) Wait() chan struct{} {
	c := make(chan struct{})
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.mem) > 0 || q.sp.Len() > 0 {
		close(c)
		return c
	}
	q.waiting = append(q.waiting, c)
	return c
}

// Enqueue adds a result: to memory if the link is up, the spool empty
// and the backlog small (order is kept: memory holds the oldest), else to
// the spool.
func (q *spillQueue) Enqueue(p io.Reader) error {
	b, err := io.ReadAll(p)
	if err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.online && q.sp.Len() == 0 && len(q.mem) < q.memMax {
		q.mem = append(q.mem, memEntry{q.next, b})
	} else if err := q.sp.Append(b); err != nil {
		return err
	}
	q.next++
	for _, c := range q.waiting {
		close(c)
	}
	q.waiting = nil
	return nil
}

// Peek returns the oldest result.
func (q *spillQueue) Peek() (queue.Entry, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.mem) > 0 {
		q.peeked = true
		return &spillEntry{q: q, data: q.mem[0].data, mem: true}, nil
	}
	b, err := q.sp.Peek()
	if err != nil {
		return nil, queue.ErrEmpty
	}
	return &spillEntry{q: q, data: b}, nil
}

// close spills what is in memory and closes the spool.
func (q *spillQueue) close() error {
	close(q.stop)
	q.mu.Lock()
	q.online = false
	q.peeked = false // the sender has stopped
	q.spillLocked()
	q.lost = len(q.mem)
	q.mem = nil
	q.mu.Unlock()
	return q.sp.Close()
}

// kept reports, after close, whether every result was delivered or is
// on the disk (none was left in memory because the spool was full).
func (q *spillQueue) kept() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.lost == 0
}

type spillEntry struct {
	q    *spillQueue
	data []byte
	mem  bool
}

func (e *spillEntry) Reader() (io.Reader, error) { return bytes.NewReader(e.data), nil }
func (e *spillEntry) Leave() error {
	e.q.mu.Lock()
	defer e.q.mu.Unlock()
	e.q.peeked = false
	if !e.q.online {
		e.q.spillLocked() // it was not sent: to disk with the rest
	}
	return nil
}
func (e *spillEntry) Quarantine() error { return e.Remove() }

// Remove drops the entry from the queue: the broker acknowledged it.
func (e *spillEntry) Remove() error {
	e.q.mu.Lock()
	defer e.q.mu.Unlock()
	if e.mem {
		e.q.peeked = false
		if len(e.q.mem) > 0 {
			e.q.mem = e.q.mem[1:]
		}
		return nil
	}
	return e.q.sp.Remove()
}

// memEntry is a result held in memory, with its number.
type memEntry struct {
	seq  uint64
	data []byte
}

// durableFrom puts the spool on the disk and returns the number of the
// first result that is only in memory: every result before it has been
// acknowledged by the broker (an entry leaves the queue only then) or is
// on the disk.
func (q *spillQueue) durableFrom() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err := q.sp.Sync(); err != nil {
		return 0
	}
	if len(q.mem) > 0 {
		return q.mem[0].seq
	}
	return q.next
}

// enqueued returns the number the next result will get.
func (q *spillQueue) enqueued() uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.next
}
