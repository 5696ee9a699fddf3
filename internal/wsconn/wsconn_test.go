package wsconn

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/gorilla/websocket"
)

// pair returns a client Conn connected to a server whose raw
// *websocket.Conn the test drives.
func pair(t *testing.T) (client *Conn, server *websocket.Conn) {
	t.Helper()
	got := make(chan *websocket.Conn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			t.Error(err)
			return
		}
		got <- ws
	}))
	t.Cleanup(srv.Close)
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	server = <-got
	t.Cleanup(func() { ws.Close(); server.Close() })
	return New(ws), server
}

func TestReadAcrossMessageBoundaries(t *testing.T) {
	c, server := pair(t)
	// Two messages: a packet split across them, and two packets in one.
	for _, m := range []string{"abc", "defgh"} {
		if err := server.WriteMessage(websocket.BinaryMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 8)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "abcdefgh" {
		t.Fatalf("read %q, %v; want the bytes of both messages in order", buf, err)
	}
}

func TestTextMessageIsAnError(t *testing.T) {
	c, server := pair(t)
	if err := server.WriteMessage(websocket.TextMessage, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 4)); !errors.Is(err, ErrNotBinary) {
		t.Fatalf("err = %v, want ErrNotBinary", err)
	}
}

func TestWriteIsOneBinaryMessage(t *testing.T) {
	c, server := pair(t)
	if n, err := c.Write([]byte{0x30, 0x02, 'h', 'i'}); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	kind, msg, err := server.ReadMessage()
	if err != nil || kind != websocket.BinaryMessage || string(msg) != "\x30\x02hi" {
		t.Fatalf("server read %d %q %v; want one binary message", kind, msg, err)
	}
}

// TestConcurrentPacketsAreOneMessageEach writes paho packets from many
// goroutines at once, the way a paho client does (ControlPacket.WriteTo
// writes the fixed header and each part separately, under the
// connection's lock if it is a sync.Locker), and checks that the peer
// receives each packet as exactly one binary message, whole.
func TestConcurrentPacketsAreOneMessageEach(t *testing.T) {
	const writers, perWriter = 16, 50
	c, server := pair(t)

	want := map[string]bool{} // topic/payload of every publish sent
	var wmu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				// Sizes from 2 bytes (PINGREQ) to a 3-byte remaining length.
				var pk *packets.ControlPacket
				switch i % 3 {
				case 0:
					pk = packets.NewControlPacket(packets.PINGREQ)
				default:
					topic := fmt.Sprintf("w%d/%d", w, i)
					payload := bytes.Repeat([]byte{byte(i)}, (i*997)%20000)
					pk = (&packets.Publish{Topic: topic, QoS: 1, PacketID: uint16(i + 1), Payload: payload, Properties: &packets.Properties{}}).ToControlPacket()
					wmu.Lock()
					want[topic] = true
					wmu.Unlock()
				}
				if _, err := pk.WriteTo(c); err != nil {
					errs <- err
					return
				}
			}
		})
	}

	got, pings := map[string]bool{}, 0
	if err := server.SetReadDeadline(time.Now().Add(20 * time.Second)); err != nil {
		t.Fatal(err)
	}
	for range writers * perWriter {
		kind, msg, err := server.ReadMessage()
		if err != nil {
			t.Fatalf("after %d publishes and %d pings: %v", len(got), pings, err)
		}
		if kind != websocket.BinaryMessage {
			t.Fatalf("message type %d, want binary", kind)
		}
		r := bytes.NewReader(msg)
		pk, err := packets.ReadPacket(r)
		if err != nil {
			t.Fatalf("message of %d bytes is not an MQTT packet: %v", len(msg), err)
		}
		if r.Len() != 0 {
			t.Fatalf("message holds a %s packet and %d more bytes, want exactly one packet", pk.PacketType(), r.Len())
		}
		switch p := pk.Content.(type) {
		case *packets.Pingreq:
			pings++
		case *packets.Publish:
			if got[p.Topic] {
				t.Fatalf("publish %s received twice", p.Topic)
			}
			got[p.Topic] = true
			if n := len(p.Payload); n > 0 && !bytes.Equal(p.Payload, bytes.Repeat(p.Payload[:1], n)) {
				t.Fatalf("publish %s: payload mixed with another packet's bytes", p.Topic)
			}
		default:
			t.Fatalf("unexpected %s packet", pk.PacketType())
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if wantPings := writers * ((perWriter + 2) / 3); pings != wantPings || len(got) != len(want) {
		t.Fatalf("received %d pings and %d publishes, want %d and %d", pings, len(got), wantPings, len(want))
	}
}

// TestWriteFramesAnySplit feeds the same packets to Write cut in many
// ways and checks the messages are exactly the packets.
func TestWriteFramesAnySplit(t *testing.T) {
	packetsIn := [][]byte{
		{0xc0, 0x00}, // PINGREQ: the smallest packet
		append([]byte{0x30, 0x7f}, bytes.Repeat([]byte{'a'}, 127)...),               // 1-byte length, largest
		append([]byte{0x30, 0x80, 0x01}, bytes.Repeat([]byte{'b'}, 128)...),         // 2-byte length, smallest
		append([]byte{0x32, 0x80, 0x80, 0x01}, bytes.Repeat([]byte{'c'}, 16384)...), // 3-byte length
		{0xe0, 0x00}, // DISCONNECT
	}
	stream := bytes.Join(packetsIn, nil)
	tests := []struct {
		name string
		cut  func([]byte) [][]byte
	}{
		{"one write", func(b []byte) [][]byte { return [][]byte{b} }},
		{"byte by byte", func(b []byte) [][]byte { return chunks(b, 1) }},
		{"3 bytes at a time", func(b []byte) [][]byte { return chunks(b, 3) }},
		{"1000 bytes at a time", func(b []byte) [][]byte { return chunks(b, 1000) }},
		{"per packet", func([]byte) [][]byte { return packetsIn }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, server := pair(t)
			go func() {
				for _, w := range tt.cut(stream) {
					if n, err := c.Write(w); n != len(w) || err != nil {
						t.Errorf("Write(%d bytes) = %d, %v", len(w), n, err)
						return
					}
				}
			}()
			for i, want := range packetsIn {
				_, msg, err := server.ReadMessage()
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if !bytes.Equal(msg, want) {
					t.Fatalf("message %d is %d bytes starting %x, want packet %d (%d bytes)", i, len(msg), msg[:min(len(msg), 4)], i, len(want))
				}
			}
		})
	}
}

func chunks(b []byte, size int) [][]byte {
	var out [][]byte
	for len(b) > size {
		out = append(out, b[:size])
		b = b[size:]
	}
	return append(out, b)
}

func TestMalformedRemainingLength(t *testing.T) {
	c, _ := pair(t)
	_, err := c.Write([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01})
	if !errors.Is(err, ErrMalformedLength) {
		t.Fatalf("err = %v, want ErrMalformedLength", err)
	}
}
