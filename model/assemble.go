package model

import (
	"errors"
	"fmt"
	"math"
)

// ImportOptions shape a model that an importer (ONNX, TFLite) reads.
type ImportOptions struct {
	// Steps splits a flat input into Steps rows of input/Steps channels
	// (time-major). 0: a sequence (convolutional) input keeps its own
	// length, a flat one is 1 row.
	Steps int
	// Name of the edge model (default: the name the file gives, if any).
	Name string
}

// ImportedLayer is one layer of the chain an importer read, from the
// input to the output, with the size of its output per window.
type ImportedLayer struct {
	Layer   Layer
	OutSize int
}

// Assemble builds the autoencoder that an importer (ONNX, TFLite) read as
// a chain of layers: the code is the narrowest output before the last
// layer with weights; the layers up to it form the encoder, the rest the
// decoder. An int8 chain (inputQ set) takes inputQ as its input's
// quantisation, the code layer's output quantisation as the latent's and
// the last computing layer's as the output's. It returns the validated
// model, without a normalisation, and the index of the code layer.
func Assemble(name string, steps, channels int, chain []ImportedLayer, inputQ *QParams) (*Model, int, error) {
	last := len(chain) - 1
	for last >= 0 && chain[last].Layer.Kind == Reshape {
		last--
	}
	if last < 1 {
		return nil, -1, errors.New("model: an imported chain needs an encoder and a decoder")
	}
	code, width := -1, math.MaxInt
	for i, l := range chain[:last] {
		if l.Layer.Kind != Reshape && l.OutSize < width {
			code, width = i, l.OutSize
		}
	}
	if code < 0 {
		return nil, -1, errors.New("model: no layer before the last one to take the code from")
	}
	m := &Model{Name: name, Steps: steps, Channels: channels, Norm: Normalization{Kind: NormNone}}
	for i, l := range chain {
		if i <= code {
			m.Encoder = append(m.Encoder, l.Layer)
		} else {
			m.Decoder = append(m.Decoder, l.Layer)
		}
	}
	if inputQ != nil {
		m.InputQ = inputQ
		m.LatentQ = m.Encoder[len(m.Encoder)-1].OutQ
		m.OutputQ = chain[last].Layer.OutQ
	}
	if err := m.Validate(); err != nil {
		return nil, -1, fmt.Errorf("the imported model: %w", err)
	}
	return m, code, nil
}

// ImportedName names layer i of a chain that Assemble split at code, as
// the model names it: encoder.i or decoder.j.
func ImportedName(i, code int) string {
	if i <= code {
		return fmt.Sprintf("encoder.%d", i)
	}
	return fmt.Sprintf("decoder.%d", i-code-1)
}
