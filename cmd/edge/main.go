// Command edge runs int8-quantised autoencoders on edge devices.
//
// Usage:
//
//	edge demo                             the whole job on built-in data, with plots
//	edge eval                             the denoiser and scorer against classical baselines
//	edge info [MODEL]                     CPU, features and kernel families; or a model's architecture and costs
//	edge bench [flags]                    time the kernels: family x shape x batch -> ns and GOPS
//	edge train --data FILE.csv [flags]    train an autoencoder on a CSV of readings
//	edge quantize MODEL --calib FILE.csv  quantise it to int8, with a calibration report
//	edge denoise MODEL [FILE.csv]         clean a stream: one cleaned row per input row
//	edge score MODEL [FILE.csv]           score a stream for anomalies
//	edge watch --learn N [FILE.csv]       learn from the first N samples, then score the rest
//	edge calibrate MODEL --data FILE.csv  set the anomaly threshold from normal readings
//	edge plot MODEL FILE.csv -o OUT.png   draw input vs cleaned, the score, the latent space
//	edge synth [flags]                    write generated sensor readings as CSV
//	edge version (or --version)           print the version
//	edge help [COMMAND]                   this list, or a command's flags
//
// EDGE_KERNELS=generic|avx2|avx512|neon|neondot forces a kernel family.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/edgeml/edge/kernels"
)

// version is set at release time with -ldflags "-X main.version=...".
var version = "dev"

// errUsage marks errors caused by the command line (exit status 2).
var errUsage = errors.New("usage")

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"demo", "the whole job on built-in generated data: train, quantise, denoise, score, compare, plot", cmdDemo},
		{"info", "[MODEL]: the CPU and its kernel families, or a model's architecture and costs", cmdInfo},
		{"bench", "time the kernels (family x shape x batch -> ns, GOPS) and the int8 layer chain", cmdBench},
		{"train", "--data FILE.csv: train an autoencoder (dense or conv; vanilla, denoising, sparse, variational)", cmdTrain},
		{"quantize", "MODEL --calib FILE.csv: quantise a float32 model to int8 and report the error", cmdQuantize},
		{"import", "FILE.tflite|FILE.onnx -o MODEL: convert a model trained elsewhere (TFLite, ONNX) into an edge model", cmdImport},
		{"denoise", "MODEL [FILE.csv]: clean a stream of readings, one cleaned row per input row", cmdDenoise},
		{"score", "MODEL [FILE.csv]: score a stream for anomalies, with flags and the channel to blame", cmdScore},
		{"watch", "--learn N [FILE.csv]: learn a model from the first N samples (or minutes), then score the rest", cmdWatch},
		{"calibrate", "MODEL --data NORMAL.csv: set the anomaly threshold from normal readings", cmdCalibrate},
		{"run", "--config FILE | --model MODEL: the service: readings over MQTT, serial or stdin -> cleaned values and anomaly events, with metrics", cmdRun},
		{"eval", "compare the denoiser and the scorer with classical filters and baselines on generated data", cmdEval},
		{"plot", "MODEL FILE.csv -o OUT.png|svg: draw input against cleaned, the score and flags, the latent space", cmdPlot},
		{"synth", "write generated sensor readings (optionally with labelled anomalies) as CSV", cmdSynth},
		{"version", "print the version", cmdVersion},
		{"help", "[COMMAND]: this list, or a command's flags", nil},
	}
}

// cmdVersion prints the version: the release's (-ldflags -X
// main.version=...), else the module version go install recorded, else
// the commit a build from a checkout recorded.
func cmdVersion(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: edge version (or edge --version)\n\nPrints the version of this build.")
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "edge", buildVersion())
	return nil
}

// buildVersion returns the version this binary reports.
func buildVersion() string {
	if version != "dev" {
		return version
	}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return version
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "+dirty"
	}
	return "dev (" + rev + ")"
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "edge runs int8-quantised autoencoders on edge devices.")
	fmt.Fprintln(w, "\nUsage: edge <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\n%s=generic|avx2|avx512|neon|neondot forces a kernel family.\nRun 'edge help <command>' (or 'edge <command> -h') for a command's flags.\n", kernels.EnvVar)
}

// run executes the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if err := kernels.EnvError(); err != nil {
		fmt.Fprintln(stderr, "edge:", err)
		return 2
	}
	switch {
	case len(args) == 0 || args[0] == "-h" || args[0] == "--help" || (args[0] == "help" && len(args) == 1):
		usage(stdout)
		return 0
	case args[0] == "--version" || args[0] == "-version":
		args[0] = "version"
	case args[0] == "help":
		args = []string{args[1], "-h"} // edge help CMD: the command's own flags, on stdout
		stderr = stdout
	}
	for _, c := range commands() {
		if c.name == args[0] && c.run != nil {
			err := c.run(args[1:], stdout, stderr)
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.Is(err, context.Canceled):
				fmt.Fprintln(stderr, "edge", c.name+":", err)
				return 130 // as a shell reports a command stopped by SIGINT
			case errors.Is(err, errUsage):
				fmt.Fprintln(stderr, "edge", c.name+":", err)
				return 2
			case errors.Is(err, errDataProblems):
				fmt.Fprintln(stderr, "edge", c.name+":", err)
				return 3
			default:
				fmt.Fprintln(stderr, "edge", c.name+":", err)
				return 1
			}
		}
	}
	fmt.Fprintf(stderr, "edge: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

// interruptible returns a context that SIGINT or SIGTERM cancels, for the
// commands that stop cleanly: they write nothing half-done, flush what
// they have written, and exit with status 130.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// usageFunc returns a flag set's Usage: text, then the flags.
func usageFunc(fs *flag.FlagSet, stderr io.Writer, text string) func() {
	return func() {
		fmt.Fprintln(stderr, text)
		fs.PrintDefaults()
	}
}

// newFlags returns a flag set whose parse errors are usage errors.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("edge "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}
