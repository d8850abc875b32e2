package stream

import "sort"

// MaxGrace bounds ClockConfig.Grace.
const MaxGrace = 1 << 12

// reorder is the clock's grace window: it holds up to n rows and hands
// them on in time order, so that a row that arrives up to n rows late
// still takes its place. A row held for more than 2n+1 arrivals is ahead
// of every row since (a far-future time): it is handed on at once, and
// the clock's policy drops it. Memory: n+1 rows, allocated at the start.
type reorder struct {
	n    int
	rows []held // sorted by time, then arrival
	free [][]float32
	next int64 // arrivals so far
	out  func(Row) error
}

type held struct {
	r   Row
	seq int64
}

func newReorder(n, channels int, out func(Row) error) *reorder {
	q := &reorder{n: n, rows: make([]held, 0, n+1), out: out}
	for i := 0; i <= n; i++ {
		q.free = append(q.free, make([]float32, channels))
	}
	return q
}

// push takes a row with a valid time.
func (q *reorder) push(r Row) error {
	vals := q.free[len(q.free)-1]
	q.free = q.free[:len(q.free)-1]
	copy(vals, r.Values)
	r.Values = vals
	i := sort.Search(len(q.rows), func(i int) bool { return q.rows[i].r.Time > r.Time })
	q.rows = append(q.rows, held{})
	copy(q.rows[i+1:], q.rows[i:])
	q.rows[i] = held{r: r, seq: q.next}
	q.next++
	if len(q.rows) > q.n {
		if err := q.release(0); err != nil {
			return err
		}
	}
	for i, h := range q.rows {
		if q.next-h.seq > int64(2*q.n+1) {
			return q.release(i) // at most one a push: one came in
		}
	}
	return nil
}

// release hands on row i and frees its buffer.
func (q *reorder) release(i int) error {
	h := q.rows[i]
	q.rows = append(q.rows[:i], q.rows[i+1:]...)
	err := q.out(h.r)
	q.free = append(q.free, h.r.Values)
	return err
}

// flush hands on every held row, in time order.
func (q *reorder) flush() error {
	for len(q.rows) > 0 {
		if err := q.release(0); err != nil {
			return err
		}
	}
	return nil
}
