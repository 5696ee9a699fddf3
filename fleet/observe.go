package fleet

import (
	"github.com/eixamsim/eixamsim/errclass"

	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/metrics"
)

// observe records an operation that started at t0 in m: its latency when
// err is nil, else an error of class with err's message as a sample. It
// reports whether it succeeded.
func observe(m *metrics.Latency, t0 time.Time, class string, err error) bool {
	if err != nil {
		m.Fail(class, err)
		return false
	}
	m.Record(time.Since(t0))
	return true
}

// failure is an error that knows its metrics class: a login step or a
// connection step that failed, for user.login and mqtt.reconnect to count
// under the same class as the step's own metric.
type failure struct {
	class string
	err   error
}

func (f *failure) Error() string { return f.err.Error() }
func (f *failure) Unwrap() error { return f.err }

// classed returns err with its class; nil stays nil.
func classed(class string, err error) error {
	if err == nil {
		return nil
	}
	return &failure{class: class, err: err}
}

// classOf returns the class err was given by classed, or the class of a
// transport error.
func classOf(err error) string {
	var f *failure
	if errors.As(err, &f) {
		return f.class
	}
	return classifyNetError(err)
}

// publishTimeout bounds the wait for a PUBACK.
const publishTimeout = 30 * time.Second

// conn is a user's MQTT connection as work sees it: the client and the
// context that ends when its connection is lost.
type conn struct {
	client *paho.Client
	ctx    context.Context
	net    *fleetNet // for per-profile metrics; nil with the network off
	index  int       // the user's run index
}

// conn returns l's connection. Call with the user's lock held.
func (l *life) conn() conn {
	return conn{client: l.client, ctx: l.clientCtx, net: l.net, index: l.index}
}

// publish sends p and records in m its PUBACK latency from intended (at
// QoS 0: until written), or its error class, and the same in each non-nil
// twin of also (sos.puback@device). It reports success.
func (c conn) publish(m *metrics.Latency, log *slog.Logger, intended time.Time, p *paho.Publish, also ...*metrics.Latency) bool {
	ctx, cancel := context.WithTimeout(c.ctx, publishTimeout)
	defer cancel()
	resp, err := c.client.Publish(ctx, p)
	if err != nil {
		class := classifyNetError(err)
		switch {
		case resp != nil && resp.ReasonCode >= 0x80:
			class = errclass.Puback(resp.ReasonCode)
		case c.ctx.Err() != nil, class == errclass.Network, class == errclass.ConnectionReset:
			class = errclass.ConnectionLost
		}
		log.Debug("publish failed", "metric", m.Name(), "class", class, "err", err)
		err = fmt.Errorf("publish %s: %w", p.Topic, err)
		c.net.fail(c.index, m, class, err)
		for _, t := range also {
			if t != nil {
				t.Fail(class, err)
			}
		}
		return false
	}
	d := time.Since(intended)
	c.net.record(c.index, m, d)
	for _, t := range also {
		if t != nil {
			t.Record(d)
		}
	}
	return true
}
