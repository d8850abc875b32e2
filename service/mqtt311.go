package service

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
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
	status  string      // the status topic ("": none)
	spill   *spillQueue // with mqtt.queue_dir: the queue, spilling to disk
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
	if c.QueueDir != "" { // results survive a restart while the broker is away
		sq, err := newSpillQueue(c.QueueDir, c.QueueBytes)
		if err != nil {
			return nil, fmt.Errorf("mqtt.queue_dir: %w", err)
		}
		b.spill = sq
		b.pending.Store(int64(sq.Len()))
		m.QueueLen.Set(float64(sq.Len()))
	}
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
			if b.spill != nil {
				b.spill.setOnline(true)
			}
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
			if b.spill != nil {
				b.spill.setOnline(false)
			}
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

// send publishes queued results in order, waiting out disconnections; a
// result is taken off the queue once the broker has acknowledged it.
func (b *mqtt311) send() {
	defer b.wg.Done()
	for {
		r, done, leave, ok := b.next()
		if !ok {
			return
		}
		for !b.publish(r) {
			select {
			case <-b.stop:
				leave() // a spilled result stays queued, on disk at close
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
		done()
		b.m.QueueLen.Set(float64(b.pending.Add(-1)))
	}
}

// publish sends one result and reports whether the broker acknowledged
// it (within 10 s; at once false when stopping).
func (b *mqtt311) publish(r result311) bool {
	tok := b.c.Publish(r.topic, 1, r.retain, r.payload)
	select {
	case <-tok.Done():
		return tok.Error() == nil
	case <-time.After(10 * time.Second):
	case <-b.stop:
	}
	return false
}

// next waits for the oldest result and returns it with the functions
// that take it off the queue and that leave it there (false once
// stopped).
func (b *mqtt311) next() (r result311, done, leave func(), ok bool) {
	noop := func() {}
	if b.spill == nil {
		select {
		case r := <-b.q:
			return r, noop, noop, true
		case <-b.stop:
			return result311{}, nil, nil, false
		}
	}
	for {
		select {
		case <-b.spill.Wait():
		case <-b.stop:
			return result311{}, nil, nil, false
		}
		e, err := b.spill.Peek()
		if err != nil {
			continue
		}
		rd, _ := e.Reader()
		rec, _ := io.ReadAll(rd)
		if r, ok := decode311(rec); ok {
			return r, func() { _ = e.Remove() }, func() { _ = e.Leave() }, true
		}
		_ = e.Quarantine() // cannot happen: edge wrote it
		b.m.QueueLen.Set(float64(b.pending.Add(-1)))
	}
}

// encode311 and decode311 frame a result for the disk queue: retain (1
// byte), the topic's length (2), the topic, the payload.
func encode311(r result311) []byte {
	b := make([]byte, 3, 3+len(r.topic)+len(r.payload))
	if r.retain {
		b[0] = 1
	}
	binary.BigEndian.PutUint16(b[1:3], uint16(len(r.topic)))
	return append(append(b, r.topic...), r.payload...)
}

func decode311(b []byte) (result311, bool) {
	if len(b) < 3 {
		return result311{}, false
	}
	n := int(binary.BigEndian.Uint16(b[1:3]))
	if len(b) < 3+n {
		return result311{}, false
	}
	return result311{retain: b[0] == 1, topic: string(b[3 : 3+n]), payload: b[3+n:]}, true
}

func (b *mqtt311) Publish(topic string, payload []byte) error {
	return b.enqueue(result311{topic: topic, payload: append([]byte(nil), payload...)})
}

func (b *mqtt311) PublishRetained(topic string, payload []byte) error {
	return b.enqueue(result311{topic: topic, payload: append([]byte(nil), payload...), retain: true})
}

func (b *mqtt311) enqueue(r result311) error {
	if b.spill != nil {
		if b.pending.Load() >= int64(cap(b.q)) {
			b.m.Overflow.Inc()
			return ErrQueueFull
		}
		if err := b.spill.Enqueue(bytes.NewReader(encode311(r))); err != nil {
			b.m.Overflow.Inc()
			return err
		}
		b.m.QueueLen.Set(float64(b.pending.Add(1)))
		return nil
	}
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
	if b.spill != nil {
		_ = b.spill.close() // what is left waits on disk for the next run
	}
	b.c.Disconnect(250)
	return err
}
