// Package realdata evaluates edge's anomaly scorer and denoiser on real,
// labelled sensor data sets, with classical baselines computed in the same
// run: the whole user path (learn on the normal part with default
// settings, then score or clean the rest) on every case of every set, and
// per set and in total the detection rate, the false-alarm rate on normal
// rows after learning, F1, the detection delay, ROC AUC and PR AUC; for
// denoising, the SNR gain against the best classical filter chosen on the
// learning part.
//
// A data set is a folder with an eval.json manifest (see Set) and CSV
// files. bench/realdata/prepare.sh fetches and converts the public sets;
// the data itself never enters the repository.
package realdata

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ManifestName is the file that describes a data set in its folder.
const ManifestName = "eval.json"

// Limits on a manifest.
const (
	maxManifestBytes = 1 << 20
	maxCases         = 10000
)

// Set is one data set: where its files are and how each case is split
// into a learning part and a scored part.
type Set struct {
	Dir         string `json:"-"`
	Name        string `json:"name"`
	Task        string `json:"task"` // "anomaly" or "denoise"
	Description string `json:"description,omitempty"`
	Source      string `json:"source,omitempty"`
	Licence     string `json:"licence,omitempty"`
	Citation    string `json:"citation,omitempty"`
	// Time names the timestamp column ("-": none; empty: detected).
	Time string `json:"time,omitempty"`
	// Label names the label column of anomaly sets: a non-zero value marks
	// an anomalous row. A learning file may lack it (all rows normal).
	Label string `json:"label,omitempty"`
	// Ignore lists other columns that are not sensors.
	Ignore []string `json:"ignore,omitempty"`
	// Channels, if set, lists the sensor columns to use.
	Channels []string `json:"channels,omitempty"`
	Cases    []Case   `json:"cases"`
}

// Case is one learn-then-score (or learn-then-clean) run.
type Case struct {
	Name string `json:"name"`
	// Learn and Test name separate files; or File is split: its first
	// LearnRows rows (or LearnFraction of them) are learned from and the
	// rest scored.
	Learn         string  `json:"learn,omitempty"`
	Test          string  `json:"test,omitempty"`
	File          string  `json:"file,omitempty"`
	LearnRows     int     `json:"learn_rows,omitempty"`
	LearnFraction float64 `json:"learn_fraction,omitempty"`
}

// LoadSets reads the data sets under root: root itself if it holds a
// manifest, else every direct subfolder that does, in name order. only,
// if not empty, keeps the sets with these names.
func LoadSets(root string, only []string) ([]*Set, error) {
	if _, err := os.Stat(filepath.Join(root, ManifestName)); err == nil {
		s, err := LoadSet(root)
		if err != nil {
			return nil, err
		}
		return []*Set{s}, nil
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("realdata: %w", err)
	}
	var sets []*Set
	for _, e := range entries {
		dir := filepath.Join(root, e.Name())
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, ManifestName)); err != nil {
			continue
		}
		s, err := LoadSet(dir)
		if err != nil {
			return nil, err
		}
		if len(only) == 0 || slices.Contains(only, s.Name) {
			sets = append(sets, s)
		}
	}
	if len(sets) == 0 {
		return nil, fmt.Errorf("realdata: no data set (a folder with %s) under %s", ManifestName, root)
	}
	return sets, nil
}

// LoadSet reads the manifest in dir and checks it.
func LoadSet(dir string) (*Set, error) {
	path := filepath.Join(dir, ManifestName)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("realdata: %w", err)
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("realdata: %s: %w", path, err)
	}
	if len(raw) > maxManifestBytes {
		return nil, fmt.Errorf("realdata: %s: larger than %d bytes", path, maxManifestBytes)
	}
	s, err := ParseSet(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Dir = dir
	return s, nil
}

// ParseSet decodes and checks a manifest.
func ParseSet(raw []byte) (*Set, error) {
	var s Set
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("realdata: manifest: %w", err)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Set) check() error {
	if s.Name == "" {
		return errors.New("realdata: manifest: no name")
	}
	switch s.Task {
	case "anomaly":
		if s.Label == "" {
			return fmt.Errorf("realdata: set %s: an anomaly set needs a label column", s.Name)
		}
	case "denoise":
	default:
		return fmt.Errorf("realdata: set %s: task %q (anomaly or denoise)", s.Name, s.Task)
	}
	if len(s.Cases) == 0 || len(s.Cases) > maxCases {
		return fmt.Errorf("realdata: set %s: %d cases (1 to %d)", s.Name, len(s.Cases), maxCases)
	}
	seen := map[string]bool{}
	for i, c := range s.Cases {
		where := fmt.Sprintf("realdata: set %s: case %d (%s)", s.Name, i+1, c.Name)
		switch {
		case c.Name == "" || seen[c.Name]:
			return fmt.Errorf("%s: a case needs a unique name", where)
		case c.File != "" && (c.Learn != "" || c.Test != ""):
			return fmt.Errorf("%s: give file, or learn and test, not both", where)
		case c.File == "" && (c.Learn == "" || c.Test == ""):
			return fmt.Errorf("%s: give file, or learn and test", where)
		case c.File != "" && c.LearnRows <= 0 && !(c.LearnFraction > 0 && c.LearnFraction < 1):
			return fmt.Errorf("%s: a split file needs learn_rows > 0 or learn_fraction in (0, 1)", where)
		case c.LearnRows < 0:
			return fmt.Errorf("%s: learn_rows %d", where, c.LearnRows)
		}
		seen[c.Name] = true
	}
	return nil
}

// path resolves a file name of the manifest.
func (s *Set) path(name string) string {
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(s.Dir, name)
}
