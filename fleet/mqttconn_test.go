package fleet

import (
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"testing"
)

// TestBufferedConnReadsWhatWasSent sends 64 KiB over loopback TCP in
// writes of random sizes and reads it through bufferReads in reads of
// random sizes (1 byte, as paho reads a header, up to 300): every byte
// must arrive, in order, then EOF; the wrapper keeps the TCP connection's
// other methods.
func TestBufferedConnReadsWhatWasSent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	want := make([]byte, 64<<10)
	for i := range want {
		want[i] = byte(rng.Uint32())
	}
	sent := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			sent <- err
			return
		}
		defer c.Close()
		wrng := rand.New(rand.NewPCG(3, 4))
		for rest := want; len(rest) > 0; {
			n := min(len(rest), 1+wrng.IntN(200))
			if _, err := c.Write(rest[:n]); err != nil {
				sent <- err
				return
			}
			rest = rest[n:]
		}
		sent <- nil
	}()
	raw, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn := bufferReads(raw)
	defer conn.Close()
	if _, ok := conn.(*bufferedConn); !ok {
		t.Fatalf("a TCP connection was not wrapped: %T", conn)
	}
	if _, ok := any(conn).(interface {
		ReadFrom(io.Reader) (int64, error)
	}); !ok {
		t.Error("the wrapper lost the TCP connection's methods")
	}
	var got bytes.Buffer
	p := make([]byte, 300)
	for got.Len() < len(want) {
		n, err := conn.Read(p[:1+rng.IntN(len(p))])
		got.Write(p[:n])
		if err != nil {
			t.Fatalf("after %d bytes: %v", got.Len(), err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatal("the bytes read differ from the bytes sent")
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
	if n, err := conn.Read(p); n != 0 || err != io.EOF {
		t.Errorf("after the peer closed: %d, %v; want 0, EOF", n, err)
	}
}
