// Package testnet gives tests loopback addresses with a known behaviour.
package testnet

import (
	"net"
	"strconv"
	"syscall"
	"testing"
)

// RefusingAddr is a loopback "host:port" that refuses every connection
// for the rest of the test: a TCP socket bound to it that never listens.
// Unlike a port that was listened on and closed, no other process can
// take it meanwhile, so "nothing answers there" stays true.
func RefusingAddr(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	port := sa.(*syscall.SockaddrInet4).Port
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}
