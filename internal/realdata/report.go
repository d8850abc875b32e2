package realdata

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"text/tabwriter"
)

// PrintAnomaly writes a set's table: per detector the detection rate,
// false alarms on normal rows, precision, F1, events found, the mean
// delay, ROC AUC, PR AUC and the NAB-style score (every flagged row a
// detection, each run of flags once at its start, and every row at the
// detector's best threshold for the set), then the baselines at
// edge's false-alarm rate; with cases, a line per case and detector's detection rate.
func PrintAnomaly(w io.Writer, r *SetResult, cases bool) {
	e := r.Total[edgeName]
	fmt.Fprintf(w, "\n%s: %d cases, %d scored rows, %d anomalous in %d events\n", r.Set.Name, len(r.Cases), e.Rows, e.Anomalous, e.Events)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "detector\tdetection\tfalse alarms\tprecision\tF1\tevents\tdelay\tAUC\tPR AUC\tNAB rows\tNAB onsets\tNAB tuned\tdet. at edge's FAR\t")
	var variants []string
	for k := range r.Total {
		if strings.HasPrefix(k, "edge ") && k != floatName {
			variants = append(variants, k)
		}
	}
	slices.Sort(variants)
	for _, d := range append(Detectors()[:2:2], append(variants, Detectors()[2:]...)...) {
		m, ok := r.Total[d]
		if !ok {
			continue
		}
		matched := "-"
		if mm, ok := r.Matched[d]; ok {
			matched = pct(mm.Detection())
		}
		tuned := math.NaN()
		if v, ok := r.NABTuned[d]; ok {
			tuned = v
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", d, pct(m.Detection()), pct(m.FalseAlarms()), num(m.Precision()),
			num(m.F1()), m.Found, m.Events, num1(m.Delay()), num(m.AUC()), num(m.PRAUC()), num1(m.NAB()), num1(m.NABOnsets()), num1(tuned), matched)
	}
	tw.Flush()
	if !cases {
		return
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "case\trows\t")
	for _, d := range Detectors() {
		fmt.Fprintf(tw, "%s\t", d)
	}
	fmt.Fprintln(tw, "false alarms (edge)\tAUC int8 / f32\t")
	for _, c := range r.Cases {
		fmt.Fprintf(tw, "%s\t%d\t", c.Name, c.Rows)
		for _, d := range Detectors() {
			m, ok := c.Metrics[d]
			if !ok {
				fmt.Fprint(tw, "n/a\t")
				continue
			}
			fmt.Fprintf(tw, "%s\t", pct(m.Detection()))
		}
		e, f := c.Metrics[edgeName], c.Metrics[floatName]
		fmt.Fprintf(tw, "%s\t%s / %s\t\n", pct(e.FalseAlarms()), num(e.AUC()), num(f.AUC()))
	}
	tw.Flush()
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.3f", v)
}

func num1(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.1f", v)
}
