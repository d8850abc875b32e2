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
