package fleet

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// maxKnownIDs bounds the contact and device ids a user remembers.
const maxKnownIDs = 16

// mix picks actions by weight.
type mix struct {
	names   []string
	weights []int
	total   int
}

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

// contactAction runs one contacts call (contract §2.8) for an arrival due
// at intended. update and delete need a contact the user knows; without
// one they become a create, as a person would add a contact first.
func (r *runner) contactAction(u *user, action string, intended time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), r.sc.Fleet.HTTPTimeout)
	defer cancel()
	var id string
	if action == "update" || action == "delete" {
		// Take the id out of the known set while it is in use, so two
		// concurrent actions of one user never race on one contact.
		if id = u.takeContact(); id == "" {
			action = "create"
		}
	}
	input := contract.ContactInput{Name: fmt.Sprintf("Contact %d", rand.IntN(1000)), Phone: fmt.Sprintf("+346%08d", rand.IntN(1e8)), Email: fmt.Sprintf("c%d@example.test", rand.IntN(1e6)), Priority: 1 + rand.IntN(3)}
	var class string
	var err error
	switch action {
	case "list":
		var out struct {
			Contacts []contract.Contact `json:"contacts"`
		}
		class, err = r.http.call(ctx, u.sess, "GET", contract.PathContacts, nil, isStatus(200), &out)
		if err == nil {
			ids := make([]string, 0, len(out.Contacts))
			for _, c := range out.Contacts {
				ids = append(ids, c.ID)
			}
			u.rememberContacts(ids)
		}
	case "create":
		var out struct {
			Contact contract.Contact `json:"contact"`
		}
		class, err = r.http.call(ctx, u.sess, "POST", contract.PathContacts, input, isStatus(201), &out)
		if err == nil {
			u.rememberContacts(append(u.knownContacts(), out.Contact.ID))
		}
	case "update":
		class, err = r.http.call(ctx, u.sess, "PUT", contract.PathContacts+"/"+id, input, isStatus(200), nil)
		if err == nil {
			u.rememberContacts(append(u.knownContacts(), id))
		}
	case "delete":
		class, err = r.http.call(ctx, u.sess, "DELETE", contract.PathContacts+"/"+id, nil, isStatus(204), nil)
	}
	r.observe(httpMetric("contacts_"+action), intended, class, err)
}

// deviceAction runs one device registry call (contract §2.9).
func (r *runner) deviceAction(u *user, action string, intended time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), r.sc.Fleet.HTTPTimeout)
	defer cancel()
	u.mu.Lock()
	var id string
	if n := len(u.deviceIDs); n > 0 && action == "delete" {
		id = u.deviceIDs[rand.IntN(n)]
		u.deviceIDs = remove(u.deviceIDs, id)
	}
	hardwareID := u.dev.hardwareID
	u.mu.Unlock()
	if id == "" && action == "delete" {
		action = "upsert"
	}
	var class string
	var err error
	switch action {
	case "list":
		var out struct {
			Devices []contract.Device `json:"devices"`
		}
		class, err = r.http.call(ctx, u.sess, "GET", contract.PathDevices, nil, isStatus(200), &out)
		if err == nil {
			ids := make([]string, 0, len(out.Devices))
			for _, d := range out.Devices {
				ids = append(ids, d.ID)
			}
			u.mu.Lock()
			u.deviceIDs = lastN(ids, maxKnownIDs)
			u.mu.Unlock()
		}
	case "upsert":
		in := contract.DeviceInput{HardwareID: hardwareID, FirmwareVersion: "2.5.1", HardwareModel: "EIXAM TAG", PairedAt: contract.Timestamp(time.Now())}
		var out struct {
			Device contract.Device `json:"device"`
		}
		class, err = r.http.call(ctx, u.sess, "POST", contract.PathDevices, in, isStatus(200), &out)
		if err == nil {
			u.mu.Lock()
			u.deviceIDs = []string{out.Device.ID} // upsert is keyed by hardware id: one row per tag
			u.mu.Unlock()
		}
	case "delete":
		class, err = r.http.call(ctx, u.sess, "DELETE", contract.PathDevices+"/"+id, nil, isStatus(204), nil)
	}
	r.observe(httpMetric("devices_"+action), intended, class, err)
}

func (u *user) knownContacts() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.contactIDs...)
}

func (u *user) rememberContacts(ids []string) {
	u.mu.Lock()
	u.contactIDs = lastN(ids, maxKnownIDs)
	u.mu.Unlock()
}

// takeContact removes and returns a random known contact id ("" if none).
func (u *user) takeContact() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := len(u.contactIDs)
	if n == 0 {
		return ""
	}
	id := u.contactIDs[rand.IntN(n)]
	u.contactIDs = remove(u.contactIDs, id)
	return id
}

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
