package fleet

import (
	"math/rand/v2"
	"sync"
)

// onlineSet is the users that are online, for handing out arrivals. Its
// lock is taken after a user's lock, never before.
type onlineSet struct {
	mu    sync.Mutex
	users []*user
	rr    uint64 // round-robin cursor
}

// add puts u in the set. Call with u.mu held.
func (s *onlineSet) add(u *user) {
	s.mu.Lock()
	u.onlinePos = len(s.users)
	s.users = append(s.users, u)
	s.mu.Unlock()
}

// remove takes u out of the set. Call with u.mu held.
func (s *onlineSet) remove(u *user) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := u.onlinePos
	if i < 0 {
		return
	}
	last := len(s.users) - 1
	s.users[i] = s.users[last]
	s.users[i].onlinePos = i
	s.users[last] = nil
	s.users = s.users[:last]
	u.onlinePos = -1
}

// pickSamples is how many online users candidates offers before it falls
// back to all of them.
const pickSamples = 8

// candidates returns the users an arrival is offered to first: the next
// one in round-robin order, then ones picked with rng, pickSamples in all
// (nil when nobody is online). An arrival costs O(1) while most users can take it.
func (s *onlineSet) candidates(buf *[pickSamples]*user, rng *rand.Rand) []*user {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.users)
	if n == 0 {
		return nil
	}
	s.rr++
	buf[0] = s.users[int(s.rr%uint64(n))]
	for i := 1; i < len(buf); i++ {
		buf[i] = s.users[rng.IntN(n)]
	}
	return buf[:]
}

// all returns every online user, starting at a random one.
func (s *onlineSet) all(rng *rand.Rand) []*user {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.users)
	out := make([]*user, n)
	if n == 0 {
		return out
	}
	first := rng.IntN(n)
	for i := range out {
		out[i] = s.users[(first+i)%n]
	}
	return out
}

// empty reports whether nobody is online.
func (s *onlineSet) empty() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users) == 0
}
