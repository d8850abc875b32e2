package service

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/edgeml/edge/metrics"
)

// selfSigned writes a CA certificate to dir and returns a server
// certificate it signed for 127.0.0.1.
func selfSigned(t *testing.T, dir string) (caFile string, server tls.Certificate) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "edge test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644)
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return caFile, tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestMQTTTLSPassword: mqtts with the broker's CA and a username and
// password from a file; a wrong password never connects.
func TestMQTTTLSPassword(t *testing.T) {
	dir := t.TempDir()
	caFile, cert := selfSigned(t, dir)
	port := freePort(t)
	broker := mqtt.New(&mqtt.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	err := broker.AddHook(new(auth.Hook), &auth.Options{Ledger: &auth.Ledger{Auth: auth.AuthRules{
		{Username: "pump", Password: "s3cret", Allow: true},
		{Remote: "*", Allow: false},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	broker.AddListener(listeners.NewTCP(listeners.Config{ID: "tls", Address: fmt.Sprintf("127.0.0.1:%d", port),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}))
	go broker.Serve()
	defer broker.Close()
	var got atomic.Int64
	broker.Subscribe("edge/site/clean", 1, func(*mqtt.Client, packets.Subscription, packets.Packet) { got.Add(1) })

	pw := filepath.Join(dir, "password")
	os.WriteFile(pw, []byte("s3cret\n"), 0o600)
	cfg := &Config{
		Groups:  []GroupConfig{{Name: "site", Model: testModel(t), Denoise: "causal"}},
		MQTT:    &MQTTConfig{URL: fmt.Sprintf("mqtts://127.0.0.1:%d", port), ClientID: "tls-test", Username: "pump", PasswordFile: pw, CAFile: caFile},
		Metrics: MetricsConfig{Listen: "off"},
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	svcs := make(chan *Service, 1)
	go func() {
		done <- Run(ctx, cfg, Options{Log: discardLogger(), Ready: func(s *Service, _ string) { svcs <- s }})
	}()
	svc := <-svcs
	rs := readings(200, 1000)
	// Publish until edge has subscribed (readings before that reach no one).
	first := 0
	waitFor(t, 10*time.Second, "the TLS connection and subscription", func() bool {
		broker.Publish("edge/site/in", rs[first], false, 1)
		first++
		time.Sleep(50 * time.Millisecond)
		return svc.M.In.Total() > 0
	})
	for _, r := range rs[first:] {
		broker.Publish("edge/site/in", r, false, 1)
	}
	// Every reading after the probe arrives (some probes may too).
	rest := uint64(len(rs) - first)
	waitFor(t, 20*time.Second, "every reading over TLS", func() bool { return svc.M.In.Total() >= rest+1 })
	time.Sleep(200 * time.Millisecond)
	want := svc.M.In.Total()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "every cleaned row over TLS", func() bool { return got.Load() == int64(want) })

	// A wrong password: the broker refuses, edge keeps retrying and never
	// reports a connection.
	os.WriteFile(pw, []byte("guess\n"), 0o600)
	reg := metrics.New()
	m, err := DialMQTT(context.Background(), cfg.MQTT, nil, func(Message) {}, reg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	actx, acancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer acancel()
	if err := m.AwaitConnection(actx); err == nil {
		t.Error("connected with a wrong password")
	}
	if m.Connected.Value() != 0 {
		t.Error("the connected gauge is set after a refused connection")
	}
	cctx, ccancel := context.WithTimeout(context.Background(), time.Second)
	defer ccancel()
	m.Close(cctx)
}

// TestOfflineQueueBound: with no broker, results queue up to the bound;
// the rest are refused and counted.
func TestOfflineQueueBound(t *testing.T) {
	reg := metrics.New()
	cfg := &MQTTConfig{URL: fmt.Sprintf("mqtt://127.0.0.1:%d", freePort(t)), ClientID: "offline", KeepAlive: 5, OfflineQueue: 10}
	m, err := DialMQTT(context.Background(), cfg, nil, func(Message) {}, reg, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	full := 0
	for i := 0; i < 25; i++ {
		if err := m.Publish("edge/x/clean", []byte(`{"n":1}`)); errors.Is(err, ErrQueueFull) {
			full++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if full != 15 || m.Overflow.Value() != 15 || m.QueueLen.Value() != 10 {
		t.Errorf("25 results into a queue of 10: %d refused, overflow counter %d, queue length %v", full, m.Overflow.Value(), m.QueueLen.Value())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := m.Close(ctx); err == nil {
		t.Error("Close reported success with 10 results unsent")
	}
}
