package interop

import (
	"context"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// peer is an independent server process a test started (nginx,
// prometheus). Exited is closed once it has exited; Err is its exit error
// after that. Its cleanup stops it with sig, then kills it after grace.
type peer struct {
	exited chan struct{}
	err    error
}

func (p *peer) Exited() <-chan struct{} { return p.exited }

// Err is the process's exit error; read it only after Exited is closed.
func (p *peer) Err() error { return p.err }

// startPeer starts cmd and registers its stop as a cleanup. Only this
// goroutine waits on the process, so any number of readers may watch
// Exited (a second wait on a one-shot channel would hang the cleanup).
func startPeer(t *testing.T, cmd *exec.Cmd, sig os.Signal, grace time.Duration) *peer {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &peer{exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(sig)
		select {
		case <-p.exited:
		case <-time.After(grace):
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// observe connects a client over TCP that subscribes to filter at QoS 1
// and hands every message it receives to got, on paho's goroutine.
func observe(ctx context.Context, t *testing.T, addr, filter string, got func(*paho.Publish)) *paho.Client {
	t.Helper()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	client := paho.NewClient(paho.ClientConfig{
		ClientID: "observer",
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				got(pr.Packet)
				return true, nil
			},
		},
	})
	if _, err := client.Connect(ctx, &paho.Connect{ClientID: "observer", KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	return client
}

// startFleet parses scenario text (no environment) and runs it in-process
// against httpURL and the MQTT broker at mqttAddr over TCP. stop ends the
// run and waits for it; the registry holds what it measured.
func startFleet(ctx context.Context, t *testing.T, name, text, httpURL, mqttAddr string) (reg *metrics.Registry, stop func()) {
	t.Helper()
	sc, err := scenario.Parse(name, []byte(text), scenario.Options{Getenv: func(string) (string, bool) { return "", false }})
	if err != nil {
		t.Fatal(err)
	}
	reg = metrics.NewRegistry()
	r, err := fleet.New(fleet.Config{Scenario: sc, HTTPURL: httpURL, MQTTURL: "tcp://" + mqttAddr, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if _, err := r.Run(runCtx); err != nil {
			t.Error(err)
		}
	}()
	return reg, func() { cancel(); <-done }
}
