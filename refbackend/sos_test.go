package refbackend

import (
	"maps"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/faults"
)

// sosUser connects user-1 over MQTT, subscribed to its events, with an API
// client for the same identity.
func sosUser(t *testing.T, s *Server) (*mqttClient, *apiClient) {
	t.Helper()
	id := signed(app1, secret1, "user-1")
	c := mustConnect(t, s, id)
	if code := c.subscribe(t, contract.EventsTopic(id.user)); code != 1 {
		t.Fatalf("subscribe: 0x%02x", code)
	}
	return c, newAPIClient(t, s, id)
}

func wantEvent(t *testing.T, c *mqttClient, id, status string) contract.Event {
	t.Helper()
	ev := c.nextEvent(t)
	if (id != "" && ev.IncidentID != id) || ev.Status != status {
		t.Fatalf("event %+v, want incident %q status %q", ev, id, status)
	}
	if _, err := contract.ParseTimestamp(ev.UpdatedAt); err != nil {
		t.Errorf("event updatedAt %q: %v", ev.UpdatedAt, err)
	}
	return ev
}

func TestSOSActiveAcknowledgedResolved(t *testing.T) {
	s := startServer(t, func(c *Config) { c.AckDelay = 50 * time.Millisecond })
	c, api := sosUser(t, s)

	if code := c.publish(t, contract.TopicSOSAlerts, alert(41.3851, 2.1734)); code != 0 {
		t.Fatalf("alert PUBACK 0x%02x", code)
	}
	// Visible over HTTP once the PUBACK arrived.
	inc := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t)
	if inc == nil || (inc.State != "active" && inc.State != "acknowledged") {
		t.Fatalf("GET sos after alert = %+v", inc)
	}
	if inc.Latitude != 41.3851 || inc.Longitude != 2.1734 || inc.Altitude == nil || *inc.Altitude != 12 {
		t.Errorf("incident position = %+v", inc)
	}
	if _, err := contract.ParseTimestamp(inc.CreatedAt); err != nil {
		t.Errorf("createdAt %q: %v", inc.CreatedAt, err)
	}
	wantEvent(t, c, inc.ID, "active")
	wantEvent(t, c, inc.ID, "acknowledged")
	if got := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t); got == nil || got.State != "acknowledged" || got.ID != inc.ID {
		t.Fatalf("GET sos after ack = %+v", got)
	}

	r := api.do(t, "POST", "/v1/sdk/sos/resolve", nil)
	wantStatus(t, "resolve", r, 200)
	if got := r.incident(t); got == nil || got.State != "resolved" || got.ID != inc.ID {
		t.Fatalf("resolve answered %+v", got)
	}
	wantEvent(t, c, inc.ID, "resolved")

	r = api.do(t, "GET", "/v1/sdk/sos", nil)
	wantStatus(t, "GET after resolve", r, 200)
	if string(r.body) != "{\"incident\":null}\n" {
		t.Errorf("GET after resolve = %q, want {\"incident\":null}", r.body)
	}
	if got := api.do(t, "POST", "/v1/sdk/sos/resolve", nil).incident(t); got != nil {
		t.Errorf("second resolve = %+v, want null", got)
	}

	st := s.Stats()
	if st.SOS.IncidentsOpened != 1 || st.SOS.IncidentsAcknowledged != 1 || st.SOS.IncidentsResolved != 1 ||
		st.SOS.IncidentsOpen != 0 || st.SOS.AckPending != 0 || st.SOS.AlertsAccepted != 1 {
		t.Errorf("sos stats = %+v", st.SOS)
	}
	want := map[string]int64{"active": 1, "acknowledged": 1, "resolved": 1}
	if !maps.Equal(st.Events.PublishedByStatus, want) || st.Events.Published != 3 {
		t.Errorf("events = %+v, want %v", st.Events, want)
	}
}

func TestSOSDuplicateAndCancel(t *testing.T) {
	s := startServer(t, func(c *Config) { c.AckDelay = time.Hour })
	c, api := sosUser(t, s)

	c.publish(t, contract.TopicSOSAlerts, alert(10, 20))
	first := wantEvent(t, c, "", "active")
	if st := s.Stats().SOS; st.AckPending != 1 {
		t.Fatalf("ack_pending = %d, want 1", st.AckPending)
	}

	// A second alert opens nothing: same incident, new position, the
	// current state re-published.
	c.publish(t, contract.TopicSOSAlerts, alert(11, 21))
	wantEvent(t, c, first.IncidentID, "active")
	inc := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t)
	if inc == nil || inc.ID != first.IncidentID || inc.State != "active" || inc.Latitude != 11 || inc.Longitude != 21 {
		t.Fatalf("after duplicate: %+v", inc)
	}

	r := api.do(t, "POST", "/v1/sdk/sos/cancel", `{"deviceId":"ignored"}`)
	wantStatus(t, "cancel", r, 200)
	if got := r.incident(t); got == nil || got.ID != first.IncidentID || got.State != "cancelled" {
		t.Fatalf("cancel answered %+v", got)
	}
	wantEvent(t, c, first.IncidentID, "cancelled")
	if got := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t); got != nil {
		t.Fatalf("GET after cancel = %+v", got)
	}
	if got := api.do(t, "POST", "/v1/sdk/sos/cancel", nil).incident(t); got != nil {
		t.Fatalf("second cancel = %+v", got)
	}

	st := s.Stats().SOS
	if st.AlertsAccepted != 2 || st.AlertsDuplicate != 1 || st.IncidentsOpened != 1 || st.IncidentsCancelled != 1 ||
		st.IncidentsAcknowledged != 0 || st.AckPending != 0 || st.IncidentsOpen != 0 {
		t.Errorf("sos stats = %+v (cancel must stop the pending acknowledgement)", st)
	}

	// After a close, the next alert opens a new incident.
	c.publish(t, contract.TopicSOSAlerts, alert(12, 22))
	if ev := wantEvent(t, c, "", "active"); ev.IncidentID == first.IncidentID {
		t.Errorf("new alert reused incident %s", ev.IncidentID)
	}
}

func TestSOSAckAtOnceThenCancel(t *testing.T) {
	s := startServer(t, func(c *Config) { c.AckDelay = 0 })
	c, api := sosUser(t, s)

	c.publish(t, contract.TopicSOSAlerts, alert(1, 2))
	// AckDelay 0: acknowledged before the PUBACK.
	inc := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t)
	if inc == nil || inc.State != "acknowledged" {
		t.Fatalf("GET = %+v, want acknowledged", inc)
	}
	wantEvent(t, c, inc.ID, "active")
	wantEvent(t, c, inc.ID, "acknowledged")
	// Cancel is allowed from acknowledged.
	if got := api.do(t, "POST", "/v1/sdk/sos/cancel", nil).incident(t); got == nil || got.State != "cancelled" {
		t.Fatalf("cancel = %+v", got)
	}
	wantEvent(t, c, inc.ID, "cancelled")
}

func TestSOSMalformedAlerts(t *testing.T) {
	s := startServer(t, nil)
	c, api := sosUser(t, s)
	for _, p := range []string{
		`{"latitude":`,
		`[]`,
		`{"timestamp":"2026-04-19T13:40:05.123Z","altitude":0}`,
		`{"timestamp":"2026-04-19T13:40:05.123Z","latitude":-91,"longitude":0,"altitude":0}`,
		`{"timestamp":"not a time","latitude":1,"longitude":2,"altitude":0}`,
		``,
	} {
		if code := c.publish(t, contract.TopicSOSAlerts, []byte(p)); code != 0x99 {
			t.Errorf("alert %q: PUBACK 0x%02x, want 0x99", p, code)
		}
	}
	if st := s.Stats().SOS; st.AlertsRejected != 6 || st.AlertsAccepted != 0 || st.IncidentsOpened != 0 {
		t.Errorf("sos stats = %+v", st)
	}
	if inc := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t); inc != nil {
		t.Errorf("malformed alert opened %+v", inc)
	}
}

func TestSOSCreateOverHTTP(t *testing.T) {
	s := startServer(t, nil)
	c, api := sosUser(t, s)

	// Contract §2.6 example.
	r := api.do(t, "POST", "/v1/sdk/sos", `{"timestamp":"2026-04-19T13:40:05.000Z","latitude":41.3851,"longitude":2.1734,"altitude":12.0,"deviceId":"CF:82:12:34:56:78"}`)
	wantStatus(t, "create", r, 201)
	inc := r.incident(t)
	if inc == nil || inc.State != "active" || inc.DeviceID != "CF:82:12:34:56:78" || inc.Altitude == nil || *inc.Altitude != 12 {
		t.Fatalf("create answered %+v", inc)
	}
	wantEvent(t, c, inc.ID, "active")

	// One open incident: a second create returns it (200), as does an alert.
	r = api.do(t, "POST", "/v1/sdk/sos", `{"timestamp":"2026-04-19T13:40:06","latitude":41.5,"longitude":2.2,"altitude":null}`)
	wantStatus(t, "second create", r, 200)
	if got := r.incident(t); got == nil || got.ID != inc.ID || got.Altitude != nil || got.Latitude != 41.5 {
		t.Fatalf("second create answered %+v", got)
	}
	wantEvent(t, c, inc.ID, "active")
	c.publish(t, contract.TopicSOSAlerts, alert(1, 2))
	wantEvent(t, c, inc.ID, "active")

	for _, body := range []string{
		`{"timestamp":"x","longitude":2}`,
		`{"latitude":100,"longitude":2}`,
		`{"latitude":"41","longitude":2}`,
		`{"latitude":1,"longitude":2,"deviceId":7}`,
		`[1,2]`,
		`{"latitude":1,`,
	} {
		r := api.do(t, "POST", "/v1/sdk/sos", body)
		wantStatus(t, body, r, 400)
		r.errorMessage(t)
	}
	st := s.Stats().SOS
	if st.HTTPCreated != 1 || st.HTTPExisting != 1 || st.AlertsDuplicate != 1 || st.IncidentsOpened != 1 {
		t.Errorf("sos stats = %+v", st)
	}
}

// An alert's incident is the one POST /v1/sdk/sos finds (MQTT then HTTP);
// TestSOSCreateOverHTTP covers HTTP then MQTT.
func TestSOSAlertThenHTTPCreateIsOneIncident(t *testing.T) {
	s := startServer(t, func(c *Config) { c.AckDelay = time.Hour })
	c, api := sosUser(t, s)
	c.publish(t, contract.TopicSOSAlerts, alert(10, 20))
	first := wantEvent(t, c, "", "active")
	r := api.do(t, "POST", "/v1/sdk/sos", `{"latitude":10.5,"longitude":20.5,"deviceId":"CF:82:12:34:56:78"}`)
	wantStatus(t, "create", r, 200)
	if got := r.incident(t); got == nil || got.ID != first.IncidentID || got.DeviceID != "CF:82:12:34:56:78" {
		t.Fatalf("create after alert answered %+v, want incident %s", got, first.IncidentID)
	}
	wantEvent(t, c, first.IncidentID, "active")
	if st := s.Stats().SOS; st.IncidentsOpened != 1 || st.HTTPExisting != 1 || st.DuplicatesInjected != 0 {
		t.Errorf("sos stats = %+v", st)
	}
}

// With Faults.DuplicateIncidents every SOS opens a new incident, across
// HTTP and MQTT, and GET shows the newest.
func TestFaultDuplicateIncidents(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.AckDelay = time.Hour
		c.Faults.DuplicateIncidents = true
	})
	c, api := sosUser(t, s)
	c.publish(t, contract.TopicSOSAlerts, alert(10, 20))
	first := wantEvent(t, c, "", "active")
	r := api.do(t, "POST", "/v1/sdk/sos", `{"latitude":10.5,"longitude":20.5}`)
	wantStatus(t, "create", r, 201)
	second := r.incident(t)
	if second == nil || second.ID == first.IncidentID {
		t.Fatalf("create with the fault answered %+v, want a new incident (first %s)", second, first.IncidentID)
	}
	wantEvent(t, c, second.ID, "active")
	if got := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t); got == nil || got.ID != second.ID {
		t.Fatalf("GET = %+v, want %s", got, second.ID)
	}
	c.publish(t, contract.TopicSOSAlerts, alert(11, 21))
	third := wantEvent(t, c, "", "active")
	if third.IncidentID == second.ID {
		t.Fatalf("alert with the fault reused %s", second.ID)
	}
	st := s.Stats().SOS
	if st.IncidentsOpened != 3 || st.DuplicatesInjected != 2 || st.IncidentsOpen != 1 || st.AckPending != 1 {
		t.Errorf("sos stats = %+v", st)
	}

	// Switched off at run time, the backend is idempotent again.
	if err := s.SetFaults(faults.Set{}); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "create after fault", api.do(t, "POST", "/v1/sdk/sos", `{"latitude":1,"longitude":2}`), 200)
}

// With Faults.AlertDelay an alert is acknowledged at once and raised
// later: POST /v1/sdk/sos overtakes it and opens the incident, which the
// late alert then finds (one incident); alerts of a user keep their order
// when the delay shrinks; Close drops the alerts still waiting.
func TestFaultAlertDelay(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.AckDelay = time.Hour
		c.Faults.AlertDelay = time.Minute
	})
	c, api := sosUser(t, s)
	c.publish(t, contract.TopicSOSAlerts, alert(10, 20)) // PUBACKed at once
	if st := s.Stats().SOS; st.AlertsAccepted != 1 || st.AlertsPending != 1 || st.IncidentsOpened != 0 {
		t.Fatalf("after a delayed alert's PUBACK: sos stats = %+v", st)
	}
	if got := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t); got != nil {
		t.Fatalf("GET = %+v before the delayed alert is raised, want none", got)
	}
	r := api.do(t, "POST", "/v1/sdk/sos", `{"latitude":10.5,"longitude":20.5}`)
	wantStatus(t, "create", r, 201)
	created := r.incident(t)
	wantEvent(t, c, created.ID, "active")

	// A shorter delay set meanwhile: the next alert waits for the first.
	if err := s.SetFaults(faults.Set{}); err != nil {
		t.Fatal(err)
	}
	c.publish(t, contract.TopicSOSAlerts, alert(11, 21))
	if st := s.Stats().SOS; st.AlertsPending != 2 || st.AlertsDuplicate != 0 {
		t.Fatalf("an alert overtook an earlier delayed one: sos stats = %+v", st)
	}
	if err := s.SetFaults(faults.Set{AlertDelay: 50 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	c.publish(t, contract.TopicSOSAlerts, alert(12, 22))
	s.Close() // the three alerts wait behind the one-minute one: dropped
	if st := s.Stats().SOS; st.IncidentsOpened != 1 || st.AlertsDuplicate != 0 || st.AlertsAccepted != 3 {
		t.Errorf("after Close: sos stats = %+v", st)
	}
}

// A delayed alert is raised after the delay, in order, and finds the
// incident POST /v1/sdk/sos opened meanwhile.
func TestFaultAlertDelayAttachesToHTTPIncident(t *testing.T) {
	s := startServer(t, func(c *Config) {
		c.AckDelay = time.Hour
		c.Faults.AlertDelay = 300 * time.Millisecond
	})
	c, api := sosUser(t, s)
	c.publish(t, contract.TopicSOSAlerts, alert(10, 20))
	c.publish(t, contract.TopicSOSAlerts, alert(11, 21))
	r := api.do(t, "POST", "/v1/sdk/sos", `{"latitude":10.5,"longitude":20.5}`)
	wantStatus(t, "create", r, 201)
	created := r.incident(t)
	wantEvent(t, c, created.ID, "active")
	wantEvent(t, c, created.ID, "active") // each late alert re-publishes its state
	wantEvent(t, c, created.ID, "active")
	got := api.do(t, "GET", "/v1/sdk/sos", nil).incident(t)
	if got == nil || got.ID != created.ID || got.Latitude != 11 {
		t.Errorf("GET = %+v, want %s at the last alert's position (latitude 11)", got, created.ID)
	}
	if st := s.Stats().SOS; st.IncidentsOpened != 1 || st.AlertsDuplicate != 2 || st.AlertsPending != 0 || st.DuplicatesInjected != 0 {
		t.Errorf("sos stats = %+v", st)
	}
}
