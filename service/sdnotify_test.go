package service

import (
	"context"
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// TestSystemdNotify runs the service as a Type=notify unit with a
// watchdog would: systemd hears READY=1, watchdog pings while it runs,
// and STOPPING=1 when the input ends.
func TestSystemdNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "100000")
	t.Setenv("WATCHDOG_PID", "")
	cfg := &Config{Groups: []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "causal"}}, Metrics: MetricsConfig{Listen: "off"}}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	in, feed := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), cfg, Options{Stdin: in, Stdout: io.Discard, Log: discardLogger()})
	}()
	var got []string
	buf := make([]byte, 256)
	read := func() string {
		l.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := l.Read(buf)
		if err != nil {
			t.Fatalf("after %q: %v", got, err)
		}
		got = append(got, string(buf[:n]))
		return string(buf[:n])
	}
	if s := read(); s != "READY=1" {
		t.Fatalf("first notification %q, want READY=1", s)
	}
	for i := 0; i < 3; i++ {
		if s := read(); s != "WATCHDOG=1" {
			t.Fatalf("notification %q while running, want WATCHDOG=1", s)
		}
	}
	for _, r := range readings(50, 10) {
		feed.Write(append(r, '\n'))
	}
	feed.Close()
	for read() != "STOPPING=1" {
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
