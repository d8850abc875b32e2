package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/edgeml/edge/kernels"
	"github.com/klauspost/cpuid/v2"
)

// cpuFeatures are the features that matter to edge's kernels, by architecture.
var cpuFeatures = map[string][]cpuid.FeatureID{
	"amd64": {cpuid.SSE4, cpuid.AVX, cpuid.AVX2, cpuid.FMA3, cpuid.AVX512F, cpuid.AVX512BW, cpuid.AVX512VL,
		cpuid.AVX512VNNI, cpuid.AVX512VBMI, cpuid.AVXVNNI},
	"arm64": {cpuid.ASIMD, cpuid.ASIMDDP, cpuid.FP, cpuid.SVE},
}

func cmdInfo(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("info", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "edge %s, %s, %s/%s\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	name := strings.TrimSpace(cpuid.CPU.BrandName)
	if name == "" {
		name = "unknown (the CPU does not report a brand name)"
	}
	fmt.Fprintf(stdout, "CPU:      %s (%d logical cores", name, runtime.NumCPU())
	if cpuid.CPU.Hz > 0 {
		fmt.Fprintf(stdout, ", %.2f GHz", float64(cpuid.CPU.Hz)/1e9)
	}
	fmt.Fprintln(stdout, ")")
	var have, lack []string
	for _, f := range cpuFeatures[runtime.GOARCH] {
		if cpuid.CPU.Supports(f) {
			have = append(have, f.String())
		} else {
			lack = append(lack, f.String())
		}
	}
	if len(have)+len(lack) > 0 {
		fmt.Fprintf(stdout, "Features: %s\n", strings.Join(have, " "))
		if len(lack) > 0 {
			fmt.Fprintf(stdout, "Lacks:    %s\n", strings.Join(lack, " "))
		}
	}
	fmt.Fprintln(stdout, "\nKernel families (in order of preference):")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, f := range kernels.Families() {
		state := "no: needs " + f.Needs()
		if f.Supported() {
			state = "yes"
		}
		mark := " "
		if f == kernels.Current() {
			mark = "*"
		}
		fmt.Fprintf(tw, "  %s %s\t%s\n", mark, f, state)
	}
	tw.Flush()
	how := "best the CPU supports"
	if kernels.Current() != kernels.Best() {
		how = "forced by " + kernels.EnvVar
	}
	fmt.Fprintf(stdout, "\nIn use: %s (%s). Each kernel runs:\n", kernels.Current(), how)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, c := range kernels.Choices() {
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Kernel, c.Family, c.Impl)
	}
	return tw.Flush()
}
