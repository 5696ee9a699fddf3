package wsconn

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
