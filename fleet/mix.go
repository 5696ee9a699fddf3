package fleet

import (
	"math/rand/v2"
	"slices"
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

// pick returns an action with probability weight/total, drawn from rng.
func (m mix) pick(rng *rand.Rand) string {
	n := rng.IntN(m.total)
	for i, w := range m.weights {
		if n < w {
			return m.names[i]
		}
		n -= w
	}
	return m.names[len(m.names)-1]
}

// maxKnownIDs bounds the contact and device ids a user remembers, and the
// deleted ids it remembers too.
const maxKnownIDs = 16

// knownIDs is what one user knows of a resource's ids (its contacts, its
// devices). Calls run concurrently, so it also remembers the ids it
// deleted: a list or upsert answer that left the backend before a delete
// must not bring a deleted id back (a later update or delete would get a
// 404 the backend is right to send).
type knownIDs struct {
	ids  []string // known ids, newest last
	gone []string // ids deleted or being deleted, newest last
}

// set replaces the known ids with ids, less the deleted ones.
func (k *knownIDs) set(ids []string) {
	k.ids = k.ids[:0]
	for _, id := range ids {
		k.add(id)
	}
}

// add remembers id unless it was deleted or is known.
func (k *knownIDs) add(id string) {
	if slices.Contains(k.gone, id) || slices.Contains(k.ids, id) {
		return
	}
	k.ids = lastN(append(k.ids, id), maxKnownIDs)
}

// take removes and returns a known id picked with rng ("" if none), so
// that one call uses it at a time.
func (k *knownIDs) take(rng *rand.Rand) string {
	n := len(k.ids)
	if n == 0 {
		return ""
	}
	i := rng.IntN(n)
	id := k.ids[i]
	k.ids = slices.Delete(k.ids, i, i+1)
	return id
}

// forget marks id deleted.
func (k *knownIDs) forget(id string) {
	k.gone = lastN(append(k.gone, id), maxKnownIDs)
}

func lastN(ids []string, n int) []string {
	if len(ids) > n {
		ids = ids[len(ids)-n:]
	}
	return ids
}
