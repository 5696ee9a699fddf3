// Package testnet answers questions about this process's own TCP sockets
// for tests, where a dial would be fooled: a port a test freed may be bound
// at once by another test binary, and a dial to a free loopback port can
// even connect to itself (TCP simultaneous open, when the kernel picks that
// very port as the dial's source). So "dialing it fails" is never the
// oracle: ask which sockets this process holds instead, or hold a port that
// refuses.
package testnet

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
)

// tcpListen is the state column of a listening socket in /proc/net/tcp.
const tcpListen = "0A"

// Listeners returns the local addresses of the TCP sockets this process
// has listening, from /proc/self/fd and /proc/net/tcp{,6}: a socket of
// another process on the same port does not count. It fails where there
// is no /proc (not Linux); callers skip then.
func Listeners() ([]netip.AddrPort, error) {
	own, err := socketInodes()
	if err != nil {
		return nil, err
	}
	var out []netip.AddrPort
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		addrs, err := listening(table, own)
		if err != nil {
			return nil, err
		}
		out = append(out, addrs...)
	}
	return out, nil
}

// ListeningOn reports whether this process has a TCP socket listening on
// addr ("127.0.0.1:8080"), or on its port at the unspecified address.
func ListeningOn(addr string) (bool, error) {
	want, err := netip.ParseAddrPort(addr)
	if err != nil {
		return false, err
	}
	ls, err := Listeners()
	if err != nil {
		return false, err
	}
	for _, l := range ls {
		if l.Port() == want.Port() && (l.Addr() == want.Addr().Unmap() || l.Addr().IsUnspecified()) {
			return true, nil
		}
	}
	return false, nil
}

// socketInodes returns the inodes of this process's open sockets.
func socketInodes() (map[string]bool, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	own := map[string]bool{}
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err != nil {
			continue // closed since ReadDir
		}
		if inode, ok := strings.CutPrefix(target, "socket:["); ok {
			own[strings.TrimSuffix(inode, "]")] = true
		}
	}
	return own, nil
}

// listening reads one /proc/net/tcp table: the local addresses of the
// listening sockets whose inode is in own.
func listening(table string, own map[string]bool) ([]netip.AddrPort, error) {
	f, err := os.Open(table)
	if errors.Is(err, os.ErrNotExist) && strings.HasSuffix(table, "6") {
		return nil, nil // no IPv6
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []netip.AddrPort
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 || fields[3] != tcpListen || !own[fields[9]] {
			continue
		}
		ap, err := parseProcAddr(fields[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", table, err)
		}
		out = append(out, ap)
	}
	return out, sc.Err()
}

// parseProcAddr reads "0100007F:1F90": the address as 32-bit words in the
// kernel's byte order, printed in hex, and the port in hex.
func parseProcAddr(s string) (netip.AddrPort, error) {
	hexAddr, hexPort, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(hexPort, 16, 16)
	raw, herr := hex.DecodeString(hexAddr)
	if !ok || err != nil || herr != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, fmt.Errorf("bad local address %q", s)
	}
	for i := 0; i < len(raw); i += 4 { // each word printed as a number
		binary.NativeEndian.PutUint32(raw[i:], binary.BigEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), nil
}
