package refbackend

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
)

// The tests in this file are "reference backend under abuse" (issue 7): bad
// input of every kind must be refused and counted, never crash the server
// or grow its memory.

// heapAfterGC is the live heap after garbage collection.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC() // the second cycle frees what sync.Pools released in the first
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// heapBound fails the test if the heap grew by more than limit bytes since
// before (a generous bound: the exact checks are on the server's maps).
func heapBound(t *testing.T, what string, before uint64, limit uint64) {
	t.Helper()
	after := heapAfterGC()
	if after > before && after-before > limit {
		t.Errorf("%s: heap grew by %d KiB (limit %d KiB)", what, (after-before)>>10, limit>>10)
	}
	t.Logf("%s: heap %d KiB -> %d KiB", what, before>>10, after>>10)
}

// userCount is the size of the user registry.
func userCount(s *Server) int {
	s.ids.mu.RLock()
	defer s.ids.mu.RUnlock()
	return len(s.ids.users)
}

// mqtt5Connect is an MQTT 5 CONNECT packet.
func mqtt5Connect(clientID, username, password string) []byte {
	var vh bytes.Buffer
	vh.Write(mqttString("MQTT"))
	vh.Write([]byte{5, 0xC2, 0, 30, 0}) // level 5, username+password+clean start, keep-alive 30, no properties
	vh.Write(mqttString(clientID))
	vh.Write(mqttString(username))
	vh.Write(mqttString(password))
	return mqttPacket(0x10, vh.Bytes())
}

// rawExchange writes packet on a new connection to addr and returns the
// first packet type and body the server answers, or io.EOF (or a reset) if
// it closes the connection without answering.
func rawExchange(addr string, packet []byte) (byte, []byte, error) {
	conn, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(waitFor))
	if _, err := conn.Write(packet); err != nil {
		return 0, nil, err
	}
	hdr := make([]byte, 1)
	if _, err := io.ReadFull(conn, hdr); err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for {
		b := make([]byte, 1)
		if _, err := io.ReadFull(conn, b); err != nil {
			return 0, nil, err
		}
		n += int(b[0]&127) * mul
		mul *= 128
		if b[0] < 128 {
			break
		}
	}
	body := make([]byte, n)
	_, err = io.ReadFull(conn, body)
	return hdr[0], body, err
}

// wantClosed fails unless the server closed the connection without
// answering (EOF or reset).
func wantClosed(t *testing.T, what string, typ byte, err error) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: server answered packet 0x%02x instead of closing", what, typ)
		return
	}
	if err != io.EOF && !strings.Contains(err.Error(), "reset") {
		t.Errorf("%s: %v, want the connection closed", what, err)
	}
}

func TestAbuseOversizedAndMalformedMQTTPackets(t *testing.T) {
	const max = 1024
	s := startServer(t, func(c *Config) { c.MaxPayloadBytes = max })
	addr := hostPort(t, s.MQTTURL())
	id := signed(app1, secret1, "user-1")

	// Before CONNECT: a CONNECT too large, a header declaring 256 MiB
	// (refused before anything is allocated), a PUBLISH as first packet,
	// a CONNECT with a bad protocol name, and noise.
	bigConnect := mqtt5Connect("c", contract.Username(id.app, id.user), strings.Repeat("x", 2*max))
	typ, _, err := rawExchange(addr, bigConnect)
	wantClosed(t, "oversized CONNECT", typ, err)
	typ, _, err = rawExchange(addr, []byte{0x10, 0xFF, 0xFF, 0xFF, 0x7F})
	wantClosed(t, "256 MiB declared", typ, err)
	typ, _, err = rawExchange(addr, v3Publish(1, contract.TopicSOSAlerts, alert(1, 2)))
	wantClosed(t, "PUBLISH before CONNECT", typ, err)
	badName := append([]byte{0x10, 8}, append(mqttString("MQTX"), 5, 0xC2)...)
	_, _, _ = rawExchange(addr, badName) // mochi may answer CONNACK 0x81/0x84 before closing
	_, _, _ = rawExchange(addr, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))

	// After CONNECT: an oversized PUBLISH over TCP and over WebSocket.
	for _, conn := range []net.Conn{dialTCP(t, s), dialWS(t, s.WSURL(), nil)} {
		c := connectWatched(t, conn, id)
		_, _ = c.PublishWithOptions(context.Background(),
			&paho.Publish{Topic: contract.TelemetryTopic(id.user), QoS: 1, Payload: bytes.Repeat([]byte("x"), 2*max)},
			paho.PublishOptions{Method: paho.PublishMethod_AsyncSend})
		select {
		case <-c.Done():
		case <-time.After(waitFor):
			t.Fatal("connection not closed after an oversized PUBLISH")
		}
	}
	eventually(t, "4 oversized packets counted", func() bool { return s.Stats().MQTT.PacketsTooLarge == 4 })
	// PUBLISH before CONNECT, bad protocol name, HTTP noise.
	eventually(t, "3 malformed packets counted", func() bool { return s.Stats().MQTT.MalformedPackets == 3 })
	eventually(t, "no session left", func() bool { return s.Stats().MQTT.Connected == 0 })
	st := s.Stats()
	if st.Telemetry.Accepted+st.Telemetry.Rejected != 0 || st.SOS.AlertsAccepted != 0 {
		t.Errorf("an oversized or early packet reached the payload handlers: %+v %+v", st.Telemetry, st.SOS)
	}
	if n := st.MQTT.PacketsTooLarge; n != 4 {
		t.Errorf("packets_too_large = %d, want 4", n)
	}
	// Still serving.
	sosRoundTrip(t, dialTCP(t, s), id)
}

func TestAbuseMalformedPayloadsOnEveryTopic(t *testing.T) {
	s := startServer(t, nil)
	id := signed(app1, secret1, "user-1")
	c := connectWatched(t, dialTCP(t, s), id)
	ts := contract.Timestamp(time.Now())
	payloads := []string{
		``,
		`null`,
		`[]`,
		`"a string"`,
		`{`,
		"\x00\xff\xfe garbage",
		strings.Repeat("[", 20000), // deeper than encoding/json allows
		`{"timestamp":1,"latitude":1,"longitude":2,"altitude":0}`,                           // timestamp not a string
		`{"timestamp":"` + ts + `","latitude":"1","longitude":2,"altitude":0}`,              // latitude a string
		`{"timestamp":"` + ts + `","latitude":1e400,"longitude":2,"altitude":0}`,            // out of float range
		`{"timestamp":"` + ts + `","latitude":NaN,"longitude":2,"altitude":0}`,              // not JSON
		`{"timestamp":"` + ts + `","latitude":91,"longitude":2,"altitude":0}`,               // out of range
		`{"timestamp":"` + ts + `","latitude":1,"longitude":2,"latitude":-91,"altitude":0}`, // duplicate key: the last wins
		`{"timestamp":"yesterday","latitude":1,"longitude":2,"altitude":0}`,
		`{"timestamp":"` + ts + `","latitude":1,"longitude":2,"altitude":0,"deviceId":7}`,                      // deviceId not a string
		`{"timestamp":"` + ts + `","latitude":1,"longitude":2,"altitude":0}` + strings.Repeat(" ", 100) + `{}`, // trailing data
		`{"timestamp":"` + ts + `","latitude":1,"longitude":2,"altitude":0,"x":"` + strings.Repeat("a", 60<<10) + `"` + `,"userId":[]}`,
	}
	for _, topic := range []string{contract.TopicSOSAlerts, contract.TelemetryTopic(id.user)} {
		for _, p := range payloads {
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			pr, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(p)})
			cancel()
			if err != nil && pr == nil {
				t.Fatalf("%s %.40q: %v", topic, p, err)
			}
			if pr.ReasonCode != 0x99 {
				t.Errorf("%s %.40q: PUBACK 0x%02x, want 0x99", topic, p, pr.ReasonCode)
			}
		}
		// QoS 0: discarded and counted, no answer.
		if _, err := c.PublishWithOptions(context.Background(), &paho.Publish{Topic: topic, QoS: 0, Payload: []byte("{")}, paho.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	n := int64(len(payloads) + 1)
	eventually(t, "QoS 0 rejections counted", func() bool {
		st := s.Stats()
		return st.SOS.AlertsRejected == n && st.Telemetry.Rejected == n
	})
	st := s.Stats()
	var byReason int64
	for _, v := range st.Telemetry.RejectedByReason {
		byReason += v
	}
	if byReason != n || st.Telemetry.Accepted != 0 || st.SOS.AlertsAccepted != 0 || st.SOS.IncidentsOpened != 0 {
		t.Errorf("stats: telemetry %+v sos %+v", st.Telemetry, st.SOS)
	}
	// The same connection still works.
	c.alive(t)
}

func TestAbuseMalformedHTTPBodies(t *testing.T) {
	s := startServer(t, nil)
	api := newAPIClient(t, s, signed(app1, secret1, "user-1"))
	var created contract.Contact
	r := api.do(t, "POST", "/v1/sdk/contacts", map[string]any{"name": "n", "phone": "p", "email": "e", "priority": 1})
	wantStatus(t, "create contact", r, 201)
	r.decode(t, &struct{ Contact *contract.Contact }{&created})

	bodies := []string{
		``,
		`null`,
		`[]`,
		`"x"`,
		`{`,
		`{}`,
		"\x00\xff",
		strings.Repeat("[", 20000),
		`{"name":1,"phone":true,"email":null,"priority":"1","hardware_id":2,"latitude":"1","longitude":[]}`,
		`{"priority":1.5,"latitude":1e400}`,
		`{"a":1}{"b":2}`,
	}
	endpoints := []struct{ name, method, path string }{
		{contract.EndpointSOSCreate, "POST", "/v1/sdk/sos"},
		{contract.EndpointContactsCreate, "POST", "/v1/sdk/contacts"},
		{contract.EndpointContactsUpdate, "PUT", "/v1/sdk/contacts/" + created.ID},
		{contract.EndpointDevicesUpsert, "POST", "/v1/sdk/devices"},
	}
	for _, ep := range endpoints {
		for _, b := range bodies {
			r := api.do(t, ep.method, ep.path, b)
			wantStatus(t, fmt.Sprintf("%s %.30q", ep.name, b), r, 400)
			r.errorMessage(t)
		}
		wantStatus(t, ep.name+" 65 KiB", api.do(t, ep.method, ep.path, strings.Repeat(" ", 65<<10)), 413)
	}
	// Cancel and resolve ignore their body.
	for _, path := range []string{"/v1/sdk/sos/cancel", "/v1/sdk/sos/resolve"} {
		wantStatus(t, path+" with garbage", api.do(t, "POST", path, "\x00{["), 200)
	}
	st := s.Stats()
	for _, ep := range endpoints {
		if got := st.HTTP.Requests[ep.name][400]; got != int64(len(bodies)) {
			t.Errorf("%s: %d answers 400, want %d", ep.name, got, len(bodies))
		}
		if got := st.HTTP.Requests[ep.name][413]; got != 1 {
			t.Errorf("%s: %d answers 413, want 1", ep.name, got)
		}
	}
	var list struct{ Contacts []contract.Contact }
	api.do(t, "GET", "/v1/sdk/contacts", nil).decode(t, &list)
	var devices struct{ Devices []contract.Device }
	api.do(t, "GET", "/v1/sdk/devices", nil).decode(t, &devices)
	if len(list.Contacts) != 1 || list.Contacts[0] != created || len(devices.Devices) != 0 || st.SOS.IncidentsOpened != 0 {
		t.Errorf("bad bodies changed state: contacts %+v devices %+v incidents %d", list.Contacts, devices.Devices, st.SOS.IncidentsOpened)
	}
}

// parallel runs fn(i) for i in [0, n) on workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

func TestAbuseBadCredentialBurst(t *testing.T) {
	const n = 2000
	s := startServer(t, func(c *Config) { c.HTTPAddr, c.WSAddr = "", "" })
	addr := hostPort(t, s.MQTTURL())
	// Warm up (first connections allocate pools), then measure.
	for i := range 20 {
		_, _, _ = rawExchange(addr, mqtt5Connect("warm", contract.Username(app1, fmt.Sprint("warm-", i)), "bad"))
	}
	before := heapAfterGC()
	baseRefused := s.Stats().MQTT.ConnectsRefused["bad_hash"]
	var mu sync.Mutex
	codes := map[string]int{}
	start := time.Now()
	parallel(n, 8, func(i int) {
		var username string
		switch i % 4 {
		case 0, 1: // a configured app, a wrong password, a new user id every time
			username = contract.Username(app1, fmt.Sprintf("burst-%d", i))
		case 2: // an app nobody configured
			username = contract.Username(fmt.Sprintf("nosuchapp-%d", i), "u")
		case 3: // not an SDK username
			username = fmt.Sprintf("admin-%d", i)
		}
		typ, body, err := rawExchange(addr, mqtt5Connect(fmt.Sprint("c", i), username, strings.Repeat("f", 64)))
		key := fmt.Sprintf("0x%02x", typ)
		if err != nil {
			key = "error: " + err.Error()
		} else if typ == 0x20 && len(body) >= 2 {
			key = fmt.Sprintf("CONNACK 0x%02x", body[1])
		}
		mu.Lock()
		codes[key]++
		mu.Unlock()
	})
	t.Logf("%d bad CONNECTs in %v", n, time.Since(start))
	if codes["CONNACK 0x86"] != n {
		t.Errorf("answers %v, want %d × CONNACK 0x86", codes, n)
	}
	st := s.Stats().MQTT
	if got := st.ConnectsRefused["bad_hash"] - baseRefused; got != n/2 || st.ConnectsRefused["unknown_app"] != n/4 || st.ConnectsRefused["bad_username"] != n/4 {
		t.Errorf("connects_refused %v (bad_hash +%d)", st.ConnectsRefused, got)
	}
	if st.ConnectsAccepted != 0 || st.Connected != 0 {
		t.Errorf("accepted %d connected %d", st.ConnectsAccepted, st.Connected)
	}
	if u := userCount(s); u != 0 {
		t.Errorf("%d users registered by refused CONNECTs", u)
	}
	heapBound(t, "after 2000 bad CONNECTs", before, 4<<20)
	// Still serving.
	sosRoundTrip(t, dialTCP(t, s), signed(app1, secret1, "user-1"))
}

func TestAbuseBadHTTPAuth(t *testing.T) {
	const n = 3000
	s := startServer(t, func(c *Config) { c.MQTTAddr, c.WSAddr = "", "" })
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: waitFor}
	paths := []struct{ method, path string }{
		{"GET", "/v1/sdk/me"}, {"GET", "/v1/sdk/sos"}, {"POST", "/v1/sdk/sos/cancel"},
		{"POST", "/v1/sdk/contacts"}, {"DELETE", "/v1/sdk/devices/dev_1"}, {"PUT", "/v1/sdk/contacts/ct_1"},
	}
	send := func(i int) int {
		p := paths[i%len(paths)]
		req, _ := http.NewRequest(p.method, s.HTTPURL()+p.path, strings.NewReader(`{"name":"x"}`))
		user := fmt.Sprintf("intruder-%d", i)
		switch i % 4 {
		case 0: // wrong hash
			req.Header.Set(contract.HeaderAppID, app1)
			req.Header.Set(contract.HeaderUserID, user)
			req.Header.Set("Authorization", "Bearer "+contract.Sign([]byte("guess"), user))
		case 1: // unknown app
			req.Header.Set(contract.HeaderAppID, user)
			req.Header.Set(contract.HeaderUserID, user)
			req.Header.Set("Authorization", "Bearer x")
		case 2: // not a bearer token
			req.Header.Set(contract.HeaderAppID, app1)
			req.Header.Set(contract.HeaderUserID, user)
			req.Header.Set("Authorization", "Basic "+strings.Repeat("A", 4096))
		case 3: // no headers
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 24 { // warm up
		send(i)
	}
	tr.CloseIdleConnections()
	before := heapAfterGC()
	base := s.Stats().HTTP.AuthFailures
	var mu sync.Mutex
	statuses := map[int]int{}
	start := time.Now()
	parallel(n, 8, func(i int) {
		status := send(i)
		mu.Lock()
		statuses[status]++
		mu.Unlock()
	})
	t.Logf("%d bad-auth requests in %v", n, time.Since(start))
	if statuses[401] != n {
		t.Errorf("statuses %v, want %d × 401", statuses, n)
	}
	st := s.Stats().HTTP
	for reason, want := range map[string]int64{"bad_hash": n / 4, "unknown_app": n / 4, "bad_authorization": n / 4, "missing_headers": n / 4} {
		if got := st.AuthFailures[reason] - base[reason]; got != want {
			t.Errorf("auth_failures[%s] grew by %d, want %d", reason, got, want)
		}
	}
	var total int64
	for _, byStatus := range st.Requests {
		for status, c := range byStatus {
			if status != 401 {
				t.Errorf("a bad-auth request was answered %d", status)
			}
			total += c
		}
	}
	if total != n+24 {
		t.Errorf("%d requests counted, want %d", total, n+24)
	}
	if u := userCount(s); u != 0 {
		t.Errorf("%d users registered by refused requests", u)
	}
	tr.CloseIdleConnections()
	heapBound(t, "after 3000 bad-auth requests", before, 4<<20)
}
