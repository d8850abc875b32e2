package realdata

import (
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/edgeml/edge/dataset"
)

// Part is the learning or the scored part of a case: rows of sensor
// values (time-major, NaN where missing) with their times and labels.
type Part struct {
	Source string
	Names  []string
	X      []float32
	Times  []float64 // nil without a time column
	Labels []bool    // nil without a label column (all normal)
}

// Len returns the rows.
func (p *Part) Len() int { return len(p.X) / len(p.Names) }

// C returns the channels.
func (p *Part) C() int { return len(p.Names) }

// slice returns rows [a, b).
func (p *Part) slice(a, b int) *Part {
	c := p.C()
	out := &Part{Source: p.Source, Names: p.Names, X: p.X[a*c : b*c]}
	if p.Times != nil {
		out.Times = p.Times[a:b]
	}
	if p.Labels != nil {
		out.Labels = p.Labels[a:b]
	}
	return out
}

// Anomalous counts the anomalous rows.
func (p *Part) Anomalous() int {
	n := 0
	for _, l := range p.Labels {
		if l {
			n++
		}
	}
	return n
}

// Load reads a case's learning and scored parts. Both use the same
// channels, in the same order: those of the learning file.
func (s *Set) Load(c Case) (learn, test *Part, err error) {
	if c.File != "" {
		all, err := s.readPart(s.path(c.File), nil)
		if err != nil {
			return nil, nil, err
		}
		n := all.Len()
		cut := c.LearnRows
		if cut == 0 {
			cut = int(math.Round(c.LearnFraction * float64(n)))
		}
		if cut < 1 || cut >= n {
			return nil, nil, fmt.Errorf("realdata: %s: learning on %d of %d rows leaves nothing to score", c.File, cut, n)
		}
		return all.slice(0, cut), all.slice(cut, n), nil
	}
	if learn, err = s.readPart(s.path(c.Learn), nil); err != nil {
		return nil, nil, err
	}
	if test, err = s.readPart(s.path(c.Test), learn.Names); err != nil {
		return nil, nil, err
	}
	return learn, test, nil
}

// readPart reads a CSV: the given channels, or every column but the time,
// the label and the ignored ones; and the label column if present.
func (s *Set) readPart(path string, channels []string) (*Part, error) {
	if channels == nil {
		channels = s.Channels
	}
	if channels == nil {
		header, err := s.header(path)
		if err != nil {
			return nil, err
		}
		for _, h := range header {
			if h != s.Label && !slices.Contains(s.Ignore, h) {
				channels = append(channels, h)
			}
		}
	}
	opt := dataset.CSVOptions{TimeColumn: s.Time, Channels: channels, AllowMissing: true}
	ser, err := dataset.ReadCSVFile(path, opt)
	if err != nil {
		return nil, fmt.Errorf("realdata: %w", err)
	}
	p := &Part{Source: path, Names: ser.Names, X: ser.Values, Times: ser.Times}
	if s.Label == "" {
		return p, nil
	}
	header, err := s.header(path)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(header, s.Label) {
		return p, nil // a learning file without labels: all normal
	}
	lab, err := dataset.ReadCSVFile(path, dataset.CSVOptions{TimeColumn: s.Time, Channels: []string{s.Label}, AllowMissing: true})
	if err != nil {
		return nil, fmt.Errorf("realdata: %w", err)
	}
	if lab.Len() != p.Len() {
		return nil, fmt.Errorf("realdata: %s: %d label rows for %d rows", path, lab.Len(), p.Len())
	}
	p.Labels = make([]bool, p.Len())
	for i, v := range lab.Values {
		p.Labels[i] = v != 0 && !math.IsNaN(float64(v))
	}
	return p, nil
}

// header returns a CSV's column names, without the time column.
func (s *Set) header(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("realdata: %w", err)
	}
	defer f.Close()
	rd, err := dataset.NewReader(f, path, dataset.CSVOptions{TimeColumn: s.Time, KeepLabels: true})
	if err != nil {
		return nil, fmt.Errorf("realdata: %w", err)
	}
	return rd.Names(), nil
}
