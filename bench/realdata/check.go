package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// fileStats is what check learns from reading one CSV.
type fileStats struct {
	rows, cols  int
	channels    int     // columns other than time, label and ignored ones
	empty       int     // empty or NaN fields
	nonNumeric  int     // other fields that are not numbers
	labels      []bool  // per row, for anomaly sets
	badLabels   int     // label fields other than 0 and 1
	backwards   int     // rows whose time is not after the previous row's
	first, last float64 // time range, seconds since the epoch
	constant    int     // channels with one value throughout
}

func parseTimeField(s string) (float64, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		return v, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return float64(t.UnixNano()) / 1e9, nil
		}
	}
	return 0, fmt.Errorf("time %q is neither RFC 3339, YYYY-MM-DD hh:mm:ss nor epoch seconds", s)
}

// columns says what each column of a file is for.
type columns struct {
	time, label int    // -1 when absent
	channel     []bool // a channel (not time, label or ignored)
	channels    int
}

func readColumns(header []string, ev *Eval) (columns, error) {
	c := columns{time: -1, label: -1, channel: make([]bool, len(header))}
	seen := map[string]bool{}
	for j, h := range header {
		if h == "" || seen[h] {
			return c, fmt.Errorf("column %d: empty or repeated name %q", j+1, h)
		}
		seen[h] = true
		switch {
		case ev.Time != "-" && h == ev.Time:
			c.time = j
		case ev.Label != "" && h == ev.Label:
			c.label = j
		case slices.Contains(ev.Ignore, h):
		default:
			c.channel[j] = true
			c.channels++
		}
	}
	if ev.Time != "-" && c.time < 0 {
		return c, fmt.Errorf("no time column %q", ev.Time)
	}
	if ev.Task == "anomaly" && c.label < 0 {
		return c, fmt.Errorf("no label column %q", ev.Label)
	}
	return c, nil
}

// fileScan is statFile's state while it reads the rows.
type fileScan struct {
	*fileStats
	cols     columns
	prev     float64  // the previous row's time
	firstVal []string // each column's first value
	varies   []bool   // column took a second value
}

func statFile(path string, ev *Eval) (*fileStats, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	cols, err := readColumns(header, ev)
	if err != nil {
		return nil, err
	}
	sc := fileScan{
		fileStats: &fileStats{cols: len(header), channels: cols.channels, first: math.NaN(), last: math.NaN()},
		cols:      cols, prev: math.Inf(-1), firstVal: make([]string, len(header)), varies: make([]bool, len(header)),
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := sc.row(rec); err != nil {
			return nil, fmt.Errorf("row %d: %w", sc.rows+2, err)
		}
		sc.rows++
	}
	for j, ch := range cols.channel {
		if ch && !sc.varies[j] {
			sc.constant++
		}
	}
	return sc.fileStats, nil
}

// row adds one record to the statistics.
func (sc *fileScan) row(rec []string) error {
	for j, f := range rec {
		switch j {
		case sc.cols.time:
			t, err := parseTimeField(f)
			if err != nil {
				return err
			}
			if t <= sc.prev {
				sc.backwards++
			}
			sc.prev = t
			if sc.rows == 0 {
				sc.first = t
			}
			sc.last = t
		case sc.cols.label:
			sc.labels = append(sc.labels, f == "1")
			if f != "0" && f != "1" {
				sc.badLabels++
			}
		default:
			sc.value(j, f)
		}
	}
	return nil
}

// value adds one field of a channel (or an ignored column).
func (sc *fileScan) value(j int, f string) {
	lf := strings.ToLower(strings.TrimSpace(f))
	if lf == "" || lf == "nan" || lf == "na" {
		sc.empty++
		return
	}
	if v, err := strconv.ParseFloat(lf, 64); err != nil || math.IsInf(v, 0) {
		sc.nonNumeric++
	}
	if sc.rows == 0 {
		sc.firstVal[j] = f
	} else if f != sc.firstVal[j] {
		sc.varies[j] = true
	}
}

func share(l []bool) (ones int) {
	for _, b := range l {
		if b {
			ones++
		}
	}
	return ones
}

func pct(n, d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f%%", 100*float64(n)/float64(d))
}

// runCheck validates every OUT/<set>/eval.json and its files and prints one
// line per set and, with verbose, one per case. It fails if anything is off.
func runCheck(out string, verbose bool, w io.Writer) error {
	names, err := evalSets(out)
	if err != nil {
		return err
	}
	var ck checker
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "set\ttask\tcases\tfiles\trows\tchannels\tconstant (max/file)\tlabel share (scored rows)\tempty/NaN\ttime span\tlicence\t")
	for _, name := range names {
		if line, ok := ck.set(filepath.Join(out, name), name); ok {
			fmt.Fprint(tw, line)
		}
	}
	tw.Flush()
	if verbose {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "set\tcase\tlearn rows\tscored rows\tlearn label share\tscored label share\t")
		for _, l := range ck.caseLines {
			fmt.Fprintln(tw, l)
		}
		tw.Flush()
	}
	if len(ck.problems) > 0 {
		for _, p := range ck.problems {
			fmt.Fprintln(os.Stderr, "PROBLEM", p)
		}
		return fmt.Errorf("%d problems", len(ck.problems))
	}
	return nil
}

// evalSets lists the folders of out that hold an eval.json, in setOrder
// (others after, by name).
func evalSets(out string) ([]string, error) {
	entries, err := os.ReadDir(out)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasSuffix(e.Name(), ".part") {
			if _, err := os.Stat(filepath.Join(out, e.Name(), "eval.json")); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	rank := func(name string) int {
		if i := slices.Index(setOrder, name); i >= 0 {
			return i
		}
		return len(setOrder)
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	return names, nil
}

// checker collects the problems and per-case lines of every set.
type checker struct {
	problems  []string
	caseLines []string
}

func (ck *checker) bad(set, format string, args ...any) {
	ck.problems = append(ck.problems, set+": "+fmt.Sprintf(format, args...))
}

// setCheck is one set being checked.
type setCheck struct {
	*checker
	name, dir string
	ev        Eval
	stats     map[string]*fileStats
	// Totals over the cases: scored rows and their anomalous ones.
	scored, scoredOnes int
}

// set checks one set and returns its summary line.
func (ck *checker) set(dir, name string) (string, bool) {
	s := &setCheck{checker: ck, name: name, dir: dir, stats: map[string]*fileStats{}}
	if !s.load() {
		return "", false
	}
	caseNames := map[string]bool{}
	for _, c := range s.ev.Cases {
		if caseNames[c.Name] || c.Name == "" {
			s.bad(name, "case name %q empty or repeated", c.Name)
		}
		caseNames[c.Name] = true
		s.checkCase(c)
	}
	return s.summary(), true
}

// load reads eval.json and checks its fields.
func (s *setCheck) load() bool {
	b, err := os.ReadFile(filepath.Join(s.dir, "eval.json"))
	if err != nil {
		s.bad(s.name, "%v", err)
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s.ev); err != nil {
		s.bad(s.name, "eval.json: %v", err)
		return false
	}
	ev := &s.ev
	if ev.Name != s.name {
		s.bad(s.name, "eval.json names the set %q", ev.Name)
	}
	if ev.Task != "anomaly" && ev.Task != "denoise" {
		s.bad(s.name, "task %q", ev.Task)
	}
	if (ev.Task == "anomaly") != (ev.Label != "") {
		s.bad(s.name, "task %s with label %q", ev.Task, ev.Label)
	}
	for _, f := range []struct{ what, v string }{{"description", ev.Description}, {"source", ev.Source}, {"licence", ev.Licence}, {"citation", ev.Citation}, {"time", ev.Time}} {
		if strings.TrimSpace(f.v) == "" {
			s.bad(s.name, "no %s", f.what)
		}
	}
	if len(ev.Cases) == 0 {
		s.bad(s.name, "no cases")
	}
	return true
}

// file returns the statistics of one of the set's files, read once.
func (s *setCheck) file(file string) *fileStats {
	if st, ok := s.stats[file]; ok {
		return st
	}
	// Within the set's folder, or (a derived set) in a sibling's.
	inner := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(file)), "../")
	if file == "" || filepath.IsAbs(file) || strings.Contains(inner, "..") {
		s.bad(s.name, "file path %q", file)
		s.stats[file] = nil
		return nil
	}
	st, err := statFile(filepath.Join(s.dir, file), &s.ev)
	if err != nil {
		s.bad(s.name, "%s: %v", file, err)
	}
	s.stats[file] = st
	return st
}

// split is how a case divides rows between learning and scoring, with the
// anomalous rows of each.
type split struct{ lRows, tRows, lOnes, tOnes int }

// caseSplit reads a case's files and returns its split.
func (s *setCheck) caseSplit(c Case) (split, bool) {
	switch {
	case c.Learn != "" && c.Test != "" && c.File == "":
		l, t := s.file(c.Learn), s.file(c.Test)
		if l == nil || t == nil {
			return split{}, false
		}
		if l.channels != t.channels {
			s.bad(s.name, "case %s: %d channels to learn, %d to score", c.Name, l.channels, t.channels)
		}
		return split{l.rows, t.rows, share(l.labels), share(t.labels)}, true
	case c.File != "" && c.Learn == "" && c.Test == "":
		f := s.file(c.File)
		if f == nil {
			return split{}, false
		}
		n := c.LearnRows
		if (c.LearnRows > 0) == (c.LearnFraction > 0) {
			s.bad(s.name, "case %s: give exactly one of learn_rows and learn_fraction", c.Name)
		}
		if c.LearnFraction > 0 {
			if c.LearnFraction >= 1 {
				s.bad(s.name, "case %s: learn_fraction %v", c.Name, c.LearnFraction)
			}
			n = int(c.LearnFraction * float64(f.rows))
		}
		if n <= 0 || n >= f.rows {
			s.bad(s.name, "case %s: learns on %d of %d rows", c.Name, n, f.rows)
			return split{}, false
		}
		sp := split{lRows: n, tRows: f.rows - n}
		if f.labels != nil {
			sp.lOnes, sp.tOnes = share(f.labels[:n]), share(f.labels[n:])
		}
		return sp, true
	}
	s.bad(s.name, "case %s: give learn and test, or file", c.Name)
	return split{}, false
}

func (s *setCheck) checkCase(c Case) {
	sp, ok := s.caseSplit(c)
	if !ok {
		return
	}
	anomaly := s.ev.Task == "anomaly"
	if anomaly && sp.lOnes*100 > sp.lRows {
		s.bad(s.name, "case %s: %d of %d learning rows are anomalous", c.Name, sp.lOnes, sp.lRows)
	}
	if anomaly && sp.tOnes == 0 && c.Name != "normal" {
		s.bad(s.name, "case %s: no anomalous row to find", c.Name)
	}
	s.scored += sp.tRows
	s.scoredOnes += sp.tOnes
	lShare, tShare := "-", "-"
	if anomaly {
		lShare, tShare = pct(sp.lOnes, sp.lRows), pct(sp.tOnes, sp.tRows)
	}
	s.caseLines = append(s.caseLines, fmt.Sprintf("%s\t%s\t%d\t%d\t%s\t%s\t", s.name, c.Name, sp.lRows, sp.tRows, lShare, tShare))
}

// summary checks the set's files and returns its line of the table.
func (s *setCheck) summary() string {
	rows, channels, constant, empty, files := 0, 0, 0, 0, 0
	tfirst, tlast := math.Inf(1), math.Inf(-1)
	for file, st := range s.stats {
		if st == nil {
			continue
		}
		files++
		rows += st.rows
		channels = max(channels, st.channels)
		constant = max(constant, st.constant)
		empty += st.empty
		s.fileProblems(file, st)
		if !math.IsNaN(st.first) {
			tfirst, tlast = min(tfirst, st.first), max(tlast, st.last)
		}
	}
	span := "none"
	if !math.IsInf(tfirst, 0) {
		span = time.Unix(int64(tfirst), 0).UTC().Format("2006-01-02") + ".." + time.Unix(int64(tlast), 0).UTC().Format("2006-01-02")
	}
	lab := "-"
	if s.ev.Task == "anomaly" {
		lab = pct(s.scoredOnes, s.scored)
	}
	lic, _, _ := strings.Cut(s.ev.Licence, ": ")
	return fmt.Sprintf("%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s\t\n", s.name, s.ev.Task, len(s.ev.Cases), files, rows, channels, constant, lab, empty, span, lic)
}

func (s *setCheck) fileProblems(file string, st *fileStats) {
	if st.nonNumeric > 0 {
		s.bad(s.name, "%s: %d non-numeric fields", file, st.nonNumeric)
	}
	if st.badLabels > 0 {
		s.bad(s.name, "%s: %d labels other than 0/1", file, st.badLabels)
	}
	if st.backwards > 0 {
		s.bad(s.name, "%s: time goes back or repeats %d times", file, st.backwards)
	}
	if st.rows == 0 {
		s.bad(s.name, "%s: no rows", file)
	}
}
