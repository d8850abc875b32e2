package service

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/edgeml/edge/internal/atomicfile"
	"github.com/edgeml/edge/model"
	"github.com/edgeml/edge/stream"
)

// Models in the field: a group's model is swapped, between two readings,
// for a new one that passed every check the group's first model passed
// (it loads, has the group's channels, denoises and scores as
// configured). Each device's stream flushes the rows the old model held
// back, then goes on with the new one; no reading is lost, and events
// name the new model's sha256 from the next window on.

// maxPushedModel bounds a model pushed over MQTT.
const maxPushedModel = 64 << 20

// candidate is a model checked for a group, not yet in use.
type candidate struct {
	m    *model.Model
	prog *model.Program
	sum  string
}

// check loads a model for the group and checks it as newGroup does.
func (g *group) check(m *model.Model, sum string) (*candidate, error) {
	names := m.ChannelNames
	if len(g.cfg.Channels) > 0 {
		names = g.cfg.Channels
	}
	if m.Channels != len(g.names) || (len(names) > 0 && !slices.Equal(names, g.names)) {
		return nil, fmt.Errorf("the model's channels %v are not the group's %v", names, g.names)
	}
	prog, err := model.Compile(m, model.CompileOptions{})
	if err != nil {
		return nil, err
	}
	trial := &group{cfg: g.cfg, m: m, prog: prog, mode: g.mode, names: g.names, s: g.s}
	if err := trial.newProcessors(&device{g: trial}); err != nil {
		return nil, err
	}
	return &candidate{m: m, prog: prog, sum: sum}, nil
}

// swap puts a checked model in use; it runs on the group's goroutine.
func (g *group) swap(c *candidate) error {
	for _, d := range g.sortedDevices() {
		d.close() // the old model's held-back rows
	}
	old := g.sha256
	g.m, g.prog, g.sha256 = c.m, c.prog, c.sum
	for _, d := range g.sortedDevices() {
		if err := g.newProcessors(d); err != nil {
			return err // cannot happen: check built the same processors
		}
		d.timing, d.lastImp = stream.Timing{}, 0
		d.flagging = false
		d.sm.flag.Set(0)
	}
	g.s.M.Model.Delete(g.cfg.Name, g.cfg.Model, old)
	g.s.M.Model.With(g.cfg.Name, g.cfg.Model, c.sum).Set(1)
	g.s.log.Info("model swapped", "group", g.cfg.Name, "sha256", c.sum, "was", old)
	return nil
}

// do runs f on the group's goroutine, between two readings, and waits.
func (g *group) do(f func() error) error {
	done := make(chan error, 1)
	g.s.mu.RLock()
	if g.s.closed {
		g.s.mu.RUnlock()
		return ErrClosed
	}
	g.ctl <- func() { done <- f() }
	g.s.mu.RUnlock()
	return <-done
}

// ReloadModels reads each group's model file again and swaps in the ones
// whose content changed (SIGHUP, or a file watch). It returns the first
// error; a group whose new file fails its checks keeps its model.
func (s *Service) ReloadModels() error {
	var first error
	for _, g := range s.order {
		m, sum, err := loadModel(g.cfg.Model)
		if err == nil && sum == g.currentSum() {
			continue
		}
		if err == nil {
			var c *candidate
			if c, err = g.check(m, sum); err == nil {
				err = g.do(func() error { return g.swap(c) })
			}
		}
		if err != nil {
			s.log.Error("model not reloaded: the group keeps its model", "group", g.cfg.Name, "file", g.cfg.Model, "err", err)
			if first == nil {
				first = fmt.Errorf("group %s: %w", g.cfg.Name, err)
			}
		}
	}
	return first
}

// currentSum returns the sha256 of the model in use.
func (g *group) currentSum() string {
	var sum string
	if g.do(func() error { sum = g.sha256; return nil }) != nil {
		return g.sha256
	}
	return sum
}

// PushModel installs a model file's bytes for a group (a fleet push): it
// is checked, written atomically over the group's model file (the old one
// kept beside it as FILE.prev), and swapped in. It returns the model's
// sha256 and whether it was already in use.
func (s *Service) PushModel(group string, data []byte) (sum string, same bool, err error) {
	g := s.groups[group]
	if g == nil {
		return "", false, fmt.Errorf("unknown group %q", group)
	}
	if len(data) > maxPushedModel {
		return "", false, fmt.Errorf("a model of %d bytes (limit %d)", len(data), maxPushedModel)
	}
	h := sha256.Sum256(data)
	sum = hex.EncodeToString(h[:])
	if sum == g.currentSum() {
		return sum, true, nil
	}
	m, err := model.Read(bytes.NewReader(data))
	if err != nil {
		return sum, false, err
	}
	c, err := g.check(m, sum)
	if err != nil {
		return sum, false, err
	}
	if err := keepPrevious(g.cfg.Model); err != nil {
		return sum, false, err
	}
	if err := atomicfile.Write(g.cfg.Model, 0o640, func(w io.Writer) error { _, err := w.Write(data); return err }); err != nil {
		return sum, false, err
	}
	return sum, false, g.do(func() error { return g.swap(c) })
}

// keepPrevious copies the model file to FILE.prev (atomically), the
// rollback: mv FILE.prev FILE and reload.
func keepPrevious(path string) error {
	old, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return atomicfile.Write(path+".prev", 0o640, func(w io.Writer) error { _, err := w.Write(old); return err })
}

// modelAck is what edge says on its ack topic about a pushed model.
type modelAck struct {
	Host   string `json:"host"`
	Group  string `json:"group"`
	SHA256 string `json:"sha256"`
	Result string `json:"result"` // "installed", "unchanged" or "rejected"
	Error  string `json:"error,omitempty"`
	Time   int64  `json:"ts"`
}

// pushed handles a model message for a group and publishes the ack.
func (s *Service) pushed(group string, data []byte, ackTopic string) {
	sum, same, err := s.PushModel(group, data)
	ack := modelAck{Host: s.cfg.Host, Group: group, SHA256: sum, Result: "installed", Time: time.Now().Unix()}
	switch {
	case err != nil:
		ack.Result, ack.Error = "rejected", err.Error()
		s.log.Error("pushed model rejected", "group", group, "sha256", sum, "err", err)
	case same:
		ack.Result = "unchanged"
	}
	b, _ := json.Marshal(ack)
	if err := s.sink.Publish(ackTopic, b); err != nil {
		s.log.Warn("model ack not published", "err", err)
	}
}
