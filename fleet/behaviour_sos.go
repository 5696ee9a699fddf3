package fleet

import (
	"github.com/eixamsim/eixamsim/errclass"

	"cmp"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// Timing of the SOS flow that is not the scenario's to set: how long the
// simulated SDK listens.
const (
	eventGrace   = 5 * time.Second  // how long past the end an event may still arrive
	sosHTTPLimit = 10 * time.Second // bound on the cancel/resolve exchange
)

// maxStaleIncidents is how many of a user's past incident ids are kept to
// filter late events.
const maxStaleIncidents = 4

var _ behaviour = (*sos)(nil)

// sos is the SDK's SOS flow for open-model arrivals (contract §4.4, §4.5):
// an idle online user publishes the alert, holds, then cancels — or
// resolves once acknowledged, since the SDK cannot cancel an acknowledged
// SOS — over HTTP, while it measures the lifecycle events on its event
// topic. Like the SDK it makes no HTTP call between the alert and the end
// action, unless sos.visible_poll asks for GET /v1/sdk/sos polls to
// measure sos.visible.
type sos struct {
	cfg        scenario.SOS
	withDevice bool // alerts carry the tag's hardware id (telemetry.device_id)
	http       *sdkHTTP
	log        *slog.Logger

	puback, delivered, acked, visible, cancelled, resolved *metrics.Latency
	// origins: the SOS clocks also get a twin per origin (sos.origin:
	// mixed), created in reg at their first sample.
	origins                       bool
	reg                           *metrics.Registry
	sosGet, sosCancel, sosResolve *metrics.Latency

	// Android Protection Mode (behaviours.protection): nil when off.
	protection             *scenario.Protection
	countdown, backoff     time.Duration // the native service's timing
	sosCreate, httpCreated *metrics.Latency
	duplicates             *metrics.Counter

	// incidents holds each user's recent incident ids, oldest first;
	// guarded by the user's lock.
	incidents [][]string
}

func newSOS(e env) behaviour {
	s := e.sc.Behaviours.SOS
	if s == nil {
		return nil
	}
	t := e.sc.Behaviours.Telemetry
	b := &sos{
		cfg:        *s,
		withDevice: t != nil && t.DeviceID,
		http:       e.http,
		log:        e.log,
		puback:     e.reg.Latency(scenario.SOSPuback),
		delivered:  e.reg.Latency(scenario.SOSDelivered),
		acked:      e.reg.Latency(scenario.SOSAcknowledged),
		visible:    e.reg.Latency(scenario.SOSVisible),
		cancelled:  e.reg.Latency(scenario.SOSCancelled),
		resolved:   e.reg.Latency(scenario.SOSResolved),
		sosGet:     e.reg.Latency(scenario.HTTPSOSGet),
		sosCancel:  e.reg.Latency(scenario.HTTPSOSCancel),
		sosResolve: e.reg.Latency(scenario.HTTPSOSResolve),
		incidents:  make([][]string, e.users),
		origins:    e.sc.Behaviours.OriginTwins(),
		reg:        e.reg,
		protection: e.sc.Behaviours.Protection,
		countdown:  protectionCountdown,
		backoff:    protectionBackoff,
	}
	if b.protection != nil { // its metrics exist only when it is on
		b.sosCreate = e.reg.Latency(scenario.HTTPSOSCreate)
		b.httpCreated = e.reg.Latency(scenario.SOSHTTPCreated)
		b.duplicates = e.reg.Counter(scenario.SOSDuplicateIncidents)
	}
	return b
}

func (b *sos) when() trigger { return trigger{kind: onArrival, process: b.cfg.Arrivals} }

// claim reserves u for one SOS by listening on its event topic; a user
// already running one (someone listening) declines.
func (b *sos) claim(o *occurrence, u *user, l *life) work {
	if l.events != nil {
		return nil
	}
	hold := b.cfg.Hold
	if b.cfg.HoldMax > hold {
		hold += time.Duration(o.rng.Int64N(int64(b.cfg.HoldMax - hold)))
	}
	s := &sosRun{
		b:       b,
		u:       u,
		start:   o.intended,
		hold:    hold,
		coin:    b.cfg.End == scenario.EndMixed && o.rng.IntN(2) == 0,
		device:  b.drawDevice(o),
		ids:     map[string]bool{},
		stale:   slices.Clone(b.incidents[u.index]),
		firstEv: make(chan struct{}),
		ended:   l.done,
	}
	s.protect = s.device && protectedUser(b.protection, u.index)
	l.events = s.onPublish
	// A device SOS carries the tag's hardware id whatever telemetry.device_id says (contract §6.4).
	alert := u.dev.alert(time.Now(), u.canonical, b.withDevice || s.device)
	c := l.conn()
	return func(context.Context) error {
		defer func() {
			u.mu.Lock()
			l.events = nil
			u.mu.Unlock()
		}()
		s.run(u, c, alert)
		return nil
	}
}

// drawDevice decides whether this SOS starts on the paired tag. It draws
// from the arrival's stream only for origin: mixed, so app-only and
// device-only runs keep the draws they had.
func (b *sos) drawDevice(o *occurrence) bool {
	if b.cfg.Origin != scenario.OriginMixed {
		return b.cfg.Origin == scenario.OriginDevice
	}
	return b.cfg.DeviceOriginated(o.rng.Float64())
}

// missed counts a dropped arrival as an alert that was never sent: an
// error of sos.puback.
func (b *sos) missed(_ *occurrence, class string) { b.puback.Error(class) }

// rememberIncident records the backend id of u's current incident, so
// that once it is closed its late events are not taken for the next.
func (b *sos) rememberIncident(u *user, id string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	ids := b.incidents[u.index]
	if slices.Contains(ids, id) {
		return
	}
	ids = append(ids, id)
	if len(ids) > maxStaleIncidents {
		ids = ids[1:]
	}
	b.incidents[u.index] = ids
}

// sosRun is one SOS raised by a user, from the alert publish to the
// confirmed cancel or resolve. Its clock starts at the arrival's intended
// time, so a late start is part of every SOS latency.
type sosRun struct {
	b     *sos
	u     *user
	start time.Time
	hold  time.Duration // from start to the end action
	coin  bool          // end: mixed drew resolve for this SOS
	// device: the SOS started on the paired tag and the SDK relays it
	// (contract §6.4) rather than the app's SOS button.
	device bool
	// stale holds ids of this user's earlier incidents: their late events
	// (a delayed "cancelled", say) must not count for this SOS.
	stale []string
	// ended is closed when the user's life stops: the hold ends early.
	ended <-chan struct{}

	// protect: the user runs Protection Mode, whose native service also
	// acts on this device SOS (contract §2.6, §6.6).
	protect bool

	mu        sync.Mutex
	ids       map[string]bool // distinct incident ids seen for this SOS
	createAt  time.Time       // POST /v1/sdk/sos sent; zero before
	createdID string          // the incident the POST answered
	created   bool            // sos.http_created recorded
	delivered bool            // first lifecycle event seen
	acked     bool            // acknowledged event seen
	firstEv   chan struct{}   // closed by the first lifecycle event
}

// record records d on m, on its per-profile twin for the user and on
// its per-origin twin.
func (s *sosRun) record(m *metrics.Latency, d time.Duration) {
	s.u.r.net.record(s.u.sess.Index, m, d)
	if t := s.originTwin(m); t != nil {
		t.Record(d)
	}
}

// count counts an error of class on m and on its twins.
func (s *sosRun) count(m *metrics.Latency, class errclass.Class) {
	s.u.r.net.count(s.u.sess.Index, m, class)
	if t := s.originTwin(m); t != nil {
		t.Error(class)
	}
}

// fail counts a failure of class with err's message on m and its twins.
func (s *sosRun) fail(m *metrics.Latency, class string, err error) {
	s.u.r.net.fail(s.u.sess.Index, m, class, err)
	if t := s.originTwin(m); t != nil {
		t.Fail(class, err)
	}
}

// originTwin returns m's twin for this SOS's origin (sos.delivered@device);
// nil when the run has no per-origin twins or m has none.
func (s *sosRun) originTwin(m *metrics.Latency) *metrics.Latency {
	if !s.b.origins || !scenario.HasOriginTwin(m.Name()) {
		return nil
	}
	origin := scenario.OriginApp
	if s.device {
		origin = scenario.OriginDevice
	}
	return s.b.reg.Latency(scenario.MetricAtOrigin(m.Name(), origin))
}

// run publishes the alert on c, then follows the incident to its end.
func (s *sosRun) run(u *user, c conn, alert contract.SOSAlert) {
	b := s.b
	limit := s.hold + sosHTTPLimit + eventGrace
	if s.device {
		limit += 2 * sosHTTPLimit // the GETs before and after the alert
	}
	if s.protect {
		limit += 4 * sosHTTPLimit // the service's last GET and POST at the hold's end, then its GET and cancel
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	defer s.countDuplicates()
	// endCycle closes the device cycle for the Protection Mode service:
	// at the end of the hold, when the tag's SOS ends, whatever the SDK did.
	endCycle := func() {}
	if s.protect {
		var wg sync.WaitGroup
		defer wg.Wait()
		holdEnd := make(chan struct{})
		endCycle = sync.OnceFunc(func() { close(holdEnd) })
		defer endCycle()
		wg.Go(func() { s.protectionService(ctx, u, alert, holdEnd) })
	}
	if s.device && !s.deviceCheck(ctx, u) {
		if s.protect {
			s.waitHold()
		}
		return // an incident is already active: the SDK publishes nothing
	}
	payload, _ := json.Marshal(alert)
	if !c.publish(b.puback, b.log, s.start, &paho.Publish{Topic: contract.TopicSOSAlerts, QoS: 1, Payload: payload}, s.originTwin(b.puback)) {
		if s.protect {
			s.waitHold() // the service still creates over HTTP after its countdown
		}
		return // the SDK's state is failed; nothing reached the backend
	}
	if s.device {
		s.getSOS(ctx, u, false) // the SDK's second GET after the device alert (§6.4)
	}
	if b.cfg.VisiblePoll > 0 {
		s.waitVisible(ctx, u)
	}

	s.waitHold()
	endCycle()

	s.mu.Lock()
	acked := s.acked
	s.mu.Unlock()
	if s.device {
		s.deviceEnd(ctx, u)
	} else {
		s.end(ctx, u, acked)
	}

	grace := time.NewTimer(eventGrace)
	defer grace.Stop()
	select {
	case <-s.firstEv:
	case <-grace.C:
		s.count(b.delivered, errclass.NoEvent)
	}
}

// waitHold waits for the end of the hold, or of the user's life.
func (s *sosRun) waitHold() {
	hold := time.NewTimer(time.Until(s.start.Add(s.hold)))
	defer hold.Stop()
	select {
	case <-hold.C:
	case <-s.ended:
	}
}

// waitVisible polls GET /v1/sdk/sos every sos.visible_poll until the
// incident shows, recording sos.visible from the alert's intended time.
// The SDK makes no such call after a trigger (contract §4.4); it is
// opt-in, for backends where HTTP visibility matters.
func (s *sosRun) waitVisible(ctx context.Context, u *user) {
	b := s.b
	visiblePoll := b.cfg.VisiblePoll
	deadline := s.start.Add(s.hold)
	poll := time.NewTimer(visiblePoll)
	defer poll.Stop()
	for {
		var body contract.IncidentBody
		t0 := time.Now()
		class, err := b.http.call(ctx, u.sess, "GET", contract.PathSOS, nil, is2xx, &body)
		observe(b.sosGet, t0, class, err)
		if err == nil && body.Incident != nil {
			s.record(b.visible, time.Since(s.start))
			b.rememberIncident(u, body.Incident.ID)
			return
		}
		if time.Now().Add(visiblePoll).After(deadline) {
			s.count(b.visible, errclass.NotVisible)
			return
		}
		poll.Reset(visiblePoll)
		select {
		case <-poll.C:
		case <-s.ended:
			s.count(b.visible, errclass.NotVisible)
			return
		}
	}
}

// end closes the SOS over HTTP per the scenario's `end` and confirms the
// closed state: from the POST's answer, or — when it answers
// {"incident": null} — from one follow-up GET, as the SDK settles
// (contract §4.5). sos.cancelled / sos.resolved run from the POST to the
// confirmation.
func (s *sosRun) end(ctx context.Context, u *user, acked bool) {
	b := s.b
	resolve := acked || s.coin || b.cfg.End == scenario.EndResolve // the SDK cannot cancel after an acknowledgement
	path, httpM, doneM, want := contract.PathSOSCancel, b.sosCancel, b.cancelled, contract.StateCancelled
	if resolve {
		path, httpM, doneM, want = contract.PathSOSResolve, b.sosResolve, b.resolved, contract.StateResolved
	}
	t0 := time.Now()
	var body contract.IncidentBody
	class, err := b.http.call(ctx, u.sess, "POST", path, nil, is2xx, &body)
	if !observe(httpM, t0, class, err) {
		s.fail(doneM, class, err)
		return
	}
	if body.Incident != nil {
		b.rememberIncident(u, body.Incident.ID)
	}
	if body.Incident == nil {
		var after contract.IncidentBody
		t1 := time.Now()
		class, err := b.http.call(ctx, u.sess, "GET", contract.PathSOS, nil, is2xx, &after)
		if !observe(b.sosGet, t1, class, err) {
			s.fail(doneM, class, err)
			return
		}
		if after.Incident != nil && after.Incident.State != want {
			s.count(doneM, errclass.StillIn(after.Incident.State))
			return
		}
	} else if body.Incident.State != want {
		s.count(doneM, errclass.InState(body.Incident.State))
		return
	}
	s.record(doneM, time.Since(t0))
}

// getSOS is one GET /v1/sdk/sos, recorded as http.sos_get, by the SDK or
// by the Protection Mode service (native); it returns the incident shown,
// nil when none or on failure.
func (s *sosRun) getSOS(ctx context.Context, u *user, native bool) (*contract.Incident, bool) {
	call := s.b.http.call
	if native {
		call = s.b.http.nativeCall
	}
	var body contract.IncidentBody
	t0 := time.Now()
	class, err := call(ctx, u.sess, "GET", contract.PathSOS, nil, is2xx, &body)
	if !observe(s.b.sosGet, t0, class, err) {
		return nil, false
	}
	if body.Incident != nil {
		s.b.rememberIncident(u, body.Incident.ID)
		s.sawIncident(body.Incident.ID)
	}
	return body.Incident, true
}

// sawIncident notes an incident id shown for this SOS (an HTTP answer).
func (s *sosRun) sawIncident(id string) {
	if id == "" || slices.Contains(s.stale, id) {
		return
	}
	s.mu.Lock()
	s.ids[id] = true
	s.mu.Unlock()
}

// countDuplicates counts a device SOS that showed more than one incident
// id: the backend opened a second incident for it.
func (s *sosRun) countDuplicates() {
	s.mu.Lock()
	n := len(s.ids)
	s.mu.Unlock()
	if s.device && n > 1 && s.b.duplicates != nil { // the counter exists with Protection Mode on
		s.b.duplicates.Add(1)
	}
}

// deviceCheck is the SDK's GET /v1/sdk/sos before it relays a device SOS
// (contract §6.4): it relays only when nothing is active. A failed GET
// counts as nothing active, so the alert still goes out.
func (s *sosRun) deviceCheck(ctx context.Context, u *user) bool {
	inc, _ := s.getSOS(ctx, u, false)
	if inc != nil && (inc.State == contract.StateActive || inc.State == contract.StateAcknowledged) {
		s.count(s.b.puback, errclass.AlreadyActive)
		return false
	}
	return true
}

// deviceEnd is the SDK's close of a device SOS cycle (contract §6.4):
// GET /v1/sdk/sos and, if an incident is visible, POST /v1/sdk/sos/cancel.
// sos.cancelled runs from the POST to its answer's cancelled state.
func (s *sosRun) deviceEnd(ctx context.Context, u *user) {
	b := s.b
	inc, ok := s.getSOS(ctx, u, false)
	if !ok {
		s.count(b.cancelled, errclass.GetFailed)
		return
	}
	if inc == nil {
		return // nothing visible: the SDK sends no cancel
	}
	t0 := time.Now()
	var body contract.IncidentBody
	class, err := b.http.call(ctx, u.sess, "POST", contract.PathSOSCancel, nil, is2xx, &body)
	if !observe(b.sosCancel, t0, class, err) {
		s.fail(b.cancelled, class, err)
		return
	}
	if body.Incident != nil && body.Incident.State != contract.StateCancelled {
		s.count(b.cancelled, errclass.InState(body.Incident.State))
		return
	}
	s.record(b.cancelled, time.Since(t0))
}

// onPublish receives what arrives on the user's event topic while the SOS
// runs. It runs on paho's goroutine and does not block.
func (s *sosRun) onPublish(now time.Time, p *paho.Publish) {
	var ev struct {
		IncidentID string `json:"incidentId"`
		ID         string `json:"id"`
		Status     string `json:"status"`
		State      string `json:"state"`
		Type       string `json:"type"`
	}
	if err := json.Unmarshal(p.Payload, &ev); err != nil {
		s.b.log.Debug("ignoring non-JSON event", "topic", p.Topic)
		return
	}
	word := cmp.Or(ev.Status, ev.State, ev.Type)
	if state := lifecycleState(word); state != "" {
		s.onEvent(now, cmp.Or(ev.IncidentID, ev.ID), state)
	}
}

// onEvent records the lifecycle events of the user's topic while the SOS
// runs: the first one is sos.delivered, "acknowledged" is
// sos.acknowledged. The topic is per user, so every lifecycle event on it
// after the alert concerns this SOS even before the backend id is known.
//
// Only a non-terminal state can be the first event of a new incident (a
// cancel or resolve follows our own HTTP call), and events of earlier
// incidents are ignored.
func (s *sosRun) onEvent(at time.Time, incidentID, state string) {
	if slices.Contains(s.stale, incidentID) {
		return
	}
	s.mu.Lock()
	if incidentID != "" {
		s.ids[incidentID] = true
	}
	if !s.createAt.IsZero() && !s.created && state == contract.StateActive && (s.createdID == "" || s.createdID == incidentID) {
		s.created = true
		s.b.httpCreated.Record(at.Sub(s.createAt))
	}
	first := false
	if !s.delivered && (state == contract.StateActive || state == contract.StateAcknowledged) {
		s.delivered, first = true, true
		s.record(s.b.delivered, at.Sub(s.start))
		close(s.firstEv)
	}
	if state == contract.StateAcknowledged && !s.acked {
		s.acked = true
		s.record(s.b.acked, at.Sub(s.start))
	}
	s.mu.Unlock()
	if first && incidentID != "" {
		// The backend's id of this incident, so that its late events are
		// not taken for the user's next SOS.
		s.b.rememberIncident(s.u, incidentID)
	}
}

// lifecycleState maps an event word to a lifecycle state the way the SDK
// does (contract §3.7): trimmed, case-insensitive, several spellings each,
// with a dot read as an underscore.
func lifecycleState(word string) string {
	switch strings.ReplaceAll(strings.ToLower(strings.TrimSpace(word)), ".", "_") {
	case "triggered", "opened", "active", "sent":
		return contract.StateActive
	case "acknowledged", "sos_acknowledged":
		return contract.StateAcknowledged
	case "cancelled", "canceled", "sos_cancelled":
		return contract.StateCancelled
	case "resolved", "closed", "sos_resolved":
		return contract.StateResolved
	}
	return ""
}
