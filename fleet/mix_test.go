package fleet

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestKnownIDsNeverBringBackADeletedID replays the race behind a spurious
// 404: a list answer that left the backend before a delete finished must
// not make the deleted id known again.
func TestKnownIDsNeverBringBackADeletedID(t *testing.T) {
	var k knownIDs
	k.set([]string{"a"})
	id := k.take(rand.New(rand.NewPCG(1, 2))) // a delete starts
	if id != "a" || len(k.ids) != 0 {
		t.Fatalf("take = %q, known %v", id, k.ids)
	}
	k.forget(id)
	k.set([]string{"a", "b"}) // a list answer from before the delete
	k.add("a")                // an upsert answer from before the delete
	if !slices.Equal(k.ids, []string{"b"}) {
		t.Fatalf("known %v, want [b]: the deleted id came back", k.ids)
	}
}

// TestKnownIDsAreBounded keeps the newest ids, known and deleted alike.
func TestKnownIDsAreBounded(t *testing.T) {
	var k knownIDs
	var ids []string
	for i := range 3 * maxKnownIDs {
		id := string(rune('A' + i))
		ids = append(ids, id)
		k.add(id)
		k.forget("gone-" + id)
	}
	if !slices.Equal(k.ids, ids[len(ids)-maxKnownIDs:]) || len(k.gone) != maxKnownIDs {
		t.Fatalf("known %v (%d deleted), want the newest %d of each", k.ids, len(k.gone), maxKnownIDs)
	}
	k.add(ids[len(ids)-1]) // known already: not twice
	if len(k.ids) != maxKnownIDs {
		t.Fatalf("%d known after adding a known id", len(k.ids))
	}
}

// TestMixFollowsWeights draws many actions and checks their shares, and
// that a zero weight is never drawn.
func TestMixFollowsWeights(t *testing.T) {
	m := newMix(map[string]int{"list": 70, "create": 20, "update": 10, "delete": 0})
	const n = 20000
	rng := rand.New(rand.NewPCG(7, 8))
	got := map[string]int{}
	for range n {
		got[m.pick(rng)]++
	}
	for action, want := range map[string]float64{"list": 0.7, "create": 0.2, "update": 0.1} {
		if share := float64(got[action]) / n; share < want-0.02 || share > want+0.02 {
			t.Errorf("%s drawn %.3f of the time, want %.2f", action, share, want)
		}
	}
	if got["delete"] != 0 {
		t.Errorf("delete (weight 0) drawn %d times", got["delete"])
	}
}
