package fleet

import (
	"context"
	"fmt"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

var _ behaviour = (*contacts)(nil)

// contacts calls the emergency contacts endpoints (contract §2.8) at a
// fleet-wide rate, each arrival an action picked from the mix. update and
// delete go preferably to a user that knows a contact; a user that knows
// none makes it a create, as a person would add a contact first.
type contacts struct {
	mix     mix
	process string // arrival spacing
	http    *sdkHTTP
	timeout time.Duration // bound on one call
	latency map[string]*metrics.Latency
	// ids holds each user's known contact ids; guarded by the user's lock.
	ids []knownIDs
}

func newContacts(e env) behaviour {
	c := e.sc.Behaviours.Contacts
	if c == nil {
		return nil
	}
	return &contacts{
		mix:     newMix(c.Mix),
		process: c.Arrivals,
		http:    e.http,
		timeout: e.sc.Fleet.HTTPTimeout,
		latency: map[string]*metrics.Latency{
			"list":   e.reg.Latency(scenario.HTTPContactsList),
			"create": e.reg.Latency(scenario.HTTPContactsCreate),
			"update": e.reg.Latency(scenario.HTTPContactsUpdate),
			"delete": e.reg.Latency(scenario.HTTPContactsDelete),
		},
		ids: make([]knownIDs, e.users),
	}
}

func (b *contacts) when() trigger {
	return trigger{kind: onArrival, process: b.process, fallback: true}
}

// claim picks the arrival's action (once) and, for update and delete,
// takes a contact id out of u's known set while it is in use, so two
// actions of one user never race on one contact.
func (b *contacts) claim(o *occurrence, u *user, _ *life) work {
	if o.choice == "" {
		o.choice = b.mix.pick(o.rng)
	}
	action, id := o.choice, ""
	if action == "update" || action == "delete" {
		known := &b.ids[u.index]
		if id = known.take(o.rng); id == "" {
			if !o.fallback {
				return nil
			}
			action = "create"
		}
		if action == "delete" {
			known.forget(id)
		}
	}
	intended := o.intended
	var input contract.ContactInput
	if action == "create" || action == "update" {
		rng := o.rng
		input = contract.ContactInput{Name: fmt.Sprintf("Contact %d", rng.IntN(1000)), Phone: fmt.Sprintf("+346%08d", rng.IntN(1e8)), Email: fmt.Sprintf("c%d@example.test", rng.IntN(1e6)), Priority: 1 + rng.IntN(3)}
	}
	return func(context.Context) error {
		b.do(u, action, id, input, intended)
		return nil
	}
}

// missed counts a dropped arrival against the action it was (or would
// have been) given.
func (b *contacts) missed(o *occurrence, class string) {
	if o.choice == "" {
		o.choice = b.mix.pick(o.rng)
	}
	b.latency[o.choice].Error(class)
}

// do runs one contacts call of u for an arrival due at intended.
func (b *contacts) do(u *user, action, id string, input contract.ContactInput, intended time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	defer cancel()
	var class string
	var err error
	switch action {
	case "list":
		var out struct {
			Contacts []contract.Contact `json:"contacts"`
		}
		class, err = b.http.call(ctx, u.sess, "GET", contract.PathContacts, nil, isStatus(200), &out)
		if err == nil {
			ids := make([]string, 0, len(out.Contacts))
			for _, c := range out.Contacts {
				ids = append(ids, c.ID)
			}
			b.remember(u, ids, false)
		}
	case "create":
		var out struct {
			Contact contract.Contact `json:"contact"`
		}
		class, err = b.http.call(ctx, u.sess, "POST", contract.PathContacts, input, isStatus(201), &out)
		if err == nil {
			b.remember(u, []string{out.Contact.ID}, true)
		}
	case "update":
		class, err = b.http.call(ctx, u.sess, "PUT", contract.PathContacts+"/"+id, input, isStatus(200), nil)
		if err == nil {
			b.remember(u, []string{id}, true)
		}
	case "delete":
		class, err = b.http.call(ctx, u.sess, "DELETE", contract.PathContacts+"/"+id, nil, isStatus(204), nil)
	}
	observe(b.latency[action], intended, class, err)
}

// remember sets u's known contacts to ids, or adds ids to them.
func (b *contacts) remember(u *user, ids []string, add bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !add {
		b.ids[u.index].set(ids)
		return
	}
	for _, id := range ids {
		b.ids[u.index].add(id)
	}
}
