package interop

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/scenario"
)

// nginxBodyLogFormat logs one request tab-separated with its body, the
// values JSON-escaped: time (s.ms), method, uri, X-App-ID, X-User-ID,
// Authorization, Content-Type, Accept, body.
const nginxBodyLogFormat = `log_format sdk escape=json "$msec\t$request_method\t$uri\t$http_x_app_id\t$http_x_user_id\t$http_authorization\t$content_type\t$http_accept\t$request_body";`

// startProtectionNginx starts nginx as the SDK's and the Protection Mode
// service's backend. nginx logs $request_body only once it has read the
// body, which it does to proxy it: /v1/sdk/sos is proxied to a second
// server block that answers GET with getBody and POST with a created
// active incident, so the front one logs the POST's body as received.
func startProtectionNginx(t *testing.T, getBody string) (string, string) {
	t.Helper()
	return startNginx(t, nginxBodyLogFormat, func(port int) string {
		inner := freePort(t)
		return fmt.Sprintf(`
  server {
    listen 127.0.0.1:%d;
    location = /v1/sdk/me { %s }
    location = /v1/sdk/sos { proxy_pass http://127.0.0.1:%d; }
    location = /v1/sdk/sos/cancel { return 200 '%s'; }
    location / { return 404 '{"error":"not_found"}'; }
  }
  server {
    listen 127.0.0.1:%[3]d;
    access_log off;
    location = /v1/sdk/sos {
      if ($request_method = POST) { return 200 '{"incident":{"id":"inc-http-$http_x_user_id","state":"active","createdAt":"2026-01-01T00:00:00.000Z","latitude":0,"longitude":0}}'; }
      return 200 '%[5]s';
    }
  }`, port, nginxMe, inner, nginxCancelled, getBody)
	})
}

type loggedRequest struct {
	at time.Time
	sdkRequest
	body string
}

// native reports whether r came from the Protection Mode service's client
// (contract §2.6: Accept on every request, Content-Type only with a
// body) rather than the Dart SDK's (§2.1: Content-Type on every request,
// Accept only on /me).
func (r loggedRequest) native() bool { return r.uri != contract.PathMe && r.accept != "" }

func (r loggedRequest) call() string { return r.method + " " + r.uri }

func readBodyLog(t *testing.T, path string) []loggedRequest {
	t.Helper()
	var reqs []loggedRequest
	for _, p := range readNginxLog(t, path, 9) {
		for i, v := range p {
			if v == "-" { // nginx's mark for an empty value outside escape=json
				v = ""
			}
			var s string
			if err := json.Unmarshal([]byte(`"`+v+`"`), &s); err != nil {
				t.Fatalf("nginx log field %d not JSON-escaped: %v", i, err)
			}
			p[i] = s
		}
		sec, err := strconv.ParseFloat(p[0], 64)
		if err != nil {
			t.Fatalf("nginx $msec %q: %v", p[0], err)
		}
		reqs = append(reqs, loggedRequest{
			at:         time.UnixMilli(int64(sec * 1000)),
			sdkRequest: sdkRequest{p[1], p[2], p[3], p[4], p[5], p[6], p[7]},
			body:       p[8],
		})
	}
	return reqs
}

// sosCreateBody is the body of POST /v1/sdk/sos byte for byte (contract
// §2.6): timestamp (the phone position's time, 3 or 6 fractional digits),
// the phone position with its altitude, and deviceId the tag's hardware id.
var sosCreateBody = regexp.MustCompile(`^\{"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(\d{3})?Z","latitude":-?\d+(\.\d+)?,"longitude":-?\d+(\.\d+)?,"altitude":-?\d+(\.\d+)?,"deviceId":"CF:82(:[0-9A-F]{2}){4}"\}$`)

// TestProtectionModeAgainstNginxAndMosquitto runs device SOS with every
// user in Android Protection Mode (contract §2.4 item 6, §2.6, §6.6)
// against nginx and mosquitto, with the 20 s countdown as the service has
// it, and checks from nginx's side each user's calls, per client (told
// apart by their headers) and in order, with the headers of each client,
// and every POST /v1/sdk/sos body against §2.6 and the same cycle's
// sos/alerts payload. After the SDK's login (GET /me, GET /v1/sdk/sos)
// the service starts with its own GET; then per device cycle (hold 21 s):
//
//   - "none": GET /v1/sdk/sos answers {"incident":null}. The SDK: GET,
//     alert, GET, and at the close GET (nothing visible: no cancel). The
//     service, at least the countdown after the cycle began: GET, then
//     POST /v1/sdk/sos; at the close, GET and POST /v1/sdk/sos/cancel.
//   - "active": it answers an active incident. The SDK: GET, and nothing
//     else for the whole hold (no alert); the service: its GET at the
//     countdown, and nothing else (no POST, no cancel).
func TestProtectionModeAgainstNginxAndMosquitto(t *testing.T) {
	const active = `{"incident":{"id":"inc-1","state":"active","createdAt":"2026-01-01T00:00:00.000Z","latitude":0,"longitude":0}}`
	const get, create, cancel = "GET " + contract.PathSOS, "POST " + contract.PathSOS, "POST " + contract.PathSOSCancel
	for _, tt := range []struct {
		name, get   string
		sdk, native []string // one complete device cycle of each client
	}{
		{"none", `{"incident":null}`, []string{get, get, get}, []string{get, create, get, cancel}},
		{"active", active, []string{get}, []string{get}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each waits out the countdown: together, not in turn
			m := startMosquitto(t)
			httpURL, access := startProtectionNginx(t, tt.get)
			runProtection(t, m, httpURL, access, tt.sdk, tt.native)
		})
	}
}

// clientCycles is one user's calls as nginx logged them, per client: the
// login (the SDK's GET /me and GET /v1/sdk/sos, the service's start GET),
// then the device cycles, cut into lengths of one complete cycle (the last
// may be cut short by the stop).
type clientCycles struct {
	login, start []loggedRequest
	sdk, native  [][]loggedRequest
}

func splitCycles(reqs []loggedRequest, sdkCycle, nativeCycle int) clientCycles {
	var c clientCycles
	var sdk, native []loggedRequest
	for _, r := range reqs {
		if r.native() {
			native = append(native, r)
		} else {
			sdk = append(sdk, r)
		}
	}
	c.login, sdk = sdk[:min(2, len(sdk))], sdk[min(2, len(sdk)):]
	c.start, native = native[:min(1, len(native))], native[min(1, len(native)):]
	c.sdk, c.native = slices.Collect(slices.Chunk(sdk, sdkCycle)), slices.Collect(slices.Chunk(native, nativeCycle))
	return c
}

// complete counts the leading cycles both clients completed.
func (c clientCycles) complete(sdkCycle, nativeCycle int) int {
	n := 0
	for n < len(c.sdk) && n < len(c.native) && len(c.sdk[n]) == sdkCycle && len(c.native[n]) == nativeCycle {
		n++
	}
	return n
}

func runProtection(t *testing.T, m *mosquitto, httpURL, access string, sdkCycle, nativeCycle []string) {
	const users = 3
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var mu sync.Mutex
	alerts := map[string][]string{} // by user, in the order received
	sub := observe(ctx, t, m.TCPAddr, contract.TopicSOSAlerts, func(p *paho.Publish) {
		var a contract.SOSAlert
		if err := json.Unmarshal(p.Payload, &a); err != nil {
			t.Errorf("sos/alerts payload %s: %v", p.Payload, err)
			return
		}
		mu.Lock()
		alerts[a.UserID] = append(alerts[a.UserID], string(p.Payload))
		mu.Unlock()
	})
	defer sub.Disconnect(&paho.Disconnect{})

	_, stop := startFleet(ctx, t, "protection.yaml", fmt.Sprintf(`
version: 1
name: protection
duration: 2m
seed: 3
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "prot-{{.N}}" }
fleet: { users: %d, connect_rate: 1000/s }
behaviours:
  sos: { rate: 20/s, hold: %s, origin: device }
  protection: { share: 100%% }
`, users, scenario.ProtectionCountdown+time.Second), httpURL, m.TCPAddr)
	// Run until every user has completed one cycle as nginx saw it: with
	// the service's cancel, or else (no create) once the next cycle began,
	// so that the whole hold passed; at most a minute.
	creates := slices.Contains(nativeCycle, "POST "+contract.PathSOS)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		byUser := map[string][]loggedRequest{}
		for _, r := range readBodyLog(t, access) {
			byUser[r.userID] = append(byUser[r.userID], r)
		}
		done := 0
		for _, reqs := range byUser {
			c := splitCycles(reqs, len(sdkCycle), len(nativeCycle))
			if c.complete(len(sdkCycle), len(nativeCycle)) >= 1 && (creates || len(c.sdk) >= 2) {
				done++
			}
		}
		if done == users {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()

	secret := []byte("demo-secret")
	byUser := map[string][]loggedRequest{}
	for _, r := range readBodyLog(t, access) {
		call := r.call()
		if r.appID != "demo-app" || !strings.HasPrefix(r.userID, "prot-") {
			t.Errorf("%s: X-App-ID %q X-User-ID %q", call, r.appID, r.userID)
		}
		if r.auth != "Bearer "+contract.Sign(secret, r.userID) {
			t.Errorf("%s for %s: Authorization is not Bearer <userHash>", call, r.userID) // never print the hash
		}
		// Each client's headers: the service's (§2.6) or the SDK's (§2.1).
		wantCT, wantAccept := "application/json", ""
		switch {
		case r.native() && call == "POST "+contract.PathSOS:
			wantAccept = "application/json"
		case r.native():
			wantCT, wantAccept = "", "application/json"
		case r.uri == contract.PathMe:
			wantAccept = "application/json"
		}
		if r.contentType != wantCT || r.accept != wantAccept {
			t.Errorf("%s: Content-Type %q Accept %q, want %q and %q", call, r.contentType, r.accept, wantCT, wantAccept)
		}
		if call != "POST "+contract.PathSOS && r.body != "" {
			t.Errorf("%s: body %q, want none", call, r.body)
		}
		byUser[r.userID] = append(byUser[r.userID], r)
	}
	if len(byUser) != users {
		t.Fatalf("nginx saw %d users, want %d", len(byUser), users)
	}

	mu.Lock()
	defer mu.Unlock()
	posts := 0
	for user, reqs := range byUser {
		c := splitCycles(reqs, len(sdkCycle), len(nativeCycle))
		if got := callsOf(c.login); !slices.Equal(got, []string{"GET " + contract.PathMe, "GET " + contract.PathSOS}) {
			t.Errorf("%s: login calls %v", user, got)
			continue
		}
		// The service starts after the SDK's login: its first call is its
		// own GET, answered after the SDK's.
		if got := callsOf(c.start); !slices.Equal(got, []string{"native GET " + contract.PathSOS}) {
			t.Errorf("%s: the service's first call %v, want its start GET", user, got)
			continue
		} else if c.start[0].at.Before(c.login[1].at) {
			t.Errorf("%s: the service's start GET answered before the SDK's login GET", user)
		}
		if len(c.native) > len(c.sdk) {
			t.Errorf("%s: %d service cycles for %d device cycles", user, len(c.native), len(c.sdk))
			continue
		}
		complete := c.complete(len(sdkCycle), len(nativeCycle))
		if complete == 0 {
			t.Errorf("%s: no complete device cycle in %s", user, strings.Join(callsOf(reqs), ", "))
		}
		for k, cy := range c.sdk {
			if got := callsOf(cy); !slices.Equal(got, sdkCycle[:len(got)]) || len(got) < len(sdkCycle) && k < len(c.sdk)-1 {
				t.Errorf("%s: cycle %d SDK calls %s, want %s", user, k+1, strings.Join(got, ", "), strings.Join(sdkCycle, ", "))
			}
		}
		for k, cy := range c.native {
			want := make([]string, len(nativeCycle))
			for i, call := range nativeCycle {
				want[i] = "native " + call
			}
			got := callsOf(cy)
			if !slices.Equal(got, want[:len(got)]) || len(got) < len(want) && k < len(c.native)-1 {
				t.Errorf("%s: cycle %d service calls %s, want %s", user, k+1, strings.Join(got, ", "), strings.Join(want, ", "))
				continue
			}
			// The service's first call of a cycle, its check, waits for
			// the countdown, from the SOS's start: just before the SDK's GET.
			if d := cy[0].at.Sub(c.sdk[k][0].at); d < scenario.ProtectionCountdown-time.Second {
				t.Errorf("%s: cycle %d: the service's GET %v after the SDK's, before the %v countdown", user, k+1, d, scenario.ProtectionCountdown)
			}
			for _, r := range cy {
				if r.call() != "POST "+contract.PathSOS {
					continue
				}
				posts++
				if !sosCreateBody.MatchString(r.body) {
					t.Errorf("%s: POST /v1/sdk/sos body %s does not match contract §2.6", user, r.body)
				}
				// The same stored position and tag as the cycle's alert.
				if k >= len(alerts[user]) {
					t.Errorf("%s: POST /v1/sdk/sos in cycle %d with %d alerts received", user, k+1, len(alerts[user]))
				} else if want := strings.Replace(alerts[user][k], fmt.Sprintf(`,"userId":%q`, user), "", 1); r.body != want {
					t.Errorf("%s: POST /v1/sdk/sos body %s, want the alert's fields %s", user, r.body, want)
				}
			}
		}
	}
	if creates {
		if posts < users {
			t.Errorf("%d POST /v1/sdk/sos checked, want at least %d", posts, users)
		}
		return
	}
	for user, a := range alerts {
		t.Errorf("%s: %d alerts published while an incident was active", user, len(a))
	}
}

// callsOf names each request "METHOD uri", "native " first for the
// service's.
func callsOf(reqs []loggedRequest) []string {
	calls := make([]string, len(reqs))
	for i, r := range reqs {
		calls[i] = r.call()
		if r.native() {
			calls[i] = "native " + calls[i]
		}
	}
	return calls
}
