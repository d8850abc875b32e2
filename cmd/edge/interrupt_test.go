//go:build unix

package main

import (
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeml/edge/model"
)

// signalWriter collects output and closes started at its first write.
type signalWriter struct {
	mu      sync.Mutex
	b       strings.Builder
	once    sync.Once
	started chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.once.Do(func() { close(w.started) })
	return w.b.Write(p)
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// TestTrainInterrupted: SIGINT during edge train stops it with exit
// status 130 and writes no model.
func TestTrainInterrupted(t *testing.T) {
	// The test process catches SIGINT too, so that it survives a signal
	// whatever the command does with it.
	caught := make(chan os.Signal, 1)
	signal.Notify(caught, os.Interrupt)
	defer signal.Stop(caught)
	data := write(t, "long.csv", csvText(400))
	out := filepath.Join(t.TempDir(), "m.edge")
	errOut := &signalWriter{started: make(chan struct{})}
	done := make(chan int, 1)
	go func() {
		var stdout strings.Builder
		done <- run([]string{"train", "-q", "--data", data, "-o", out, "--window", "8", "--epochs", "100000"}, &stdout, errOut)
	}()
	select {
	case <-errOut.started: // the command prints once its handler is set
	case <-time.After(time.Minute):
		t.Fatal("edge train printed nothing in a minute")
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 130 || !strings.Contains(errOut.String(), "interrupted: no model written") {
			t.Errorf("exit %d, stderr:\n%s", code, errOut.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("edge train did not stop within 2 minutes of SIGINT")
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a model was written (%v)", err)
	}
}

// TestRunReloadSignal: SIGHUP (systemctl reload edge) makes edge run swap
// in a changed model file between readings, and it goes on.
func TestRunReloadSignal(t *testing.T) {
	caught := make(chan os.Signal, 1)
	signal.Notify(caught, syscall.SIGHUP)
	defer signal.Stop(caught)
	_, qm, data := models(t)
	b, err := os.ReadFile(qm)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "site.edge")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	rows, err := os.ReadFile(data)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(rows)), "\n")
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &signalWriter{started: make(chan struct{})}
	errOut := &signalWriter{started: make(chan struct{})}
	done := make(chan int, 1)
	old := stdin
	stdin = inR
	defer func() { stdin = old }()
	go func() {
		done <- run([]string{"run", "--model", path, "--denoise", "causal", "--format", "csv", "--columns", lines[0], "--metrics", "off"}, out, errOut)
	}()
	for _, l := range lines[1:200] {
		inW.WriteString(l + "\n")
	}
	select {
	case <-out.started:
	case <-time.After(time.Minute):
		t.Fatalf("no result in a minute; stderr:\n%s", errOut.String())
	}
	// A changed file: the same model, renamed.
	m, err := model.Load(qm)
	if err != nil {
		t.Fatal(err)
	}
	m.Name = "site-v2"
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(time.Minute)
	for !strings.Contains(errOut.String(), "model swapped") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, l := range lines[200:] {
		inW.WriteString(l + "\n")
	}
	inW.Close()
	select {
	case code := <-done:
		if code != 0 && code != 3 || !strings.Contains(errOut.String(), "model swapped") {
			t.Errorf("exit %d, stderr:\n%s", code, errOut.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("edge run did not end with its input")
	}
	if n := strings.Count(out.String(), "\n"); n != len(lines)-1 {
		t.Errorf("%d results for %d readings", n, len(lines)-1)
	}
}
