// Package train trains edge's autoencoders in float32, in pure Go, on the
// float kernels: hand-written backward passes for every layer of package
// model, MSE or Huber loss, Adam with decoupled weight decay, mini-batches,
// shuffling, a learning-rate schedule, gradient clipping, validation and
// early stopping. The variants are the model's and the Config's: vanilla,
// denoising (corrupted inputs, clean targets), sparse (L1 or KL penalty on
// the code), variational (reparameterisation and a beta-weighted KL term)
// and convolutional (any mix of the model's layers).
//
// Training is deterministic for a given seed: the same data and Config
// give the same model, bit for bit, whatever the number of threads, since
// threads only ever split independent outputs.
package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/model"
)

// Loss selects the reconstruction loss.
type Loss string

// The losses, averaged over every value of the batch (normalised units).
const (
	MSE   Loss = "mse"
	Huber Loss = "huber" // quadratic within HuberDelta, linear beyond
)

// Corruption is what the denoising variant does to inputs (targets stay
// clean), in normalised units. All zero: no corruption (a vanilla model).
type Corruption struct {
	Gaussian   float64 // standard deviation of added Gaussian noise
	Mask       float64 // probability that a value is replaced by 0 (the mean)
	Spike      float64 // probability that a value gets an impulse
	SpikeScale float64 // size of an impulse, in standard deviations (default 5)
}

// Active reports whether any corruption is configured (a denoising model).
func (c Corruption) Active() bool { return c.Gaussian > 0 || c.Mask > 0 || c.Spike > 0 }

// Config configures Train. The zero value trains a vanilla model with
// sensible defaults (see Defaults).
type Config struct {
	Epochs      int     // maximum epochs (default 100)
	Batch       int     // windows per step (default 32)
	LR          float64 // peak learning rate (default 1e-3)
	WeightDecay float64 // AdamW decoupled weight decay (default 1e-4)
	Beta1       float64 // Adam (default 0.9)
	Beta2       float64 // Adam (default 0.999)
	Eps         float64 // Adam (default 1e-8)
	// Schedule: "cosine" (default: linear warm-up over WarmupSteps, then
	// cosine decay to LR/100 at the last epoch) or "constant".
	Schedule    string
	WarmupSteps int     // default: one epoch, at most 500 steps
	ClipNorm    float64 // clip the global gradient norm (default 5; <0: off)
	Patience    int     // stop after this many epochs without a better validation loss (default 10; <0: off)
	Loss        Loss
	HuberDelta  float64 // default 1
	Seed        uint64
	Threads     int // default runtime.NumCPU()

	Corrupt Corruption // denoising
	// NoiseVar, if positive, is the variance of the noise in the
	// (normalised) training data, and a denoising model is then validated
	// by Stein's unbiased risk estimate of its error against the clean
	// signal: ||f(x)-x||² - n·NoiseVar + 2·NoiseVar·div f(x), the
	// divergence estimated by a fixed random probe. Unlike a
	// reconstruction loss on noisy data, it does not reward a model for
	// passing the noise through. FitSeries sets it from PCA's residual.
	NoiseVar float64
	L1       float64 // sparse: weight of the mean L1 norm of the code
	// KL sparsity of a code in (0, 1) (a sigmoid code layer): KLWeight *
	// sum_j KL(KLTarget || mean activation of unit j).
	KLWeight, KLTarget float64
	// Beta weighs the variational model's KL term, per value of the window:
	// loss = reconstruction + Beta * KL / (steps*channels). Default 1.
	Beta float64

	// Progress, if set, is called after every step.
	Progress func(Progress)
}

// Progress reports the state of training.
type Progress struct {
	Epoch, Epochs      int
	Step, Steps        int     // within the epoch
	TrainLoss          float64 // running mean over the epoch
	ValLoss            float64 // last validation loss (NaN before the first)
	BestValLoss        float64
	SamplesPerSecond   float64
	Elapsed, Remaining time.Duration
	EpochDone          bool // the step that ends an epoch (ValLoss is fresh)
}

// Result summarises a training run.
type Result struct {
	Epochs    int     // epochs run
	BestEpoch int     // the epoch whose weights the model now has
	TrainLoss float64 // of the last epoch
	// ValLoss is the best validation loss: the reconstruction loss only
	// (no sparsity or KL term); for a denoising model, of corrupted
	// windows (one fixed draw) against the clean ones, its own task.
	ValLoss          float64
	InitialValLoss   float64 // before training
	SamplesPerSecond float64
	Elapsed          time.Duration
	History          []EpochStats
	// NoiseVar is the noise variance a denoising model was validated
	// with (see Config.NoiseVar); 0 if none.
	NoiseVar float64
}

// EpochStats is one epoch's losses.
type EpochStats struct {
	TrainLoss, ValLoss float64
}

// Defaults fills the zero fields of c.
func (c *Config) Defaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	deff := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Epochs, 100)
	def(&c.Batch, 32)
	deff(&c.LR, 1e-3)
	deff(&c.WeightDecay, 1e-4)
	deff(&c.Beta1, 0.9)
	deff(&c.Beta2, 0.999)
	deff(&c.Eps, 1e-8)
	deff(&c.ClipNorm, 5)
	def(&c.Patience, 10)
	deff(&c.HuberDelta, 1)
	deff(&c.Beta, 1)
	deff(&c.Corrupt.SpikeScale, 5)
	if c.Schedule == "" {
		c.Schedule = "cosine"
	}
	if c.Loss == "" {
		c.Loss = MSE
	}
	if c.Threads == 0 {
		c.Threads = runtime.NumCPU()
	}
}

func (c *Config) check() error {
	switch {
	case c.Epochs < 1 || c.Batch < 1 || c.Batch > 1<<16:
		return fmt.Errorf("train: epochs %d and batch %d must be positive (batch at most 65536)", c.Epochs, c.Batch)
	case !(c.LR > 0) || c.WeightDecay < 0 || !(c.Beta1 >= 0 && c.Beta1 < 1) || !(c.Beta2 >= 0 && c.Beta2 < 1) || !(c.Eps > 0):
		return errors.New("train: learning rate must be positive, weight decay non-negative, betas in [0, 1), eps positive")
	case c.Schedule != "cosine" && c.Schedule != "constant":
		return fmt.Errorf("train: unknown schedule %q (cosine or constant)", c.Schedule)
	case c.Loss != MSE && c.Loss != Huber:
		return fmt.Errorf("train: unknown loss %q (mse or huber)", c.Loss)
	case !(c.HuberDelta > 0):
		return errors.New("train: Huber delta must be positive")
	case c.Threads < 1 || c.Threads > 1024:
		return fmt.Errorf("train: %d threads", c.Threads)
	}
	return c.checkTerms()
}

// checkTerms checks the corruption and the regularisation terms.
func (c *Config) checkTerms() error {
	switch {
	case c.Corrupt.Gaussian < 0 || c.Corrupt.Mask < 0 || c.Corrupt.Mask >= 1 || c.Corrupt.Spike < 0 || c.Corrupt.Spike >= 1:
		return errors.New("train: corruption: noise must be non-negative, mask and spike probabilities in [0, 1)")
	case c.L1 < 0 || c.KLWeight < 0 || c.Beta < 0:
		return errors.New("train: L1, KL weight and beta must be non-negative")
	case c.KLWeight > 0 && !(c.KLTarget > 0 && c.KLTarget < 1):
		return errors.New("train: KL sparsity needs a target activation in (0, 1)")
	case !(c.NoiseVar >= 0) || math.IsInf(c.NoiseVar, 0):
		return fmt.Errorf("train: noise variance %v", c.NoiseVar)
	}
	return nil
}

// Train fits the float32 model m to the training windows (normalised
// already, time-major, steps*channels values each; see Normalize) and
// keeps the weights of the epoch with the lowest validation loss. val may
// be empty: then the training loss decides.
func Train(m *model.Model, trainX, valX []float32, cfg Config) (*Result, error) {
	return TrainContext(context.Background(), m, trainX, valX, cfg)
}

// TrainContext is Train that stops, between two steps, when ctx is done,
// and returns an error wrapping ctx's. m's weights are then those of no
// particular epoch: a stopped model is not one to save.
func TrainContext(ctx context.Context, m *model.Model, trainX, valX []float32, cfg Config) (*Result, error) {
	cfg.Defaults()
	if err := cfg.check(); err != nil {
		return nil, err
	}
	win := m.Steps * m.Channels
	if len(trainX) == 0 || len(trainX)%win != 0 || len(valX)%win != 0 {
		return nil, fmt.Errorf("train: %d training and %d validation values are not whole %d-value windows", len(trainX), len(valX), win)
	}
	nTrain, nVal := len(trainX)/win, len(valX)/win
	batch := min(cfg.Batch, nTrain)
	par := newPool(cfg.Threads)
	defer par.Close()
	n, err := newNet(m, max(batch, min(nVal, 256)), par)
	if err != nil {
		return nil, err
	}
	code := n.layers[n.nEnc-1]
	if cfg.KLWeight > 0 && code.l.Act != model.Sigmoid {
		return nil, fmt.Errorf("train: KL sparsity needs a sigmoid code (the encoder's last layer), not %s", code.l.Act)
	}
	t := &trainer{cfg: cfg, n: n, win: win,
		order: rand.New(rand.NewPCG(cfg.Seed, 0x5eed)), noise: rand.New(rand.NewPCG(cfg.Seed, 0xc0de))}
	t.setup()
	n.prepare()
	stepsPerEpoch := (nTrain + batch - 1) / batch
	total := cfg.Epochs * stepsPerEpoch
	warm := cfg.WarmupSteps
	if warm == 0 {
		warm = min(stepsPerEpoch, 500)
	}
	res := &Result{InitialValLoss: math.NaN()}
	evalSet := valX
	if nVal == 0 {
		evalSet = trainX
	}
	res.InitialValLoss = t.evaluate(evalSet)
	best := res.InitialValLoss
	bestW := t.snapshot()
	res.BestEpoch = 0
	perm := make([]int, nTrain)
	for i := range perm {
		perm[i] = i
	}
	start := time.Now()
	seen := 0
	xb := make([]float32, batch*win)
	sinceBest := 0
	lastVal := math.NaN()
	for ep := 1; ep <= cfg.Epochs; ep++ {
		t.order.Shuffle(nTrain, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var sum float64
		for s := 0; s < stepsPerEpoch; s++ {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("train: stopped at epoch %d, step %d: %w", ep, s+1, err)
			}
			rows := min(batch, nTrain-s*batch)
			for r := 0; r < rows; r++ {
				w := perm[s*batch+r]
				copy(xb[r*win:(r+1)*win], trainX[w*win:(w+1)*win])
			}
			lr := schedule(cfg, t.step, warm, total)
			loss := t.trainStep(xb[:rows*win], rows, lr)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, fmt.Errorf("train: the loss diverged (%v) at epoch %d step %d; lower the learning rate", loss, ep, s+1)
			}
			sum += loss
			seen += rows
			if cfg.Progress != nil {
				cfg.Progress(stepProgress(cfg, start, seen, ep, s, stepsPerEpoch, nTrain, batch, sum/float64(s+1), lastVal, best))
			}
		}
		res.TrainLoss = sum / float64(stepsPerEpoch)
		lastVal = t.evaluate(evalSet)
		res.History = append(res.History, EpochStats{res.TrainLoss, lastVal})
		res.Epochs = ep
		if lastVal < best {
			best, bestW, res.BestEpoch, sinceBest = lastVal, t.snapshot(), ep, 0
		} else {
			sinceBest++
		}
		if cfg.Progress != nil {
			el := time.Since(start)
			cfg.Progress(Progress{Epoch: ep, Epochs: cfg.Epochs, Step: stepsPerEpoch, Steps: stepsPerEpoch,
				TrainLoss: res.TrainLoss, ValLoss: lastVal, BestValLoss: best, SamplesPerSecond: float64(seen) / el.Seconds(),
				Elapsed: el, EpochDone: true})
		}
		if cfg.Patience > 0 && sinceBest >= cfg.Patience {
			break
		}
	}
	t.restore(bestW)
	res.ValLoss = best
	res.Elapsed = time.Since(start)
	res.SamplesPerSecond = float64(seen) / res.Elapsed.Seconds()
	return res, nil
}

// stepProgress reports step s (0-based) of epoch ep, seen windows after
// start.
func stepProgress(cfg Config, start time.Time, seen, ep, s, steps, nTrain, batch int, loss, lastVal, best float64) Progress {
	el := time.Since(start)
	sps := float64(seen) / el.Seconds()
	left := float64((cfg.Epochs-ep)*nTrain+nTrain-(s+1)*batch) / sps
	return Progress{Epoch: ep, Epochs: cfg.Epochs, Step: s + 1, Steps: steps,
		TrainLoss: loss, ValLoss: lastVal, BestValLoss: best, SamplesPerSecond: sps,
		Elapsed: el, Remaining: time.Duration(max(left, 0) * float64(time.Second))}
}

// schedule returns the learning rate of step (0-based).
func schedule(c Config, step, warm, total int) float64 {
	if c.Schedule == "constant" {
		return c.LR
	}
	if step < warm {
		return c.LR * float64(step+1) / float64(warm)
	}
	p := float64(step-warm) / float64(max(1, total-warm))
	lo := c.LR / 100
	return lo + float64((c.LR-lo)*0.5*(1+math.Cos(math.Pi*math.Min(1, p))))
}

// trainer holds the optimiser state and the scratch of one run.
type trainer struct {
	cfg          Config
	n            *net
	win          int
	order, noise *rand.Rand
	step         int
	m, v         [][]float32 // Adam moments, per parameter tensor
	params       [][]float32
	grads        [][]float32
	in           []float32 // corrupted inputs
	dy           []float32 // gradient of the reconstruction
	dcode        []float32
	z            []float32 // variational: sampled code
	eps          []float32
}

func (t *trainer) setup() {
	for _, tl := range t.n.layers {
		t.params = append(t.params, tl.l.W, tl.l.B)
		t.grads = append(t.grads, tl.gW, tl.gB)
	}
	for _, p := range t.params {
		t.m = append(t.m, make([]float32, len(p)))
		t.v = append(t.v, make([]float32, len(p)))
	}
	b := t.n.batch
	t.in = make([]float32, b*t.win)
	t.dy = make([]float32, b*t.win)
	code := t.n.layers[t.n.nEnc-1]
	t.dcode = make([]float32, b*code.out.size())
	if t.n.m.Variational {
		lat := code.out.c / 2
		t.z = make([]float32, b*lat)
		t.eps = make([]float32, b*lat)
	}
}

func (t *trainer) snapshot() [][]float32 {
	out := make([][]float32, len(t.params))
	for i, p := range t.params {
		out[i] = append([]float32(nil), p...)
	}
	return out
}

func (t *trainer) restore(s [][]float32) {
	for i, p := range t.params {
		copy(p, s[i])
	}
	t.n.prepare()
}

// trainStep runs one batch forward and backward, updates the weights and
// returns the batch loss (including the variant's penalty).
func (t *trainer) trainStep(x []float32, rows int, lr float64) float64 {
	loss := t.lossGrad(x, rows)
	t.update(lr)
	return loss
}

// lossGrad runs one batch forward and backward: it returns the loss and
// leaves the gradients of every parameter in the layers' gW and gB.
func (t *trainer) lossGrad(x []float32, rows int) float64 {
	n, cfg := t.n, t.cfg
	in := x
	if cfg.Corrupt.Active() {
		in = t.in[:len(x)]
		t.corrupt(in, x, t.noise)
	}
	code := n.forward(0, n.nEnc, in, rows)
	dec := code
	var kl float64
	if n.m.Variational {
		dec, kl = t.sample(code, rows)
	}
	y := n.forward(n.nEnc, len(n.layers), dec, rows)
	loss := t.reconLoss(t.dy[:len(x)], y, x)
	loss += t.codePenalty(code, rows)
	// Backward: decoder, then the code's gradient into the encoder.
	dDec := n.backward(n.nEnc, len(n.layers), t.dy[:len(x)], rows)
	dCode := t.dcode[:len(code)]
	if n.m.Variational {
		t.sampleGrad(dCode, dDec, code, rows)
		loss += kl
	} else {
		copy(dCode, dDec)
	}
	t.codePenaltyGrad(dCode, code, rows)
	n.backward(0, n.nEnc, dCode, rows)
	return loss
}

// reconLoss writes the gradient of the mean reconstruction loss into dy
// and returns the loss.
func (t *trainer) reconLoss(dy, y, target []float32) float64 {
	inv := 1 / float64(len(y))
	var loss float64
	delta := t.cfg.HuberDelta
	for i := range y {
		d := float64(y[i]) - float64(target[i])
		switch {
		case t.cfg.Loss == Huber && math.Abs(d) > delta:
			loss += float64(delta * (math.Abs(d) - float64(0.5*delta)))
			dy[i] = float32(math.Copysign(delta, d) * inv)
		case t.cfg.Loss == Huber:
			loss += float64(0.5 * d * d)
			dy[i] = float32(d * inv)
		default:
			loss += float64(d * d)
			dy[i] = float32(2 * d * inv)
		}
	}
	return loss * inv
}

// corrupt writes x with the configured corruption into dst.
func (t *trainer) corrupt(dst, x []float32, rng *rand.Rand) {
	c := t.cfg.Corrupt
	for i, v := range x {
		if c.Gaussian > 0 {
			v += float32(c.Gaussian * rng.NormFloat64())
		}
		if c.Mask > 0 && rng.Float64() < c.Mask {
			v = 0
		}
		if c.Spike > 0 && rng.Float64() < c.Spike {
			v += float32(c.SpikeScale * float64(1-2*rng.IntN(2)))
		}
		dst[i] = v
	}
}

// sample draws the variational code z = mu + exp(logvar/2)*eps and returns
// it with the batch's weighted KL term.
func (t *trainer) sample(code []float32, rows int) ([]float32, float64) {
	lat := len(code) / rows / 2
	z, eps := t.z[:rows*lat], t.eps[:rows*lat]
	var kl float64
	for r := 0; r < rows; r++ {
		for j := 0; j < lat; j++ {
			mu, lv := float64(code[r*2*lat+j]), float64(code[r*2*lat+lat+j])
			e := t.noise.NormFloat64()
			eps[r*lat+j] = float32(e)
			z[r*lat+j] = float32(mu + float64(math.Exp(0.5*lv)*e))
			kl += float64(-0.5 * (1 + lv - float64(mu*mu) - math.Exp(lv)))
		}
	}
	return z, t.cfg.Beta * kl / float64(rows) / float64(t.win)
}

// sampleGrad turns the gradient of z into the gradients of mu and logvar,
// adding the KL term's.
func (t *trainer) sampleGrad(dCode, dz, code []float32, rows int) {
	lat := len(code) / rows / 2
	w := t.cfg.Beta / float64(rows) / float64(t.win)
	for r := 0; r < rows; r++ {
		for j := 0; j < lat; j++ {
			mu, lv := float64(code[r*2*lat+j]), float64(code[r*2*lat+lat+j])
			g := float64(dz[r*lat+j])
			s := math.Exp(0.5 * lv)
			dCode[r*2*lat+j] = float32(g + float64(w*mu))
			dCode[r*2*lat+lat+j] = float32(float64(g*float64(t.eps[r*lat+j])*0.5*s) + float64(w*0.5*(math.Exp(lv)-1)))
		}
	}
}

// codePenalty returns the sparse variant's penalty on the code.
func (t *trainer) codePenalty(code []float32, rows int) float64 {
	var p float64
	if t.cfg.L1 > 0 {
		for _, v := range code {
			p += math.Abs(float64(v))
		}
		p *= t.cfg.L1 / float64(rows)
	}
	if t.cfg.KLWeight > 0 {
		units := len(code) / rows
		rho := t.cfg.KLTarget
		for j := 0; j < units; j++ {
			q := t.meanUnit(code, rows, j)
			p += float64(t.cfg.KLWeight * (float64(rho*math.Log(rho/q)) + float64((1-rho)*math.Log((1-rho)/(1-q)))))
		}
	}
	return p
}

func (t *trainer) meanUnit(code []float32, rows, j int) float64 {
	units := len(code) / rows
	var q float64
	for r := 0; r < rows; r++ {
		q += float64(code[r*units+j])
	}
	q /= float64(rows)
	return math.Min(math.Max(q, 1e-6), 1-1e-6)
}

func (t *trainer) codePenaltyGrad(d, code []float32, rows int) {
	if t.cfg.L1 > 0 {
		w := t.cfg.L1 / float64(rows)
		for i, v := range code {
			switch {
			case v > 0:
				d[i] += float32(w)
			case v < 0:
				d[i] -= float32(w)
			}
		}
	}
	if t.cfg.KLWeight > 0 {
		units := len(code) / rows
		rho := t.cfg.KLTarget
		for j := 0; j < units; j++ {
			q := t.meanUnit(code, rows, j)
			g := float32(t.cfg.KLWeight * (-rho/q + (1-rho)/(1-q)) / float64(rows))
			for r := 0; r < rows; r++ {
				d[r*units+j] += g
			}
		}
	}
}

// update clips the global gradient norm and takes an AdamW step.
func (t *trainer) update(lr float64) {
	cfg := t.cfg
	t.step++
	if cfg.ClipNorm > 0 {
		var sq float64
		for _, g := range t.grads {
			sq += float64(kernels.Dot(g, g))
		}
		if norm := math.Sqrt(sq); norm > cfg.ClipNorm {
			s := float32(cfg.ClipNorm / norm)
			for _, g := range t.grads {
				kernels.Scale(g, g, s)
			}
		}
	}
	h := kernels.AdamParams{LR: float32(lr), Beta1: float32(cfg.Beta1), Beta2: float32(cfg.Beta2),
		C1: float32(1 - math.Pow(cfg.Beta1, float64(t.step))), C2: float32(1 - math.Pow(cfg.Beta2, float64(t.step))),
		Eps: float32(cfg.Eps), Decay: float32(1 - float64(lr*cfg.WeightDecay))}
	// Elementwise: split every tensor over the workers.
	for i, p := range t.params {
		g, m, v := t.grads[i], t.m[i], t.v[i]
		t.n.par.rows(len(p), func(_, a, b int) { kernels.AdamW(p[a:b], g[a:b], m[a:b], v[a:b], h) })
	}
	t.n.prepare()
}

// evaluate returns the mean reconstruction loss over windows (the code's
// mean for a variational model; no corruption, no penalties).
func (t *trainer) evaluate(x []float32) float64 {
	if t.cfg.Corrupt.Active() && t.cfg.NoiseVar > 0 {
		return t.sure(x)
	}
	n := t.n
	var total float64
	count := 0
	// A denoising model is judged on its own task: the same corruption
	// (the same draw at every evaluation) against the uncorrupted window.
	var rng *rand.Rand
	if t.cfg.Corrupt.Active() {
		rng = rand.New(rand.NewPCG(t.cfg.Seed, 0xe7a1))
	}
	for off := 0; off < len(x); off += n.batch * t.win {
		end := min(len(x), off+n.batch*t.win)
		rows := (end - off) / t.win
		in := x[off:end]
		if rng != nil {
			in = t.in[:end-off]
			t.corrupt(in, x[off:end], rng)
		}
		y := t.reconstruct(in, rows)
		total += float64(t.reconLoss(t.dy[:len(y)], y, x[off:end]) * float64(len(y)))
		count += len(y)
	}
	return total / float64(count)
}

// reconstruct runs the model as deployed (the mean of a variational code).
func (t *trainer) reconstruct(in []float32, rows int) []float32 {
	n := t.n
	code := n.forward(0, n.nEnc, in, rows)
	if n.m.Variational {
		lat := len(code) / rows / 2
		z := t.z[:rows*lat]
		if len(t.z) < rows*lat {
			z = make([]float32, rows*lat)
		}
		for r := 0; r < rows; r++ {
			copy(z[r*lat:(r+1)*lat], code[r*2*lat:r*2*lat+lat])
		}
		code = z
	}
	return n.forward(n.nEnc, len(n.layers), code, rows)
}

// sureProbe is the step of the finite-difference divergence probe.
const sureProbe = 1e-2

// sure returns Stein's unbiased estimate of the mean squared error of the
// model's reconstruction against the clean signal, per value (see
// Config.NoiseVar): the divergence of the reconstruction is estimated as
// b·(f(x+εb) - f(x))/ε with one fixed Gaussian probe b per evaluation.
func (t *trainer) sure(x []float32) float64 {
	n := t.n
	rng := rand.New(rand.NewPCG(t.cfg.Seed, 0x5e7e))
	s2 := t.cfg.NoiseVar
	var total float64
	for off := 0; off < len(x); off += n.batch * t.win {
		end := min(len(x), off+n.batch*t.win)
		rows := (end - off) / t.win
		xs := x[off:end]
		y := t.reconstruct(xs, rows)
		for i, v := range y {
			d := float64(v) - float64(xs[i])
			total += float64(d*d) - s2
		}
		// Keep f(x) while f(x + εb) runs: dy is free during evaluation.
		fx := t.dy[:len(y)]
		copy(fx, y)
		probe := t.in[:end-off]
		for i, v := range xs {
			probe[i] = v + float32(sureProbe*rng.NormFloat64())
		}
		y2 := t.reconstruct(probe, rows)
		var div float64
		for i := range y2 {
			b := (float64(probe[i]) - float64(xs[i])) / sureProbe
			div += b * (float64(y2[i]) - float64(fx[i])) / sureProbe
		}
		total += float64(2 * s2 * div)
	}
	return total / float64(len(x))
}
