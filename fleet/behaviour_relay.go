package fleet

import (
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/errclass"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// relayPeriod, when > 0, replaces telemetry.relay.every; only tests set it
// (SetRelayPeriod), since the scenario allows no less than the tag's 60 s.
var relayPeriod time.Duration

// peerRadiusKm is how far from the phone a relayed peer node is: within
// radio range of the user's tag.
const peerRadiusKm = 1.0

var _ behaviour = (*relay)(nil)

// relay is BLE-relayed telemetry (contract §6.3): each user's paired tag
// forwards the TEL of its peer nodes, and the SDK publishes each on the
// phone user's own tel/<seg>/data with the tag's deviceId. The tag relays
// a peer at most once per `every` (§5): the user's ticker fires
// MaxRelayPeers times per period and tick k relays peer k mod
// MaxRelayPeers if the user has that many, so each peer is relayed exactly
// once per period and a user's peers are spread over it.
type relay struct {
	cfg    scenario.Relay
	qos    byte
	slot   time.Duration // every / MaxRelayPeers
	log    *slog.Logger
	puback *metrics.Latency
	unsent *metrics.Counter
	// Per user, guarded by the user's lock: its peer nodes (nil until its
	// first tick draws them), the slot of its next tick, and its cached
	// topic with the canonical id it was made from.
	peers          [][]peerNode
	next           []uint8
	topic, topicOf []string
	// inFlight counts each user's relayed publishes awaiting a PUBACK.
	inFlight []atomic.Int32
	refuse   work
}

// peerNode is one node whose TEL a user's tag relays: an offset from the
// phone that wanders a little, and an altitude offset.
type peerNode struct {
	northKm, eastKm, altM float64
}

func newRelay(e env) behaviour {
	t := e.sc.Behaviours.Telemetry
	if t == nil || t.Relay == nil {
		return nil
	}
	every := t.Relay.Every
	if relayPeriod > 0 {
		every = relayPeriod
	}
	b := &relay{
		cfg:      *t.Relay,
		qos:      t.QoS,
		slot:     every / scenario.MaxRelayPeers,
		log:      e.log,
		puback:   e.reg.Latency(scenario.TelemetryRelayPuback),
		unsent:   e.reg.Counter(scenario.TelemetryRelayUnsent),
		peers:    make([][]peerNode, e.users),
		next:     make([]uint8, e.users),
		topic:    make([]string, e.users),
		topicOf:  make([]string, e.users),
		inFlight: make([]atomic.Int32, e.users),
	}
	b.refuse = func(context.Context) error {
		b.unsent.Inc()
		b.puback.Error(errclass.Backpressure)
		return nil
	}
	return b
}

func (b *relay) when() trigger { return trigger{kind: perUser, every: b.slot} }

// missed is never called: relay is perUser.
func (b *relay) missed(*occurrence, string) {}

// claim takes the tick's peer of u, if u has one in this slot, and builds
// its message from the phone's position; the JSON is encoded by the work.
func (b *relay) claim(o *occurrence, u *user, l *life) work {
	i := u.index
	if b.peers[i] == nil {
		b.peers[i] = b.drawPeers(o)
	}
	k := int(b.next[i])
	b.next[i] = uint8((k + 1) % scenario.MaxRelayPeers)
	if k >= len(b.peers[i]) {
		return nil
	}
	if !u.connected(l) {
		b.unsent.Inc()
		return nil
	}
	inFlight := &b.inFlight[i]
	if inFlight.Load() >= maxTelemetryInFlight {
		return b.refuse
	}
	inFlight.Add(1)
	if b.topicOf[i] != u.canonical {
		b.topic[i], b.topicOf[i] = contract.TelemetryTopic(u.canonical), u.canonical
	}
	p := &relayPublish{
		b: b, intended: o.intended, conn: l.conn(), topic: b.topic[i], inFlight: inFlight,
		msg: b.peerTEL(o, &u.dev, &b.peers[i][k], u.canonical),
	}
	return p.run
}

// drawPeers draws a user's peer nodes: how many (peers lo..hi), and where
// each is, uniformly over the disc of peerRadiusKm around the phone. The
// slice is non-nil even for no peers, so it is drawn once.
func (b *relay) drawPeers(o *occurrence) []peerNode {
	n := b.cfg.PeersMin + o.rng.IntN(b.cfg.PeersMax-b.cfg.PeersMin+1)
	out := make([]peerNode, n)
	for j := range out {
		r, theta := peerRadiusKm*math.Sqrt(o.rng.Float64()), 2*math.Pi*o.rng.Float64()
		out[j] = peerNode{northKm: r * math.Cos(theta), eastKm: r * math.Sin(theta), altM: (o.rng.Float64()*2 - 1) * 100}
	}
	return out
}

// peerTEL moves peer up to ~50 m (staying within peerRadiusKm of the
// phone) and returns its TEL as the SDK publishes BLE-originated telemetry
// (contract §3.6): timestamp, position, the canonical userId and the tag's
// deviceId, nothing else; the origin node is not transmitted (§6.3). The
// position is quantised as a TEL packet carries it: about 0.0002° and
// multiples of 40 m of altitude.
func (b *relay) peerTEL(o *occurrence, d *device, peer *peerNode, userID string) contract.Telemetry {
	n, e := peer.northKm+(o.rng.Float64()*2-1)*0.05, peer.eastKm+(o.rng.Float64()*2-1)*0.05
	if math.Hypot(n, e) <= peerRadiusKm {
		peer.northKm, peer.eastKm = n, e
	}
	lat := clamp(d.lat+peer.northKm/kmPerDegreeLat, -90, 90)
	lon := clamp(d.lon+peer.eastKm/(kmPerDegreeLat*math.Cos(d.lat*math.Pi/180)), -180, 180)
	return contract.Telemetry{
		Timestamp: contract.Timestamp(time.Now()),
		Latitude:  contract.Double(quantise(lat, 0.0002, 4)),
		Longitude: contract.Double(quantise(lon, 0.0002, 4)),
		Altitude:  contract.Double(math.Max(0, math.Round((d.alt+peer.altM)/40)*40)),
		UserID:    userID,
		DeviceID:  d.hardwareID,
	}
}

// quantise rounds v to a multiple of step, printed with n decimals.
func quantise(v, step float64, n int) float64 { return round(math.Round(v/step)*step, n) }

// relayPublish is one claimed relayed TEL.
type relayPublish struct {
	b        *relay
	intended time.Time
	conn     conn
	topic    string
	msg      contract.Telemetry
	inFlight *atomic.Int32
}

// run encodes and publishes the message and records its PUBACK latency
// from the intended time.
func (p *relayPublish) run(context.Context) error {
	defer p.inFlight.Add(-1)
	payload, err := json.Marshal(&p.msg)
	if err != nil {
		p.b.puback.Error(errclass.Internal)
		return nil
	}
	p.conn.publish(p.b.puback, p.b.log, p.intended, &paho.Publish{Topic: p.topic, QoS: p.qos(), Payload: payload})
	return nil
}

func (p *relayPublish) qos() byte { return p.b.qos }
