// Command realdata converts openly licensed, labelled sensor data sets from
// snapshots of public repositories into the layout the evaluation harness
// reads: OUT/<set>/eval.json beside plain CSV files. prepare.sh finds the
// repositories and calls it once per set; README.md in this folder
// describes every set, its licence and its protocol.
//
//	realdata build -set NAME -git GITDIR -out DIR   convert one set from a git dir
//	realdata build -set tep -src DIR -out DIR       copy the Tennessee Eastman CSVs
//	realdata check [-v] OUT                         validate every set, print a table
//
// It uses the standard library only and never touches the network.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Eval is an eval.json: one set, its provenance and its cases.
type Eval struct {
	Name        string   `json:"name"`
	Task        string   `json:"task"`
	Description string   `json:"description"`
	Source      string   `json:"source"`
	Licence     string   `json:"licence"`
	Citation    string   `json:"citation"`
	Time        string   `json:"time"`
	Label       string   `json:"label,omitempty"`
	Ignore      []string `json:"ignore,omitempty"`
	Channels    []string `json:"channels,omitempty"`
	Cases       []Case   `json:"cases"`
}

// Case is one evaluation: learn on one file and score another, or learn on
// a leading part of one file and score the rest.
type Case struct {
	Name          string  `json:"name"`
	Learn         string  `json:"learn,omitempty"`
	Test          string  `json:"test,omitempty"`
	File          string  `json:"file,omitempty"`
	LearnRows     int     `json:"learn_rows,omitempty"`
	LearnFraction float64 `json:"learn_fraction,omitempty"`
}

// builders convert one set; src is a git dir (or, for tep, a folder).
var builders = map[string]func(src, dir string) (*Eval, error){
	"tep":        buildTEP,
	"smap":       func(src, dir string) (*Eval, error) { return buildTelemanom(src, dir, "SMAP") },
	"msl":        func(src, dir string) (*Eval, error) { return buildTelemanom(src, dir, "MSL") },
	"gecco":      buildGECCO,
	"airquality": buildAirQuality,
	"occupancy":  buildOccupancy,
	"bibmon":     buildBibMon,
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = runBuild(os.Args[2:])
	case "check":
		fs := flag.NewFlagSet("check", flag.ExitOnError)
		verbose := fs.Bool("v", false, "also print one line per case")
		fs.Parse(os.Args[2:])
		if fs.NArg() != 1 {
			usage()
		}
		err = runCheck(fs.Arg(0), *verbose, os.Stdout)
	case "univariate":
		if len(os.Args) != 4 {
			usage()
		}
		err = runUnivariate(os.Args[2], os.Args[3])
	case "sets":
		for _, s := range setOrder {
			fmt.Println(s)
		}
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "realdata:", err)
		os.Exit(1)
	}
}

// setOrder is the order prepare.sh builds and check reports the sets in.
var setOrder = []string{"tep", "smap", "msl", "gecco", "airquality", "occupancy", "bibmon"}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: realdata build -set NAME (-git GITDIR | -src DIR) -out DIR\n       realdata univariate SETDIR OUTDIR\n       realdata check [-v] OUT\n       realdata sets")
	os.Exit(2)
}

func runBuild(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	set := fs.String("set", "", "set name")
	gitDir := fs.String("git", "", "git dir of the source repository snapshot")
	srcDir := fs.String("src", "", "source folder (tep)")
	out := fs.String("out", "", "folder to write (replaced whole)")
	fs.Parse(args)
	build, ok := builders[*set]
	if !ok || *out == "" {
		return fmt.Errorf("build: unknown set %q or no -out", *set)
	}
	src := *gitDir
	if *set == "tep" {
		src = *srcDir
	}
	if src == "" {
		return errors.New("build: no source given")
	}
	// Build beside the target and swap it in at the end, so an interrupted
	// or failed run never leaves a half-written set behind.
	tmp := *out + ".part"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	ev, err := build(src, tmp)
	if err != nil {
		os.RemoveAll(tmp)
		return fmt.Errorf("%s: %w", *set, err)
	}
	if err := writeJSON(filepath.Join(tmp, "eval.json"), ev); err != nil {
		return err
	}
	if err := os.RemoveAll(*out); err != nil {
		return err
	}
	return os.Rename(tmp, *out)
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// gitShow returns a file of the snapshot's HEAD.
func gitShow(gitDir, path string) ([]byte, error) {
	cmd := exec.Command("git", "--git-dir="+gitDir, "show", "HEAD:"+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git show %s: %v: %s", path, err, strings.TrimSpace(stderr.String()))
	}
	return b, nil
}

// runUnivariate writes, in out, a set that scores the telemetry channel
// ("value") of the telemanom set in dir alone: the same files, read
// through ../<set>/, univariate.
func runUnivariate(dir, out string) error {
	raw, err := os.ReadFile(filepath.Join(dir, "eval.json"))
	if err != nil {
		return err
	}
	var ev Eval
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	base := filepath.Base(dir)
	ev.Name = base + "1"
	ev.Channels = []string{"value"}
	ev.Description = "Univariate: the telemetry channel ('value') alone, the commands left out. " + ev.Description
	for i := range ev.Cases {
		c := &ev.Cases[i]
		c.Learn, c.Test = filepath.Join("..", base, c.Learn), filepath.Join("..", base, c.Test)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	return writeJSON(filepath.Join(out, "eval.json"), ev)
}
