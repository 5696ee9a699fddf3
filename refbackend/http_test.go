package refbackend

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/eixamsim/eixamsim/contract"
)

func TestHTTPMe(t *testing.T) {
	s := startServer(t, nil)
	api := newAPIClient(t, s, signed(app1, secret1, "user-1"))
	r := api.do(t, "GET", "/v1/sdk/me", nil)
	wantStatus(t, "me", r, 200)
	var me contract.Me
	r.decode(t, &me)
	if !strings.HasPrefix(me.User.ID, "usr_") || me.User.ExternalUserID != "user-1" {
		t.Fatalf("me = %+v", me)
	}
	var again, other contract.Me
	api.do(t, "GET", "/v1/sdk/me", nil).decode(t, &again)
	newAPIClient(t, s, signed(app2, secret2, "user-1")).do(t, "GET", "/v1/sdk/me", nil).decode(t, &other)
	if again.User.ID != me.User.ID || other.User.ID == me.User.ID {
		t.Errorf("ids: %s, again %s, other app %s: want stable and per (app, user)", me.User.ID, again.User.ID, other.User.ID)
	}
}

func TestHTTPContacts(t *testing.T) {
	s := startServer(t, nil)
	api := newAPIClient(t, s, signed(app1, secret1, "user-1"))

	r := api.do(t, "GET", "/v1/sdk/contacts", nil)
	wantStatus(t, "empty list", r, 200)
	if string(r.body) != "{\"contacts\":[]}\n" {
		t.Errorf("empty list = %q", r.body)
	}

	var ids []string
	for _, p := range []int{3, 1, 2} {
		in := contract.ContactInput{Name: "c" + string(rune('0'+p)), Phone: "+3460000000" + string(rune('0'+p)), Email: "c@example.test", Priority: p}
		r := api.do(t, "POST", "/v1/sdk/contacts", in)
		wantStatus(t, "create", r, 201)
		var body struct{ Contact contract.Contact }
		r.decode(t, &body)
		c := body.Contact
		if !strings.HasPrefix(c.ID, "ct_") || c.Name != in.Name || c.Priority != p || c.CreatedAt == "" || c.UpdatedAt == "" {
			t.Fatalf("created %+v", c)
		}
		ids = append(ids, c.ID)
	}
	var list struct{ Contacts []contract.Contact }
	api.do(t, "GET", "/v1/sdk/contacts", nil).decode(t, &list)
	if len(list.Contacts) != 3 || list.Contacts[0].Priority != 1 || list.Contacts[1].Priority != 2 || list.Contacts[2].Priority != 3 {
		t.Fatalf("list not sorted by priority: %+v", list.Contacts)
	}

	r = api.do(t, "PUT", "/v1/sdk/contacts/"+ids[0], contract.ContactInput{Name: "Alice", Phone: "+34600000000", Email: "alice@example.test", Priority: 0})
	wantStatus(t, "update", r, 200)
	var upd struct{ Contact contract.Contact }
	r.decode(t, &upd)
	if upd.Contact.ID != ids[0] || upd.Contact.Name != "Alice" || upd.Contact.Priority != 0 {
		t.Errorf("updated %+v", upd.Contact)
	}
	r = api.do(t, "PUT", "/v1/sdk/contacts/ct_999999", contract.ContactInput{Name: "x"})
	wantStatus(t, "update unknown", r, 404)
	r.errorMessage(t)

	r = api.do(t, "DELETE", "/v1/sdk/contacts/"+ids[1], nil)
	wantStatus(t, "delete", r, 204)
	if len(r.body) != 0 {
		t.Errorf("204 with body %q", r.body)
	}
	wantStatus(t, "delete again", api.do(t, "DELETE", "/v1/sdk/contacts/"+ids[1], nil), 404)

	// Another user neither sees nor changes them.
	other := newAPIClient(t, s, signed(app1, secret1, "user-2"))
	wantStatus(t, "other user's delete", other.do(t, "DELETE", "/v1/sdk/contacts/"+ids[0], nil), 404)
	api.do(t, "GET", "/v1/sdk/contacts", nil).decode(t, &list)
	if len(list.Contacts) != 2 || list.Contacts[0].Name != "Alice" {
		t.Errorf("after update and delete: %+v", list.Contacts)
	}

	for _, body := range []string{
		`{"name":"a","phone":"b","email":"c"}`,                // priority missing
		`{"name":"a","phone":"b","email":"c","priority":"1"}`, // priority not a number
		`{"name":"a","phone":"b","email":"c","priority":1.5}`, // not an integer
		`{"name":null,"phone":"b","email":"c","priority":1}`,  // null name
		`{"name":1,"phone":"b","email":"c","priority":1}`,     // name not a string
		`"just a string"`,
		`null`,
		`{"name":"a"`,
		``,
	} {
		r := api.do(t, "POST", "/v1/sdk/contacts", body)
		wantStatus(t, "bad contact "+body, r, 400)
		r.errorMessage(t)
	}
}

func TestHTTPDevices(t *testing.T) {
	s := startServer(t, nil)
	api := newAPIClient(t, s, signed(app1, secret1, "user-1"))
	r := api.do(t, "GET", "/v1/sdk/devices", nil)
	wantStatus(t, "empty list", r, 200)
	if string(r.body) != "{\"devices\":[]}\n" {
		t.Errorf("empty list = %q", r.body)
	}

	upsert := func(hw, fw string) contract.Device {
		t.Helper()
		r := api.do(t, "POST", "/v1/sdk/devices", contract.DeviceInput{HardwareID: hw, FirmwareVersion: fw, HardwareModel: "EIXAM TAG", PairedAt: "2026-04-19T13:41:00.000Z"})
		wantStatus(t, "upsert", r, 200) // 200, never 201 (contract §2.9)
		var body struct{ Device contract.Device }
		r.decode(t, &body)
		return body.Device
	}
	d1 := upsert("CF:82:12:34:56:78", "2.5.1")
	if !strings.HasPrefix(d1.ID, "dev_") || d1.FirmwareVersion != "2.5.1" || d1.PairedAt != "2026-04-19T13:41:00.000Z" || d1.CreatedAt == "" || d1.UpdatedAt == "" {
		t.Fatalf("device %+v", d1)
	}
	d1b := upsert("CF:82:12:34:56:78", "2.6.0")
	if d1b.ID != d1.ID || d1b.CreatedAt != d1.CreatedAt || d1b.FirmwareVersion != "2.6.0" {
		t.Errorf("upsert of the same hardware id: %+v, was %+v", d1b, d1)
	}
	d2 := upsert("AA:BB:CC:DD:EE:FF", "")
	var list struct{ Devices []contract.Device }
	api.do(t, "GET", "/v1/sdk/devices", nil).decode(t, &list)
	if len(list.Devices) != 2 || list.Devices[0].ID != d1.ID || list.Devices[1].ID != d2.ID {
		t.Fatalf("list %+v", list.Devices)
	}

	wantStatus(t, "delete by hardware id", api.do(t, "DELETE", "/v1/sdk/devices/"+d1.HardwareID, nil), 404)
	wantStatus(t, "delete", api.do(t, "DELETE", "/v1/sdk/devices/"+d1.ID, nil), 204)
	wantStatus(t, "delete again", api.do(t, "DELETE", "/v1/sdk/devices/"+d1.ID, nil), 404)

	for _, body := range []string{
		`{"firmware_version":"1","hardware_model":"m","paired_at":"2026-04-19T13:41:00.000Z"}`,
		`{"hardware_id":"","firmware_version":"1","hardware_model":"m","paired_at":"2026-04-19T13:41:00.000Z"}`,
		`{"hardware_id":42,"firmware_version":"1","hardware_model":"m","paired_at":"2026-04-19T13:41:00.000Z"}`,
		`{"hardware_id":"X","firmware_version":"1","hardware_model":"m"}`,
	} {
		r := api.do(t, "POST", "/v1/sdk/devices", body)
		wantStatus(t, "bad device "+body, r, 400)
		r.errorMessage(t)
	}
}

func TestHTTPLimits(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxContactsPerUser, c.MaxDevicesPerUser = 2, 1 })
	api := newAPIClient(t, s, signed(app1, secret1, "user-1"))
	contact := contract.ContactInput{Name: "a", Phone: "b", Email: "c", Priority: 1}
	wantStatus(t, "contact 1", api.do(t, "POST", "/v1/sdk/contacts", contact), 201)
	wantStatus(t, "contact 2", api.do(t, "POST", "/v1/sdk/contacts", contact), 201)
	r := api.do(t, "POST", "/v1/sdk/contacts", contact)
	wantStatus(t, "contact 3", r, 409)
	r.errorMessage(t)

	dev := func(hw string) contract.DeviceInput {
		return contract.DeviceInput{HardwareID: hw, FirmwareVersion: "1", HardwareModel: "m", PairedAt: "2026-04-19T13:41:00.000Z"}
	}
	wantStatus(t, "device 1", api.do(t, "POST", "/v1/sdk/devices", dev("A")), 200)
	wantStatus(t, "device 1 again", api.do(t, "POST", "/v1/sdk/devices", dev("A")), 200)
	wantStatus(t, "device 2", api.do(t, "POST", "/v1/sdk/devices", dev("B")), 409)
	// The limit is per user.
	other := newAPIClient(t, s, signed(app1, secret1, "user-2"))
	wantStatus(t, "other user's device", other.do(t, "POST", "/v1/sdk/devices", dev("B")), 200)
}

func TestHTTPDoubledSlash(t *testing.T) {
	s := startServer(t, nil)
	api := newAPIClient(t, s, signed(app1, secret1, "user-1"))
	wantStatus(t, "GET //v1/sdk/me", api.do(t, "GET", "//v1/sdk/me", nil), 200)
	wantStatus(t, "GET //v1/sdk/sos", api.do(t, "GET", "//v1/sdk/sos", nil), 200)
	wantStatus(t, "POST //v1/sdk/sos/cancel", api.do(t, "POST", "//v1/sdk/sos/cancel", nil), 200)
	wantStatus(t, "POST //v1/sdk/sos/resolve", api.do(t, "POST", "//v1/sdk/sos/resolve", nil), 200)
	r := api.do(t, "POST", "//v1/sdk/contacts", contract.ContactInput{Name: "a", Phone: "b", Email: "c", Priority: 1})
	wantStatus(t, "POST //v1/sdk/contacts", r, 201)
	var c struct{ Contact contract.Contact }
	r.decode(t, &c)
	wantStatus(t, "PUT //v1/sdk/contacts/{id}", api.do(t, "PUT", "//v1/sdk/contacts/"+c.Contact.ID, contract.ContactInput{Name: "b"}), 200)
	wantStatus(t, "DELETE //v1/sdk/contacts/{id}", api.do(t, "DELETE", "//v1/sdk/contacts/"+c.Contact.ID, nil), 204)
	r = api.do(t, "POST", "//v1/sdk/devices", contract.DeviceInput{HardwareID: "A", PairedAt: "x"})
	wantStatus(t, "POST //v1/sdk/devices", r, 200)
	var d struct{ Device contract.Device }
	r.decode(t, &d)
	wantStatus(t, "DELETE //v1/sdk/devices/{id}", api.do(t, "DELETE", "//v1/sdk/devices/"+d.Device.ID, nil), 204)
	wantStatus(t, "GET ///v1/sdk/contacts", api.do(t, "GET", "///v1/sdk/contacts", nil), 200)
}

func TestHTTPErrors(t *testing.T) {
	s := startServer(t, func(c *Config) { c.MaxBodyBytes = 256 })
	good := signed(app1, secret1, "user-1")
	api := newAPIClient(t, s, good)

	// 401 with a JSON body, per failure reason.
	unauthorized := []struct {
		name    string
		headers map[string]string
		reason  string
	}{
		{"no headers", map[string]string{}, reasonMissingHeaders},
		{"no user", map[string]string{"X-App-ID": app1, "Authorization": "Bearer " + good.hash}, reasonMissingHeaders},
		{"basic auth", map[string]string{"X-App-ID": app1, "X-User-ID": good.user, "Authorization": "Basic " + good.hash}, reasonBadAuthorization},
		{"bare hash", map[string]string{"X-App-ID": app1, "X-User-ID": good.user, "Authorization": good.hash}, reasonBadAuthorization},
		{"unknown app", map[string]string{"X-App-ID": "nope", "X-User-ID": good.user, "Authorization": "Bearer " + good.hash}, reasonUnknownApp},
		{"other user's hash", map[string]string{"X-App-ID": app1, "X-User-ID": "user-2", "Authorization": "Bearer " + good.hash}, reasonBadHash},
		{"other app's secret", map[string]string{"X-App-ID": app2, "X-User-ID": good.user, "Authorization": "Bearer " + good.hash}, reasonBadHash},
	}
	wantReasons := map[string]int64{}
	for _, tt := range unauthorized {
		r := api.doWith(t, "GET", "/v1/sdk/sos", nil, func(h http.Header) {
			for k, v := range tt.headers {
				h.Set(k, v)
			}
		})
		wantStatus(t, tt.name, r, 401)
		r.errorMessage(t)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", tt.name)
		}
		wantReasons[tt.reason]++
	}
	// The scheme is case-insensitive.
	r := api.doWith(t, "GET", "/v1/sdk/me", nil, func(h http.Header) {
		h.Set("X-App-ID", app1)
		h.Set("X-User-ID", good.user)
		h.Set("Authorization", "bearer "+good.hash)
	})
	wantStatus(t, "lowercase bearer", r, 200)

	// 404 and 405, before authentication.
	for _, path := range []string{"/", "/v1/sdk/nope", "/v1/auth/sign", "/v1/sdk/contacts/a/b", "/v1/sdk/contacts/", "/v1/sdk/me/"} {
		r := api.do(t, "GET", path, nil)
		wantStatus(t, "GET "+path, r, 404)
		r.errorMessage(t)
	}
	methodTests := []struct{ method, path, allow string }{
		{"DELETE", "/v1/sdk/me", "GET"},
		{"PUT", "/v1/sdk/contacts", "GET, POST"},
		{"GET", "/v1/sdk/sos/cancel", "POST"},
		{"PATCH", "/v1/sdk/sos", "GET, POST"},
		{"POST", "/v1/sdk/devices/dev_1", "DELETE"},
		{"GET", "/v1/sdk/contacts/ct_1", "DELETE, PUT"},
	}
	for _, tt := range methodTests {
		r := api.doWith(t, tt.method, tt.path, nil, func(http.Header) {})
		wantStatus(t, tt.method+" "+tt.path, r, 405)
		r.errorMessage(t)
		if got := r.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.allow)
		}
	}

	// 413: declared and streamed (chunked) bodies.
	big := `{"name":"` + strings.Repeat("x", 1000) + `","phone":"b","email":"c","priority":1}`
	r = api.do(t, "POST", "/v1/sdk/contacts", big)
	wantStatus(t, "oversized body", r, 413)
	r.errorMessage(t)
	req, _ := http.NewRequest("POST", s.HTTPURL()+"/v1/sdk/contacts", io.MultiReader(strings.NewReader(big)))
	req.Header.Set(contract.HeaderAppID, app1)
	req.Header.Set(contract.HeaderUserID, good.user)
	req.Header.Set("Authorization", "Bearer "+good.hash)
	resp, err := api.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || resp.ContentLength == 0 || !json.Valid(data) {
		t.Errorf("chunked oversized body: %d %q", resp.StatusCode, data)
	}

	st := s.Stats().HTTP
	if !maps.Equal(st.AuthFailures, wantReasons) {
		t.Errorf("auth_failures = %v, want %v", st.AuthFailures, wantReasons)
	}
	if want := map[int]int64{404: 6, 405: int64(len(methodTests))}; !maps.Equal(st.Unrouted, want) {
		t.Errorf("unrouted = %v, want %v", st.Unrouted, want)
	}
	if got := st.Requests[contract.EndpointSOSGet][401]; got != int64(len(unauthorized)) {
		t.Errorf("requests[sos_get][401] = %d, want %d", got, len(unauthorized))
	}
	if got := st.Requests[contract.EndpointContactsCreate][413]; got != 2 {
		t.Errorf("requests[contacts_create][413] = %d, want 2", got)
	}
}

func TestDebugStats(t *testing.T) {
	s := startServer(t, nil)
	id := signed(app1, secret1, "user-1")
	c := mustConnect(t, s, id)
	c.publish(t, contract.TelemetryTopic(id.user), telemetry(1, 2))
	api := newAPIClient(t, s, id)
	wantStatus(t, "me", api.do(t, "GET", "/v1/sdk/me", nil), 200)

	r := api.doWith(t, "GET", "/debug/stats", nil, func(http.Header) {})
	wantStatus(t, "stats", r, 200)
	var raw map[string]map[string]json.RawMessage
	r.decode(t, &raw)
	for _, key := range []string{"mqtt", "telemetry", "sos", "events", "http"} {
		if raw[key] == nil {
			t.Errorf("stats has no %q section: %s", key, r.body)
		}
	}
	var st Stats
	r.decode(t, &st)
	if st.MQTT.Connected != 1 || st.Telemetry.Users["user-1"].Accepted != 1 || st.HTTP.Requests["me"][200] != 1 {
		t.Errorf("stats = %s", r.body)
	}
	if strings.Contains(string(r.body), id.hash) || strings.Contains(string(r.body), secret1) {
		t.Error("stats leak a secret or a user hash")
	}
	r = api.doWith(t, "GET", "/debug/stats?per_user=false", nil, func(http.Header) {})
	if strings.Contains(string(r.body), `"users"`) {
		t.Errorf("per_user=false still lists users: %s", r.body)
	}
	wantStatus(t, "POST stats", api.doWith(t, "POST", "/debug/stats", nil, func(http.Header) {}), 405)
}
