package main

import (
	"archive/zip"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// writeCSV writes a header and rows as a comma-separated file.
func writeCSV(path string, header []string, rows [][]string) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write(header)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// readCSV parses a whole CSV; ragged rows are allowed and checked by callers.
func readCSV(b []byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	return r.ReadAll()
}

// isNumber says whether s is a finite decimal number.
func isNumber(s string) bool {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return err == nil && !isNaNOrInf(v)
}

func isNaNOrInf(v float64) bool { return v != v || v > 1e308 || v < -1e308 }

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// indexOf maps each wanted column name to its index in header.
func indexOf(header []string, names ...string) ([]int, error) {
	idx := make([]int, len(names))
	for i, n := range names {
		idx[i] = -1
		for j, h := range header {
			if strings.TrimSpace(h) == n {
				idx[i] = j
				break
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("no column %q in header %q", n, header)
		}
	}
	return idx, nil
}

// ---- Tennessee Eastman ------------------------------------------------------

func buildTEP(src, dir string) (*Eval, error) {
	copyFile := func(name string, addFault bool) error {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return err
		}
		rows, err := readCSV(b)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if len(rows) < 2 {
			return fmt.Errorf("%s: no data", name)
		}
		has := rows[0][len(rows[0])-1] == "fault"
		switch {
		case addFault && !has:
			// The learning file has no label column; give it an all-zero
			// one so that every file of the set has the same columns.
			rows[0] = append(rows[0], "fault")
			for i := 1; i < len(rows); i++ {
				rows[i] = append(rows[i], "0")
			}
		case !has:
			return fmt.Errorf("%s: last column is %q, want fault", name, rows[0][len(rows[0])-1])
		}
		return writeCSV(filepath.Join(dir, name), rows[0], rows[1:])
	}
	ev := &Eval{
		Name: "tep",
		Task: "anomaly",
		Description: "Tennessee Eastman process (simulated chemical plant, Braatz's data): 52 sensors " +
			"(41 xmeas, 11 xmv), one row every 3 minutes. Classic protocol: learn on normal_train.csv " +
			"(500 normal rows); each test file has 960 rows, the fault starts at row 161 (fault = 1 from " +
			"there on); the case 'normal' scores normal_test.csv, where every flag is a false alarm. " +
			"Faults 3, 9 and 15 are known to be nearly undetectable.",
		Source:   "shared/data/tep of the edge workplace (Braatz's d00.dat..d21_te.dat converted to CSV; see its README.md)",
		Licence:  "University of Illinois/NCSA-style open licence: shared/data/tep/LICENSE says \"Permission hereby granted, free of charge, to any person obtaining a copy of this software and associated documentation files (the \"Software\"), to deal with the Software without restriction ...\"",
		Citation: "Chiang, Russell and Braatz, Fault Detection and Diagnosis in Industrial Systems, Springer, 2001; Downs and Vogel, A plant-wide industrial process control problem, Computers & Chemical Engineering 17(3), 1993",
		Time:     "time",
		Label:    "fault",
	}
	if err := copyFile("normal_train.csv", true); err != nil {
		return nil, err
	}
	if err := copyFile("normal_test.csv", false); err != nil {
		return nil, err
	}
	ev.Cases = append(ev.Cases, Case{Name: "normal", Learn: "normal_train.csv", Test: "normal_test.csv"})
	for f := 1; f <= 21; f++ {
		name := fmt.Sprintf("fault%02d_test.csv", f)
		if err := copyFile(name, false); err != nil {
			return nil, err
		}
		ev.Cases = append(ev.Cases, Case{Name: fmt.Sprintf("fault%02d", f), Learn: "normal_train.csv", Test: name})
	}
	return ev, nil
}

// ---- NASA SMAP and MSL telemetry (telemanom) ---------------------------------

const telemanomDir = "data/SMAP_MSL"

var seqRe = regexp.MustCompile(`\[\s*(\d+)\s*,\s*(\d+)\s*\]`)

func buildTelemanom(gitDir, dir, craft string) (*Eval, error) {
	b, err := gitShow(gitDir, telemanomDir+"/labeled_anomalies.csv")
	if err != nil {
		return nil, err
	}
	rows, err := readCSV(b)
	if err != nil {
		return nil, err
	}
	idx, err := indexOf(rows[0], "chan_id", "spacecraft", "anomaly_sequences", "num_values")
	if err != nil {
		return nil, err
	}
	ev := &Eval{
		Name:     strings.ToLower(craft),
		Task:     "anomaly",
		Source:   "https://github.com/imperial-qore/TranAD (data/SMAP_MSL: train/<chan>.npy, test/<chan>.npy, labeled_anomalies.csv), a copy of telemanom's data.zip and https://github.com/khundman/telemanom (labeled_anomalies.csv)",
		Licence:  "BSD-style (Caltech) and BSD 3-Clause (TranAD's copy): telemanom, whose repository holds labeled_anomalies.csv and links the data, says in LICENSE.txt \"Copyright (c) 2018, California Institute of Technology (\"Caltech\"). U.S. Government sponsorship acknowledged. All rights reserved. Redistribution and use in source and binary forms, with or without modification, are permitted provided that the following conditions are met: ...\"; the copy used here is in TranAD, whose LICENSE is BSD 3-Clause",
		Citation: "Hundman, Constantinou, Laporte, Colwell and Soderstrom, Detecting Spacecraft Anomalies Using LSTMs and Nonparametric Dynamic Thresholding, KDD 2018",
		Time:     "-",
		Label:    "anomaly",
	}
	n, totalRows := 0, 0
	for _, r := range rows[1:] {
		if len(r) != len(rows[0]) {
			return nil, fmt.Errorf("labeled_anomalies.csv: ragged row %q", r)
		}
		if r[idx[1]] != craft {
			continue
		}
		n++
		// SMAP has 55 channels, too many rows for one evaluation on two
		// cores: keep the 1st, 3rd, 5th, ... in the file's order.
		if craft == "SMAP" && n%2 == 0 {
			continue
		}
		c, rows, err := telemanomChannel(gitDir, dir, r[idx[0]], r[idx[2]], r[idx[3]])
		if err != nil {
			return nil, err
		}
		ev.Cases = append(ev.Cases, c)
		totalRows += rows
	}
	if len(ev.Cases) == 0 {
		return nil, fmt.Errorf("no %s channel in labeled_anomalies.csv", craft)
	}
	ev.Description = telemanomDescription(craft, n, len(ev.Cases), totalRows)
	return ev, nil
}

func telemanomDescription(craft string, channels, cases, totalRows int) string {
	what := map[string]string{
		"SMAP": "NASA Soil Moisture Active Passive satellite telemetry",
		"MSL":  "NASA Mars Science Laboratory (Curiosity rover) telemetry",
	}[craft]
	subset := fmt.Sprintf("all %d channels", channels)
	if craft == "SMAP" {
		subset = fmt.Sprintf("%d of the %d channels: the 1st, 3rd, 5th, ... SMAP rows of labeled_anomalies.csv, to stay near 300k rows", cases, channels)
	}
	return fmt.Sprintf("%s, expert-labelled anomalies (telemanom). One case per channel (%s; %d rows in all). "+
		"Column 'value' is the channel's telemetry as released (mostly within [-1, 1]; some MSL channels go beyond, M-6's test to 258); cmd_NN are one-hot encoded "+
		"commands sent to the spacecraft (0/1, many constant). Protocol: learn on the channel's train file (taken as "+
		"nominal by the source), score its test file; 'anomaly' = 1 inside labeled_anomalies.csv's anomaly_sequences "+
		"(both ends inclusive). No timestamps.", what, subset, totalRows)
}

// telemanomChannel writes one channel's learning and test files and
// returns its case and how many rows the two hold.
func telemanomChannel(gitDir, dir, ch, sequences, numValues string) (Case, int, error) {
	load := func(part string) (*Matrix, error) {
		b, err := gitShow(gitDir, telemanomDir+"/"+part+"/"+ch+".npy")
		if err != nil {
			return nil, err
		}
		m, err := parseNPY(b)
		if err != nil {
			return nil, fmt.Errorf("%s/%s.npy: %w", part, ch, err)
		}
		return m, nil
	}
	train, err := load("train")
	if err != nil {
		return Case{}, 0, err
	}
	test, err := load("test")
	if err != nil {
		return Case{}, 0, err
	}
	if want, _ := strconv.Atoi(numValues); want != test.Rows {
		return Case{}, 0, fmt.Errorf("%s: test has %d rows, labeled_anomalies.csv says %d", ch, test.Rows, want)
	}
	if train.Cols != test.Cols {
		return Case{}, 0, fmt.Errorf("%s: train has %d columns, test %d", ch, train.Cols, test.Cols)
	}
	label, err := sequenceLabels(ch, sequences, test.Rows)
	if err != nil {
		return Case{}, 0, err
	}
	header := []string{"value"}
	for j := 1; j < train.Cols; j++ {
		header = append(header, fmt.Sprintf("cmd_%02d", j))
	}
	header = append(header, "anomaly")
	learnName, testName := ch+"_train.csv", ch+"_test.csv"
	if err := writeCSV(filepath.Join(dir, learnName), header, labelledRows(train, nil)); err != nil {
		return Case{}, 0, err
	}
	if err := writeCSV(filepath.Join(dir, testName), header, labelledRows(test, label)); err != nil {
		return Case{}, 0, err
	}
	return Case{Name: ch, Learn: learnName, Test: testName}, train.Rows + test.Rows, nil
}

// sequenceLabels marks the rows inside labeled_anomalies.csv's
// anomaly_sequences ([[a, e], ...], both ends inclusive).
func sequenceLabels(ch, sequences string, rows int) ([]bool, error) {
	label := make([]bool, rows)
	seqs := seqRe.FindAllStringSubmatch(sequences, -1)
	if len(seqs) == 0 {
		return nil, fmt.Errorf("%s: no anomaly sequence in %q", ch, sequences)
	}
	for _, s := range seqs {
		a, _ := strconv.Atoi(s[1])
		e, _ := strconv.Atoi(s[2])
		if a > e || e >= rows {
			return nil, fmt.Errorf("%s: sequence [%d, %d] outside %d rows", ch, a, e, rows)
		}
		for i := a; i <= e; i++ {
			label[i] = true
		}
	}
	return label, nil
}

// labelledRows formats m's rows with a last 0/1 column from label (all 0
// when label is nil).
func labelledRows(m *Matrix, label []bool) [][]string {
	out := make([][]string, m.Rows)
	for i := range out {
		row := make([]string, 0, m.Cols+1)
		for j := 0; j < m.Cols; j++ {
			row = append(row, ftoa(m.At(i, j)))
		}
		l := "0"
		if label != nil && label[i] {
			l = "1"
		}
		out[i] = append(row, l)
	}
	return out
}

// ---- GECCO 2018 drinking-water quality ---------------------------------------

const (
	geccoZip    = "mts/GECCOWater/GECCOWater original.zip"
	geccoMember = "original/1_gecco2018_water_quality.csv"
	// geccoLearn rows (about 11 days, ending before the first event at
	// source row 16266) form the learning part.
	geccoLearn = 16000
)

var geccoSensors = []string{"Tp", "Cl", "pH", "Redox", "Leit", "Trueb", "Cl_2", "Fm", "Fm_2"}

func buildGECCO(gitDir, dir string) (*Eval, error) {
	b, err := geccoCSV(gitDir)
	if err != nil {
		return nil, err
	}
	rows, err := readCSV(b)
	if err != nil {
		return nil, err
	}
	idx, err := indexOf(rows[0], append([]string{"Time"}, append(geccoSensors, "EVENT")...)...)
	if err != nil {
		return nil, err
	}
	g := geccoConv{idx: idx, offset: 2 * time.Hour}
	for n, r := range rows[1:] {
		if len(r) != len(rows[0]) {
			return nil, fmt.Errorf("row %d: %d fields, want %d", n+2, len(r), len(rows[0]))
		}
		if err := g.row(r); err != nil {
			return nil, fmt.Errorf("row %d: %w", n+2, err)
		}
	}
	if g.jumps != 1 {
		return nil, fmt.Errorf("expected the one clock change of 2016-10-30, found %d backward jumps", g.jumps)
	}
	for _, r := range g.out[:geccoLearn] {
		if r[len(r)-1] != "0" {
			return nil, errors.New("an event lies inside the learning part")
		}
	}
	header := append(append([]string{"time"}, geccoSensors...), "event")
	if err := writeCSV(filepath.Join(dir, "gecco2018.csv"), header, g.out); err != nil {
		return nil, err
	}
	return &Eval{
		Name: "gecco",
		Task: "anomaly",
		Description: fmt.Sprintf("GECCO Industrial Challenge 2018: drinking-water quality at a German water supplier "+
			"(Thüringer Fernwasserversorgung), one row a minute, 2016-08-03 to 2016-11-08: water temperature Tp, "+
			"chlorine dioxide Cl and Cl_2 (two measuring stations), pH, redox potential, conductivity Leit, "+
			"turbidity Trueb, flow rates Fm and Fm_2; 'event' = 1 where the operators marked an event (EVENT). "+
			"%d rows (%d event rows); %d source rows with missing readings were dropped (%d of them events). "+
			"Times converted from German local time to UTC. Protocol: learn on the first %d rows (about 11 days, "+
			"all normal, ending before the first event), score the rest.", len(g.out), g.events-g.droppedEvents, g.dropped, g.droppedEvents, geccoLearn),
		Source:   "https://github.com/mat-analysis/datasets (mts/GECCOWater/GECCOWater original.zip: original/1_gecco2018_water_quality.csv), a copy of Zenodo record 3884398",
		Licence:  "CC BY 4.0: Creative Commons Attribution 4.0 International, the licence of Zenodo record 3884398 (https://zenodo.org/records/3884398); the GitHub copy carries no licence of its own",
		Citation: "Moritz, Rehbach, Chandrasekaran, Rebolledo and Bartz-Beielstein, GECCO Industrial Challenge 2018 Dataset: A water quality dataset for the 'Internet of Things: Online Anomaly Detection for Drinking Water Quality' competition at GECCO 2018, Kyoto (Zenodo, doi:10.5281/zenodo.3884398)",
		Time:     "time",
		Label:    "event",
		Cases:    []Case{{Name: "all", File: "gecco2018.csv", LearnRows: geccoLearn}},
	}, nil
}

// geccoCSV returns the source CSV from the zip in the repository.
func geccoCSV(gitDir string) ([]byte, error) {
	zb, err := gitShow(gitDir, geccoZip)
	if err != nil {
		return nil, err
	}
	zr, err := zip.NewReader(bytes.NewReader(zb), int64(len(zb)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", geccoZip, err)
	}
	for _, f := range zr.File {
		if f.Name != geccoMember {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(rc); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	return nil, fmt.Errorf("%s has no %s", geccoZip, geccoMember)
}

// geccoConv converts the source rows one at a time. Times are local
// (German) wall-clock time: CEST (UTC+2) until the clock goes back on
// 2016-10-30, CET (UTC+1) after, which repeats 02:00-02:59. They become
// UTC by that one step, found as the one backward jump.
type geccoConv struct {
	idx                []int // Time, the sensors, EVENT
	offset             time.Duration
	prevLocal, prevUTC time.Time
	jumps              int
	out                [][]string
	dropped            int // rows with a missing reading
	droppedEvents      int // of them, event rows
	events             int
}

const geccoLayout = "2006-01-02 15:04:05"

func (g *geccoConv) row(r []string) error {
	idx := g.idx
	t, err := time.Parse(geccoLayout, r[idx[0]])
	if err != nil {
		return err
	}
	if !g.prevLocal.IsZero() && !t.After(g.prevLocal) {
		g.jumps++
		if g.jumps > 1 || t.Format("2006-01-02 15") != "2016-10-30 02" {
			return fmt.Errorf("time goes back from %s to %s, not at the 2016-10-30 clock change", g.prevLocal.Format(geccoLayout), r[idx[0]])
		}
		g.offset = time.Hour
	}
	g.prevLocal = t
	utc := t.Add(-g.offset)
	if !g.prevUTC.IsZero() && !utc.After(g.prevUTC) {
		return fmt.Errorf("UTC time %s not after %s", utc, g.prevUTC)
	}
	g.prevUTC = utc
	var ev string
	switch r[idx[len(idx)-1]] {
	case "TRUE":
		ev = "1"
		g.events++
	case "FALSE":
		ev = "0"
	default:
		return fmt.Errorf("EVENT %q", r[idx[len(idx)-1]])
	}
	row := []string{utc.Format(time.RFC3339)}
	for _, j := range idx[1 : len(idx)-1] {
		if !isNumber(r[j]) { // a reading with missing values: drop the whole row
			g.dropped++
			if ev == "1" {
				g.droppedEvents++
			}
			return nil
		}
		row = append(row, strings.TrimSpace(r[j]))
	}
	g.out = append(g.out, append(row, ev))
	return nil
}

// ---- denoising sets: real multichannel series without labels ----------------

// numericRows keeps the wanted columns of rows whose every wanted value is a
// finite number not equal to missing (if missing != ""); it returns the kept
// rows and how many were dropped.
func numericRows(rows [][]string, timeOf func(r []string) (string, error), cols []int, missing string) ([][]string, int, error) {
	var out [][]string
	dropped := 0
	for n, r := range rows {
		if len(r) == 0 || (len(r) == 1 && r[0] == "") {
			continue
		}
		t, err := timeOf(r)
		if err != nil {
			return nil, 0, fmt.Errorf("row %d: %w", n+2, err)
		}
		if t == "" { // a blank trailing row
			continue
		}
		row := []string{t}
		ok := true
		for _, j := range cols {
			if j >= len(r) {
				return nil, 0, fmt.Errorf("row %d: only %d fields", n+2, len(r))
			}
			v := strings.TrimSpace(r[j])
			if !isNumber(v) || (missing != "" && v == missing) {
				ok = false
				break
			}
			row = append(row, v)
		}
		if !ok {
			dropped++
			continue
		}
		out = append(out, row)
	}
	return out, dropped, nil
}

var airSensors = []string{"PT08.S1(CO)", "PT08.S2(NMHC)", "PT08.S3(NOx)", "PT08.S4(NO2)", "PT08.S5(O3)", "T", "RH", "AH"}

func buildAirQuality(gitDir, dir string) (*Eval, error) {
	b, err := gitShow(gitDir, "AirQualityUCI.csv")
	if err != nil {
		return nil, err
	}
	rows, err := readCSV(b)
	if err != nil {
		return nil, err
	}
	idx, err := indexOf(rows[0], append([]string{"Date", "Time"}, airSensors...)...)
	if err != nil {
		return nil, err
	}
	timeOf := func(r []string) (string, error) {
		if strings.TrimSpace(r[idx[0]]) == "" {
			return "", nil
		}
		t, err := time.Parse("2006/1/2 15:04:05", r[idx[0]]+" "+r[idx[1]])
		if err != nil {
			return "", err
		}
		return t.Format("2006-01-02 15:04:05"), nil
	}
	out, dropped, err := numericRows(rows[1:], timeOf, idx[2:], "-200")
	if err != nil {
		return nil, err
	}
	if err := writeCSV(filepath.Join(dir, "airquality.csv"), append([]string{"time"}, airSensors...), out); err != nil {
		return nil, err
	}
	return &Eval{
		Name: "airquality",
		Task: "denoise",
		Description: fmt.Sprintf("UCI Air Quality: hourly averages of a gas multisensor device on a road in an Italian city, "+
			"March 2004 to April 2005: five metal-oxide sensor responses PT08.S1..S5, temperature T, relative humidity RH, "+
			"absolute humidity AH. The reference analysers' columns (CO(GT), NMHC(GT), C6H6(GT), NOx(GT), NO2(GT)) are "+
			"left out: they miss up to 90%% of their values. %d rows; %d hours where the device reported -200 (missing) "+
			"were dropped, so time has gaps. Local time. Protocol: learn on the first half, denoise the second.", len(out), dropped),
		Source:   "https://github.com/Eugenia-Z/AirQualityAnalysis (AirQualityUCI.csv), a comma-separated copy of the UCI Machine Learning Repository's AirQualityUCI.csv (https://archive.ics.uci.edu/dataset/360/air+quality)",
		Licence:  "CC BY 4.0: the UCI Machine Learning Repository page says \"This dataset is licensed under a Creative Commons Attribution 4.0 International (CC BY 4.0) license.\"",
		Citation: "De Vito, Massera, Piga, Martinotto and Di Francia, On field calibration of an electronic nose for benzene estimation in an urban pollution monitoring scenario, Sensors and Actuators B 129(2), 2008; Air Quality, UCI Machine Learning Repository, doi:10.24432/C59K5F",
		Time:     "time",
		Cases:    []Case{{Name: "all", File: "airquality.csv", LearnFraction: 0.5}},
	}, nil
}

var occupancyCols = []string{"Temperature", "Humidity", "Light", "CO2", "HumidityRatio", "Occupancy"}

func buildOccupancy(gitDir, dir string) (*Eval, error) {
	ev := &Eval{
		Name:     "occupancy",
		Task:     "denoise",
		Source:   "https://github.com/muditabaid/RoomOccupancyDetector (datatraining.txt, datatest.txt, datatest2.txt), copies of the UCI Machine Learning Repository's Occupancy Detection data set (https://archive.ics.uci.edu/dataset/357/occupancy+detection)",
		Licence:  "CC BY 4.0: the UCI Machine Learning Repository page says \"This dataset is licensed under a Creative Commons Attribution 4.0 International (CC BY 4.0) license.\"",
		Citation: "Candanedo and Feldheim, Accurate occupancy detection of an office room from light, temperature, humidity and CO2 measurements using statistical learning models, Energy and Buildings 112, 2016; Occupancy Detection, UCI Machine Learning Repository, doi:10.24432/C5X01N",
		Time:     "time",
		Ignore:   []string{"Occupancy"},
	}
	total := 0
	for _, f := range []struct{ src, name string }{
		{"datatest.txt", "test"}, {"datatraining.txt", "training"}, {"datatest2.txt", "test2"},
	} {
		b, err := gitShow(gitDir, f.src)
		if err != nil {
			return nil, err
		}
		rows, err := readCSV(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.src, err)
		}
		idx, err := indexOf(rows[0], append([]string{"date"}, occupancyCols...)...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.src, err)
		}
		timeOf := func(r []string) (string, error) {
			t, err := time.Parse("2006-01-02 15:04:05", r[idx[0]])
			if err != nil {
				return "", err
			}
			return t.Format("2006-01-02 15:04:05"), nil
		}
		out, dropped, err := numericRows(rows[1:], timeOf, idx[1:], "")
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f.src, err)
		}
		if dropped > 0 {
			return nil, fmt.Errorf("%s: %d rows with non-numeric values", f.src, dropped)
		}
		name := f.name + ".csv"
		if err := writeCSV(filepath.Join(dir, name), append([]string{"time"}, occupancyCols...), out); err != nil {
			return nil, err
		}
		ev.Cases = append(ev.Cases, Case{Name: f.name, File: name, LearnFraction: 0.5})
		total += len(out)
	}
	ev.Description = fmt.Sprintf("UCI Occupancy Detection: an office room's temperature, relative humidity, light, CO2 "+
		"and humidity ratio, one row a minute, 2015-02-02 to 2015-02-18, in the source's three files (test: Feb 2-4, "+
		"training: Feb 4-10, test2: Feb 11-18), %d rows. 'Occupancy' (0/1, the source's ground truth) is kept but is not a "+
		"sensor. Local time. Protocol: per file, learn on the first half, denoise the second.", total)
	return ev, nil
}

func buildBibMon(gitDir, dir string) (*Eval, error) {
	b, err := gitShow(gitDir, "bibmon/real_process_data/real_process_data.csv")
	if err != nil {
		return nil, err
	}
	rows, err := readCSV(b)
	if err != nil {
		return nil, err
	}
	header := rows[0]
	if strings.TrimSpace(header[0]) != "" {
		return nil, fmt.Errorf("first column %q, want the unnamed time index", header[0])
	}
	data := rows[1:]
	// Tags whose values are status words (Bad, Inp OutRange, Scan Timeout)
	// in more than 1% of the rows are dropped; rows with a status word in
	// any other tag are dropped.
	var cols []int
	var names, droppedTags []string
	for j := 1; j < len(header); j++ {
		bad := 0
		for _, r := range data {
			if j >= len(r) || !isNumber(r[j]) {
				bad++
			}
		}
		if bad*100 > len(data) {
			droppedTags = append(droppedTags, fmt.Sprintf("%s (%d)", header[j], bad))
			continue
		}
		cols = append(cols, j)
		names = append(names, header[j])
	}
	timeOf := func(r []string) (string, error) {
		t, err := time.Parse("2006-01-02 15:04:05", r[0])
		if err != nil {
			return "", err
		}
		return t.Format("2006-01-02 15:04:05"), nil
	}
	out, dropped, err := numericRows(data, timeOf, cols, "")
	if err != nil {
		return nil, err
	}
	if err := writeCSV(filepath.Join(dir, "process.csv"), append([]string{"time"}, names...), out); err != nil {
		return nil, err
	}
	return &Eval{
		Name: "bibmon",
		Task: "denoise",
		Description: fmt.Sprintf("Real industrial process data shipped with Petrobras' BibMon: %d anonymised, standardised "+
			"process tags (tag0..), one row every 5 minutes, 2017-12-24 to 2018-01-04. Tags with status words instead of "+
			"values in over 1%% of rows were dropped (%s); %d rows with a status word elsewhere were dropped. %d rows. "+
			"Several tags are constant. Protocol: learn on the first half, denoise the second.",
			len(names), strings.Join(droppedTags, ", "), dropped, len(out)),
		Source:   "https://github.com/petrobras/BibMon (bibmon/real_process_data/real_process_data.csv)",
		Licence:  "CC BY 4.0: the folder holding the file, bibmon/real_process_data/, has LICENSE-CC-BY.txt, the Creative Commons \"Attribution 4.0 International\" public licence; the README carries both badges, Apache 2.0 (code) and CC BY 4.0",
		Citation: "Melo, Lemos, Soares, Spina, Clavijo, Campos, Câmara, Feital, Anzai, Thompson, Diehl and Pinto, BibMon: An open source Python package for process monitoring, soft sensing, and fault diagnosis, Digital Chemical Engineering 12, 100182, 2024, doi:10.1016/j.dche.2024.100182 (CITATION.bib)",
		Time:     "time",
		Cases:    []Case{{Name: "all", File: "process.csv", LearnFraction: 0.5}},
	}, nil
}
