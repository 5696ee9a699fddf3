//go:build unix

package fleet

import (
	"errors"
	"syscall"
)

// peerClosed reads, without blocking, whatever g's socket has and reports
// whether the broker closed it (end of stream or a reset). Bytes read are
// discarded, keeping only their end (ghost.keep). The deadline paho's
// reader was woken with does not matter here: Control reads the
// descriptor directly.
func peerClosed(g *ghost) bool {
	sc, ok := g.raw.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var buf [256]byte
	cerr := rc.Control(func(fd uintptr) {
		for range 64 { // bounded: a broker writing to a ghost without end is read on the next tick
			n, err := syscall.Read(int(fd), buf[:])
			switch {
			case n > 0:
				g.keep(buf[:n])
				continue
			case err == nil: // n == 0: end of stream
				closed = true
			case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EINTR):
			default:
				closed = true
			}
			return
		}
	})
	return closed || cerr != nil
}
