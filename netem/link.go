package netem

import (
	"context"
	"math"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// minRTO is the least a loss costs: Linux keeps the variance term of
	// its retransmission timeout at or above tcp_rto_min (200 ms), so a
	// steady link's RTO is RTT + 200 ms (RFC 6298 §2 with Linux's floor).
	minRTO = 200 * time.Millisecond
	// synRTO is what a lost SYN or SYN-ACK costs: the initial RTO of
	// RFC 6298 §2.1 (Linux TCP_TIMEOUT_INIT), before any RTT is known.
	synRTO = time.Second
	// packetGap: writes (or reads) closer together than this go out as
	// one packet, sharing one jitter draw and one loss draw, as TCP
	// coalesces back-to-back writes into one segment.
	packetGap = 100 * time.Microsecond
	// segment is the most bytes one packet carries: a big write is cut
	// into packets that each take their own jitter and loss and arrive one
	// after the other as the bandwidth lets them through.
	segment = 4 << 10
)

// never is a due time that does not come.
const never = math.MaxInt64

// Link is one user's link, drawn from a Profile: its RTT is fixed, and so
// is the schedule of its stalls, which all of the user's connections share
// (the phone's radio stalls for every socket at once), as they share its
// bandwidth in each direction. Each connection has its own jitter and
// loss. A Link is safe for concurrent use.
type Link struct {
	profile Profile
	rtt     time.Duration
	rto     time.Duration
	seed    uint64
	epoch   time.Time // the origin of every time below, and of the stall schedule
	conns   atomic.Uint64

	mu   sync.Mutex
	free [2]int64 // per direction, when the link has sent all it was given
}

// The two directions of a link.
const (
	up   = 0 // phone to server: the bytes the phone writes
	down = 1 // server to phone: the bytes the phone reads
)

// NewLink draws a link from p, a user's: seed picks its RTT from p.RTT and
// its stall schedule, so the same seed gives the same link. The stall
// schedule starts now. It returns p.Validate's error if p is not usable.
func NewLink(p Profile, seed uint64) (*Link, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	l := &Link{profile: p, seed: seed, epoch: time.Now()}
	l.rtt = p.RTT.at(unit(mix(seed, 0)))
	l.rto = l.rtt + max(minRTO, 4*p.Jitter)
	return l, nil
}

// RTT returns the round trip this link adds.
func (l *Link) RTT() time.Duration { return l.rtt }

// Profile returns the profile the link was drawn from.
func (l *Link) Profile() Profile { return l.profile }

// DialFunc dials a connection, as net.Dialer.DialContext does; it is also
// the type of http.Transport.DialContext and websocket.Dialer.NetDialContext.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Dial returns a DialFunc that dials with dial and puts the connection on
// the link. It returns once TCP's handshake would have completed over the
// link: one round trip after the real connect (later if a stall holds it,
// a second later if the SYN or SYN-ACK is lost), or ctx's error if ctx ends
// first, having closed the connection. The wait runs in the caller.
func (l *Link) Dial(dial DialFunc) DialFunc {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		raw, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		c := l.Wrap(raw)
		if err := c.handshake(ctx); err != nil {
			raw.Close()
			return nil, err
		}
		return c, nil
	}
}

// now is the time since the link's epoch, in nanoseconds.
func (l *Link) now() int64 { return int64(time.Since(l.epoch)) }

// at converts a time of now's kind back to a time.Time.
func (l *Link) at(t int64) time.Time { return l.epoch.Add(time.Duration(t)) }

func (l *Link) rate(dir int) Bitrate {
	if dir == up {
		return l.profile.Up
	}
	return l.profile.Down
}

// depart returns when n bytes given to the link at now in direction dir
// have left it: held by a stall that now falls in (c is the caller's
// departure cursor), queued behind what the link is still sending, and
// paced at the direction's bandwidth. A packet with no data (n = 0) waits
// its turn but takes no time of the link.
func (l *Link) depart(dir int, c *stallCursor, now int64, n int) int64 {
	rate := l.rate(dir)
	if rate == 0 {
		return l.hold(c, now)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	start := l.hold(c, max(now, l.free[dir]))
	if n == 0 {
		return start
	}
	l.free[dir] = start + int64(n)*8*int64(time.Second)/int64(rate)
	return l.free[dir]
}

// stallCursor walks the link's stall schedule: stall k is [start, end).
// Each of a connection's paths keeps its own cursors, so no lock is needed;
// they all walk the same schedule, a function of the seed alone.
type stallCursor struct {
	k          uint64
	start, end int64
}

// stall returns stall k, which starts a random gap after prev (the end of
// stall k-1, or the epoch).
func (l *Link) stall(k uint64, prev int64) (start, end int64) {
	s := l.profile.Stalls
	gap := -math.Log(1-unit(mix(l.seed, 2*k+1))) * float64(s.Every)
	start = prev + int64(min(gap, float64(never/4))) // no overflow for any Every
	return start, start + int64(s.For.at(unit(mix(l.seed, 2*k+2))))
}

func (l *Link) firstStall() stallCursor {
	start, end := l.stall(0, 0)
	return stallCursor{start: start, end: end}
}

// hold returns t, or the end of the stall t falls in. The times a cursor
// is asked about must not decrease.
func (l *Link) hold(c *stallCursor, t int64) int64 {
	if l.profile.Stalls.Every == 0 {
		return t
	}
	for {
		for c.end <= t {
			c.k++
			c.start, c.end = l.stall(c.k, c.end)
		}
		if t < c.start {
			return t
		}
		t = c.end // which the next stall may start at
	}
}

// mix is SplitMix64 of seed and k: the link's draws, each a pure function
// of its seed and index.
func mix(seed, k uint64) uint64 {
	z := seed + (k+1)*0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// unit maps x to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) * 0x1p-53 }
