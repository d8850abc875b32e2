package model

import (
	"fmt"
	"maps"
	"slices"

	"github.com/edgeml/edge/kernels"
)

// CompileOptions choose how Compile compiles a model.
type CompileOptions struct {
	// Family names the kernel family that runs the model's matrix
	// products ("generic", "avx2", "neon", ...; see kernels.ParseFamily);
	// "": the one in use (kernels.Current: the best the CPU has, unless
	// EDGE_KERNELS forced another). Every family gives the same bits.
	Family string
}

// A Program is a model compiled for one kernel family, as regexp.Compile
// makes a Regexp: its weights packed for that family's kernels, its
// buffers laid out. It holds its own copy of the model, so changing the
// Model afterwards does not change it; it is immutable and safe for
// concurrent use, and sessions come from it, each for one goroutine.
type Program struct {
	m      *Model
	plan   *plan
	family kernels.Family
}

// Compile validates m and compiles a copy of it (see Program).
func Compile(m *Model, opt CompileOptions) (*Program, error) {
	f := kernels.Current()
	if opt.Family != "" {
		var err error
		if f, err = kernels.ParseFamily(opt.Family); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		if !f.Supported() {
			return nil, fmt.Errorf("model: kernel family %s: this build or CPU lacks it (it needs %s)", f, f.Needs())
		}
	}
	if err := m.Validate(); err != nil {
		return nil, err
	}
	c := m.Clone()
	p, err := compile(c, f)
	if err != nil {
		return nil, err
	}
	return &Program{m: c, plan: p, family: f}, nil
}

// Family returns the kernel family the program runs on.
func (p *Program) Family() kernels.Family { return p.family }

// Steps and Channels return the shape of the program's windows.
func (p *Program) Steps() int    { return p.m.Steps }
func (p *Program) Channels() int { return p.m.Channels }

// Clone returns a deep copy of m: its weights, quantisation, settings and
// provenance are its own.
func (m *Model) Clone() *Model {
	c := *m
	c.ChannelNames = slices.Clone(m.ChannelNames)
	c.Norm.Shift, c.Norm.Scale = slices.Clone(m.Norm.Shift), slices.Clone(m.Norm.Scale)
	c.Encoder, c.Decoder = cloneLayers(m.Encoder), cloneLayers(m.Decoder)
	c.InputQ, c.LatentQ, c.OutputQ = cloneQ(m.InputQ), cloneQ(m.LatentQ), cloneQ(m.OutputQ)
	c.Apps = maps.Clone(m.Apps)
	for k, v := range c.Apps {
		c.Apps[k] = slices.Clone(v)
	}
	c.Provenance = maps.Clone(m.Provenance)
	return &c
}

func cloneLayers(ls []Layer) []Layer {
	out := slices.Clone(ls)
	for i := range out {
		l := &out[i]
		l.W, l.B, l.QW, l.QScale, l.QB = slices.Clone(l.W), slices.Clone(l.B), slices.Clone(l.QW), slices.Clone(l.QScale), slices.Clone(l.QB)
		l.OutQ, l.PreQ = cloneQ(l.OutQ), cloneQ(l.PreQ)
	}
	return out
}

func cloneQ(q *QParams) *QParams {
	if q == nil {
		return nil
	}
	c := *q
	return &c
}
