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
	st := &fileStats{cols: len(header), first: math.NaN(), last: math.NaN()}
	seen := map[string]bool{}
	timeCol, labelCol := -1, -1
	isChannel := make([]bool, len(header))
	for j, h := range header {
		if h == "" || seen[h] {
			return nil, fmt.Errorf("column %d: empty or repeated name %q", j+1, h)
		}
		seen[h] = true
		switch {
		case ev.Time != "-" && h == ev.Time:
			timeCol = j
		case ev.Label != "" && h == ev.Label:
			labelCol = j
		case slices.Contains(ev.Ignore, h):
		default:
			isChannel[j] = true
			st.channels++
		}
	}
	if ev.Time != "-" && timeCol < 0 {
		return nil, fmt.Errorf("no time column %q", ev.Time)
	}
	if ev.Task == "anomaly" && labelCol < 0 {
		return nil, fmt.Errorf("no label column %q", ev.Label)
	}
	firstVal := make([]string, len(header))
	varies := make([]bool, len(header))
	prev := math.Inf(-1)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		for j, f := range rec {
			switch j {
			case timeCol:
				t, err := parseTimeField(f)
				if err != nil {
					return nil, fmt.Errorf("row %d: %w", st.rows+2, err)
				}
				if t <= prev {
					st.backwards++
				}
				prev = t
				if st.rows == 0 {
					st.first = t
				}
				st.last = t
			case labelCol:
				switch f {
				case "0":
					st.labels = append(st.labels, false)
				case "1":
					st.labels = append(st.labels, true)
				default:
					st.badLabels++
					st.labels = append(st.labels, false)
				}
			default:
				lf := strings.ToLower(strings.TrimSpace(f))
				if lf == "" || lf == "nan" || lf == "na" {
					st.empty++
					continue
				}
				if v, err := strconv.ParseFloat(lf, 64); err != nil || math.IsInf(v, 0) {
					st.nonNumeric++
				}
				if st.rows == 0 {
					firstVal[j] = f
				} else if f != firstVal[j] {
					varies[j] = true
				}
			}
		}
		st.rows++
	}
	for j := range header {
		if isChannel[j] && !varies[j] {
			st.constant++
		}
	}
	return st, nil
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
	entries, err := os.ReadDir(out)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasSuffix(e.Name(), ".part") {
			if _, err := os.Stat(filepath.Join(out, e.Name(), "eval.json")); err == nil {
				names = append(names, e.Name())
			}
		}
	}
	slices.SortFunc(names, func(a, b string) int {
		ia, ib := slices.Index(setOrder, a), slices.Index(setOrder, b)
		if ia < 0 {
			ia = len(setOrder)
		}
		if ib < 0 {
			ib = len(setOrder)
		}
		if ia != ib {
			return ia - ib
		}
		return strings.Compare(a, b)
	})
	var problems []string
	bad := func(set, format string, args ...any) {
		problems = append(problems, set+": "+fmt.Sprintf(format, args...))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "set\ttask\tcases\tfiles\trows\tchannels\tconstant (max/file)\tlabel share (scored rows)\tempty/NaN\ttime span\tlicence\t")
	var caseLines []string
	for _, name := range names {
		dir := filepath.Join(out, name)
		b, err := os.ReadFile(filepath.Join(dir, "eval.json"))
		if err != nil {
			bad(name, "%v", err)
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		var ev Eval
		if err := dec.Decode(&ev); err != nil {
			bad(name, "eval.json: %v", err)
			continue
		}
		if ev.Name != name {
			bad(name, "eval.json names the set %q", ev.Name)
		}
		if ev.Task != "anomaly" && ev.Task != "denoise" {
			bad(name, "task %q", ev.Task)
		}
		if (ev.Task == "anomaly") != (ev.Label != "") {
			bad(name, "task %s with label %q", ev.Task, ev.Label)
		}
		for _, f := range []struct{ what, v string }{{"description", ev.Description}, {"source", ev.Source}, {"licence", ev.Licence}, {"citation", ev.Citation}, {"time", ev.Time}} {
			if strings.TrimSpace(f.v) == "" {
				bad(name, "no %s", f.what)
			}
		}
		if len(ev.Cases) == 0 {
			bad(name, "no cases")
		}
		stats := map[string]*fileStats{}
		get := func(file string) *fileStats {
			if st, ok := stats[file]; ok {
				return st
			}
			// Within the set's folder, or (a derived set) in a sibling's.
			inner := strings.TrimPrefix(filepath.ToSlash(filepath.Clean(file)), "../")
			if file == "" || filepath.IsAbs(file) || strings.Contains(inner, "..") {
				bad(name, "file path %q", file)
				stats[file] = nil
				return nil
			}
			st, err := statFile(filepath.Join(dir, file), &ev)
			if err != nil {
				bad(name, "%s: %v", file, err)
			}
			stats[file] = st
			return st
		}
		scored, scoredOnes, learnOnes, learnRows := 0, 0, 0, 0
		caseNames := map[string]bool{}
		for _, c := range ev.Cases {
			if caseNames[c.Name] || c.Name == "" {
				bad(name, "case name %q empty or repeated", c.Name)
			}
			caseNames[c.Name] = true
			var lRows, tRows, lOnes, tOnes int
			switch {
			case c.Learn != "" && c.Test != "" && c.File == "":
				l, t := get(c.Learn), get(c.Test)
				if l == nil || t == nil {
					continue
				}
				if l.channels != t.channels {
					bad(name, "case %s: %d channels to learn, %d to score", c.Name, l.channels, t.channels)
				}
				lRows, tRows, lOnes, tOnes = l.rows, t.rows, share(l.labels), share(t.labels)
			case c.File != "" && c.Learn == "" && c.Test == "":
				f := get(c.File)
				if f == nil {
					continue
				}
				n := c.LearnRows
				if (c.LearnRows > 0) == (c.LearnFraction > 0) {
					bad(name, "case %s: give exactly one of learn_rows and learn_fraction", c.Name)
				}
				if c.LearnFraction > 0 {
					if c.LearnFraction >= 1 {
						bad(name, "case %s: learn_fraction %v", c.Name, c.LearnFraction)
					}
					n = int(c.LearnFraction * float64(f.rows))
				}
				if n <= 0 || n >= f.rows {
					bad(name, "case %s: learns on %d of %d rows", c.Name, n, f.rows)
					continue
				}
				lRows, tRows = n, f.rows-n
				if f.labels != nil {
					lOnes, tOnes = share(f.labels[:n]), share(f.labels[n:])
				}
			default:
				bad(name, "case %s: give learn and test, or file", c.Name)
				continue
			}
			if ev.Task == "anomaly" && lOnes*100 > lRows {
				bad(name, "case %s: %d of %d learning rows are anomalous", c.Name, lOnes, lRows)
			}
			if ev.Task == "anomaly" && tOnes == 0 && c.Name != "normal" {
				bad(name, "case %s: no anomalous row to find", c.Name)
			}
			scored += tRows
			scoredOnes += tOnes
			learnRows += lRows
			learnOnes += lOnes
			lShare, tShare := "-", "-"
			if ev.Task == "anomaly" {
				lShare, tShare = pct(lOnes, lRows), pct(tOnes, tRows)
			}
			caseLines = append(caseLines, fmt.Sprintf("%s\t%s\t%d\t%d\t%s\t%s\t", name, c.Name, lRows, tRows, lShare, tShare))
		}
		rows, channels, constant, empty, files := 0, 0, 0, 0, 0
		tfirst, tlast := math.Inf(1), math.Inf(-1)
		for file, st := range stats {
			if st == nil {
				continue
			}
			files++
			rows += st.rows
			channels = max(channels, st.channels)
			constant = max(constant, st.constant)
			empty += st.empty
			if st.nonNumeric > 0 {
				bad(name, "%s: %d non-numeric fields", file, st.nonNumeric)
			}
			if st.badLabels > 0 {
				bad(name, "%s: %d labels other than 0/1", file, st.badLabels)
			}
			if st.backwards > 0 {
				bad(name, "%s: time goes back or repeats %d times", file, st.backwards)
			}
			if st.rows == 0 {
				bad(name, "%s: no rows", file)
			}
			if !math.IsNaN(st.first) {
				tfirst, tlast = min(tfirst, st.first), max(tlast, st.last)
			}
		}
		span := "none"
		if !math.IsInf(tfirst, 0) {
			span = time.Unix(int64(tfirst), 0).UTC().Format("2006-01-02") + ".." + time.Unix(int64(tlast), 0).UTC().Format("2006-01-02")
		}
		lab := "-"
		if ev.Task == "anomaly" {
			lab = pct(scoredOnes, scored)
		}
		lic, _, _ := strings.Cut(ev.Licence, ": ")
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\t%s\t%s\t\n", name, ev.Task, len(ev.Cases), files, rows, channels, constant, lab, empty, span, lic)
	}
	tw.Flush()
	if verbose {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "set\tcase\tlearn rows\tscored rows\tlearn label share\tscored label share\t")
		for _, l := range caseLines {
			fmt.Fprintln(tw, l)
		}
		tw.Flush()
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "PROBLEM", p)
		}
		return fmt.Errorf("%d problems", len(problems))
	}
	return nil
}
