package wsconn

import (
	"errors"
	"fmt"
)

// ErrMalformedLength is returned by Write when a packet's Remaining Length
// (MQTT 5 §1.5.5) runs past its four bytes: the byte stream is not MQTT,
// and no later packet boundary can be trusted.
var ErrMalformedLength = errors.New("websocket: MQTT remaining length longer than 4 bytes")

// maxKeptBuffer is the largest pending buffer kept for reuse after a packet
// is sent, in bytes; a larger one (a big publish) is freed.
const maxKeptBuffer = 64 << 10

// framer cuts a byte stream into MQTT control packets. The zero value is
// ready; it is not safe for concurrent use.
type framer struct {
	pending []byte // the start of a packet not yet complete
}

// write consumes p, calling send once per complete packet, in order, with
// exactly that packet's bytes (valid only during the call). It returns how
// many bytes of p were consumed: len(p), unless send or the framing failed.
func (f *framer) write(p []byte, send func([]byte) error) (int, error) {
	if len(f.pending) == 0 {
		// Fast path: whole packets straight from p, no copy.
		n, err := sendWhole(p, send)
		if err != nil {
			return n, err
		}
		f.pending = append(f.pending, p[n:]...)
		return len(p), nil
	}
	had := len(f.pending)
	f.pending = append(f.pending, p...)
	n, err := sendWhole(f.pending, send)
	if err != nil {
		f.pending = f.pending[:0]
		return max(n-had, 0), err
	}
	rest := copy(f.pending, f.pending[n:])
	f.pending = f.pending[:rest]
	if rest == 0 && cap(f.pending) > maxKeptBuffer {
		f.pending = nil
	}
	return len(p), nil
}

// sendWhole sends every complete packet at the front of b and returns how
// many bytes they took.
func sendWhole(b []byte, send func([]byte) error) (int, error) {
	off := 0
	for {
		size, ok, err := packetSize(b[off:])
		if err != nil {
			return off, err
		}
		if !ok || size > len(b)-off {
			return off, nil
		}
		if err := send(b[off : off+size]); err != nil {
			return off, err
		}
		off += size
	}
}

// packetSize reads the fixed header at the start of b (MQTT 5 §2.1.1: one
// byte of type and flags, then the Remaining Length as a variable byte
// integer of 1 to 4 bytes) and returns the whole packet's size in bytes.
// ok is false while b holds too little of the header to tell.
func packetSize(b []byte) (size int, ok bool, err error) {
	remaining, mult := 0, 1
	for i := 1; i <= 4; i++ {
		if i >= len(b) {
			return 0, false, nil
		}
		remaining += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			return 1 + i + remaining, true, nil
		}
		mult *= 128
	}
	return 0, false, fmt.Errorf("%w (first byte %#02x)", ErrMalformedLength, b[0])
}
