//go:build linux

package service

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns a pseudo-terminal's controlling side and the device
// path of its other side, which edge opens as a serial port.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("SKIPPED: no pseudo-terminals here (%v), so the serial input test did NOT run", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	return m, fmt.Sprintf("/dev/pts/%d", n)
}

// TestSerialInput: CSV readings written to a serial line (a pty) come out
// cleaned, one per reading.
func TestSerialInput(t *testing.T) {
	master, dev := openPTY(t)
	defer master.Close()
	cfg := &Config{
		Groups:  []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "causal"}},
		Input:   InputConfig{Source: "serial", Port: dev, Baud: 115200, Format: "csv", Columns: []string{"ts", "temp_1", "humidity_1", "pressure_1", "current_1"}},
		Metrics: MetricsConfig{Listen: "off"},
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out strings.Builder
	svcs := make(chan *Service, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, Options{Stdout: &out, Log: discardLogger(), Ready: func(s *Service, _ string) { svcs <- s }})
	}()
	svc := <-svcs
	time.Sleep(200 * time.Millisecond) // the port opens
	const n = 150
	for i := 0; i < n; i++ {
		fmt.Fprintf(master, "%d,%g,%g,%g,%g\n", 1700000000+60*i, 20+float64(i%7), 50-float64(i%5), 1000+float64(i%3), 2+float64(i%11)/10)
	}
	fmt.Fprintf(master, "garbage line\n")
	waitFor(t, 10*time.Second, "the serial readings", func() bool { return svc.M.In.Total() == n && svc.M.Invalid.Total() == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(out.String(), `"topic":"edge/site/clean"`); got != n {
		t.Errorf("%d cleaned rows for %d serial readings", got, n)
	}
}
