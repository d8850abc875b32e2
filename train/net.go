package train

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/model"
)

// net is a model's layers arranged for training: each layer keeps, for
// the current batch, its input, its pre-activation and activation outputs
// and the buffers of its backward pass. Tensors are time-major per window
// and windows follow one another, so a batch is a (rows x features) matrix.
//
// Parallel work is always split over independent outputs (rows of
// activations, rows of weight gradients, columns of bias gradients), never
// over the terms of one sum: every float32 chain keeps its order, so the
// result does not depend on the number of threads.
type net struct {
	m      *model.Model
	layers []*tlayer // encoder then decoder, reshapes dropped
	nEnc   int
	batch  int
	par    *pool
}

type shape struct{ t, c int }

func (s shape) size() int { return s.t * s.c }

type tlayer struct {
	l       *model.Layer
	in, out shape
	x       []float32 // input of the batch (a view of the previous layer's y)
	z, y    []float32 // pre-activation and activation outputs
	col     []float32 // conv: im2col rows; conv_transpose: per-input-step columns
	dz, dx  []float32
	dcol    []float32
	wc, dwc []float32 // conv_transpose: weights as [(k,o)][i] and their gradient
	// wt is the forward GEMM's B, laid out so that it packs by row copies:
	// dense and conv: W^T ([k][o]); conv_transpose: Wc^T ([i][(k,o)]).
	wt     []float32
	gW, gB []float32
}

// newNet lays the model out for batches of up to batch windows.
func newNet(m *model.Model, batch int, par *pool) (*net, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if m.Quantized() {
		return nil, fmt.Errorf("train: the model is int8; train a float32 model and quantise it afterwards")
	}
	n := &net{m: m, batch: batch, par: par}
	in := shape{m.Steps, m.Channels}
	add := func(ls []model.Layer, first shape) shape {
		in := first
		for i := range ls {
			l := &ls[i]
			if l.Kind == model.Reshape {
				in = shape{l.Steps, l.Channels}
				continue
			}
			tl := &tlayer{l: l, in: in}
			switch l.Kind {
			case model.Dense:
				tl.out = shape{1, l.Out}
			case model.Conv1D:
				tl.out = shape{(in.t+2*l.Padding-l.Dilation*(l.Kernel-1)-1)/l.Stride + 1, l.Out}
				tl.col = make([]float32, batch*tl.out.t*l.Kernel*l.In)
				tl.dcol = make([]float32, len(tl.col))
			case model.ConvTranspose1D:
				tl.out = shape{(in.t-1)*l.Stride - 2*l.Padding + (l.Kernel - 1) + l.OutputPadding + 1, l.Out}
				tl.col = make([]float32, batch*in.t*l.Kernel*l.Out)
				tl.dcol = make([]float32, len(tl.col))
				tl.wc = make([]float32, l.Kernel*l.Out*l.In)
				tl.dwc = make([]float32, len(tl.wc))
			}
			tl.z = make([]float32, batch*tl.out.size())
			tl.y = tl.z
			if a := l.Act; a != "" && a != model.Identity {
				tl.y = make([]float32, len(tl.z))
			}
			tl.dz = make([]float32, len(tl.z))
			tl.dx = make([]float32, batch*in.size())
			tl.wt = make([]float32, len(l.W))
			tl.gW = make([]float32, len(l.W))
			tl.gB = make([]float32, len(l.B))
			n.layers = append(n.layers, tl)
			in = tl.out
		}
		return in
	}
	enc := add(m.Encoder, in)
	n.nEnc = len(n.layers)
	lat := enc
	if m.Variational {
		lat = shape{1, enc.c / 2}
	}
	add(m.Decoder, lat)
	return n, nil
}

// prepare refreshes every layer's derived weights, in parallel.
func (n *net) prepare() {
	n.par.rows(len(n.layers), func(_, a, b int) {
		for _, tl := range n.layers[a:b] {
			tl.prepare()
		}
	})
}

// forward runs layers [from, to) on rows windows whose input is x.
func (n *net) forward(from, to int, x []float32, rows int) []float32 {
	for i := from; i < to; i++ {
		tl := n.layers[i]
		tl.x = x[:rows*tl.in.size()]
		tl.forward(rows, n.par)
		x = tl.y[:rows*tl.out.size()]
	}
	return x
}

// backward runs layers (to, from] backwards from dy (the gradient of the
// last layer's output) and returns the gradient of layer from's input.
func (n *net) backward(from, to int, dy []float32, rows int) []float32 {
	for i := to - 1; i >= from; i-- {
		tl := n.layers[i]
		tl.backward(dy, rows, n.par)
		dy = tl.dx[:rows*tl.in.size()]
	}
	return dy
}

func (tl *tlayer) forward(rows int, par *pool) {
	l := tl.l
	z := tl.z[:rows*tl.out.size()]
	switch l.Kind {
	case model.Dense:
		// Each output chain starts at the bias, as at inference.
		fillRows(z, l.B)
		par.gemm(false, false, rows, l.Out, l.In, tl.x, l.In, tl.wt, l.Out, z, l.Out, true)
	case model.Conv1D:
		kc := l.Kernel * l.In
		par.rows(rows, func(_, a, b int) { tl.im2col(a, b) })
		fillRows(z, l.B)
		par.gemm(false, false, rows*tl.out.t, l.Out, kc, tl.col, kc, tl.wt, l.Out, z, l.Out, true)
	case model.ConvTranspose1D:
		kco := l.Kernel * l.Out
		par.gemm(false, false, rows*tl.in.t, kco, l.In, tl.x, l.In, tl.wt, kco, tl.col, kco, false)
		par.rows(rows, func(_, a, b int) { tl.col2im(z, a, b) })
	}
	if len(tl.y) != len(tl.z) || &tl.y[0] != &tl.z[0] {
		y := tl.y[:len(z)]
		par.rows(rows, func(_, a, b int) {
			s := tl.out.size()
			activate(l.Act, l.Alpha, y[a*s:b*s], z[a*s:b*s])
		})
	}
}

func (tl *tlayer) backward(dy []float32, rows int, par *pool) {
	l := tl.l
	s := tl.out.size()
	dz := tl.dz[:rows*s]
	if len(tl.y) != len(tl.z) || &tl.y[0] != &tl.z[0] {
		par.rows(rows, func(_, a, b int) {
			activateGrad(l.Act, l.Alpha, dz[a*s:b*s], dy[a*s:b*s], tl.z[a*s:b*s], tl.y[a*s:b*s])
		})
	} else {
		copy(dz, dy)
	}
	dx := tl.dx[:rows*tl.in.size()]
	// Bias gradient: column sums of dz over every output row.
	per := len(dz) / l.Out
	par.rows(l.Out, func(_, a, b int) {
		for o := a; o < b; o++ {
			var g float32
			for r := 0; r < per; r++ {
				g += dz[r*l.Out+o]
			}
			tl.gB[o] = g
		}
	})
	switch l.Kind {
	case model.Dense:
		par.gemm(true, false, l.Out, l.In, rows, dz, l.Out, tl.x, l.In, tl.gW, l.In, false) // dW = dz^T x
		par.gemm(false, false, rows, l.In, l.Out, dz, l.Out, l.W, l.In, dx, l.In, false)    // dx = dz W
	case model.Conv1D:
		kc := l.Kernel * l.In
		m := rows * tl.out.t
		par.gemm(true, false, l.Out, kc, m, dz, l.Out, tl.col, kc, tl.gW, kc, false)
		par.gemm(false, false, m, kc, l.Out, dz, l.Out, l.W, kc, tl.dcol, kc, false)
		par.rows(rows, func(_, a, b int) { tl.col2imGrad(dx, a, b) })
	case model.ConvTranspose1D:
		kco := l.Kernel * l.Out
		m := rows * tl.in.t
		par.rows(rows, func(_, a, b int) { tl.im2colGrad(dz, a, b) })
		par.gemm(true, false, kco, l.In, m, tl.dcol, kco, tl.x, l.In, tl.dwc, l.In, false) // dWc = dcol^T x
		par.gemm(false, false, m, l.In, kco, tl.dcol, kco, tl.wc, l.In, dx, l.In, false)   // dx = dcol Wc
		tl.unpackConvTGrad()
	}
}

// fillRows sets every row of z to the bias.
func fillRows(z, bias []float32) {
	for i := 0; i < len(z); i += len(bias) {
		copy(z[i:i+len(bias)], bias)
	}
}

// im2col gathers, for windows [a, b), each output step's input patch:
// row (w, t) holds taps k = 0..K-1 of input step t*s+k*d-p (zeros outside).
func (tl *tlayer) im2col(a, b int) {
	l := tl.l
	c, kc := tl.in.c, l.Kernel*l.In
	for w := a; w < b; w++ {
		x := tl.x[w*tl.in.size() : (w+1)*tl.in.size()]
		for t := 0; t < tl.out.t; t++ {
			row := tl.col[(w*tl.out.t+t)*kc : (w*tl.out.t+t+1)*kc]
			for k := 0; k < l.Kernel; k++ {
				it := t*l.Stride + k*l.Dilation - l.Padding
				dst := row[k*c : (k+1)*c]
				if it < 0 || it >= tl.in.t {
					clear(dst)
				} else {
					copy(dst, x[it*c:(it+1)*c])
				}
			}
		}
	}
}

// col2imGrad scatters the patch gradients back onto the input steps.
func (tl *tlayer) col2imGrad(dx []float32, a, b int) {
	l := tl.l
	c, kc := tl.in.c, l.Kernel*l.In
	for w := a; w < b; w++ {
		d := dx[w*tl.in.size() : (w+1)*tl.in.size()]
		clear(d)
		for t := 0; t < tl.out.t; t++ {
			row := tl.dcol[(w*tl.out.t+t)*kc : (w*tl.out.t+t+1)*kc]
			for k := 0; k < l.Kernel; k++ {
				it := t*l.Stride + k*l.Dilation - l.Padding
				if it < 0 || it >= tl.in.t {
					continue
				}
				src := row[k*c : (k+1)*c]
				dst := d[it*c : (it+1)*c]
				for i := range src {
					dst[i] += src[i]
				}
			}
		}
	}
}

// prepare refreshes the layer's derived weights after W changed: wt for
// the forward pass (and wc for conv_transpose's backward).
func (tl *tlayer) prepare() {
	l := tl.l
	switch l.Kind {
	case model.Dense, model.Conv1D:
		rows := len(l.W) / l.Out // W is [o][k]; wt is [k][o]
		transpose(tl.wt, l.W, l.Out, rows)
	case model.ConvTranspose1D:
		// wc[(k,o)][i] = W[o][k][i]; wt[i][(k,o)] = the same.
		kco := l.Kernel * l.Out
		for o := 0; o < l.Out; o++ {
			for k := 0; k < l.Kernel; k++ {
				src := l.W[(o*l.Kernel+k)*l.In : (o*l.Kernel+k+1)*l.In]
				copy(tl.wc[(k*l.Out+o)*l.In:(k*l.Out+o+1)*l.In], src)
				for i, v := range src {
					tl.wt[i*kco+k*l.Out+o] = v
				}
			}
		}
	}
}

// transpose writes the r x c matrix src as c x r into dst, in tiles that
// keep both sides in cache.
func transpose(dst, src []float32, r, c int) {
	const tile = 32
	for i0 := 0; i0 < r; i0 += tile {
		for j0 := 0; j0 < c; j0 += tile {
			for i := i0; i < min(i0+tile, r); i++ {
				row := src[i*c : i*c+c]
				for j := j0; j < min(j0+tile, c); j++ {
					dst[j*r+i] = row[j]
				}
			}
		}
	}
}

func (tl *tlayer) unpackConvTGrad() {
	l := tl.l
	for o := 0; o < l.Out; o++ {
		for k := 0; k < l.Kernel; k++ {
			copy(tl.gW[(o*l.Kernel+k)*l.In:(o*l.Kernel+k+1)*l.In], tl.dwc[(k*l.Out+o)*l.In:(k*l.Out+o+1)*l.In])
		}
	}
}

// col2im sums each input step's columns into the output steps it reaches:
// out[t*s+k-p] += col[(w, t)][k][o], on top of the bias.
func (tl *tlayer) col2im(z []float32, a, b int) {
	l := tl.l
	kco := l.Kernel * l.Out
	for w := a; w < b; w++ {
		zw := z[w*tl.out.size() : (w+1)*tl.out.size()]
		fillRows(zw, l.B)
		for t := 0; t < tl.in.t; t++ {
			col := tl.col[(w*tl.in.t+t)*kco : (w*tl.in.t+t+1)*kco]
			for k := 0; k < l.Kernel; k++ {
				ot := t*l.Stride + k - l.Padding
				if ot < 0 || ot >= tl.out.t {
					continue
				}
				src := col[k*l.Out : (k+1)*l.Out]
				dst := zw[ot*l.Out : (ot+1)*l.Out]
				for o := range src {
					dst[o] += src[o]
				}
			}
		}
	}
}

// im2colGrad gathers, for each input step, the output gradients it reached.
func (tl *tlayer) im2colGrad(dz []float32, a, b int) {
	l := tl.l
	kco := l.Kernel * l.Out
	for w := a; w < b; w++ {
		dzw := dz[w*tl.out.size() : (w+1)*tl.out.size()]
		for t := 0; t < tl.in.t; t++ {
			col := tl.dcol[(w*tl.in.t+t)*kco : (w*tl.in.t+t+1)*kco]
			for k := 0; k < l.Kernel; k++ {
				ot := t*l.Stride + k - l.Padding
				dst := col[k*l.Out : (k+1)*l.Out]
				if ot < 0 || ot >= tl.out.t {
					clear(dst)
				} else {
					copy(dst, dzw[ot*l.Out:(ot+1)*l.Out])
				}
			}
		}
	}
}

// activate writes y = f(z) for the model's activations (the definitions of
// package model: see model.Layer).
func activate(a model.Activation, alpha float32, y, z []float32) {
	switch a {
	case model.ReLU:
		kernels.ReLU32(y, z)
	case model.LeakyReLU:
		for i, v := range z {
			if v < 0 {
				v = alpha * v
			}
			y[i] = v
		}
	case model.Tanh:
		for i, v := range z {
			y[i] = float32(math.Tanh(float64(v)))
		}
	case model.Sigmoid:
		for i, v := range z {
			y[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	default:
		copy(y, z)
	}
}

// activateGrad writes dz = dy * f'(z).
func activateGrad(a model.Activation, alpha float32, dz, dy, z, y []float32) {
	switch a {
	case model.ReLU:
		kernels.ReLUGrad(dz, dy, z)
	case model.LeakyReLU:
		for i := range dz {
			if z[i] > 0 {
				dz[i] = dy[i]
			} else {
				dz[i] = alpha * dy[i]
			}
		}
	case model.Tanh:
		for i := range dz {
			dz[i] = dy[i] * (1 - float32(y[i]*y[i]))
		}
	case model.Sigmoid:
		for i := range dz {
			dz[i] = dy[i] * y[i] * (1 - y[i])
		}
	default:
		copy(dz, dy)
	}
}

// pool runs work on a fixed number of workers: the caller, which runs
// share 0, and workers-1 goroutines that wait for jobs. A training step
// starts dozens of short parallel regions; waking a parked thread for each
// costs tens of microseconds, as much as the work, so idle workers spin on
// the current job pointer for a while before they park. Each job is
// published once, immutable, through an atomic pointer, and every worker
// runs each job at most once. Close stops the workers. rows splits [0, n)
// into contiguous shares, one per worker; each worker has its own GEMM
// workspace.
type pool struct {
	workers int
	spaces  []kernels.Workspace
	job     atomic.Pointer[job]
	mu      sync.Mutex
	cond    *sync.Cond
	alive   sync.WaitGroup
}

type job struct {
	gen     uint64
	fn      func(w, a, b int)
	n, k    int
	stop    bool
	pending atomic.Int32 // shares 1..k-1 not yet done
}

// spinChecks is how many times an idle worker polls for a job before
// parking (tens of microseconds).
const spinChecks = 20000

func newPool(workers int) *pool {
	p := &pool{workers: workers, spaces: make([]kernels.Workspace, workers)}
	p.cond = sync.NewCond(&p.mu)
	p.job.Store(&job{})
	for w := 1; w < workers; w++ {
		p.alive.Add(1)
		go p.worker(w)
	}
	return p
}

// publish makes j the current job and wakes parked workers.
func (p *pool) publish(j *job) {
	p.mu.Lock()
	j.gen = p.job.Load().gen + 1
	p.job.Store(j)
	p.cond.Broadcast()
	p.mu.Unlock()
}

// Close stops the worker goroutines.
func (p *pool) Close() {
	p.publish(&job{stop: true})
	p.alive.Wait()
}

func (p *pool) worker(w int) {
	defer p.alive.Done()
	var seen uint64
	for {
		j := p.job.Load()
		for i := 0; j.gen == seen && i < spinChecks; i++ {
			if i%1024 == 1023 {
				runtime.Gosched()
			}
			j = p.job.Load()
		}
		if j.gen == seen {
			p.mu.Lock()
			for p.job.Load().gen == seen {
				p.cond.Wait()
			}
			p.mu.Unlock()
			j = p.job.Load()
		}
		seen = j.gen
		if j.stop {
			return
		}
		if w < j.k {
			j.fn(w, j.n*w/j.k, j.n*(w+1)/j.k)
			j.pending.Add(-1)
		}
	}
}

func (p *pool) rows(n int, fn func(w, a, b int)) {
	k := min(p.workers, n)
	if k <= 1 {
		if n > 0 {
			fn(0, 0, n)
		}
		return
	}
	j := &job{fn: fn, n: n, k: k}
	j.pending.Store(int32(k - 1))
	p.publish(j)
	fn(0, 0, n/k)
	for i := 0; j.pending.Load() != 0; i++ {
		if i%1024 == 1023 {
			runtime.Gosched()
		}
	}
}

// gemm computes C = op(A) op(B) (kernels.Sgemm) split over the workers:
// by C's columns when it is wide (each worker packs only its slice of B),
// by C's rows when it is tall (convolutions: many rows, few channels; each
// worker packs the small B). Every output keeps its chain either way, so
// the split changes no bits.
func (p *pool) gemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int, acc bool) {
	run := func(w, m, n int, a, b, c []float32) {
		if err := kernels.Sgemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc, acc, p.ws(w)); err != nil {
			panic(fmt.Sprintf("train: internal GEMM shapes: %v", err)) // shapes come from a validated model
		}
	}
	if m >= 2*n {
		p.rows(m, func(w, i0, i1 int) {
			var aa []float32
			if transA {
				aa = a[i0:]
			} else {
				aa = a[i0*lda:]
			}
			run(w, i1-i0, n, aa, b, c[i0*ldc:])
		})
		return
	}
	p.rows(n, func(w, j0, j1 int) {
		var bb []float32
		if transB {
			bb = b[j0*ldb:]
		} else {
			bb = b[j0:]
		}
		run(w, m, j1-j0, a, bb, c[j0:])
	})
}

// ws returns worker w's GEMM workspace.
func (p *pool) ws(w int) *kernels.Workspace { return &p.spaces[w] }
