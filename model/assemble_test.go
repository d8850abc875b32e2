package model

import (
	"math/rand/v2"
	"testing"
)

// TestAssemble: the code is the narrowest output before the last layer
// with weights, a reshape after it belongs to the decoder, and an int8
// chain's latent and output take their layers' quantisation.
func TestAssemble(t *testing.T) {
	m := randomWeights(testModels()["dense"](), rand.New(rand.NewPCG(3, 5)))
	var chain []ImportedLayer
	for _, l := range append(append([]Layer(nil), m.Encoder...), m.Decoder...) {
		chain = append(chain, ImportedLayer{Layer: l, OutSize: l.Out})
	}
	got, code, err := Assemble("x", m.Steps, m.Channels, chain, nil)
	if err != nil || code != len(m.Encoder)-1 || len(got.Encoder) != len(m.Encoder) || got.Name != "x" {
		t.Fatalf("code %d, %d encoder layers, %v", code, len(got.Encoder), err)
	}
	if ImportedName(code, code) != "encoder.1" || ImportedName(code+1, code) != "decoder.0" {
		t.Errorf("names %s, %s", ImportedName(code, code), ImportedName(code+1, code))
	}
	if _, _, err := Assemble("x", m.Steps, m.Channels, chain[:1], nil); err == nil {
		t.Error("one layer assembled into an autoencoder")
	}
	q := quantizedTestModel(t)
	chain = chain[:0]
	for _, l := range append(append([]Layer(nil), q.Encoder...), q.Decoder...) {
		chain = append(chain, ImportedLayer{Layer: l, OutSize: l.Out})
	}
	got, _, err = Assemble("q", q.Steps, q.Channels, chain, q.InputQ)
	if err != nil || got.InputQ != q.InputQ || got.LatentQ != got.Encoder[len(got.Encoder)-1].OutQ {
		t.Fatalf("int8: %v", err)
	}
}
