package model

import "fmt"

// PinChannels makes a float32 dense model treat channels that held one
// value while it learned as what they were: not an input, and
// reconstructed as that value. values maps a channel to its value in the
// model's input units (normalised). For each pinned channel the first
// layer's weights on it are folded into the layer's bias (the same output
// for every window that holds the value) and zeroed, and the last layer
// writes the value at every step of it. On the windows the model learned
// from its output is unchanged but for the pinned channels, which become
// exact.
//
// A learned model has no use for such a channel's weights: they were
// never shown a move, so the first new reading on it would otherwise
// travel through the whole network into every channel's reconstruction,
// and an int8 copy would reconstruct the learned value only to within its
// rounding, which the scorer, with a typical error near zero there, would
// count as an anomaly.
//
// It returns an error, and changes nothing, unless the first and last
// layers are dense over the whole window, the last has no activation,
// and the model is not quantised.
func (m *Model) PinChannels(values map[int]float32) error {
	if len(values) == 0 {
		return nil
	}
	if len(m.Encoder) == 0 || len(m.Decoder) == 0 {
		return fmt.Errorf("model: pinning channels needs an encoder and a decoder")
	}
	d, c := m.Steps*m.Channels, m.Channels
	first, last := &m.Encoder[0], &m.Decoder[len(m.Decoder)-1]
	switch {
	case first.Kind != Dense || first.In != d || len(first.W) != first.In*first.Out || len(first.B) != first.Out:
		return fmt.Errorf("model: pinning channels needs a first layer dense over the %d-value window", d)
	case last.Kind != Dense || last.Out != d || len(last.W) != last.In*last.Out || len(last.B) != last.Out || last.Act.orIdentity() != Identity:
		return fmt.Errorf("model: pinning channels needs a last layer dense over the %d-value window, without activation", d)
	case first.QW != nil || last.QW != nil:
		return fmt.Errorf("model: pinning channels of a quantised model")
	}
	for ch := range values {
		if ch < 0 || ch >= c {
			return fmt.Errorf("model: pinning channel %d of %d", ch, c)
		}
	}
	for o := 0; o < first.Out; o++ {
		row := first.W[o*d : (o+1)*d]
		sum := float64(first.B[o])
		for ch := 0; ch < c; ch++ { // in channel order: the same bits on every run
			v, ok := values[ch]
			if !ok {
				continue
			}
			for t := 0; t < m.Steps; t++ {
				sum += float64(float64(row[t*c+ch]) * float64(v)) // a float32 product is exact in float64
				row[t*c+ch] = 0
			}
		}
		first.B[o] = float32(sum)
	}
	for ch, v := range values {
		for t := 0; t < m.Steps; t++ {
			o := t*c + ch
			clear(last.W[o*last.In : (o+1)*last.In])
			last.B[o] = v
		}
	}
	return nil
}
