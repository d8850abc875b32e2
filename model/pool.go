package model

import (
	"fmt"
	"runtime"
	"sync"
)

// Pool runs large batches over several cores: each worker owns a Session,
// all of one compiled Program. Its calls split the windows into contiguous shares,
// one per worker. A Pool is safe for concurrent use, one call at a time
// per pool (calls are serialised).
type Pool struct {
	mu       sync.Mutex
	sessions []*Session
	win      int
	errs     []error
}

// NewPool creates a pool of workers sessions (0 means runtime.NumCPU()),
// each running up to batch windows per kernel call.
func (m *Model) NewPool(workers, batch int) (*Pool, error) {
	if workers == 0 {
		workers = runtime.NumCPU()
	}
	if workers < 1 || workers > 1024 {
		return nil, fmt.Errorf("model: pool of %d workers outside [1, 1024]", workers)
	}
	prog, err := Compile(m, CompileOptions{})
	if err != nil {
		return nil, err
	}
	p := &Pool{win: m.Steps * m.Channels, errs: make([]error, workers)}
	for i := 0; i < workers; i++ {
		s, err := prog.NewSession(batch)
		if err != nil {
			return nil, err
		}
		p.sessions = append(p.sessions, s)
	}
	return p, nil
}

// Workers returns the number of workers.
func (p *Pool) Workers() int { return len(p.sessions) }

// Reconstruct reconstructs any number of windows (len(x) a multiple of the
// window size) into dst, spreading them over the workers.
func (p *Pool) Reconstruct(dst, x []float32) error {
	if len(x)%p.win != 0 || len(dst) != len(x) {
		return fmt.Errorf("model: pool: %d inputs and %d outputs for %d-value windows", len(x), len(dst), p.win)
	}
	return p.each(len(x)/p.win, func(s *Session, w0, w1 int) error {
		for w := w0; w < w1; w += s.batch {
			e := min(w1, w+s.batch)
			if err := s.Reconstruct(dst[w*p.win:e*p.win], x[w*p.win:e*p.win]); err != nil {
				return err
			}
		}
		return nil
	})
}

// Errors is Session.Errors over any number of windows, spread over the
// workers; window and channel may be nil.
func (p *Pool) Errors(x, window, channel []float32) error {
	n := len(x) / p.win
	if len(x)%p.win != 0 {
		return fmt.Errorf("model: pool: %d inputs for %d-value windows", len(x), p.win)
	}
	C := p.sessions[0].m.Channels
	if (window != nil && len(window) != n) || (channel != nil && len(channel) != n*C) {
		return fmt.Errorf("model: pool: error buffers hold %d and %d values for %d windows", len(window), len(channel), n)
	}
	return p.each(n, func(s *Session, w0, w1 int) error {
		for w := w0; w < w1; w += s.batch {
			e := min(w1, w+s.batch)
			var win, ch []float32
			if window != nil {
				win = window[w:e]
			}
			if channel != nil {
				ch = channel[w*C : e*C]
			}
			if err := s.Errors(x[w*p.win:e*p.win], nil, win, ch); err != nil {
				return err
			}
		}
		return nil
	})
}

// each runs fn on contiguous shares of n windows, one per worker.
func (p *Pool) each(n int, fn func(s *Session, w0, w1 int) error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := len(p.sessions)
	var wg sync.WaitGroup
	for i, s := range p.sessions {
		w0, w1 := n*i/k, n*(i+1)/k
		p.errs[i] = nil
		if w0 == w1 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.errs[i] = fn(s, w0, w1)
		}()
	}
	wg.Wait()
	for _, err := range p.errs {
		if err != nil {
			return err
		}
	}
	return nil
}
