package fleet

import (
	"fmt"
	"sync"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/netem"
	"github.com/eixamsim/eixamsim/scenario"
)

// domainNetwork is the random domain of the users' network profile draws
// and links, by user index (seed.go).
const domainNetwork randDomain = 100

// fleetNet holds the users' mobile links (fleet.network): each user's
// profile, drawn by weight from the run seed and the user's index in the
// whole run (so a user has the same profile in a sharded run as in the
// unsharded one), and its netem.Link, which all its connections share.
// With the network off it is nil, and every method is a no-op on nil.
//
// It also records the per-profile twins of latency metrics
// (scenario.MetricAtProfile): created in the registry at their first
// sample, so they reach the hlogs, the shard merge and the reports like
// any metric.
type fleetNet struct {
	names  []string // the profiles of the mix, sorted
	offset int      // the index in the whole run of this process's user 0
	users  []userLink
	reg    *metrics.Registry
	twins  sync.Map // twinKey -> *metrics.Latency
}

// userLink is one user's draw.
type userLink struct {
	profile int // index in fleetNet.names
	link    *netem.Link
}

type twinKey struct {
	metric  string
	profile int
}

// newFleetNet draws the links of users [offset, offset+users) of the run;
// nil when the scenario's network is off.
func newFleetNet(nw scenario.Network, seed uint64, offset, users int, reg *metrics.Registry) (*fleetNet, error) {
	if !nw.On() {
		return nil, nil
	}
	n := &fleetNet{names: nw.Names(), offset: offset, users: make([]userLink, users), reg: reg}
	profiles := make([]netem.Profile, len(n.names))
	weights := make([]int, len(n.names))
	total := 0
	for i, name := range n.names {
		p, ok := nw.Profile(name)
		if !ok {
			return nil, fmt.Errorf("fleet: network profile %q is not defined", name)
		}
		profiles[i], weights[i] = p, nw.Mix[name]
		total += weights[i]
	}
	for i := range n.users {
		rng := newRand(seed, domainNetwork, offset+i)
		pick := rng.IntN(total)
		k := 0
		for pick >= weights[k] {
			pick -= weights[k]
			k++
		}
		link, err := netem.NewLink(profiles[k], rng.Uint64())
		if err != nil {
			return nil, fmt.Errorf("fleet: network profile %q: %w", n.names[k], err)
		}
		n.users[i] = userLink{profile: k, link: link}
	}
	return n, nil
}

// user returns the draw of the user with index (in the whole run) index.
func (n *fleetNet) user(index int) userLink { return n.users[index-n.offset] }

// link returns the link of the user with run index index; nil with the
// network off.
func (n *fleetNet) link(index int) *netem.Link {
	if n == nil {
		return nil
	}
	return n.user(index).link
}

// profile returns the name of the user's profile; "" with the network off.
func (n *fleetNet) profile(index int) string {
	if n == nil {
		return ""
	}
	return n.names[n.user(index).profile]
}

// twin returns the per-profile twin of metric for the user with run index
// index; nil with the network off.
func (n *fleetNet) twin(index int, metric string) *metrics.Latency {
	if n == nil {
		return nil
	}
	k := twinKey{metric, n.user(index).profile}
	if t, ok := n.twins.Load(k); ok {
		return t.(*metrics.Latency)
	}
	t, _ := n.twins.LoadOrStore(k, n.reg.Latency(scenario.MetricAtProfile(metric, n.names[k.profile])))
	return t.(*metrics.Latency)
}

// record records d on m and on its twin for the user.
func (n *fleetNet) record(index int, m *metrics.Latency, d time.Duration) {
	m.Record(d)
	if t := n.twin(index, m.Name()); t != nil {
		t.Record(d)
	}
}

// fail counts a failure of class on m and on its twin for the user.
func (n *fleetNet) fail(index int, m *metrics.Latency, class string, err error) {
	m.Fail(class, err)
	if t := n.twin(index, m.Name()); t != nil {
		t.Fail(class, err)
	}
}

// count counts an error of class (without a message) on m and its twin.
func (n *fleetNet) count(index int, m *metrics.Latency, class string) {
	m.Error(class)
	if t := n.twin(index, m.Name()); t != nil {
		t.Error(class)
	}
}
