package interop

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/refbackend"
	"github.com/eixamsim/eixamsim/scenario"
)

// relayedTEL is a relayed TEL as the SDK publishes BLE-originated
// telemetry (contract §3.6, §6.3), byte for byte: exactly timestamp,
// latitude, longitude, altitude, userId, deviceId in that order, no
// battery, coverage or origin-node field; positions quantised as a TEL
// packet carries them (4 decimals, altitude a whole number).
var relayedTEL = regexp.MustCompile(`^\{"timestamp":"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(?:\d{3})?Z)","latitude":(-?\d+(?:\.\d{1,4})?),"longitude":(-?\d+(?:\.\d{1,4})?),"altitude":(\d+)\.0,"userId":"([^"]+)","deviceId":"(CF:82:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2})"\}$`)

// TestRelayedTelemetryAgainstMosquitto runs users whose tags relay one
// peer each against mosquitto (an independent broker, which delivers what
// was published unchanged) and the reference backend's HTTP API, whose
// canonical ids differ from the external ones. An observer subscribed to
// tel/+/data sees, per user, relayed TEL on that user's own topic (the
// encoded canonical id), at QoS 1 without retain, with the payload above,
// userId the canonical id and deviceId one tag per user. The users' own
// telemetry (every 1h, without device_id) carries no deviceId and is
// ignored if it ever shows.
func TestRelayedTelemetryAgainstMosquitto(t *testing.T) {
	m := startMosquitto(t)
	srv, err := refbackend.Start(context.Background(), refbackend.Config{
		HTTPAddr:        "127.0.0.1:0",
		Apps:            map[string][]byte{"demo-app": []byte("demo-secret")},
		CanonicalPrefix: "canon:",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	const users = 3
	type seen struct {
		topic   string
		payload []byte
		qos     byte
		retain  bool
	}
	var mu sync.Mutex
	var msgs []seen
	relayed := make(chan struct{}, 64)
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	obs := observe(ctx, t, m.TCPAddr, "tel/+/data", func(p *paho.Publish) {
		mu.Lock()
		msgs = append(msgs, seen{p.Topic, append([]byte(nil), p.Payload...), p.QoS, p.Retain})
		mu.Unlock()
		if regexp.MustCompile(`"deviceId"`).Match(p.Payload) {
			select {
			case relayed <- struct{}{}:
			default:
			}
		}
	})
	defer obs.Disconnect(&paho.Disconnect{})

	reg, stop := startFleet(ctx, t, "relay.yaml", fmt.Sprintf(`
version: 1
name: relay
duration: 1m
seed: 11
identity: { app_id: demo-app, app_secret: demo-secret, user_id: "relay/{{.N}}" }
fleet: { users: %d, connect_rate: 1000/s }
behaviours: { telemetry: { every: 1h, relay: { peers: 1, every: 60s } } }
`, users), srv.HTTPURL(), m.TCPAddr)
	// A tag's first peer is relayed at its first tick, within 60s/8 of
	// coming online; wait for one per user (bounded by ctx).
	for got := 0; got < users; got++ {
		select {
		case <-relayed:
		case <-ctx.Done():
			t.Fatalf("%d relayed messages before the deadline, want %d", got, users)
		}
	}
	stop()

	mu.Lock()
	defer mu.Unlock()
	tagOf := map[string]string{} // topic -> deviceId
	for _, s := range msgs {
		if !regexp.MustCompile(`"deviceId"`).Match(s.payload) {
			continue // the user's own telemetry
		}
		f := relayedTEL.FindSubmatch(s.payload)
		if f == nil {
			t.Errorf("%s: payload %s is not a relayed TEL as the SDK publishes it", s.topic, s.payload)
			continue
		}
		if _, err := time.Parse(time.RFC3339Nano, string(f[1])); err != nil {
			t.Errorf("%s: timestamp %s: %v", s.topic, f[1], err)
		}
		lat, _ := strconv.ParseFloat(string(f[2]), 64)
		lon, _ := strconv.ParseFloat(string(f[3]), 64)
		alt, _ := strconv.Atoi(string(f[4]))
		if math.Abs(lat*5000-math.Round(lat*5000)) > 1e-6 || math.Abs(lon*5000-math.Round(lon*5000)) > 1e-6 || alt%40 != 0 {
			t.Errorf("%s: position %s, %s, %s is not on the TEL grid (0.0002°, 40 m)", s.topic, f[2], f[3], f[4])
		}
		user := string(f[5])
		if want := contract.TelemetryTopic(user); s.topic != want || !regexp.MustCompile(`^canon:relay/\d+$`).MatchString(user) {
			t.Errorf("published on %s with userId %q, want the user's own topic %s and its canonical id", s.topic, user, want)
		}
		if s.qos != 1 || s.retain {
			t.Errorf("%s: QoS %d retain %v, want QoS 1 without retain", s.topic, s.qos, s.retain)
		}
		if tag, ok := tagOf[s.topic]; ok && tag != string(f[6]) {
			t.Errorf("%s: deviceIds %s and %s: want the user's one tag", s.topic, tag, f[6])
		}
		tagOf[s.topic] = string(f[6])
	}
	tags := map[string]bool{}
	for _, tag := range tagOf {
		tags[tag] = true
	}
	if len(tagOf) != users || len(tags) != users {
		t.Errorf("relayed TEL on %d topics with %d tags, want %d of each: %v", len(tagOf), len(tags), users, tagOf)
	}
	if s := reg.Latency(scenario.TelemetryRelayPuback).Summary(); s.Count < users || s.Errors != 0 {
		t.Errorf("telemetry.relay_puback: %d acknowledged, %d errors %v", s.Count, s.Errors, s.ErrorsBy)
	}
}
