//go:build !purego

package testmatrix

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/edgeml/edge/service"
)

// checkPackages: each release archive holds the binary, the systemd unit,
// an example configuration that loads, and the installer.
func checkPackages(t *testing.T, out string) {
	t.Helper()
	for _, arch := range []string{"arm64", "armv7", "armv6", "amd64"} {
		path := filepath.Join(out, "edge-test-linux-"+arch+".tar.gz")
		f, err := os.Open(path)
		if err != nil {
			t.Errorf("release archive: %v", err)
			continue
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		tr := tar.NewReader(zr)
		found := map[string]bool{}
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			name := filepath.Base(h.Name)
			found[name] = true
			if name == "edge.json" {
				b, _ := io.ReadAll(tr)
				p := filepath.Join(t.TempDir(), "edge.json")
				os.WriteFile(p, b, 0o644)
				if _, err := service.LoadConfig(p); err != nil {
					t.Errorf("%s: the example configuration does not load: %v", path, err)
				}
			}
			if name == "edge.service" {
				b, _ := io.ReadAll(tr)
				if !strings.Contains(string(b), "ExecStart=/usr/local/bin/edge run --config /etc/edge/edge.json") {
					t.Errorf("%s: the unit does not run edge run --config", path)
				}
			}
		}
		f.Close()
		for _, want := range []string{"edge", "edge.service", "edge.json", "install.sh"} {
			if !found[want] {
				t.Errorf("%s lacks %s", path, want)
			}
		}
	}
}

// serviceUnderQemu runs the arm64 release binary as edge run under
// qemu-user against an embedded broker: readings in over MQTT, one
// cleaned row per reading back, and a clean exit on SIGTERM.
func serviceUnderQemu(t *testing.T, out string) {
	t.Helper()
	q, err := exec.LookPath("qemu-aarch64")
	if err != nil {
		t.Log("NOT RUN: the arm64 service under qemu (qemu-aarch64 not installed)")
		return
	}
	host := filepath.Join(out, "edge-linux-amd64")
	dir := t.TempDir()
	data, model := filepath.Join(dir, "site.csv"), filepath.Join(dir, "site.edge")
	for _, args := range [][]string{
		{"synth", "-channels", "4", "-days", "20", "-o", data},
		{"train", "-q", "--data", data, "-o", model, "--window", "32", "--epochs", "3", "--latent", "4", "--hidden", "32", "--variant", "denoising"},
		{"quantize", model, "--calib", data},
	} {
		if o, err := exec.Command(host, args...).CombinedOutput(); err != nil {
			t.Fatalf("edge %s: %v\n%s", args[0], err, o)
		}
	}
	qmodel := strings.TrimSuffix(model, ".edge") + ".int8.edge"
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	broker := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	broker.AddHook(new(auth.AllowHook), nil)
	broker.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: fmt.Sprintf("127.0.0.1:%d", port)}))
	go broker.Serve()
	defer broker.Close()
	var mu sync.Mutex
	got := 0
	broker.Subscribe("edge/site/clean", 1, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		mu.Lock()
		got++
		mu.Unlock()
	})
	cmd := exec.Command(q, "-cpu", "cortex-a72", filepath.Join(out, "edge-linux-arm64"), "run", "--model", qmodel, "--group", "site",
		"--denoise", "causal", "--mqtt", fmt.Sprintf("mqtt://127.0.0.1:%d", port), "--metrics", "off")
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logs.String(), "mqtt connected") {
		if time.Now().After(deadline) {
			t.Fatalf("edge run under qemu did not connect:\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // the subscription
	f, _ := os.Open(data)
	sc := bufio.NewScanner(f)
	sc.Scan()
	names := strings.Split(sc.Text(), ",")
	sent := 0
	for sc.Scan() && sent < 400 {
		fields := strings.Split(sc.Text(), ",")
		var b strings.Builder
		fmt.Fprintf(&b, `{"time":%q`, fields[0])
		for i := 1; i < len(fields); i++ {
			if fields[i] != "" {
				fmt.Fprintf(&b, `,%q:%s`, names[i], fields[i])
			}
		}
		b.WriteString("}")
		broker.Publish("edge/site/in", []byte(b.String()), false, 1)
		sent++
	}
	f.Close()
	deadline = time.Now().Add(120 * time.Second)
	for {
		mu.Lock()
		n := got
		mu.Unlock()
		if n >= sent {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("edge run under qemu: %d cleaned rows for %d readings\n%s", n, sent, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("edge run under qemu did not exit cleanly on SIGTERM: %v\n%s", err, logs.String())
	}
	t.Logf("arm64 edge run under qemu: %d readings over MQTT, %d cleaned rows back, clean exit on SIGTERM", sent, got)
}
