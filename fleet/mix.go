package fleet

import (
	"math/rand/v2"
	"sort"
)

// mix picks actions by weight.
type mix struct {
	names   []string
	weights []int
	total   int
}

// newMix returns the mix of weights (action -> weight >= 0, sum > 0, as the
// scenario resolves it).
func newMix(weights map[string]int) mix {
	m := mix{}
	for name := range weights {
		m.names = append(m.names, name)
	}
	sort.Strings(m.names) // deterministic order for a seeded source
	for _, name := range m.names {
		m.weights = append(m.weights, weights[name])
		m.total += weights[name]
	}
	return m
}

// pick returns an action with probability weight/total.
func (m mix) pick() string {
	n := rand.IntN(m.total)
	for i, w := range m.weights {
		if n < w {
			return m.names[i]
		}
		n -= w
	}
	return m.names[len(m.names)-1]
}

// maxKnownIDs bounds the contact and device ids a user remembers.
const maxKnownIDs = 16

func lastN(ids []string, n int) []string {
	if len(ids) > n {
		ids = ids[len(ids)-n:]
	}
	return ids
}

func remove(ids []string, id string) []string {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// takeRandom removes and returns a random id of *ids ("" if none).
func takeRandom(ids *[]string) string {
	n := len(*ids)
	if n == 0 {
		return ""
	}
	id := (*ids)[rand.IntN(n)]
	*ids = remove(*ids, id)
	return id
}
