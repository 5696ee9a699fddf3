package netem

import (
	"io"
	"net"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The cost of the wrapper, over real loopback TCP: a bare pair against
// the same pair with the phone's side on a link. "netem" is a zero
// profile (all machinery, no delay), "rtt2ms" adds a round trip of 2ms,
// so every packet waits for its timer. docs/network.md has the figures.

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU reports the CPU time per op since start, both ends of the
// pair included: on a shared machine a fairer cost than ns/op.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime(b)-start)/float64(b.N), "cpu-ns/op")
}

func tcpPair(b *testing.B) (phone, server net.Conn) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	phone, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	server = <-accepted
	b.Cleanup(func() { phone.Close(); server.Close() })
	return phone, server
}

type benchProfile struct {
	name    string
	profile *Profile // nil: the bare pair
}

var benchProfiles = []benchProfile{
	{"bare", nil},
	{"netem", &Profile{}},
	{"rtt2ms", &Profile{RTT: Exactly(2 * ms)}},
}

// directed returns the writing and the reading end for dir: up, the
// phone writes; down, it reads.
func directed(b *testing.B, p *Profile, dir string) (from, to net.Conn) {
	phone, server := benchConn(b, p)
	if dir == "down" {
		return server, phone
	}
	return phone, server
}

func benchConn(b *testing.B, p *Profile) (phone, server net.Conn) {
	phone, server = tcpPair(b)
	if p != nil {
		l, err := NewLink(*p, 1)
		if err != nil {
			b.Fatal(err)
		}
		phone = l.Wrap(phone)
	}
	return phone, server
}

// BenchmarkBulk moves 32 KiB per op up (the phone writes) or down (the
// phone reads).
func BenchmarkBulk(b *testing.B) {
	const chunk = 32 << 10
	for _, dir := range []string{"up", "down"} {
		for _, bp := range benchProfiles {
			b.Run(dir+"/"+bp.name, func(b *testing.B) {
				from, to := directed(b, bp.profile, dir)
				done := make(chan error, 1)
				buf := make([]byte, chunk)
				b.SetBytes(chunk)
				b.ReportAllocs()
				go func() {
					_, err := io.Copy(io.Discard, to)
					done <- err
				}()
				cpu := cpuTime(b)
				for b.Loop() {
					if _, err := from.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
				from.Close()
				<-done
				reportCPU(b, cpu)
			})
		}
	}
}

// BenchmarkMQTTSized sends a 200-byte publish per op as paho does: its
// three parts through net.Buffers.WriteTo under the lock if the connection
// is a sync.Locker (one writev on a bare *net.TCPConn, three Writes on a
// Conn), read at the other end as paho reads (the type byte, the remaining
// length, the body); up and down.
func BenchmarkMQTTSized(b *testing.B) {
	const size = 200
	for _, dir := range []string{"up", "down"} {
		for _, bp := range benchProfiles {
			b.Run(dir+"/"+bp.name, func(b *testing.B) {
				from, to := directed(b, bp.profile, dir)
				msg := make([]byte, size)
				parts := net.Buffers{msg[:1], msg[1:3], msg[3:]}
				bufs := make(net.Buffers, len(parts))
				var send net.Buffers // one, so its escape to WriteTo costs no alloc per op
				locker, _ := from.(sync.Locker)
				got := make(chan struct{}, 1024)
				go func() {
					buf := make([]byte, size)
					for {
						for _, part := range parts {
							if _, err := io.ReadFull(to, buf[:len(part)]); err != nil {
								close(got)
								return
							}
						}
						got <- struct{}{}
					}
				}()
				b.SetBytes(size)
				b.ReportAllocs()
				sent := 0
				cpu := cpuTime(b)
				for b.Loop() {
					copy(bufs, parts)
					send = bufs[:len(parts)]
					if err := writePacket(from, locker, &send); err != nil {
						b.Fatal(err)
					}
					sent++
					if sent%512 == 0 { // keep the reader within the send buffer
						for range 512 {
							<-got
						}
					}
				}
				for range sent % 512 {
					<-got
				}
				reportCPU(b, cpu)
				from.Close()
				for range got {
				}
			})
		}
	}
}

// writePacket writes bufs as paho's ControlPacket.WriteTo does.
func writePacket(w io.Writer, locker sync.Locker, bufs *net.Buffers) error {
	if locker != nil {
		locker.Lock()
		defer locker.Unlock()
	}
	_, err := bufs.WriteTo(w)
	return err
}

// BenchmarkMQTTPing is one 200-byte publish at a time, echoed by the
// server and read back as paho reads: what a phone sending now and then
// costs, each packet waiting for its own timer (ns/op is the round trip).
// "bare-sleep2ms" is the bare pair waiting 1ms before each write and after
// each read, as rtt2ms waits: the cost of the waits themselves.
func BenchmarkMQTTPing(b *testing.B) {
	const size = 200
	for _, bp := range append(slices.Clone(benchProfiles), benchProfile{"bare-sleep2ms", nil}) {
		b.Run(bp.name, func(b *testing.B) {
			phone, server := benchConn(b, bp.profile)
			go io.Copy(server, server)
			msg := make([]byte, size)
			parts := net.Buffers{msg[:1], msg[1:3], msg[3:]}
			bufs := make(net.Buffers, len(parts))
			var send net.Buffers
			locker, _ := phone.(sync.Locker)
			buf := make([]byte, size)
			var wait time.Duration
			if bp.name == "bare-sleep2ms" {
				wait = ms
			}
			b.ReportAllocs()
			cpu := cpuTime(b)
			for b.Loop() {
				copy(bufs, parts)
				send = bufs[:len(parts)]
				if wait > 0 {
					time.Sleep(wait)
				}
				if err := writePacket(phone, locker, &send); err != nil {
					b.Fatal(err)
				}
				for _, part := range parts {
					if _, err := io.ReadFull(phone, buf[:len(part)]); err != nil {
						b.Fatal(err)
					}
				}
				if wait > 0 {
					time.Sleep(wait)
				}
			}
			reportCPU(b, cpu)
		})
	}
}

// BenchmarkSchedule is the bookkeeping of one small write, without I/O.
func BenchmarkSchedule(b *testing.B) {
	l, err := NewLink(Profile{RTT: Exactly(100 * ms), Jitter: 5 * ms, Up: 2 * Mbit, Loss: 0.01}, 1)
	if err != nil {
		b.Fatal(err)
	}
	var p path
	p.init(l, up, 1)
	var q queue
	msg := make([]byte, 200)
	b.ReportAllocs()
	now := int64(0)
	for b.Loop() {
		now += int64(time.Millisecond)
		q.write(msg)
		p.schedule(&q, now, len(msg))
		q.discard(q.ready(never-1, queueBytes))
	}
}
