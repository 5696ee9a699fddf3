package netem

import "sync"

const (
	// queueBytes bounds the bytes in flight in one direction of one
	// connection: the uplink's send buffer (Write blocks when it is
	// full), the downlink's receive window (the underlying connection is
	// not read while it is full). 128 KiB carries 4g's 9 Mbit/s over its
	// 85 ms one-way delay. A power of two.
	queueBytes = 128 << 10
	// queueRecords bounds the packets in flight likewise. A power of two.
	queueRecords = 512
)

// record is one packet in a queue: its bytes left and when they are due.
type record struct {
	due    int64 // Link.now time
	n      int32
	sealed bool // some of it was delivered: no more bytes join it
}

// block is a queue's storage, taken from blocks while the queue holds
// bytes and given back when it is empty, so an idle connection holds none.
type block struct {
	data [queueBytes]byte
	recs [queueRecords]record
}

var blocks = sync.Pool{New: func() any { return new(block) }}

// queue holds the bytes on their way across one direction, in order, as
// a ring of bytes and a ring of the packets they are in. The zero value is
// empty. Its owner serialises every call; only the uplink reads bytes out
// of it (peek) while another call appends, which the rings keep apart.
type queue struct {
	b      *block
	r, n   int // bytes: first, count
	rr, rn int // records: first, count
}

func (q *queue) empty() bool { return q.n == 0 }

// room returns how many bytes may be appended.
func (q *queue) room() int {
	return min(queueBytes-q.n, (queueRecords-q.rn)*segment)
}

func (q *queue) block() *block {
	if q.b == nil {
		q.b = blocks.Get().(*block)
	}
	return q.b
}

// release gives the storage back once the queue is empty.
func (q *queue) release() {
	if q.n == 0 && q.b != nil {
		blocks.Put(q.b)
		q.b = nil
	}
}

// clear drops everything.
func (q *queue) clear() {
	q.r, q.n, q.rr, q.rn = 0, 0, 0, 0
	q.release()
}

// write appends p, at most room() bytes, to be timed by push.
func (q *queue) write(p []byte) {
	b := q.block()
	w := (q.r + q.n) & (queueBytes - 1)
	k := copy(b.data[w:], p)
	copy(b.data[:], p[k:])
	q.n += len(p)
}

// space returns the free bytes after the last, for a read to fill; grow
// appends what it filled.
func (q *queue) space() []byte {
	b := q.block()
	w := (q.r + q.n) & (queueBytes - 1)
	return b.data[w : w+min(q.room(), queueBytes-w)]
}

func (q *queue) grow(n int) { q.n += n }

// push records that the last n bytes appended form a packet due at due.
func (q *queue) push(n int, due int64) {
	q.b.recs[(q.rr+q.rn)&(queueRecords-1)] = record{due: due, n: int32(n)}
	q.rn++
}

func (q *queue) head() *record { return &q.b.recs[q.rr] }

func (q *queue) tail() *record {
	if q.rn == 0 {
		return nil
	}
	return &q.b.recs[(q.rr+q.rn-1)&(queueRecords-1)]
}

// ready returns how many bytes from the first are due at now, up to limit,
// and seals the packets they are in.
func (q *queue) ready(now int64, limit int) int {
	n := 0
	for i := 0; i < q.rn && n < limit; i++ {
		r := &q.b.recs[(q.rr+i)&(queueRecords-1)]
		if r.due > now {
			break
		}
		r.sealed = true
		n += int(r.n)
	}
	return min(n, limit)
}

// peek returns the first bytes, up to n, as far as they run unbroken.
func (q *queue) peek(n int) []byte {
	return q.b.data[q.r : q.r+min(n, queueBytes-q.r)]
}

// take moves the bytes due at now into p and returns how many.
func (q *queue) take(p []byte, now int64) int {
	if q.rn == 0 {
		return 0
	}
	n := q.ready(now, len(p))
	k := copy(p[:n], q.b.data[q.r:])
	copy(p[k:n], q.b.data[:])
	q.discard(n)
	return n
}

// discard drops the first n bytes, which must be ready.
func (q *queue) discard(n int) {
	q.r = (q.r + n) & (queueBytes - 1)
	q.n -= n
	for n > 0 {
		r := &q.b.recs[q.rr]
		k := min(n, int(r.n))
		r.n -= int32(k)
		r.sealed = true
		n -= k
		if r.n == 0 {
			q.rr = (q.rr + 1) & (queueRecords - 1)
			q.rn--
		}
	}
	if q.n == 0 {
		q.r, q.rr = 0, 0
	}
}
