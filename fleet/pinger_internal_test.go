package fleet

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// loopbackPair returns both ends of a TCP connection on loopback.
func loopbackPair(t *testing.T) (client, server net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	return client, server
}

// TestPinger drives a pinger over a real loopback connection, the test
// playing both the broker (the server end) and paho's reader (the calls
// paho makes when packets arrive), with a 1 s keep-alive.
func TestPinger(t *testing.T) {
	pingreq := []byte{0xC0, 0x00}
	tests := []struct {
		name string
		// run plays the broker and the client's reader on the two ends
		// for one pinger, and checks what happened.
		run func(t *testing.T, p *pinger, client, server net.Conn, cancel context.CancelFunc)
	}{
		{"answered pings keep the connection", func(t *testing.T, p *pinger, client, server net.Conn, _ context.CancelFunc) {
			// Three PINGREQs about a second apart, each answered.
			buf := make([]byte, 2)
			_ = server.SetReadDeadline(time.Now().Add(4 * time.Second))
			start := time.Now()
			for i := range 3 {
				if _, err := io.ReadFull(server, buf); err != nil {
					t.Fatalf("PINGREQ %d: %v", i+1, err)
				}
				if string(buf) != string(pingreq) {
					t.Fatalf("PINGREQ %d: read % x", i+1, buf)
				}
				p.PacketReceived() // the PINGRESP, as paho's reader reports it
				p.PingResp()
			}
			if d := time.Since(start); d < 2500*time.Millisecond {
				t.Errorf("3 PINGREQs within %v; want one per second", d)
			}
			if err := p.Failure(); err != nil {
				t.Errorf("Failure() = %v after answered pings", err)
			}
		}},
		{"traffic both ways defers the ping", func(t *testing.T, p *pinger, client, server net.Conn, _ context.CancelFunc) {
			// A packet each way every 300 ms: no PINGREQ for 2.5 s.
			got := make(chan int, 1)
			go func() {
				n, _ := server.Read(make([]byte, 2))
				got <- n
			}()
			for range 8 {
				p.PacketSent()
				p.PacketReceived()
				time.Sleep(300 * time.Millisecond)
			}
			select {
			case n := <-got:
				t.Fatalf("a PINGREQ (%d bytes) while packets flowed both ways", n)
			default:
			}
			_ = server.Close()
			<-got
		}},
		{"an unanswered ping closes the connection", func(t *testing.T, p *pinger, client, server net.Conn, _ context.CancelFunc) {
			start := time.Now()
			_ = client.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err := client.Read(make([]byte, 1)) // as paho's reader blocks
			if !errors.Is(err, net.ErrClosed) {
				t.Fatalf("client read: %v; want the connection closed", err)
			}
			if d := time.Since(start); d < 1900*time.Millisecond || d > 3*time.Second {
				t.Errorf("closed after %v; want ~2 s (a ping at 1 s, no answer by 2 s)", d)
			}
			if err := p.Failure(); !errors.Is(err, errPingTimeout) {
				t.Errorf("Failure() = %v, want %v", err, errPingTimeout)
			}
		}},
		{"nothing after the context ends", func(t *testing.T, p *pinger, client, server net.Conn, cancel context.CancelFunc) {
			cancel()
			_ = server.SetReadDeadline(time.Now().Add(2500 * time.Millisecond))
			n, err := server.Read(make([]byte, 2))
			if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("server read %d bytes (%v) after the context ended; want nothing", n, err)
			}
			if _, err := client.Write([]byte{0}); err != nil {
				t.Errorf("the pinger closed the connection after its context ended: %v", err)
			}
			if err := p.Failure(); err != nil {
				t.Errorf("Failure() = %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			client, server := loopbackPair(t)
			defer client.Close()
			defer server.Close()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p := newPinger()
			if err := p.Run(ctx, client, 1); err != nil {
				t.Fatal(err)
			}
			tt.run(t, p, client, server, cancel)
		})
	}
}
