package interop

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
)

// nginxSOSLogFormat logs one request as nginx logged it, tab-separated:
// method, uri, X-App-ID, X-User-ID, Authorization, Content-Type, Accept.
const nginxSOSLogFormat = "$request_method\\t$uri\\t$http_x_app_id\\t$http_x_user_id\\t$http_authorization\\t$content_type\\t$http_accept"

// startSOSNginx starts nginx answering /v1/sdk/me with the caller's
// X-User-ID as canonical id, GET /v1/sdk/sos with sosBody and POST
// /v1/sdk/sos/cancel with a cancelled incident; it returns the base URL and
// the access log path, or skips when nginx is not installed.
func startSOSNginx(t *testing.T, sosBody string) (string, string) {
	t.Helper()
	return startNginx(t, `log_format sdk "`+nginxSOSLogFormat+`";`, func(port int) string {
		return fmt.Sprintf(`
  server {
    listen 127.0.0.1:%d;
    location = /v1/sdk/me { %s }
    location = /v1/sdk/sos { return 200 '%s'; }
    location = /v1/sdk/sos/cancel { return 200 '%s'; }
    location / { return 404 '{"error":"not_found"}'; }
  }`, port, nginxMe, sosBody, nginxCancelled)
	})
}

// The canned answers of the nginx SDK peers: /me with the caller's
// X-User-ID as canonical id, and a cancelled incident.
const (
	nginxMe        = `return 200 '{"user":{"id":"u-$http_x_user_id","external_user_id":"$http_x_user_id"}}';`
	nginxCancelled = `{"incident":{"id":"inc-1","state":"cancelled","createdAt":"2026-01-01T00:00:00.000Z","latitude":0,"longitude":0}}`
)

// startNginx starts nginx with the http-level directives logFormat (which
// must define the log format "sdk") and the server blocks servers returns
// for the listen port; the access log is written in format sdk. It returns
// the base URL and the access log path, or skips when nginx is not
// installed.
func startNginx(t *testing.T, logFormat string, servers func(port int) string) (string, string) {
	t.Helper()
	bin, err := exec.LookPath("nginx")
	if err != nil {
		if _, serr := os.Stat("/usr/sbin/nginx"); serr != nil {
			t.Skip("nginx not installed: apt-get install nginx-light")
		}
		bin = "/usr/sbin/nginx"
	}
	dir := t.TempDir()
	port := freePort(t)
	access := filepath.Join(dir, "access.log")
	user := ""
	if os.Geteuid() == 0 {
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
daemon off;
master_process off;
worker_processes 1;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log warn;
events { worker_connections 256; }
http {
  client_body_temp_path %[2]s/body;
  proxy_temp_path %[2]s/proxy;
  fastcgi_temp_path %[2]s/fastcgi;
  uwsgi_temp_path %[2]s/uwsgi;
  scgi_temp_path %[2]s/scgi;
  %[3]s
  access_log %[4]s sdk;
  default_type application/json;
%[5]s
}
`, user, dir, logFormat, access, servers(port))
	confPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-p", dir, "-c", confPath)
	out := &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	nginx := startPeer(t, cmd, syscall.SIGQUIT, 5*time.Second)
	// Up when the pid file is written (after the listen socket is bound); bounded to 10 s.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "nginx.pid")); err == nil {
			break
		}
		select {
		case <-nginx.Exited():
			t.Fatalf("nginx exited (%v): %s", nginx.Err(), out)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-nginx.Exited()
			t.Fatalf("nginx not up after 10 s: %s", out)
		}
	}
	return fmt.Sprintf("http://127.0.0.1:%d", port), access
}

type sdkRequest struct{ method, uri, appID, userID, auth, contentType, accept string }

func readSDKLog(t *testing.T, path string) []sdkRequest {
	t.Helper()
	var reqs []sdkRequest
	for _, p := range readNginxLog(t, path, 7) {
		reqs = append(reqs, sdkRequest{p[0], p[1], p[2], p[3], p[4], p[5], p[6]})
	}
	return reqs
}

// readNginxLog reads an nginx access log of tab-separated lines of fields
// fields each; nil if nginx wrote none.
func readNginxLog(t *testing.T, path string, fields int) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		p := strings.Split(sc.Text(), "\t")
		if len(p) != fields {
			t.Fatalf("nginx log line with %d fields", len(p))
		}
		lines = append(lines, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// alertPayload is the sos/alerts payload byte for byte as the contract
// lists its keys: timestamp, phone position, userId, and deviceId the
// tag's hardware id; the timestamp has 3 or 6 fractional digits (contract
// §4.1).
var alertPayload = regexp.MustCompile(`^\{"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(\d{3})?Z","latitude":-?\d+(\.\d+)?,"longitude":-?\d+(\.\d+)?,"altitude":-?\d+(\.\d+)?,"userId":"(dev-sos-\d+)","deviceId":"(CF:82(:[0-9A-F]{2}){4})"\}$`)

// TestDeviceSOSAgainstNginxAndMosquitto runs device-originated SOS
// (sos.origin: device, contract §6.4) against nginx and mosquitto and
// checks from their side: each user's HTTP calls in order with the SDK
// headers, and the sos/alerts payloads a subscriber received.
//
//   - "none": GET /v1/sdk/sos answers {"incident":null}: login GET, then per
//     cycle GET, PUBLISH, GET, and at the close GET with no cancel;
//   - "visible": it answers an incident that is not active (resolved): the
//     alert still goes out, and the close GET sees it and cancels;
//   - "active": it answers an active incident: the SDK publishes nothing.
func TestDeviceSOSAgainstNginxAndMosquitto(t *testing.T) {
	const incident = `{"incident":{"id":"inc-1","state":"%s","createdAt":"2026-01-01T00:00:00.000Z","latitude":0,"longitude":0}}`
	for _, tt := range []struct {
		name, body string
		cycle      []string // the calls of one device cycle after the login GET
		publishes  bool
	}{
		{"none", `{"incident":null}`, []string{"GET /v1/sdk/sos", "GET /v1/sdk/sos", "GET /v1/sdk/sos"}, true},
		{"visible", fmt.Sprintf(incident, "resolved"), []string{"GET /v1/sdk/sos", "GET /v1/sdk/sos", "GET /v1/sdk/sos", "POST /v1/sdk/sos/cancel"}, true},
		{"active", fmt.Sprintf(incident, "active"), []string{"GET /v1/sdk/sos"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := startMosquitto(t)
			httpURL, access := startSOSNginx(t, tt.body)
			runDeviceSOS(t, m, httpURL, access, tt.cycle, tt.publishes)
		})
	}
}

func runDeviceSOS(t *testing.T, m *mosquitto, httpURL, access string, cycle []string, publishes bool) {
	const users = 3
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var mu sync.Mutex
	var alerts []string
	sub := observe(ctx, t, m.TCPAddr, contract.TopicSOSAlerts, func(p *paho.Publish) {
		mu.Lock()
		alerts = append(alerts, string(p.Payload))
		mu.Unlock()
	})
	defer sub.Disconnect(&paho.Disconnect{})

	_, stop := startFleet(ctx, t, "device-sos.yaml", fmt.Sprintf(`
version: 1
name: device-sos
duration: 1m
seed: 3
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "dev-sos-{{.N}}" }
fleet: { users: %d, connect_rate: 1000/s }
behaviours:
  sos: { rate: 20/s, hold: 200ms, origin: device }
`, users), httpURL, m.TCPAddr)
	// Run until every user has finished one cycle as nginx saw it, at most 30 s.
	last := cycle[len(cycle)-1]
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		n := map[string]int{}
		for _, r := range readSDKLog(t, access) {
			if r.method+" "+r.uri == last {
				n[r.userID]++
			}
		}
		if len(n) == users && (last != "GET /v1/sdk/sos" || min(n["dev-sos-0"], n["dev-sos-1"], n["dev-sos-2"]) >= 1+len(cycle)) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()

	secret := []byte("demo-secret")
	byUser := map[string][]string{}
	for _, r := range readSDKLog(t, access) {
		call := r.method + " " + r.uri
		if r.appID != "demo-app" || !strings.HasPrefix(r.userID, "dev-sos-") {
			t.Errorf("%s: X-App-ID %q X-User-ID %q", call, r.appID, r.userID)
		}
		if r.auth != "Bearer "+contract.Sign(secret, r.userID) {
			t.Errorf("%s for %s: Authorization is not Bearer <userHash>", call, r.userID) // never print the hash
		}
		if r.contentType != "application/json" {
			t.Errorf("%s: Content-Type %q, want application/json", call, r.contentType)
		}
		wantAccept := "-"
		if r.uri == contract.PathMe {
			wantAccept = "application/json"
		}
		if r.accept != wantAccept {
			t.Errorf("%s: Accept %q, want %q", call, r.accept, wantAccept)
		}
		byUser[r.userID] = append(byUser[r.userID], call)
	}
	if len(byUser) != users {
		t.Fatalf("nginx saw %d users, want %d: %v", len(byUser), users, byUser)
	}
	for user, calls := range byUser {
		// Login: /me then the rehydrating GET; then whole device cycles,
		// the last one possibly cut short by the stop.
		if len(calls) < 2 || calls[0] != "GET "+contract.PathMe || calls[1] != "GET "+contract.PathSOS {
			t.Errorf("%s: login calls %v", user, calls)
			continue
		}
		rest := calls[2:]
		cycles := 0
		for len(rest) >= len(cycle) {
			if got := strings.Join(rest[:len(cycle)], ", "); got != strings.Join(cycle, ", ") {
				t.Errorf("%s: cycle %d calls %s, want %s", user, cycles+1, got, strings.Join(cycle, ", "))
				break
			}
			rest = rest[len(cycle):]
			cycles++
		}
		if cycles == 0 {
			t.Errorf("%s: no complete device cycle in %v", user, calls)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if !publishes {
		if len(alerts) != 0 {
			t.Errorf("%d alerts published while an incident was active", len(alerts))
		}
		return
	}
	deviceOf := map[string]string{}
	owner := map[string]string{}
	for _, a := range alerts {
		g := alertPayload.FindStringSubmatch(a)
		if g == nil {
			t.Errorf("sos/alerts payload %s does not match the contract's fields", a)
			continue
		}
		user, dev := g[5], g[6]
		if d, ok := deviceOf[user]; ok && d != dev {
			t.Errorf("%s: deviceId %s then %s", user, d, dev)
		}
		if u, ok := owner[dev]; ok && u != user {
			t.Errorf("deviceId %s on %s and %s", dev, u, user)
		}
		deviceOf[user], owner[dev] = dev, user
	}
	if len(deviceOf) != users {
		t.Errorf("alerts from %d users, want %d", len(deviceOf), users)
	}
	// Each cycle published one alert, between its first and last GET.
	cyclesSeen := 0
	for _, calls := range byUser {
		cyclesSeen += (len(calls) - 2) / len(cycle)
	}
	if len(alerts) < cyclesSeen {
		t.Errorf("%d alerts for %d complete device cycles", len(alerts), cyclesSeen)
	}
}
