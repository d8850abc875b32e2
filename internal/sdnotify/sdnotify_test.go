package sdnotify

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestNotify sends to a socket as systemd would listen on, and checks
// the watchdog interval's rules.
func TestNotify(t *testing.T) {
	if err := Notify(Ready); err != nil {
		t.Fatalf("outside systemd: %v", err)
	}
	path := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv("NOTIFY_SOCKET", path)
	if err := Notify(Ready); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	l.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := l.Read(buf)
	if err != nil || string(buf[:n]) != Ready {
		t.Fatalf("systemd read %q, %v", buf[:n], err)
	}
	t.Setenv("WATCHDOG_USEC", "3000000")
	t.Setenv("WATCHDOG_PID", "")
	if d := WatchdogInterval(); d != 1500*time.Millisecond {
		t.Errorf("interval %v, want 1.5s", d)
	}
	t.Setenv("WATCHDOG_PID", strconv.Itoa(os.Getpid()+1))
	if d := WatchdogInterval(); d != 0 {
		t.Errorf("another process's watchdog: interval %v, want 0", d)
	}
}
