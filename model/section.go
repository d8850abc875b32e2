package model

import (
	"encoding/json"
	"fmt"
)

// A Section is one typed part of what a model carries between tools (the
// training run, the scorer's and the denoiser's settings), stored in the
// model file under Apps[Name]. The package that owns the part declares its
// Section once; every read and write goes through it, so the part is
// encoded and decoded in one place, versioned and validated on load, and
// no package reads another's settings by a string key.
//
// A section's JSON object may carry "version": a section written by a
// newer edge than this one (a higher version) is refused with
// ErrTooNew; one without a version is version 1.
type Section[T any] struct {
	name    string
	version int
	check   func(m *Model, v *T) error
}

// NewSection declares the section name at version (the newest this build
// reads and writes), validated by check (nil: no validation) on Get and
// Put.
func NewSection[T any](name string, version int, check func(m *Model, v *T) error) Section[T] {
	return Section[T]{name: name, version: max(version, 1), check: check}
}

// Name returns the section's name in the model file.
func (s Section[T]) Name() string { return s.name }

// Has reports whether m carries the section.
func (s Section[T]) Has(m *Model) bool {
	_, ok := m.Apps[s.name]
	return ok
}

// Get decodes and validates m's section; ok is false (and v the zero
// value) when m has none.
func (s Section[T]) Get(m *Model) (v T, ok bool, err error) {
	raw, ok := m.Apps[s.name]
	if !ok {
		return v, false, nil
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return v, true, fmt.Errorf("model section %q: %w", s.name, err)
	}
	if head.Version > s.version {
		return v, true, fmt.Errorf("model section %q: version %d (this edge reads up to %d): %w", s.name, head.Version, s.version, ErrTooNew)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, true, fmt.Errorf("model section %q: %w", s.name, err)
	}
	if s.check != nil {
		if err := s.check(m, &v); err != nil {
			return v, true, fmt.Errorf("model section %q: %w", s.name, err)
		}
	}
	return v, true, nil
}

// Put validates v and stores it as m's section.
func (s Section[T]) Put(m *Model, v T) error {
	if s.check != nil {
		if err := s.check(m, &v); err != nil {
			return fmt.Errorf("model section %q: %w", s.name, err)
		}
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("model section %q: %w", s.name, err)
	}
	if m.Apps == nil {
		m.Apps = map[string]json.RawMessage{}
	}
	m.Apps[s.name] = raw
	return nil
}
