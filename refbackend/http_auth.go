package refbackend

import (
	"net/http"
	"strings"

	"github.com/eixamsim/eixamsim/contract"
)

// Reasons an HTTP request is refused with 401, besides reasonUnknownApp and
// reasonBadHash (Stats keys).
const (
	reasonMissingHeaders   = "missing_headers"   // X-App-ID, X-User-ID or Authorization absent
	reasonBadAuthorization = "bad_authorization" // Authorization is not "Bearer <hash>"
)

// authenticate checks the SDK headers of contract §2.1: X-App-ID names a
// configured app and Authorization is "Bearer <HMAC of X-User-ID>" (scheme
// case-insensitive, constant-time compare). It returns the user, or nil and
// the reason.
func (a *api) authenticate(r *http.Request) (*user, string) {
	app := r.Header.Get(contract.HeaderAppID)
	external := r.Header.Get(contract.HeaderUserID)
	authorization := r.Header.Get("Authorization")
	if app == "" || external == "" || authorization == "" {
		return nil, reasonMissingHeaders
	}
	scheme, token, ok := strings.Cut(authorization, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return nil, reasonBadAuthorization
	}
	return a.s.ids.authenticate(app, external, token)
}
