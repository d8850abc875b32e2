package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/pca"
)

// ErrNoWarmStart is returned by WarmStart for architectures it cannot
// start from PCA.
var ErrNoWarmStart = errors.New("train: PCA warm start needs a dense, non-variational model with ReLU or LeakyReLU hidden layers at least twice as wide as the identity code")

// WarmStart rewrites part of a dense autoencoder's weights so that, before
// any training, it computes exactly the linear autoencoder p (PCA with as
// many components as the code), whitened: the code holds the principal
// coordinates divided by their standard deviations.
//
// Rectified layers cannot pass a signed value, so each hidden layer
// carries every code coordinate z twice, as act(z) and act(-z), whose
// difference is (1+alpha)·z; the next layer takes that difference. Those
// 2·latent units per hidden layer are set; the others keep their random
// initialisation and are free to learn what PCA misses, because the
// decoder's last layer starts with zero weights on them (so they do not
// disturb the starting point, yet receive gradient from the first step).
// Their incoming weights are scaled down, so their activations start small
// and do not set the range of an int8 encoding.
//
// Training from there can only keep or improve on PCA's training error
// (Train keeps the best epoch, counting the start). On data that is close
// to linear, a randomly initialised autoencoder often needs hundreds of
// epochs to reach PCA; from the warm start it begins there.
func WarmStart(m *model.Model, p *pca.PCA) error {
	k := m.Latent()
	d := m.Steps * m.Channels
	if p.D != d || p.K != k {
		return fmt.Errorf("train: PCA of %d components on %d values does not fit a model with a %d code on %d values", p.K, p.D, k, d)
	}
	if m.Variational {
		return ErrNoWarmStart
	}
	layers := append(append([]*model.Layer{}, ptrs(m.Encoder)...), ptrs(m.Decoder)...)
	nEnc := len(m.Encoder)
	alpha, err := warmSlope(layers, nEnc, k)
	if err != nil {
		return err
	}
	// Whitening scales, with a floor so a null direction does not blow up:
	// a millionth of the first component's variance, and at least 1e-4
	// (a standard deviation of 0.01 normalised units, the data's
	// resolution, not its variation). Without the absolute floor, a
	// channel that never moved while learning got weights of 1e9, and its
	// first move put 1e5 through the hidden layers.
	w := warmer{p: p, k: k, d: d, sd: make([]float64, k), pair: 1 / (1 + float64(alpha))}
	for i := range w.sd {
		w.sd[i] = math.Sqrt(max(p.Variance[i], 1e-6*p.Variance[0], 1e-4))
	}
	for idx, l := range layers {
		first, last := idx == 0, idx == len(layers)-1
		code := idx == nEnc-1
		rows := 2 * k
		if code {
			rows = k
		}
		switch {
		case first: // (also the code itself, with no hidden encoder layer)
			w.project(l, rows)
		case idx == nEnc && last: // decoder of one layer, straight from the code
			w.reconstruct(l)
		case idx == nEnc: // the decoder's first layer reads the code itself
			w.readCode(l)
		case last:
			w.reconstructPairs(l)
		default:
			w.readPairs(l, rows)
		}
		if !last && !code {
			shrinkFree(l, k)
		}
	}
	return nil
}

// warmSlope checks that the model is dense, with identity outputs at the
// code and the end, and ReLU or leaky ReLU hidden layers of one slope at
// least twice the code wide, and returns that slope.
func warmSlope(layers []*model.Layer, nEnc, k int) (float32, error) {
	var alpha float32
	seen := false
	for i, l := range layers {
		if l.Kind != model.Dense {
			return 0, ErrNoWarmStart
		}
		last := i == nEnc-1 || i == len(layers)-1
		switch {
		case last && l.Act != model.Identity && l.Act != "":
			return 0, ErrNoWarmStart
		case last:
		case l.Act == model.ReLU || l.Act == model.LeakyReLU:
			if l.Out < 2*k {
				return 0, ErrNoWarmStart
			}
			a := float32(0)
			if l.Act == model.LeakyReLU {
				a = l.Alpha
			}
			if seen && a != alpha {
				return 0, ErrNoWarmStart // one slope throughout keeps the pairs simple
			}
			alpha, seen = a, true
		default:
			return 0, ErrNoWarmStart
		}
	}
	return alpha, nil
}

// warmer writes the PCA warm start's layers: k components of d values,
// whitened by sd; pair undoes a leaky slope over a ±pair of units.
type warmer struct {
	p    *pca.PCA
	k, d int
	sd   []float64
	pair float64
}

// signOf returns row r's sign and component: rows 0..k-1 carry +z,
// rows k..2k-1 carry -z.
func (w *warmer) signOf(r int) (float64, int) {
	if r >= w.k {
		return -1, r - w.k
	}
	return 1, r
}

// project makes the first layer's rows the whitened components (±).
func (w *warmer) project(l *model.Layer, rows int) {
	for r := 0; r < rows; r++ {
		sign, i := w.signOf(r)
		var b float64
		for j := 0; j < w.d; j++ {
			v := sign * w.p.Components[i][j] / w.sd[i]
			l.W[r*w.d+j] = float32(v)
			b -= float64(v * w.p.Mean[j]) // unfused: the same bits on arm64
		}
		l.B[r] = float32(b)
	}
}

// reconstruct makes a one-layer decoder map the code back through the
// components.
func (w *warmer) reconstruct(l *model.Layer) {
	for j := 0; j < w.d; j++ {
		for i := 0; i < w.k; i++ {
			l.W[j*w.k+i] = float32(w.p.Components[i][j] * w.sd[i])
		}
		l.B[j] = float32(w.p.Mean[j])
	}
}

// readCode makes the decoder's first layer read the code into ± pairs.
func (w *warmer) readCode(l *model.Layer) {
	for r := 0; r < 2*w.k; r++ {
		row := l.W[r*w.k : (r+1)*w.k]
		clear(row)
		if r < w.k {
			row[r] = 1
		} else {
			row[r-w.k] = -1
		}
		l.B[r] = 0
	}
}

// reconstructPairs makes the last layer map the ± pairs back through the
// components.
func (w *warmer) reconstructPairs(l *model.Layer) {
	for j := 0; j < w.d; j++ {
		row := l.W[j*l.In : (j+1)*l.In]
		clear(row)
		for i := 0; i < w.k; i++ {
			v := float32(w.p.Components[i][j] * w.sd[i] * w.pair)
			row[i], row[w.k+i] = v, -v
		}
		l.B[j] = float32(w.p.Mean[j])
	}
}

// readPairs makes rows 0..k-1 of l output sign*z (and rows k..2k-1
// -sign*z, if l is a hidden layer) from the pairs of the layer before.
func (w *warmer) readPairs(l *model.Layer, rows int) {
	for r := 0; r < rows; r++ {
		sign, i := w.signOf(r)
		row := l.W[r*l.In : (r+1)*l.In]
		clear(row)
		row[i] = float32(sign * w.pair)
		row[w.k+i] = float32(-sign * w.pair)
		l.B[r] = 0
	}
}

// shrinkFree scales the units beyond the ± pairs down: they add nothing to
// the output yet, and large random activations would only coarsen the
// int8 encoding the pair units share with them.
func shrinkFree(l *model.Layer, k int) {
	for r := 2 * k; r < l.Out; r++ {
		row := l.W[r*l.In : (r+1)*l.In]
		for j := range row {
			row[j] *= freeScale
		}
		l.B[r] = 0
	}
}

// freeScale shrinks the free units' initial weights (see WarmStart).
const freeScale = 0.01

func ptrs(ls []model.Layer) []*model.Layer {
	out := make([]*model.Layer, len(ls))
	for i := range ls {
		out[i] = &ls[i]
	}
	return out
}
