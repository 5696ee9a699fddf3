package fleet

import (
	"context"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/errclass"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// Android Protection Mode (behaviours.protection, contract §2.4 item 6,
// §2.6, §6.6): a native foreground service with its own HTTP client
// (sdkHTTP.nativeCall) beside the Dart SDK. It reads GET /v1/sdk/sos when
// it starts and before each create and cancel. Its start is the
// protectionStart behaviour below; its work on a device SOS is
// sosRun.protectionService, run by the SOS flow.

// The Protection Mode service's countdown and retry backoff; variables
// only so that tests need not wait 20 s.
var (
	protectionCountdown = scenario.ProtectionCountdown
	protectionBackoff   = scenario.ProtectionBackoff
)

// protectedUser reports whether user index runs Protection Mode under p: a
// fixed draw per user (a multiplicative hash of the index into [0, 1)),
// so a user keeps its answer across lives and runs.
func protectedUser(p *scenario.Protection, index int) bool {
	if p == nil {
		return false
	}
	h := uint32(uint64(index+1) * 2654435761)
	return p.Protected(float64(h) / (1 << 32))
}

var _ behaviour = (*protectionStart)(nil)

// protectionStart is the service's start ("native runtime start"): the
// service runs for as long as the app holds a session, so each life of a
// protected user starts it once, after the SDK's login calls (the login
// behaviour's row comes first), with one GET /v1/sdk/sos. The GET runs
// beside the SDK's MQTT connect, as the service's own client does: it
// neither delays nor fails the SDK's login (user.login).
type protectionStart struct {
	protection *scenario.Protection
	http       *sdkHTTP
	sosGet     *metrics.Latency
}

func newProtectionStart(e env) behaviour {
	b := e.sc.Behaviours
	if b.Protection == nil || b.SOS == nil {
		return nil
	}
	return &protectionStart{protection: b.Protection, http: e.http, sosGet: e.reg.Latency(scenario.HTTPSOSGet)}
}

func (b *protectionStart) when() trigger { return trigger{kind: atLogin} }

func (b *protectionStart) claim(_ *occurrence, u *user, l *life) work {
	if !protectedUser(b.protection, u.index) {
		return nil
	}
	l.work.Add(1) // claim runs with u.mu held on the live life; stop waits for the GET
	return func(context.Context) error {
		u.r.goWork(func() {
			defer l.work.Done()
			ctx, cancel := context.WithTimeout(context.Background(), sosHTTPLimit)
			defer cancel()
			var body contract.IncidentBody
			t0 := time.Now()
			class, err := b.http.nativeCall(ctx, u.sess, "GET", contract.PathSOS, nil, is2xx, &body)
			observe(b.sosGet, t0, class, err)
		})
		return nil
	}
}

// missed does nothing: the start is not an arrival.
func (b *protectionStart) missed(*occurrence, string) {}

// What one create attempt of the service found.
type createOutcome int

const (
	createFailed    createOutcome = iota // its GET or POST failed: retried after the backoff
	alreadyActive                        // its GET showed an incident active: nothing to create
	createdOverHTTP                      // its POST answered an incident
)

// protectionService is the native service on one device SOS (contract
// §2.6, §6.6): a device SOS still held at the end of the countdown gets a
// create attempt — GET /v1/sdk/sos, then POST /v1/sdk/sos only if no
// incident is active or acknowledged — and a failed attempt (GET or POST)
// is tried again after the backoff while the cycle lasts. An incident
// already active ends the service's part: it created nothing, so it
// cancels nothing. Once it created, the close of the cycle (holdEnd) sends
// GET /v1/sdk/sos and then POST /v1/sdk/sos/cancel, whatever that GET
// showed (the contract orders the read before the cancel and sets no
// condition on it). A hold shorter than the countdown is cancelled on the
// device: nothing is sent.
func (s *sosRun) protectionService(ctx context.Context, u *user, alert contract.SOSAlert, holdEnd <-chan struct{}) {
	b := s.b
	if s.hold < b.countdown {
		return
	}
	body := contract.SOSCreate{Timestamp: alert.Timestamp, Latitude: alert.Latitude, Longitude: alert.Longitude, DeviceID: alert.DeviceID}
	alt := alert.Altitude
	body.Altitude = &alt
	wait := time.NewTimer(time.Until(s.start.Add(b.countdown)))
	defer wait.Stop()
attempts:
	for {
		select {
		case <-wait.C:
		case <-s.ended:
			return
		case <-holdEnd:
			return
		case <-ctx.Done():
			return
		}
		switch s.createAttempt(ctx, u, body) {
		case createdOverHTTP:
			break attempts
		case alreadyActive:
			return
		}
		if time.Now().Add(b.backoff).After(s.start.Add(s.hold)) {
			b.httpCreated.Error(errclass.NotCreated)
			return
		}
		wait.Reset(b.backoff)
	}
	select {
	case <-holdEnd:
	case <-ctx.Done():
		return
	}
	s.getSOS(ctx, u, true)
	t0 := time.Now()
	var answer contract.IncidentBody
	class, err := b.http.nativeCall(ctx, u.sess, "POST", contract.PathSOSCancel, nil, is2xx, &answer)
	observe(b.sosCancel, t0, class, err)
}

// createAttempt is one attempt of the service to create the device SOS:
// its GET /v1/sdk/sos precondition (§2.6), then, with nothing active, the
// POST. The service knows only these answers: it does not see the SDK's
// MQTT alert, so it creates whenever the backend does not show that
// alert's incident yet.
func (s *sosRun) createAttempt(ctx context.Context, u *user, body contract.SOSCreate) createOutcome {
	inc, ok := s.getSOS(ctx, u, true)
	switch {
	case !ok:
		return createFailed
	case inc != nil && (inc.State == contract.StateActive || inc.State == contract.StateAcknowledged):
		return alreadyActive
	case s.create(ctx, u, body):
		return createdOverHTTP
	}
	return createFailed
}

// create is one POST /v1/sdk/sos; it reports success (2xx with an
// incident, as the service requires). sos.http_created is recorded from
// the send to the incident seen active: its event or this answer.
func (s *sosRun) create(ctx context.Context, u *user, body contract.SOSCreate) bool {
	b := s.b
	t0 := time.Now()
	s.mu.Lock()
	s.createAt = t0
	s.mu.Unlock()
	var answer contract.IncidentBody
	class, err := b.http.nativeCall(ctx, u.sess, "POST", contract.PathSOS, body, is2xx, &answer)
	if !observe(b.sosCreate, t0, class, err) {
		return false
	}
	inc := answer.Incident
	if inc == nil {
		return false
	}
	b.rememberIncident(u, inc.ID)
	s.sawIncident(inc.ID)
	s.mu.Lock()
	s.createdID = inc.ID
	if !s.created && (inc.State == contract.StateActive || inc.State == contract.StateAcknowledged) {
		s.created = true
		b.httpCreated.Record(time.Since(t0))
	}
	s.mu.Unlock()
	return true
}
