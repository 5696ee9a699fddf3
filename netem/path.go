package netem

import (
	"math/rand/v2"
	"time"
)

// path times one direction of one connection: when each byte given to it
// arrives at the other end. Its owner (the uplink's or the downlink's lock)
// serialises every call.
type path struct {
	link   *Link
	dir    int
	oneway int64 // half the link's RTT
	rng    rand.PCG
	dep    stallCursor // stalls holding bytes as they leave
	arr    stallCursor // stalls holding bytes in flight
	last   int64       // the newest packet's due time: nothing later arrives before it
	opened int64       // when the newest packet took its first byte
	extra  int64       // the newest packet's jitter, plus an RTO if it is lost
}

func (p *path) init(l *Link, dir int, conn uint64) {
	p.link, p.dir = l, dir
	p.oneway = int64(l.rtt / 2)
	if dir == down {
		p.oneway = int64(l.rtt) - p.oneway
	}
	p.rng.Seed(l.seed, conn<<1|uint64(dir))
	p.dep, p.arr = l.firstStall(), l.firstStall()
}

func (p *path) uniform() float64 { return unit(p.rng.Uint64()) }

// extraDelay draws a new packet's delay beyond RTT/2: its jitter, and rto
// more if the packet is lost (TCP resends it one timeout later).
func (p *path) extraDelay(rto time.Duration) int64 {
	prof := &p.link.profile
	var e int64
	if j := prof.Jitter; j > 0 {
		e = max(int64((2*p.uniform()-1)*float64(j)), -p.oneway)
	}
	if prof.Loss > 0 && p.uniform() < prof.Loss {
		e += int64(rto)
	}
	return e
}

// arrival returns when n bytes given to the path at now, with the extra
// delay of their packet, arrive at the other end.
func (p *path) arrival(now int64, n int, extra int64) int64 {
	t := p.link.depart(p.dir, &p.dep, now, n)
	return p.link.hold(&p.arr, t+p.oneway+extra)
}

// schedule times n bytes just appended to q at now: they join the newest
// packet if it is still open (taken less than packetGap ago, not full,
// none of it delivered yet), else they start new packets of at most
// segment bytes. A packet is never due before the one ahead of it, so a
// lost packet holds back everything behind it and nothing is reordered.
func (p *path) schedule(q *queue, now int64, n int) {
	for n > 0 {
		if r := q.tail(); r != nil && !r.sealed && now-p.opened <= int64(packetGap) && int(r.n) < segment {
			m := min(n, segment-int(r.n))
			r.n += int32(m)
			r.due = max(r.due, p.arrival(now, m, p.extra))
			p.last = r.due
			n -= m
			continue
		}
		m := min(n, segment)
		p.opened = now
		p.extra = p.extraDelay(p.link.rto)
		p.last = max(p.arrival(now, m, p.extra), p.last)
		q.push(m, p.last)
		n -= m
	}
}

// empty returns when a packet with no data (a SYN, a FIN) given to the
// path at now arrives, lost with the link's loss at the cost of rto, and
// holds back what follows it.
func (p *path) empty(now int64, rto time.Duration) int64 {
	p.last = max(p.arrival(now, 0, p.extraDelay(rto)), p.last)
	return p.last
}
