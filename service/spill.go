package service

import (
	"sync"
	"time"

	"github.com/edgeml/edge/internal/spool"
)

// spillQueue is the queue of results when mqtt.queue_dir is set: in
// memory while the broker is reachable and the backlog small, in a spool
// on disk (queue_dir) while it is away or the backlog grows, and at
// shutdown. So results made while the broker is away survive a restart,
// a reboot or a kill, and a healthy link writes nothing to the SD card.
// The sender reads ahead of the head (load) and removes the head once
// the broker acknowledged it (pop): a result leaves the queue only then.
type spillQueue struct {
	mu         sync.Mutex
	mem        []memEntry // the oldest results, when in memory
	sp         *spool.Spool
	online     bool
	loadedMem  int // mem entries the sender has loaded
	loadedDisk int // spool records the sender has loaded
	memMax     int
	next       uint64 // the number the next result gets
	waiting    []chan struct{}
	stop       chan struct{}
	lost       int // results left in memory at close: the spool was full
}

// memEntry is a result held in memory, with its number.
type memEntry struct {
	seq  uint64
	data []byte
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
// results in memory to the spool once the sender holds none of them.
func (q *spillQueue) setOnline(on bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.online = on
	if !on {
		q.spillLocked()
	}
}

// spillLocked appends the results in memory to the spool, unless the
// sender has loaded some (it rewinds when it stops on an outage).
func (q *spillQueue) spillLocked() {
	if q.loadedMem > 0 {
		return
	}
	for len(q.mem) > 0 && q.sp.Append(q.mem[0].data) == nil {
		q.mem = q.mem[1:]
	}
}

// Len returns the results held, in memory and on disk.
func (q *spillQueue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.mem) + q.sp.Len()
}

// Wait returns a channel closed once the queue holds a result the sender
// has not loaded.
func (q *spillQueue) Wait() chan struct{} {
	c := make(chan struct{})
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.unloadedLocked() {
		close(c)
		return c
	}
	q.waiting = append(q.waiting, c)
	return c
}

func (q *spillQueue) unloadedLocked() bool {
	return len(q.mem) > q.loadedMem || q.sp.Len() > q.loadedDisk
}

// Enqueue adds a result: to memory if the link is up, the spool empty
// and the backlog small (memory holds the oldest), else to the spool.
func (q *spillQueue) Enqueue(b []byte) error {
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

// load returns the oldest result the sender has not loaded (false: none).
func (q *spillQueue) load() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.loadedMem < len(q.mem) {
		q.loadedMem++
		return q.mem[q.loadedMem-1].data, true
	}
	if q.sp.Len() <= q.loadedDisk {
		return nil, false
	}
	b, err := q.sp.Next()
	if err != nil {
		return nil, false
	}
	q.loadedDisk++
	return b, true
}

// pop removes the oldest result: the broker acknowledged it.
func (q *spillQueue) pop() {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.loadedMem > 0 {
		q.mem = q.mem[1:]
		q.loadedMem--
		return
	}
	if q.loadedDisk > 0 && q.sp.Pop() == nil {
		q.loadedDisk--
	}
}

// rewind forgets what the sender loaded (it starts again at the head);
// offline, the results in memory then go to the spool.
func (q *spillQueue) rewind() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.loadedMem, q.loadedDisk = 0, 0
	q.sp.Rewind()
	if !q.online {
		q.spillLocked()
	}
}

// close spills what is in memory and closes the spool (the sender has
// stopped).
func (q *spillQueue) close() error {
	close(q.stop)
	q.mu.Lock()
	q.online = false
	q.loadedMem, q.loadedDisk = 0, 0
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

// durableFrom puts the spool on the disk and returns the number of the
// first result that is only in memory: every result before it has been
// acknowledged by the broker (a result leaves the queue only then) or is
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
