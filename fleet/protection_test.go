package fleet_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/faults"
	"github.com/eixamsim/eixamsim/fleet"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// serviceCalls records, in front of the reference backend's HTTP API, the
// requests of the Protection Mode service's own client (contract §2.6:
// Accept on every request; the SDK's sends it on /me only), by user, each
// as one letter:
//
//	G  GET /v1/sdk/sos answered no active incident
//	A  GET /v1/sdk/sos answered an active or acknowledged incident
//	P  POST /v1/sdk/sos answered 2xx
//	C  POST /v1/sdk/sos/cancel answered 2xx
//	?  anything else
type serviceCalls struct {
	mu     sync.Mutex
	byUser map[string]string
}

// startServiceProxy puts a recording reverse proxy in front of srv's HTTP
// API and returns its URL.
func startServiceProxy(t *testing.T, srv *refbackend.Server) (string, *serviceCalls) {
	t.Helper()
	target, err := url.Parse(srv.HTTPURL())
	if err != nil {
		t.Fatal(err)
	}
	calls := &serviceCalls{byUser: map[string]string{}}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	rp.ModifyResponse = func(resp *http.Response) error {
		req := resp.Request
		if req.URL.Path == contract.PathMe || req.Header.Get("Accept") == "" {
			return nil // the SDK's
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err != nil {
			return err
		}
		var answer contract.IncidentBody
		ok := resp.StatusCode/100 == 2 && json.Unmarshal(body, &answer) == nil
		letter := "?"
		switch call := req.Method + " " + req.URL.Path; {
		case !ok:
		case call == "GET "+contract.PathSOS && answer.Incident != nil &&
			(answer.Incident.State == contract.StateActive || answer.Incident.State == contract.StateAcknowledged):
			letter = "A"
		case call == "GET "+contract.PathSOS:
			letter = "G"
		case call == "POST "+contract.PathSOS:
			letter = "P"
		case call == "POST "+contract.PathSOSCancel:
			letter = "C"
		}
		calls.mu.Lock()
		calls.byUser[req.Header.Get("X-User-ID")] += letter
		calls.mu.Unlock()
		return nil
	}
	proxy := httptest.NewServer(rp)
	t.Cleanup(proxy.Close)
	return proxy.URL, calls
}

// users returns a copy of the calls by user.
func (c *serviceCalls) users() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.byUser))
	for u, s := range c.byUser {
		out[u] = s
	}
	return out
}

// count counts letter over every user's calls.
func (c *serviceCalls) count(letter string) int {
	n := 0
	for _, s := range c.users() {
		n += strings.Count(s, letter)
	}
	return n
}

// protectionRun is one run of protectionScenario with every user in
// Protection Mode.
type protectionRun struct {
	reg   *metrics.Registry
	calls *serviceCalls
	sos   refbackend.SOSStats // at the end of the run
}

// Every user runs Protection Mode on device SOS held for %s.
const protectionScenario = `
version: 1
name: protection
duration: 1m
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "prot-{{.N}}" }
fleet: { users: 10, connect_rate: 500/s }
behaviours:
  sos: { rate: 10/s, hold: %s, origin: device }
  protection: { share: 100%% }
`

// runProtection runs device SOS held for hold with Protection Mode,
// countdown and backoff as given, against the reference backend with
// faults f behind a recording proxy: first the logins, until each user's
// service made its start GET (no SOS yet), then SOS until done holds, then
// the SOS in progress run out.
func runProtection(t *testing.T, f faults.Set, countdown, hold time.Duration, done func(protectionRun) bool) protectionRun {
	t.Helper()
	defer fleet.SetProtectionTiming(countdown, 100*time.Millisecond)()
	srv := startBackend(t, "demo-secret", time.Hour)
	defer srv.Close()
	if err := srv.SetFaults(f); err != nil {
		t.Fatal(err)
	}
	httpURL, calls := startServiceProxy(t, srv)
	sc := parse(t, fmt.Sprintf(protectionScenario, hold))
	run := protectionRun{reg: metrics.NewRegistry(), calls: calls}
	var started map[string]string
	runSteps(t, sc, httpURL, srv.MQTTURL(), run.reg,
		eventStep{Step: fleet.Step{Name: "login", Users: 10, Rates: map[string]scenario.Rate{"sos": {}}}, until: func() bool {
			started = calls.users()
			return len(started) == 10 && calls.count("G") == 10
		}},
		eventStep{Step: fleet.Step{Name: "load", Users: 10}, until: func() bool { return done(run) }},
		// No new SOS; the run ends once no alert waits and every incident
		// is closed, so that the stop cuts no SOS between its create and
		// its late alert (which would open a real second incident).
		eventStep{Step: fleet.Step{Name: "drain", Users: 10, Rates: map[string]scenario.Rate{"sos": {}}}, until: func() bool {
			st := srv.Stats().SOS
			return st.AlertsPending == 0 && st.IncidentsOpen == 0
		}})
	for user, got := range started {
		if got != "G" {
			t.Errorf("%s: the service's calls before any SOS are %q, want its one start GET", user, got)
		}
	}
	run.sos = srv.Stats().SOS
	return run
}

// checkCalls checks every user's service calls against pattern.
func checkCalls(t *testing.T, calls *serviceCalls, pattern string) {
	t.Helper()
	re := regexp.MustCompile(pattern)
	for user, got := range calls.users() {
		if !re.MatchString(got) {
			t.Errorf("%s: service calls %q, want %s", user, got, pattern)
		}
	}
}

func count(reg *metrics.Registry, name string) int64 { return reg.Latency(name).Summary().Count }

// Nothing lags: the service's GET at the countdown shows the incident of
// the SDK's MQTT alert, so it sends no POST and, having created nothing,
// no cancel; one incident per SOS.
func TestProtectionModeFindsTheAlertsIncident(t *testing.T) {
	// The SDK's GET and alert take milliseconds; the countdown leaves them a
	// second, so that only a starved machine could let the check run first.
	run := runProtection(t, faults.Set{}, time.Second, 1500*time.Millisecond, func(r protectionRun) bool {
		return count(r.reg, scenario.SOSCancelled) >= 5 && r.calls.count("A") >= 5
	})
	// The start GET, then one GET at each countdown, showing the incident.
	checkCalls(t, run.calls, `^GA*$`)
	if n := count(run.reg, scenario.HTTPSOSCreate); n != 0 {
		t.Errorf("http.sos_create = %d with the alert's incident visible at the countdown", n)
	}
	if n := run.sos.HTTPCreated + run.sos.HTTPExisting; n != 0 {
		t.Errorf("backend saw %d POST /v1/sdk/sos", n)
	}
	if n := run.reg.Counter(scenario.SOSDuplicateIncidents).Value(); n != 0 {
		t.Errorf("sos.duplicate_incidents = %d", n)
	}
}

// The alert's ingest lags past the countdown (AlertDelay): the service's
// GET shows nothing, it creates over HTTP, and the late alert attaches to
// that incident on the idempotent backend: no duplicate, sos.http_created
// measured, and at the close the service reads before it cancels.
func TestProtectionModeIdempotent(t *testing.T) {
	run := runProtection(t, faults.Set{AlertDelay: 400 * time.Millisecond}, 100*time.Millisecond, time.Second, func(r protectionRun) bool {
		return count(r.reg, scenario.HTTPSOSCreate) >= 5 && r.calls.count("C") >= 5
	})
	// Per SOS: GET (nothing yet), POST, then at the close GET and cancel;
	// or, should a countdown come late, a GET that finds the alert's incident.
	checkCalls(t, run.calls, `^G(GP[GA]C|A)*$`)
	creates := run.reg.Latency(scenario.HTTPSOSCreate).Summary()
	if creates.Errors != 0 || creates.Count != run.sos.HTTPCreated+run.sos.HTTPExisting || run.sos.HTTPCreated < 5 {
		t.Errorf("http.sos_create %d (errors %d); backend: %d POST /v1/sdk/sos created, %d found one", creates.Count, creates.Errors, run.sos.HTTPCreated, run.sos.HTTPExisting)
	}
	if n := run.reg.Latency(scenario.SOSHTTPCreated).Summary(); n.Count == 0 || n.Errors != 0 {
		t.Errorf("sos.http_created %d (errors %d %v)", n.Count, n.Errors, n.ErrorsBy)
	}
	if run.sos.AlertsDuplicate == 0 || run.sos.DuplicatesInjected != 0 {
		t.Errorf("backend: %d late alerts found the HTTP-created incident, %d duplicates injected", run.sos.AlertsDuplicate, run.sos.DuplicatesInjected)
	}
	if n := run.reg.Counter(scenario.SOSDuplicateIncidents).Value(); n != 0 {
		t.Errorf("sos.duplicate_incidents = %d against an idempotent backend", n)
	}
}

// A failed create attempt is made again after the backoff, each time
// with its GET first, while the hold lasts: with half the POSTs answered
// 503, a cycle is failed attempts then a create (or the late alert's
// incident found), or only failed attempts until the hold ran out.
func TestProtectionModeRetriesAfterTheBackoff(t *testing.T) {
	f := faults.Set{AlertDelay: 400 * time.Millisecond, ErrorRate: map[string]float64{contract.EndpointSOSCreate: 0.5}}
	retried := regexp.MustCompile(`G\?[GA]`)
	run := runProtection(t, f, 100*time.Millisecond, time.Second, func(r protectionRun) bool {
		n := 0
		for _, calls := range r.calls.users() {
			n += len(retried.FindAllString(calls, -1))
		}
		return n >= 3 && r.calls.count("C") >= 3
	})
	checkCalls(t, run.calls, `^G((G\?)+|(G\?)*(GP[GA]C|A))*$`)
	creates := run.reg.Latency(scenario.HTTPSOSCreate).Summary()
	if creates.Errors == 0 || creates.Count == 0 {
		t.Errorf("http.sos_create %d, errors %d %v: want both with half the POSTs failing", creates.Count, creates.Errors, creates.ErrorsBy)
	}
	if n := run.reg.Counter(scenario.SOSDuplicateIncidents).Value(); n != 0 {
		t.Errorf("sos.duplicate_incidents = %d against an idempotent backend", n)
	}
}

// With the ingest lag and the DuplicateIncidents fault the late alert
// opens a second incident beside the HTTP-created one, and the counter
// catches it.
func TestProtectionModeCatchesDuplicates(t *testing.T) {
	run := runProtection(t, faults.Set{AlertDelay: 400 * time.Millisecond, DuplicateIncidents: true}, 100*time.Millisecond, time.Second, func(r protectionRun) bool {
		return r.reg.Counter(scenario.SOSDuplicateIncidents).Value() >= 3
	})
	if run.sos.DuplicatesInjected == 0 {
		t.Error("the backend injected no duplicate")
	}
}

// A device SOS whose hold ends before the countdown is cancelled on the
// device: the service sends nothing but its start GET.
func TestProtectionModeShortHoldSendsNoCreate(t *testing.T) {
	run := runProtection(t, faults.Set{}, time.Hour, 600*time.Millisecond, func(r protectionRun) bool {
		return count(r.reg, scenario.SOSCancelled) >= 5
	})
	checkCalls(t, run.calls, `^G$`)
	if n := count(run.reg, scenario.HTTPSOSCreate); n != 0 {
		t.Errorf("http.sos_create = %d with a hold shorter than the countdown", n)
	}
	if n := run.sos.HTTPCreated + run.sos.HTTPExisting; n != 0 {
		t.Errorf("backend saw %d POST /v1/sdk/sos", n)
	}
}
