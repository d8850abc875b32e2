package service

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/net/proxy"
)

// wireConn is the MQTT 5 connection when results go through the sender:
// paho writes each packet holding the connection's lock (it is a
// sync.Locker), so wireConn sees every PUBLISH packet go onto the wire
// and counts it. The sender starts a result's publish only after the one
// before it is on the wire: results go in order, many in flight.
type wireConn struct {
	net.Conn
	mu      sync.Mutex
	first   bool // the next Write begins a packet
	publish bool // the packet being written is a PUBLISH
	wire    *wireCount
}

// wireCount counts the PUBLISH packets written, over every connection,
// and signals each.
type wireCount struct {
	n     atomic.Int64
	wrote chan struct{}
}

func newWireCount() *wireCount { return &wireCount{wrote: make(chan struct{}, 1)} }

// Lock and Unlock frame one packet's writes.
func (c *wireConn) Lock() {
	c.mu.Lock()
	c.first, c.publish = true, false
}

func (c *wireConn) Unlock() {
	p := c.publish
	c.mu.Unlock()
	if p {
		c.wire.n.Add(1)
		select {
		case c.wire.wrote <- struct{}{}:
		default:
		}
	}
}

func (c *wireConn) Write(b []byte) (int, error) {
	if c.first && len(b) > 0 {
		c.publish, c.first = b[0]>>4 == 3, false // the fixed header's packet type
	}
	return c.Conn.Write(b)
}

// dialWire connects to the broker as autopaho would (TCP or TLS, through
// all_proxy if it is set) and wraps the connection in a wireConn.
func dialWire(ctx context.Context, u *url.URL, tc *tls.Config, wire *wireCount) (net.Conn, error) {
	var conn net.Conn
	var err error
	if os.Getenv("all_proxy") != "" {
		conn, err = proxy.Dial(ctx, "tcp", u.Host)
	} else {
		var d net.Dialer
		conn, err = d.DialContext(ctx, "tcp", u.Host)
	}
	if err != nil {
		return nil, err
	}
	if u.Scheme == "tls" {
		tconn := tls.Client(conn, tc)
		if err := tconn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, err
		}
		conn = tconn
	}
	return &wireConn{Conn: conn, wire: wire}, nil
}
