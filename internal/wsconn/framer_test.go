package wsconn

import (
	"bytes"
	"testing"

	"github.com/eclipse/paho.golang/packets"
)

// BenchmarkFramePahoPublish frames a 200-byte QoS 1 publish written the
// way paho writes it (fixed header, variable header, payload as separate
// writes): the cost wsconn adds to each packet before the WebSocket write.
func BenchmarkFramePahoPublish(b *testing.B) {
	pk := (&packets.Publish{Topic: "tel/app%3Auser/data", QoS: 1, PacketID: 7, Payload: bytes.Repeat([]byte{'x'}, 200), Properties: &packets.Properties{}}).ToControlPacket()
	var w bytes.Buffer
	if _, err := pk.WriteTo(&w); err != nil {
		b.Fatal(err)
	}
	// The same split as paho's: 1-byte type, remaining length, then body.
	parts := [][]byte{w.Bytes()[:1], w.Bytes()[1:3], w.Bytes()[3:]}
	var f framer
	sent := 0
	send := func(p []byte) error { sent += len(p); return nil }
	b.ReportAllocs()
	for b.Loop() {
		for _, p := range parts {
			if _, err := f.write(p, send); err != nil {
				b.Fatal(err)
			}
		}
	}
	if sent != b.N*w.Len() {
		b.Fatalf("sent %d bytes, want %d", sent, b.N*w.Len())
	}
}
