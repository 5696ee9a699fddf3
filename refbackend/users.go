package refbackend

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/eixamsim/eixamsim/contract"
)

// Reasons an identity is refused, shared by MQTT and HTTP (Stats keys).
const (
	reasonUnknownApp = "unknown_app" // the app id is not configured
	reasonBadHash    = "bad_hash"    // password / bearer token is not the user's HMAC
)

// userKey identifies a user: everything user-scoped is keyed by app and the
// external id the SDK sends (raw, untrimmed).
type userKey struct{ app, external string }

// user is the server-side state of one authenticated user. Fields above mu
// never change after creation; the rest is guarded by mu.
type user struct {
	app, external string
	id            string // stable backend id: "usr_" + 16 hex chars of SHA-256(app, external)
	canonical     string // canonical external id (contract §1.4)
	telTopic      string // tel/<seg>/data
	eventsTopic   string // sos/events/<seg>

	mu          sync.Mutex
	contacts    map[string]*contactRow // by contact id
	devices     map[string]*deviceRow  // by row id
	incident    *incident              // the open incident, nil if none
	telAccepted int64
	telRejected int64
	lastPos     *Position
	lastEventAt time.Time // due time of the user's latest scheduled event (keeps order)
	lastAlertAt time.Time // due time of the user's latest delayed alert (keeps order)
}

// identities verifies credentials and holds the user registry. The registry
// only grows on a successful authentication, so its size is bounded by the
// number of users holding a valid signature.
type identities struct {
	apps   map[string][]byte
	prefix string

	mu    sync.RWMutex
	users map[userKey]*user
}

func newIdentities(apps map[string][]byte, canonicalPrefix string) *identities {
	return &identities{apps: apps, prefix: canonicalPrefix, users: make(map[userKey]*user)}
}

// authenticate checks hash against HMAC-SHA256(secret of app, external) in
// constant time and returns the user, creating it on first success. On
// failure it returns nil and the reason (reasonUnknownApp, reasonBadHash).
func (ids *identities) authenticate(app, external, hash string) (*user, string) {
	secret, ok := ids.apps[app]
	if !ok {
		return nil, reasonUnknownApp
	}
	if !contract.Verify(secret, external, hash) {
		return nil, reasonBadHash
	}
	return ids.user(app, external), ""
}

// user returns the registry entry of (app, external), creating it.
func (ids *identities) user(app, external string) *user {
	key := userKey{app, external}
	ids.mu.RLock()
	u := ids.users[key]
	ids.mu.RUnlock()
	if u != nil {
		return u
	}
	ids.mu.Lock()
	defer ids.mu.Unlock()
	if u = ids.users[key]; u == nil {
		u = newUser(app, external, canonicalID(ids.prefix, external))
		ids.users[key] = u
	}
	return u
}

// all returns every registered user.
func (ids *identities) all() []*user {
	ids.mu.RLock()
	defer ids.mu.RUnlock()
	out := make([]*user, 0, len(ids.users))
	for _, u := range ids.users {
		out = append(out, u)
	}
	return out
}

// canonicalID is the canonical external id of a user (contract §1.4):
// prefix + external, unless the SDK would not use that string as it is —
// it trims /me's external_user_id (contract.Trim) and refuses an empty one,
// and JSON cannot carry bytes that are not UTF-8 — or it starts with '%';
// then it is '%' + its encodeURIComponent form. So what /me returns is the
// id the SDK builds its topics from, and no two users share one: only
// escaped ids start with '%', and the escape is injective. Without this,
// " u2" would be told " u2", use "u2" and subscribe to u2's events.
func canonicalID(prefix, external string) string {
	c := prefix + external
	if c != "" && contract.Trim(c) == c && utf8.ValidString(c) && !strings.HasPrefix(c, "%") {
		return c
	}
	return "%" + contract.EncodeSegment(c)
}

func newUser(app, external, canonical string) *user {
	sum := sha256.Sum256([]byte(app + "\x00" + external))
	return &user{
		app:         app,
		external:    external,
		id:          "usr_" + hex.EncodeToString(sum[:8]),
		canonical:   canonical,
		telTopic:    contract.TelemetryTopic(canonical),
		eventsTopic: contract.EventsTopic(canonical),
	}
}
