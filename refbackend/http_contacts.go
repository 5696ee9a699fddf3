package refbackend

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// contactRow is a stored contact; seq orders contacts of equal priority by
// creation.
type contactRow struct {
	c   contract.Contact
	seq uint64
}

type contactsBody struct {
	Contacts []contract.Contact `json:"contacts"`
}

type contactBody struct {
	Contact contract.Contact `json:"contact"`
}

// contactsList serves GET /v1/sdk/contacts: 200 {"contacts":[…]} sorted by
// priority (ascending), then by creation.
func (a *api) contactsList(w http.ResponseWriter, _ *http.Request, u *user, _ string) {
	u.mu.Lock()
	rows := make([]*contactRow, 0, len(u.contacts))
	for _, row := range u.contacts {
		rows = append(rows, row)
	}
	u.mu.Unlock()
	slices.SortFunc(rows, func(x, y *contactRow) int {
		if x.c.Priority != y.c.Priority {
			return cmp.Compare(x.c.Priority, y.c.Priority)
		}
		return cmp.Compare(x.seq, y.seq)
	})
	body := contactsBody{Contacts: make([]contract.Contact, len(rows))}
	for i, row := range rows {
		body.Contacts[i] = row.c
	}
	writeJSON(w, http.StatusOK, body)
}

// contactsCreate serves POST /v1/sdk/contacts: 201 {"contact":{…}} with a
// new id "ct_<n>"; 409 when the user already has MaxContactsPerUser.
func (a *api) contactsCreate(w http.ResponseWriter, r *http.Request, u *user, _ string) {
	in, apiErr := a.contactInput(w, r)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	u.mu.Lock()
	if len(u.contacts) >= a.s.cfg.MaxContactsPerUser {
		u.mu.Unlock()
		writeError(w, http.StatusConflict, fmt.Sprintf("contact limit reached (%d per user)", a.s.cfg.MaxContactsPerUser))
		return
	}
	seq := a.contactSeq.Add(1)
	now := contract.Timestamp(time.Now())
	row := &contactRow{seq: seq, c: contract.Contact{
		ID:        "ct_" + strconv.FormatUint(seq, 10),
		Name:      in.Name,
		Phone:     in.Phone,
		Email:     in.Email,
		Priority:  in.Priority,
		CreatedAt: now,
		UpdatedAt: now,
	}}
	if u.contacts == nil {
		u.contacts = make(map[string]*contactRow)
	}
	u.contacts[row.c.ID] = row
	c := row.c
	u.mu.Unlock()
	writeJSON(w, http.StatusCreated, contactBody{Contact: c})
}

// contactsUpdate serves PUT /v1/sdk/contacts/{id}: 200 {"contact":{…}}; 404
// if the user has no contact with that id.
func (a *api) contactsUpdate(w http.ResponseWriter, r *http.Request, u *user, id string) {
	in, apiErr := a.contactInput(w, r)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	u.mu.Lock()
	row := u.contacts[id]
	if row == nil {
		u.mu.Unlock()
		writeError(w, http.StatusNotFound, "contact not found: "+id)
		return
	}
	row.c.Name, row.c.Phone, row.c.Email, row.c.Priority = in.Name, in.Phone, in.Email, in.Priority
	row.c.UpdatedAt = contract.Timestamp(time.Now())
	c := row.c
	u.mu.Unlock()
	writeJSON(w, http.StatusOK, contactBody{Contact: c})
}

// contactsDelete serves DELETE /v1/sdk/contacts/{id}: 204; 404 if unknown.
func (a *api) contactsDelete(w http.ResponseWriter, _ *http.Request, u *user, id string) {
	u.mu.Lock()
	_, ok := u.contacts[id]
	delete(u.contacts, id)
	u.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "contact not found: "+id)
		return
	}
	writeNoContent(w)
}

// contactInput reads a contact body (parseContact).
func (a *api) contactInput(w http.ResponseWriter, r *http.Request) (contract.ContactInput, *apiError) {
	body, apiErr := readBody(w, r, a.s.cfg.MaxBodyBytes)
	if apiErr != nil {
		return contract.ContactInput{}, apiErr
	}
	return parseContact(body)
}

// parseContact decodes a contact body (contract §2.8): name, phone and
// email strings and an integer priority, all four required; unknown keys
// are ignored. A problem is a 400 naming every problem.
func parseContact(body []byte) (contract.ContactInput, *apiError) {
	f, apiErr := parseObject(body)
	if apiErr != nil {
		return contract.ContactInput{}, apiErr
	}
	in := contract.ContactInput{
		Name:     f.str("name"),
		Phone:    f.str("phone"),
		Email:    f.str("email"),
		Priority: f.integer("priority"),
	}
	return in, f.err()
}
