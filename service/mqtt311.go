package service

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"sync/atomic"
	"time"

	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// mqtt311 is the broker connection for brokers that speak only MQTT
// 3.1.1 (mqtt.protocol "3.1.1"), with the same delivery as MQTT 5: QoS 1
// subscriptions on a persistent session (clean session off), automatic
// reconnects, and results through a bounded queue that waits out outages.
type mqtt311 struct {
	*sender
	c      paho3.Client
	status string // the status topic ("": none)
}

func dial311(c *MQTTConfig, u *url.URL, tc *tls.Config, username string, password []byte, topics []string, handle func(Message), m *brokerMetrics, log *slog.Logger) (*mqtt311, error) {
	scheme := "tcp"
	if u.Scheme == "tls" {
		scheme = "ssl"
	}
	b := &mqtt311{}
	var ups atomic.Int64
	// One handler for every message, also those the broker sends from the
	// persistent session before the subscription is made again after a
	// restart (without a default handler, the client would drop them).
	onMessage := func(_ paho3.Client, msg paho3.Message) {
		m := Message{Topic: msg.Topic(), Payload: msg.Payload(), Duplicate: msg.Duplicate()}
		if c.InputLog == "on" {
			m.Ack = msg.Ack
		}
		handle(m)
	}
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
		SetAutoAckDisabled(c.InputLog == "on").
		SetDefaultPublishHandler(onMessage).
		SetOnConnectHandler(func(cl paho3.Client) {
			if ups.Add(1) > 1 {
				m.Reconnects.Inc()
			}
			m.Connected.Set(1)
			log.Info("mqtt connected", "broker", u.Host, "protocol", "3.1.1")
			b.setOnline(true)
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
				tok := cl.SubscribeMultiple(filters, onMessage)
				if tok.WaitTimeout(10*time.Second) && tok.Error() != nil {
					log.Error("mqtt subscribe", "err", tok.Error())
				}
			}()
		}).
		SetConnectionLostHandler(func(paho3.Client, error) {
			m.Connected.Set(0)
			b.setOnline(false)
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
	var err error
	if b.sender, err = newSender(c.OfflineQueue, c.QueueDir, c.QueueBytes, b.start, m, log); err != nil {
		return nil, err
	}
	b.begin()
	b.c.Connect() // retries in the background (SetConnectRetry)
	return b, nil
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

func (b *mqtt311) outbox() *sender { return b.sender }

func (b *mqtt311) Close(ctx context.Context) error {
	if b.status != "" { // a clean disconnect sends no Will: say it
		_ = b.PublishRetained(b.status, []byte("offline"))
	}
	err := b.sender.close(ctx)
	b.c.Disconnect(250)
	return err
}

// start hands one result to the client, which sends its messages in the
// order they come; the function it returns waits for the broker's
// acknowledgement (within 10 s; at once false when stopping).
func (b *mqtt311) start(r outMsg, stop <-chan struct{}) func() bool {
	tok := b.c.Publish(r.topic, 1, r.retain, r.payload)
	return func() bool {
		select {
		case <-tok.Done():
			return tok.Error() == nil
		case <-time.After(10 * time.Second):
		case <-stop:
		}
		return false
	}
}
