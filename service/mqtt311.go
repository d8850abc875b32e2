package service

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// mqtt311 is the broker connection for brokers that speak only MQTT
// 3.1.1 (mqtt.protocol "3.1.1"), with the same delivery as MQTT 5: QoS 1
// subscriptions on a persistent session (clean session off), automatic
// reconnects, and results through a bounded queue that waits out outages.
type mqtt311 struct {
	c       paho3.Client
	q       chan result311
	log     *slog.Logger
	m       *brokerMetrics
	wg      sync.WaitGroup
	stop    chan struct{}
	pending atomic.Int64
	status  string // the status topic ("": none)
}

type result311 struct {
	topic   string
	payload []byte
	retain  bool
}

func dial311(c *MQTTConfig, u *url.URL, tc *tls.Config, username string, password []byte, topics []string, handle func(string, []byte), m *brokerMetrics, log *slog.Logger) (*mqtt311, error) {
	scheme := "tcp"
	if u.Scheme == "tls" {
		scheme = "ssl"
	}
	b := &mqtt311{q: make(chan result311, c.OfflineQueue), log: log, m: m, stop: make(chan struct{})}
	var ups atomic.Int64
	o := paho3.NewClientOptions().
		AddBroker(fmt.Sprintf("%s://%s", scheme, u.Host)).
		SetClientID(c.ClientID).
		SetProtocolVersion(4).
		SetCleanSession(false).
		SetKeepAlive(time.Duration(c.KeepAlive) * time.Second).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(30 * time.Second).
		SetOrderMatters(true).
		SetOnConnectHandler(func(cl paho3.Client) {
			if ups.Add(1) > 1 {
				m.Reconnects.Inc()
			}
			m.Connected.Set(1)
			log.Info("mqtt connected", "broker", u.Host, "protocol", "3.1.1")
			if st := c.status(); st != "" {
				go cl.Publish(st, 1, true, "online") // the birth message
			}
			if len(topics) == 0 {
				return
			}
			filters := map[string]byte{}
			for _, t := range topics {
				filters[t] = 1
			}
			go func() {
				tok := cl.SubscribeMultiple(filters, func(_ paho3.Client, msg paho3.Message) { handle(msg.Topic(), msg.Payload()) })
				if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
					log.Error("mqtt subscribe", "err", tok.Error())
				}
			}()
		}).
		SetConnectionLostHandler(func(paho3.Client, error) {
			m.Connected.Set(0)
			log.Warn("mqtt connection lost; reconnecting")
		})
	if st := c.status(); st != "" {
		o.SetWill(st, "offline", 1, true) // offline if edge vanishes
		b.status = st
	}
	if tc != nil {
		o.SetTLSConfig(tc)
	}
	if username != "" {
		o.SetUsername(username).SetPassword(string(password))
	}
	b.c = paho3.NewClient(o)
	b.c.Connect() // retries in the background (SetConnectRetry)
	b.wg.Add(1)
	go b.send()
	return b, nil
}

// send publishes queued results in order, waiting out disconnections.
func (b *mqtt311) send() {
	defer b.wg.Done()
	for {
		var r result311
		select {
		case r = <-b.q:
		case <-b.stop:
			return
		}
		for {
			tok := b.c.Publish(r.topic, 1, r.retain, r.payload)
			if tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
				break
			}
			select {
			case <-b.stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		b.m.QueueLen.Set(float64(b.pending.Add(-1)))
	}
}

func (b *mqtt311) Publish(topic string, payload []byte) error {
	return b.enqueue(result311{topic: topic, payload: append([]byte(nil), payload...)})
}

func (b *mqtt311) PublishRetained(topic string, payload []byte) error {
	return b.enqueue(result311{topic: topic, payload: append([]byte(nil), payload...), retain: true})
}

func (b *mqtt311) enqueue(r result311) error {
	select {
	case b.q <- r:
		b.m.QueueLen.Set(float64(b.pending.Add(1)))
		return nil
	default:
		b.m.Overflow.Inc()
		return ErrQueueFull
	}
}

func (b *mqtt311) AwaitConnection(ctx context.Context) error {
	for !b.c.IsConnectionOpen() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func (b *mqtt311) Close(ctx context.Context) error {
	if b.status != "" { // a clean disconnect sends no Will: say it
		_ = b.PublishRetained(b.status, []byte("offline"))
	}
	var err error
	for b.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			b.log.Warn("mqtt: results left unsent at shutdown", "queued", b.pending.Load())
			err = ctx.Err()
		case <-time.After(20 * time.Millisecond):
			continue
		}
		break
	}
	close(b.stop)
	b.wg.Wait()
	b.c.Disconnect(250)
	return err
}
