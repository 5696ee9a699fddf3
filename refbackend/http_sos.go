package refbackend

import (
	"net/http"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// sosGet serves GET /v1/sdk/sos (contract §2.4): the open incident in the
// §2.7 shape, or {"incident":null}. Closed incidents are never returned.
func (a *api) sosGet(w http.ResponseWriter, _ *http.Request, u *user, _ string) {
	writeJSON(w, http.StatusOK, contract.IncidentBody{Incident: a.s.life.current(u)})
}

// sosCancel serves POST /v1/sdk/sos/cancel (contract §2.5). Any request body
// is ignored. The open incident (active or acknowledged) becomes cancelled
// and is returned, with a "cancelled" event; with none open the answer is
// 200 {"incident":null}.
func (a *api) sosCancel(w http.ResponseWriter, _ *http.Request, u *user, _ string) {
	writeJSON(w, http.StatusOK, contract.IncidentBody{Incident: a.s.life.close(u, contract.StateCancelled, time.Now())})
}

// sosResolve serves POST /v1/sdk/sos/resolve like sosCancel, with state
// resolved.
func (a *api) sosResolve(w http.ResponseWriter, _ *http.Request, u *user, _ string) {
	writeJSON(w, http.StatusOK, contract.IncidentBody{Incident: a.s.life.close(u, contract.StateResolved, time.Now())})
}

// sosCreate serves POST /v1/sdk/sos (contract §2.6, Android Protection
// Mode). Body: latitude and longitude (required numbers in range), altitude
// (number, null or absent), timestamp (string, not interpreted: the Android
// client does not force UTC), deviceId (optional string). With no incident
// open it opens one exactly like an MQTT alert and answers 201; with one
// open it answers 200 with it, after moving it to the new position and
// re-publishing its state (the same rule as a duplicate alert).
func (a *api) sosCreate(w http.ResponseWriter, r *http.Request, u *user, _ string) {
	body, apiErr := readBody(w, r, a.s.cfg.MaxBodyBytes)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	p, apiErr := parseSOSCreate(body)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	inc, created := a.s.life.raise(u, p, viaHTTP, time.Now())
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, contract.IncidentBody{Incident: inc})
}

// parseSOSCreate decodes a POST /v1/sdk/sos body: latitude and longitude
// (required numbers in range), altitude (number, null or absent),
// timestamp and deviceId (optional strings). A problem is a 400 naming
// every problem.
func parseSOSCreate(body []byte) (sosPosition, *apiError) {
	f, apiErr := parseObject(body)
	if apiErr != nil {
		return sosPosition{}, apiErr
	}
	p := sosPosition{
		latitude:  f.number("latitude"),
		longitude: f.number("longitude"),
		altitude:  f.optNumber("altitude"),
		deviceID:  f.optStr("deviceId"),
	}
	f.optStr("timestamp")
	if p.latitude < -90 || p.latitude > 90 {
		f.problem("latitude must be within -90..90")
	}
	if p.longitude < -180 || p.longitude > 180 {
		f.problem("longitude must be within -180..180")
	}
	return p, f.err()
}
