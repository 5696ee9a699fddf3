package netem

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// These tests run on virtual time (testing/synctest) over net.Pipe, so
// every delay is exact: a bubble's clock moves only when every goroutine
// in it waits.

func newLink(t *testing.T, p Profile) *Link {
	t.Helper()
	l, err := NewLink(p, 1)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// pipe returns a phone's connection on l and the server's end of it.
func pipe(t *testing.T, l *Link) (*Conn, net.Conn) {
	a, b := net.Pipe()
	c := l.Wrap(a)
	t.Cleanup(func() { c.Close(); b.Close() })
	return c, b
}

func readN(t *testing.T, r io.Reader, n int) []byte {
	t.Helper()
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		t.Fatalf("read %d bytes: %v", n, err)
	}
	return buf
}

func TestEachDirectionTakesHalfTheRTT(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms)}))

		start := time.Now()
		if _, err := phone.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("Write returned after %v; want at once (the bytes are queued)", d)
		}
		if got := readN(t, server, 4); string(got) != "ping" {
			t.Fatalf("server read %q", got)
		}
		if d := time.Since(start); d != 50*ms {
			t.Errorf("uplink: the server got the bytes after %v, want 50ms", d)
		}

		start = time.Now()
		go server.Write([]byte("pong"))
		if got := readN(t, phone, 4); string(got) != "pong" {
			t.Fatalf("phone read %q", got)
		}
		if d := time.Since(start); d != 50*ms {
			t.Errorf("downlink: the phone got the bytes after %v, want 50ms", d)
		}
	})
}

func TestBackToBackWritesPipeline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms)}))
		start := time.Now()
		phone.Write([]byte("a"))
		time.Sleep(ms)
		phone.Write([]byte("b"))
		readN(t, server, 1)
		first := time.Since(start)
		readN(t, server, 1)
		second := time.Since(start)
		if first != 50*ms || second != 51*ms {
			t.Errorf("writes 1ms apart arrived after %v and %v; want 50ms and 51ms", first, second)
		}
	})
}

func TestRoundTripIsTheRTTWithinJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms), Jitter: 5 * ms}))
		go io.Copy(server, server) // an echo server
		seen := map[time.Duration]bool{}
		var sum time.Duration
		const n = 200
		for range n {
			start := time.Now()
			phone.Write([]byte("0123456789abcdef"))
			readN(t, phone, 16)
			rtt := time.Since(start)
			if rtt < 90*ms || rtt > 110*ms {
				t.Fatalf("round trip %v; want 100ms ± 2×5ms of jitter", rtt)
			}
			seen[rtt] = true
			sum += rtt
		}
		if len(seen) < n/2 {
			t.Errorf("only %d distinct round trips in %d: the jitter is not applied per packet", len(seen), n)
		}
		if mean := sum / n; mean < 98*ms || mean > 102*ms {
			t.Errorf("mean round trip %v; want 100ms (the jitter is symmetric)", mean)
		}
	})
}

func TestRTTIsDrawnOncePerLink(t *testing.T) {
	p := Profile{RTT: Between(80*ms, 300*ms)}
	distinct := map[time.Duration]bool{}
	for seed := range uint64(100) {
		l, err := NewLink(p, seed)
		if err != nil {
			t.Fatal(err)
		}
		if l.RTT() < 80*ms || l.RTT() > 300*ms {
			t.Fatalf("seed %d: RTT %v outside 80ms..300ms", seed, l.RTT())
		}
		again, _ := NewLink(p, seed)
		if again.RTT() != l.RTT() {
			t.Fatalf("seed %d: RTT %v, then %v: a seed must give the same link", seed, l.RTT(), again.RTT())
		}
		distinct[l.RTT()] = true
	}
	if len(distinct) < 90 {
		t.Errorf("100 seeds gave %d distinct RTTs", len(distinct))
	}
	if _, err := NewLink(Profile{Loss: 2}, 1); err == nil {
		t.Error("NewLink took a profile that does not validate")
	}
}

func TestBandwidthPacesEachDirection(t *testing.T) {
	const size = 100_000 // at 1 Mbit/s: 0.8s
	synctest.Test(t, func(t *testing.T) {
		phone, server := pipe(t, newLink(t, Profile{Up: 1 * Mbit, Down: 1 * Mbit}))
		data := bytes.Repeat([]byte("x"), size)

		start := time.Now()
		if n, err := phone.Write(data); n != size || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("a write that fits the send buffer took %v", d)
		}
		readN(t, server, segment)
		if d := time.Since(start); d != segment*8*time.Second/1_000_000 {
			t.Errorf("the first %d bytes arrived after %v; want them as soon as they are through", segment, d)
		}
		readN(t, server, size-segment)
		if d := time.Since(start); d != 800*ms {
			t.Errorf("uplink: %d bytes at 1 Mbit/s took %v, want 800ms", size, d)
		}

		start = time.Now()
		go server.Write(data)
		readN(t, phone, size)
		if d := time.Since(start); d != 800*ms {
			t.Errorf("downlink: %d bytes at 1 Mbit/s took %v, want 800ms", size, d)
		}
	})
}

func TestBandwidthIsSharedByTheUsersConnections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLink(t, Profile{Up: 1 * Mbit})
		data := bytes.Repeat([]byte("x"), 50_000)
		start := time.Now()
		var wg sync.WaitGroup
		var took [2]time.Duration
		for i := range took {
			phone, server := pipe(t, l)
			phone.Write(data)
			wg.Go(func() {
				readN(t, server, len(data))
				took[i] = time.Since(start)
			})
		}
		wg.Wait()
		if max(took[0], took[1]) != 800*ms {
			t.Errorf("two connections of one user sending 50 KB each at 1 Mbit/s took %v; want 800ms together", took)
		}
	})
}

func TestLossIsARetransmissionDelayNeverALoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms), Loss: 1}))
		start := time.Now()
		phone.Write([]byte("a"))
		readN(t, server, 1)
		// RTO = RTT + 200ms; the packet arrives RTT/2 after its resend.
		if d := time.Since(start); d != 350*ms {
			t.Errorf("a lost packet arrived after %v; want 50ms + an RTO of 300ms", d)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms), Loss: 0.2}))
		const n = 300
		sent := make([]time.Time, n)
		arrived := make([]time.Time, n)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := range n {
				v := binary.BigEndian.Uint64(readN(t, server, 8))
				if v != uint64(i) {
					t.Errorf("write %d arrived in place of write %d: bytes lost or reordered", v, i)
					return
				}
				arrived[i] = time.Now()
			}
		}()
		for i := range n {
			sent[i] = time.Now()
			phone.Write(binary.BigEndian.AppendUint64(nil, uint64(i)))
			time.Sleep(10 * ms)
		}
		<-done
		lost := 0
		for i := range n {
			var prev time.Time
			if i > 0 {
				prev = arrived[i-1]
			}
			later := func(t time.Time) time.Time { return latest(t, prev) }
			switch arrived[i] {
			case later(sent[i].Add(50 * ms)): // on time, or held behind a loss
			case later(sent[i].Add(350 * ms)):
				lost++
			default:
				t.Fatalf("write %d arrived %v after it was sent; want 50ms or 350ms, or with the write before it", i, arrived[i].Sub(sent[i]))
			}
		}
		if lost < n/10 || lost > n*3/10 {
			t.Errorf("%d of %d writes were lost; want about 20%%", lost, n)
		}
	})
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// stallsOf returns the first n stalls of l, as times.
func stallsOf(l *Link, n int) [][2]time.Time {
	var out [][2]time.Time
	c := l.firstStall()
	for range n {
		out = append(out, [2]time.Time{l.at(c.start), l.at(c.end)})
		c.k++
		c.start, c.end = l.stall(c.k, c.end)
	}
	return out
}

func stallingLink(t *testing.T) *Link {
	return newLink(t, Profile{RTT: Exactly(100 * ms), Stalls: Stalls{Every: 10 * time.Second, For: Exactly(3 * time.Second)}})
}

func TestStallsFreezeBothDirections(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := stallingLink(t)
		stalls := stallsOf(l, 3)
		for i, s := range stalls {
			if s[1].Sub(s[0]) != 3*time.Second {
				t.Fatalf("stall %d lasts %v, want 3s", i, s[1].Sub(s[0]))
			}
		}
		phone, server := pipe(t, l)
		other, otherServer := pipe(t, l) // the same user's second connection

		// Sent during stall 0: both ways, both connections, arrive
		// RTT/2 after it ends.
		time.Sleep(time.Until(stalls[0][0].Add(time.Second)))
		go server.Write([]byte("down"))
		phone.Write([]byte("up"))
		other.Write([]byte("other"))
		if got := readN(t, phone, 4); string(got) != "down" {
			t.Fatalf("phone read %q", got)
		}
		want := stalls[0][1].Add(50 * ms)
		if !time.Now().Equal(want) {
			t.Errorf("downlink: bytes sent 1s into a stall arrived %v after it ended, want 50ms", time.Since(stalls[0][1]))
		}
		readN(t, server, 2)
		readN(t, otherServer, 5)
		if !time.Now().Equal(want) {
			t.Errorf("uplink: bytes sent 1s into a stall arrived %v after it ended, want 50ms", time.Since(stalls[0][1]))
		}

		// In flight when stall 1 starts: held until it ends.
		time.Sleep(time.Until(stalls[1][0].Add(-20 * ms)))
		phone.Write([]byte("late"))
		readN(t, server, 4)
		if !time.Now().Equal(stalls[1][1]) {
			t.Errorf("bytes in flight as a stall began arrived %v after it ended, want as it ends", time.Since(stalls[1][1]))
		}
	})
}

func TestStallsComeAsAPoissonProcess(t *testing.T) {
	l, err := NewLink(Profile{Stalls: Stalls{Every: time.Minute, For: Between(time.Second, 8*time.Second)}}, 7)
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	stalls := stallsOf(l, n)
	var gaps, lengths time.Duration
	prev := l.epoch
	for _, s := range stalls {
		gaps += s[0].Sub(prev)
		lengths += s[1].Sub(s[0])
		if d := s[1].Sub(s[0]); d < time.Second || d > 8*time.Second {
			t.Fatalf("a stall of %v; want 1s..8s", d)
		}
		prev = s[1]
	}
	if mean := gaps / n; mean < 55*time.Second || mean > 65*time.Second {
		t.Errorf("mean time between stalls %v; want 1m", mean)
	}
	if mean := lengths / n; mean < 4*time.Second || mean > 5*time.Second {
		t.Errorf("mean stall %v; want 4.5s", mean)
	}
}

func TestDeadlinesDuringAStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := stallingLink(t)
		stall := stallsOf(l, 1)[0]
		phone, server := pipe(t, l)
		time.Sleep(time.Until(stall[0].Add(time.Second)))

		// A read deadline 1s away passes while the answer is held.
		go server.Write([]byte("held"))
		start := time.Now()
		phone.SetReadDeadline(start.Add(time.Second))
		n, err := phone.Read(make([]byte, 4))
		if n != 0 || !isTimeout(err) {
			t.Fatalf("Read during a stall = %d, %v; want a timeout", n, err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("the read timed out after %v, want 1s", d)
		}
		phone.SetReadDeadline(time.Time{})
		if got := readN(t, phone, 4); string(got) != "held" {
			t.Fatalf("after the timeout, read %q", got)
		}
		if !time.Now().Equal(stall[1].Add(50 * ms)) {
			t.Errorf("the held bytes arrived %v after the stall, want 50ms", time.Since(stall[1]))
		}
	})
	synctest.Test(t, func(t *testing.T) {
		l := stallingLink(t)
		stall := stallsOf(l, 1)[0]
		phone, server := pipe(t, l)
		time.Sleep(time.Until(stall[0].Add(time.Second)))

		// A write deadline passes once the send buffer is full.
		start := time.Now()
		phone.SetWriteDeadline(start.Add(time.Second))
		n, err := phone.Write(make([]byte, 2*queueBytes))
		if n != queueBytes || !isTimeout(err) {
			t.Fatalf("Write during a stall = %d, %v; want %d bytes queued and a timeout", n, err, queueBytes)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("the write timed out after %v, want 1s", d)
		}
		if _, err := phone.Write([]byte("x")); !isTimeout(err) {
			t.Errorf("a Write after the deadline = %v; want a timeout even with room", err)
		}
		readN(t, server, queueBytes) // every queued byte still crosses
	})
}

func TestSetReadDeadlineWakesAWaitingRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		phone, _ := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms)}))
		start := time.Now()
		go func() {
			time.Sleep(30 * ms)
			phone.SetReadDeadline(time.Now().Add(20 * ms))
		}()
		_, err := phone.Read(make([]byte, 1))
		if !isTimeout(err) || time.Since(start) != 50*ms {
			t.Errorf("Read = %v after %v; want a timeout at 50ms", err, time.Since(start))
		}
	})
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout() && errors.Is(err, os.ErrDeadlineExceeded)
}

// TestConcurrentWritesStayWhole: writers of all sizes, some bigger than
// the send buffer, each writing its messages in one Write, or in three
// parts under the packet lock as paho does; the server must read every
// message whole and each writer's in order.
func TestConcurrentWritesStayWhole(t *testing.T) {
	for _, paho := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) { concurrentWriters(t, paho) })
	}
}

func concurrentWriters(t *testing.T, paho bool) {
	phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(40 * ms), Jitter: 5 * ms, Up: 20 * Mbit, Loss: 0.05}))
	const writers, each = 8, 40
	message := func(w, seq int) []byte {
		size := 1 + (w*7919+seq*104729)%3000
		if w < 2 && seq%10 == 0 {
			size = queueBytes + 50_000
		}
		m := binary.BigEndian.AppendUint32(nil, uint32(size))
		m = append(m, byte(w), byte(seq))
		return append(m, bytes.Repeat([]byte{byte(w*each + seq)}, size)...)
	}
	total := 0
	for w := range writers {
		for seq := range each {
			total += len(message(w, seq))
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer io.Copy(io.Discard, server) // after a failure, let the writers finish
		next := make([]int, writers)
		for read := 0; read < total; {
			head := readN(t, server, 6)
			size, w, seq := int(binary.BigEndian.Uint32(head)), int(head[4]), int(head[5])
			if w >= writers || seq != next[w] {
				t.Errorf("paho=%v: the bytes at offset %d are not the next message of any writer: writes interleaved or reordered", paho, read)
				return
			}
			body := readN(t, server, size)
			if !bytes.Equal(body, bytes.Repeat([]byte{byte(w*each + seq)}, size)) {
				t.Errorf("paho=%v: message %d of writer %d came with other bytes inside", paho, seq, w)
				return
			}
			next[w]++
			read += 6 + size
		}
	}()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for seq := range each {
				m := message(w, seq)
				if paho {
					phone.Lock()
					phone.Write(m[:1])
					phone.Write(m[1:6])
					phone.Write(m[6:])
					phone.Unlock()
				} else if _, err := phone.Write(m); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Duration(seq%3) * ms)
			}
		})
	}
	wg.Wait()
	phone.Close()
	<-done
}

func TestCloseSendsWhatWasWrittenFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms)}))
		start := time.Now()
		phone.Write([]byte("bye"))
		if err := phone.Close(); err != nil {
			t.Fatalf("Close = %v", err)
		}
		if time.Since(start) != 0 {
			t.Errorf("Close waited %v; want it to return at once", time.Since(start))
		}
		if _, err := phone.Write([]byte("more")); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Write after Close = %v, want net.ErrClosed", err)
		}
		if _, err := phone.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("Read after Close = %v, want net.ErrClosed", err)
		}
		if err := phone.Close(); !errors.Is(err, net.ErrClosed) {
			t.Errorf("a second Close = %v, want net.ErrClosed", err)
		}
		if got := readN(t, server, 3); string(got) != "bye" {
			t.Fatalf("server read %q", got)
		}
		if d := time.Since(start); d != 50*ms {
			t.Errorf("bytes written before Close arrived after %v, want 50ms", d)
		}
		if _, err := server.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("after the queued bytes the server read %v, want EOF", err)
		}
		synctest.Wait()
		if phone.up.armed || phone.up.q.b != nil || phone.up.timer.Stop() {
			t.Errorf("after Close the uplink still holds a timer or a buffer")
		}
	})
}

func TestCloseWakesABlockedRead(t *testing.T) {
	for _, queued := range []bool{false, true} {
		synctest.Test(t, func(t *testing.T) {
			phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms)}))
			go io.Copy(io.Discard, server)
			if queued {
				phone.Write([]byte("still crossing")) // keeps the underlying conn open after Close
			}
			errc := make(chan error)
			go func() {
				_, err := phone.Read(make([]byte, 1))
				errc <- err
			}()
			time.Sleep(10 * ms)
			phone.Close()
			if err := <-errc; !errors.Is(err, net.ErrClosed) {
				t.Errorf("queued=%v: a Read blocked across Close = %v, want net.ErrClosed", queued, err)
			}
		})
	}
}

func TestPeerCloseArrivesAfterItsBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms)}))
		start := time.Now()
		go func() {
			server.Write([]byte("x"))
			server.Close()
		}()
		if got := readN(t, phone, 1); string(got) != "x" || time.Since(start) != 50*ms {
			t.Errorf("read %q after %v; want x after 50ms", got, time.Since(start))
		}
		if _, err := phone.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("then read %v, want EOF", err)
		}
	})
}

func TestIdleConnHoldsNoBuffer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		phone, server := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms)}))
		go io.Copy(server, server)
		go io.Copy(io.Discard, phone) // the phone's reader, as paho's
		for range 5 {
			phone.Write([]byte("telemetry"))
			time.Sleep(time.Second)
		}
		synctest.Wait()
		phone.up.mu.Lock()
		defer phone.up.mu.Unlock()
		if phone.up.q.b != nil || phone.up.armed {
			t.Error("an idle uplink holds a buffer or a timer")
		}
		// The reader holds rsem while it waits; its queue is empty, and
		// an empty queue is never given a block.
	})
}

func TestDialWaitsForTheHandshake(t *testing.T) {
	pipeDial := func(peers chan<- net.Conn) DialFunc {
		return func(context.Context, string, string) (net.Conn, error) {
			a, b := net.Pipe()
			peers <- b
			return a, nil
		}
	}
	for _, tc := range []struct {
		p    Profile
		want time.Duration
	}{
		{Profile{RTT: Exactly(100 * ms)}, 100 * ms},           // one RTT: SYN up, SYN-ACK down
		{Profile{RTT: Exactly(100 * ms), Loss: 1}, 2100 * ms}, // both lost: + 2 × the initial RTO of 1s
	} {
		synctest.Test(t, func(t *testing.T) {
			dial := newLink(t, tc.p).Dial(pipeDial(make(chan net.Conn, 1)))
			start := time.Now()
			c, err := dial(t.Context(), "tcp", "server:1883")
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if d := time.Since(start); d != tc.want {
				t.Errorf("%+v: dial took %v, want %v", tc.p, d, tc.want)
			}
		})
	}
	synctest.Test(t, func(t *testing.T) {
		peers := make(chan net.Conn, 1)
		dial := newLink(t, Profile{RTT: Exactly(100 * ms)}).Dial(pipeDial(peers))
		ctx, cancel := context.WithTimeout(t.Context(), 30*ms)
		defer cancel()
		if _, err := dial(ctx, "tcp", "server:1883"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("dial past its context = %v, want context.DeadlineExceeded", err)
		}
		if _, err := (<-peers).Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("the abandoned connection reads %v at the peer, want EOF (closed)", err)
		}
	})
}

func TestCloseGivesUpOnAPeerThatDoesNotRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		phone, _ := pipe(t, newLink(t, Profile{RTT: Exactly(100 * ms)}))
		phone.Write([]byte("never read")) // net.Pipe has no buffer: the write blocks
		phone.Close()
		time.Sleep(50*ms + closeLinger - ms)
		synctest.Wait()
		phone.up.mu.Lock()
		if phone.up.raw == rawClosed {
			t.Error("the connection closed before the linger ran out")
		}
		phone.up.mu.Unlock()
		time.Sleep(2 * ms)
		synctest.Wait()
		phone.up.mu.Lock()
		defer phone.up.mu.Unlock()
		if phone.up.raw != rawClosed || phone.up.flushing {
			t.Errorf("%v after Close the connection is still open, its bytes still not taken", 50*ms+closeLinger+ms)
		}
	})
}

func TestCloseWriteNeedsAConnThatHasIt(t *testing.T) {
	phone, _ := net.Pipe()
	c := newLink(t, Profile{}).Wrap(phone)
	defer c.Close()
	if err := c.CloseWrite(); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("CloseWrite over net.Pipe = %v, want errors.ErrUnsupported", err)
	}
}
