package scenario

import (
	"encoding/json"
	"strings"
	"testing"
)

const externalBase = `version: 1
name: t
duration: 10s
identity: { app_id: a, app_secret: s3cret-value }
fleet: { users: 10 }
`

// TestTargetAddressLists checks that target.http and target.mqtt take a
// URL or a list, resolve to every address in order with the first in
// HTTP/MQTT, and echo as written (a string for one, a list for several).
func TestTargetAddressLists(t *testing.T) {
	s, err := testParse(externalBase+"target:\n  http: [http://a:8080, http://b:8080]\n  mqtt: [tcp://a:1883, tcp://b:1883, ws://c/mqtt]\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	tg := s.Target
	if got := strings.Join(tg.Brokers(), " "); got != "tcp://a:1883 tcp://b:1883 ws://c/mqtt" || tg.MQTT != "tcp://a:1883" {
		t.Errorf("Brokers() = %s, MQTT = %s", got, tg.MQTT)
	}
	if got := strings.Join(tg.APIs(), " "); got != "http://a:8080 http://b:8080" || tg.HTTP != "http://a:8080" {
		t.Errorf("APIs() = %s, HTTP = %s", got, tg.HTTP)
	}
	js, _ := json.Marshal(tg)
	if want := `{"http":["http://a:8080","http://b:8080"],"mqtt":["tcp://a:1883","tcp://b:1883","ws://c/mqtt"]}`; string(js) != want {
		t.Errorf("echo %s, want %s", js, want)
	}

	one, err := testParse(externalBase+"target: { http: http://a, mqtt: [tcp://a] }\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	js, _ = json.Marshal(one.Target)
	if want := `{"http":"http://a","mqtt":"tcp://a"}`; string(js) != want {
		t.Errorf("echo of one %s, want %s", js, want)
	}
	// A hand-built target with MQTT only.
	if b := (Target{MQTT: "tcp://x"}).Brokers(); len(b) != 1 || b[0] != "tcp://x" {
		t.Errorf("hand-built Brokers() = %v", b)
	}
}

func TestTargetAddressListErrors(t *testing.T) {
	for _, tc := range []struct{ target, want string }{
		// each item is checked at its index
		{"{ http: http://a, mqtt: [tcp://a, ftp://b] }", `target.mqtt[1]: unknown scheme "ftp"`},
		// the same broker twice, spelled differently (default port)
		{"{ http: http://a, mqtt: [tcp://a:1883, mqtt://a] }", "target.mqtt[1]: names a:1883, as target.mqtt[0] does: each address may be listed once"},
		// the same API twice
		{"{ http: [http://a, http://a:80/], mqtt: tcp://a }", "target.http[1]: names a:80, as target.http[0] does"},
		// an empty list
		{"{ http: http://a, mqtt: [] }", "target.mqtt: must list at least one address"},
	} {
		_, err := testParse(externalBase+"target: "+tc.target+"\n", Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("target %s:\n got %v\nwant %s", tc.target, err, tc.want)
		}
	}
}

// TestPerAddressThresholds checks that a threshold may name the connect
// metric of one broker address, and only of one the target has.
func TestPerAddressThresholds(t *testing.T) {
	two := externalBase + "target: { http: http://a, mqtt: [tcp://a, tcp://b:1884] }\n"
	s, err := testParse(two+"thresholds: { \"mqtt.connect@b:1884\": [\"p(95) < 1s\", \"errors < 1%\"] }\n", Options{})
	if err != nil {
		t.Fatal(err)
	}
	m, ok := LookupMetric(s.Thresholds.Metrics[0].Metric)
	if !ok || m.Kind != KindLatency || m.Name != MQTTConnectAt("b:1884") {
		t.Errorf("LookupMetric = %+v, %v", m, ok)
	}
	for _, tc := range []struct{ yaml, want string }{
		{two + "thresholds: { \"mqtt.connect@c:1883\": [\"p(95) < 1s\"] }\n", "c:1883 is not an address of target.mqtt (a:1883, b:1884)"},
		{externalBase + "target: { http: http://a, mqtt: tcp://a }\nthresholds: { \"mqtt.connect@a:1883\": [\"p(95) < 1s\"] }\n", "is recorded only when target.mqtt lists several brokers; with one, use mqtt.connect"},
		{two + "thresholds: { \"mqtt.subscribe@a:1883\": [\"p(95) < 1s\"] }\n", "unknown metric"},
	} {
		_, err := testParse(tc.yaml, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}
