package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMetricsExposition runs the service on stdin and scrapes /metrics
// while it runs: the group's series carry its label, the score and flag
// gauges and each sensor's last-valid time are there, edge_model_info
// names the model file's sha256, edge_build_info the version, and the
// process metrics are read from /proc.
func TestMetricsExposition(t *testing.T) {
	path := testModel(t)
	cfg := &Config{
		Groups:  []GroupConfig{{Name: "site", Model: path, Denoise: "causal", Score: true}},
		Metrics: MetricsConfig{Listen: "127.0.0.1:0"},
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	in, feed := io.Pipe()
	var mu sync.Mutex
	var svc *Service
	var addr string
	done := make(chan error, 1)
	start := float64(time.Now().Unix())
	go func() {
		done <- Run(context.Background(), cfg, Options{Stdin: in, Stdout: io.Discard, Log: discardLogger(), Version: "v9.8.7",
			Ready: func(s *Service, a string) { mu.Lock(); svc, addr = s, a; mu.Unlock() }})
	}()
	rs := readings(300, 100)
	for _, r := range rs {
		if _, err := feed.Write(append(r, '\n')); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "the readings", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return svc != nil && svc.M.Cleaned.Total() == uint64(len(rs))
	})
	mu.Lock()
	url := "http://" + addr + "/metrics"
	mu.Unlock()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	out := string(body)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	for _, want := range []string{
		`edge_readings_in_total{group="site"} 300` + "\n",
		`edge_readings_out_total{group="site"} 300` + "\n",
		`edge_readings_invalid_total{group="site"} 0` + "\n",
		`edge_flag{group="site"} `,
		`edge_score{group="site"} `,
		`edge_model_info{group="site",file="` + path + `",sha256="` + hex.EncodeToString(sum[:]) + `"} 1` + "\n",
		`edge_build_info{version="v9.8.7",goversion="go`,
		"# TYPE process_cpu_seconds_total counter\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, out)
		}
	}
	seen := 0
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, `edge_sensor_last_valid_timestamp_seconds{group="site",channel=`) {
			f := strings.Fields(l)
			v, _ := strconv.ParseFloat(f[len(f)-1], 64)
			if v < start-1 || v > float64(time.Now().Unix())+1 {
				t.Errorf("%s: not a time of this run", l)
			}
			seen++
		}
	}
	if seen != testChannels {
		t.Errorf("%d sensor timestamps, want %d", seen, testChannels)
	}
	if v := metricSum(out, "process_resident_memory_bytes"); v < 1<<20 {
		t.Errorf("process_resident_memory_bytes %v", v)
	}
	feed.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// metricSum sums the series of metric name in an exposition.
func metricSum(out, name string) float64 {
	s := 0.0
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 2 && (f[0] == name || strings.HasPrefix(f[0], name+"{")) {
			v, _ := strconv.ParseFloat(f[1], 64)
			s += v
		}
	}
	return s
}
