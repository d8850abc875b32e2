package model

import "fmt"

// LayerInfo describes one layer for reports such as `edge info MODEL`.
type LayerInfo struct {
	Name      string // "encoder.0", ...
	Desc      string // e.g. "dense 640->128 relu"
	In, Out   [2]int // steps x channels
	Params    int    // weights and biases
	MACs      int    // multiply-accumulates per window
	Precision string // "int8", "float32", or "" for reshapes
	OutQ      *QParams
	PreQ      *QParams
}

// Info describes the model's layers, in order.
func (m *Model) Info() ([]LayerInfo, error) {
	si, err := m.shapes()
	if err != nil {
		return nil, err
	}
	var out []LayerInfo
	for _, part := range []struct {
		name   string
		layers []Layer
		in     []shape
	}{{"encoder", m.Encoder, si.enc}, {"decoder", m.Decoder, si.dec}} {
		for i := range part.layers {
			l := &part.layers[i]
			var tmp shapeInfo
			o, _ := l.outShape(part.in[i], &tmp)
			li := LayerInfo{Name: fmt.Sprintf("%s.%d", part.name, i), Desc: l.describe(),
				In: [2]int{part.in[i].t, part.in[i].c}, Out: [2]int{o.t, o.c},
				Params: tmp.params, MACs: tmp.macs, OutQ: l.OutQ, PreQ: l.PreQ}
			if l.Kind != Reshape {
				li.Precision = "float32"
				if l.QW != nil {
					li.Precision = "int8"
				}
			}
			out = append(out, li)
		}
	}
	return out, nil
}

// MACs returns the multiply-accumulates of one window through the encoder
// and decoder.
func (m *Model) MACs() int {
	si, err := m.shapes()
	if err != nil {
		return 0
	}
	return si.macs
}

// Params returns the number of weights and biases.
func (m *Model) Params() int {
	si, err := m.shapes()
	if err != nil {
		return 0
	}
	return si.params
}

// WeightBytes returns the bytes the weights take as stored (int8 layers: one
// byte per weight plus int32 biases and float32 scales; float32 layers: four
// per weight and bias).
func (m *Model) WeightBytes() int {
	n := 0
	for _, layers := range [][]Layer{m.Encoder, m.Decoder} {
		for i := range layers {
			l := &layers[i]
			if l.QW != nil {
				n += len(l.QW) + 4*len(l.QB) + 4*len(l.QScale)
			} else {
				n += 4 * (len(l.W) + len(l.B))
			}
		}
	}
	return n
}

// PackedBytes returns the bytes the weights take packed for the kernel
// family in use.
func (m *Model) PackedBytes() (int, error) {
	prog, err := Compile(m, CompileOptions{})
	if err != nil {
		return 0, err
	}
	p := prog.plan
	n := 0
	for _, s := range p.steps {
		for _, ph := range s.phases {
			if ph.q != nil {
				n += ph.q.Bytes()
			}
			if ph.f != nil {
				n += 4 * ph.f.K() * ((ph.f.N() + 3) / 4 * 4)
			}
		}
	}
	return n, nil
}
