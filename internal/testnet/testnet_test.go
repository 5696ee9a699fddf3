package testnet

import (
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
)

func TestListenersSeeOwnSocketsOnly(t *testing.T) {
	if _, err := Listeners(); err != nil {
		t.Skipf("no /proc: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if ok, err := ListeningOn(addr); err != nil || !ok {
		t.Fatalf("ListeningOn(%s) = %v, %v while it listens", addr, ok, err)
	}
	// A connection to it is no listener, on either side.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := ListeningOn(c.LocalAddr().String()); ok {
		t.Errorf("the dialling socket %s counts as listening", c.LocalAddr())
	}
	c.Close()
	ln.Close()
	if ok, err := ListeningOn(addr); err != nil || ok {
		t.Errorf("ListeningOn(%s) = %v, %v after Close", addr, ok, err)
	}

	if ln6, err := net.Listen("tcp", "[::1]:0"); err == nil {
		defer ln6.Close()
		if ok, err := ListeningOn(ln6.Addr().String()); err != nil || !ok {
			t.Errorf("ListeningOn(%s) = %v, %v while it listens", ln6.Addr(), ok, err)
		}
	}
	any, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer any.Close()
	port := any.Addr().(*net.TCPAddr).Port
	if ok, err := ListeningOn(net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err != nil || !ok {
		t.Errorf("a listener on every address is not seen on 127.0.0.1:%d: %v, %v", port, ok, err)
	}
}

func TestRefusedAddrRefuses(t *testing.T) {
	addr := RefusedAddr(t)
	for range 3 {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			t.Fatalf("%s accepted a connection", addr)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial %s: %v, want connection refused", addr, err)
		}
	}
	// Nobody else can listen there while the test holds it.
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatalf("listened on %s while it is held", addr)
	}
}
