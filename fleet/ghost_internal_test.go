package fleet

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestReaperSeesHowGhostsEnd: the reaper tells a broker's close from a
// takeover (DISCONNECT 0x8E, then close) and from a socket nobody closes
// (closed by the reaper after 3 × keep-alive), for vanished and roamed
// ghosts alike.
func TestReaperSeesHowGhostsEnd(t *testing.T) {
	reg := metrics.NewRegistry()
	p := newReaper(100*time.Millisecond, reg)
	defer p.close()
	pair := func() (net.Conn, net.Conn) {
		c, s := loopbackPair(t)
		t.Cleanup(func() { c.Close(); s.Close() })
		return c, s
	}
	closedC, closedS := pair()
	takenC, takenS := pair()
	silentC, _ := pair()
	roamC, roamS := pair()
	roamSilentC, _ := pair()
	now := time.Now()
	for _, g := range []struct {
		c    net.Conn
		roam bool
	}{{closedC, false}, {takenC, false}, {silentC, false}, {roamC, true}, {roamSilentC, true}} {
		p.add(g.c, now, g.roam, nil, 0)
	}
	// What the broker sends a ghost before closing it is read and dropped.
	closedS.Write([]byte{0x30, 0x03, 0x00, 0x01, 'x'})
	closedS.Close()
	takenS.Write([]byte{0x30, 0x03, 0x00, 0x01, 'x', 0xE0, 0x02, 0x8E, 0x00})
	takenS.Close()
	roamS.Write([]byte{0xE0, 0x05, 0x8E, 0x03, 0x1F, 0x00, 0x00})
	roamS.Close()
	waitUntil(t, "every ghost ended", func() bool { return p.open() == 0 })
	got := map[string]int64{}
	for _, name := range []string{scenario.MQTTGhostUnreaped, scenario.MQTTGhostTakenOver, scenario.MQTTRoamTakenOver, scenario.MQTTRoamDisconnect8E, scenario.MQTTRoamClosed, scenario.MQTTRoamSilent} {
		got[name] = reg.Counter(name).Value()
	}
	want := map[string]int64{scenario.MQTTGhostUnreaped: 1, scenario.MQTTGhostTakenOver: 1, scenario.MQTTRoamTakenOver: 1, scenario.MQTTRoamDisconnect8E: 1, scenario.MQTTRoamClosed: 0, scenario.MQTTRoamSilent: 1}
	for name, n := range want {
		if got[name] != n {
			t.Errorf("%s = %d, want %d (all: %v)", name, got[name], n, got)
		}
	}
	if s := reg.Latency(scenario.MQTTGhostReaped).Summary(); s.Count != 1 {
		t.Errorf("mqtt.ghost_reaped has %d samples, want the one the broker closed", s.Count)
	}
	// The reaper closed the ghosts: the broker's ends read end of stream.
	buf := make([]byte, 1)
	if _, err := silentC.Read(buf); err == nil {
		t.Errorf("the unreaped ghost is still open")
	}
}

// TestRoamMovesTheSourceAddress: a roamed user dials from the next source
// address (dialer.dial's shift).
func TestRoamMovesTheSourceAddress(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	d, err := newDialer([]string{"tcp://" + ln.Addr().String()}, nil, []net.IP{net.ParseIP("127.0.0.2"), net.ParseIP("127.0.0.3")}, metrics.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	for shift, want := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.2"} {
		c, err := d.dial(context.Background(), 0, shift, true)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if got := s.RemoteAddr().(*net.TCPAddr).IP.String(); got != want {
			t.Errorf("shift %d: from %s, want %s", shift, got, want)
		}
		if _, ok := c.(*phoneConn); !ok {
			t.Errorf("with churn the connection is a %T, want a *phoneConn", c)
		}
		c.Close()
		s.Close()
	}
}
