package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/edgeml/edge/kernels"
	"github.com/edgeml/edge/model"
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
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: edge info [MODEL]\n\nWithout MODEL: the CPU, its features and the kernel family each kernel uses.\nWith MODEL: the model's architecture, parameter and byte counts, quantisation and MACs per window.")
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	switch fs.NArg() {
	case 0:
	case 1:
		return modelInfo(fs.Arg(0), stdout)
	default:
		return fmt.Errorf("%w: edge info takes at most one model file", errUsage)
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
	printARM(stdout)
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

// modelInfo prints a model file's architecture and costs.
func modelInfo(path string, w io.Writer) error {
	m, err := model.Load(path)
	if err != nil {
		return err
	}
	layers, err := m.Info()
	if err != nil {
		return err
	}
	prec := "float32"
	if m.Quantized() {
		prec = "int8"
	}
	name := m.Name
	if name == "" {
		name = "(unnamed)"
	}
	fmt.Fprintf(w, "model %s: %s, windows of %d steps x %d channels, latent %d", name, prec, m.Steps, m.Channels, m.Latent())
	if m.Variational {
		fmt.Fprint(w, " (variational: mean and log-variance)")
	}
	fmt.Fprintln(w)
	if len(m.ChannelNames) > 0 {
		fmt.Fprintf(w, "channels: %s\n", strings.Join(m.ChannelNames, ", "))
	}
	switch m.Norm.Kind {
	case model.NormMeanStd, model.NormMinMax:
		fmt.Fprintf(w, "normalisation %s per channel: shift %v, scale %v\n", m.Norm.Kind, m.Norm.Shift, m.Norm.Scale)
	default:
		fmt.Fprintln(w, "normalisation: none")
	}
	if m.Quantized() {
		fmt.Fprintf(w, "input encoding: scale %.6g, zero point %d; latent encoding: scale %.6g, zero point %d\n",
			m.InputQ.Scale, m.InputQ.ZeroPoint, m.LatentQ.Scale, m.LatentQ.ZeroPoint)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nlayer\tkind\tin\tout\tprecision\tparams\tMACs/window\toutput encoding")
	for _, l := range layers {
		q := "-"
		if l.OutQ != nil {
			q = fmt.Sprintf("scale %.4g, zp %d", l.OutQ.Scale, l.OutQ.ZeroPoint)
			if l.PreQ != nil {
				q += fmt.Sprintf(" (before activation: scale %.4g, zp %d)", l.PreQ.Scale, l.PreQ.ZeroPoint)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%dx%d\t%dx%d\t%s\t%d\t%d\t%s\n", l.Name, l.Desc, l.In[0], l.In[1], l.Out[0], l.Out[1], l.Precision, l.Params, l.MACs, q)
	}
	tw.Flush()
	packed, err := m.PackedBytes()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntotal: %d parameters, %d bytes of weights as stored, %d packed for %s; %d MACs per window\n",
		m.Params(), m.WeightBytes(), packed, kernels.Current(), m.MACs())
	for _, k := range sortedKeys(m.Provenance) {
		fmt.Fprintf(w, "provenance %s: %s\n", k, m.Provenance[k])
	}
	for _, k := range sortedKeys(m.Apps) {
		fmt.Fprintf(w, "settings %s: %s\n", k, m.Apps[k])
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
