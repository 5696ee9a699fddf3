package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/scenario"
)

// maxTelemetryInFlight bounds the QoS 1 telemetry publishes one user has
// waiting for a PUBACK; beyond it a tick is counted as unsent
// ("backpressure") instead of piling up goroutines behind a stalled broker.
const maxTelemetryInFlight = 8

// user is one virtual phone. Its identity is fixed; each time the stages
// bring it online it gets a new life, which ends when it is stopped.
//
// Life states and transitions (guarded by user.mu):
//
//	(offline) --start--> starting --login+connect+subscribe ok--> online
//	starting  --failure--> retrying --policy delay--> starting
//	online    --connection lost--> retrying (same as above, MQTT only)
//	any       --stop--> (offline): timers stopped, work drained, DISCONNECT sent
type user struct {
	r     *runner
	index int
	sess  scenario.Session

	mu         sync.Mutex
	life       *life // nil while offline
	onlinePos  int   // index in runner.online, -1 if absent
	canonical  string
	telTopic   string
	evTopic    string
	dev        device
	contactIDs []string
	deviceIDs  []string
	incidents  []string // backend ids of recent incidents, oldest first
}

type lifeState int

const (
	starting lifeState = iota
	online
	retrying
)

// life is one online period of a user, from start to stop.
type life struct {
	state   lifeState
	stopped bool
	client  *paho.Client
	// clientCtx ends when client's connection is lost, failing the
	// publishes still waiting for a PUBACK on it: paho keeps QoS 1
	// messages in its session past the connection, and this client will
	// never reconnect (the SDK builds a new one each time).
	clientCtx    context.Context
	cancelClient context.CancelFunc
	// loggedIn is set once /me (and the rehydration read) succeeded in this
	// life; reconnects after that are MQTT-only, like the SDK's.
	loggedIn bool
	// everOnline tells the first connection (user.login) from reconnects
	// (mqtt.reconnect).
	everOnline bool
	started    time.Time
	// downSince is when the connection was lost (zero while connected).
	downSince time.Time
	attempts  int
	// work counts goroutines doing something for this life; stop waits for
	// it before disconnecting so no acknowledged message goes uncounted.
	work       sync.WaitGroup
	retryTimer *time.Timer
	telTimer   *time.Timer
	nextTel    time.Time
	inFlight   int
	sos        *sosRun
}

// start gives the user a new life and begins logging in.
func (u *user) start() {
	u.mu.Lock()
	if u.life != nil {
		u.mu.Unlock()
		return
	}
	l := &life{state: starting, started: time.Now()}
	u.life = l
	l.work.Add(1)
	u.mu.Unlock()
	u.r.goWork(func() {
		defer l.work.Done()
		u.bringUp(l)
	})
}

// stop ends the user's life: no new work starts, an SOS in progress is
// ended early, running work is drained, then the MQTT client disconnects
// cleanly. It blocks until done and is safe to call when offline.
func (u *user) stop() {
	u.mu.Lock()
	l := u.life
	if l == nil {
		u.mu.Unlock()
		return
	}
	u.life = nil
	l.stopped = true
	u.r.removeOnline(u)
	stopTimer(l.retryTimer)
	stopTimer(l.telTimer)
	if l.sos != nil {
		l.sos.endEarly()
	}
	u.mu.Unlock()

	l.work.Wait()

	u.mu.Lock()
	client := l.client
	l.client = nil
	if l.cancelClient != nil {
		l.cancelClient()
	}
	u.mu.Unlock()
	if client != nil {
		u.r.online.Add(-1)
		_ = client.Disconnect(&paho.Disconnect{ReasonCode: 0})
	}
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// current reports whether l is still the user's live life. Call with u.mu held.
func (u *user) current(l *life) bool { return u.life == l && !l.stopped }

// bringUp runs the SDK start-up sequence for a life: the login HTTP calls
// (once per life) and then the MQTT connection with its subscription. On
// failure it schedules a retry per the reconnect policy.
func (u *user) bringUp(l *life) {
	ctx, cancel := context.WithTimeout(context.Background(), u.r.loginTimeout)
	defer cancel()
	if !l.loggedIn {
		if err := u.login(ctx); err != nil {
			u.retryLater(l, err)
			return
		}
		u.mu.Lock()
		l.loggedIn = true
		u.mu.Unlock()
	}
	u.mu.Lock()
	ok := u.current(l)
	u.mu.Unlock()
	if !ok {
		return
	}
	client, err := u.connect(ctx, l)
	if err != nil {
		u.retryLater(l, err)
		return
	}

	now := time.Now()
	u.mu.Lock()
	if !u.current(l) {
		u.mu.Unlock()
		_ = client.Disconnect(&paho.Disconnect{ReasonCode: 0})
		return
	}
	l.client = client
	l.clientCtx, l.cancelClient = context.WithCancel(context.Background())
	wasDown, reconnected := l.downSince, l.everOnline
	l.state, l.attempts, l.downSince, l.everOnline = online, 0, time.Time{}, true
	u.r.addOnline(u)
	u.r.online.Add(1)
	if t := u.r.sc.Behaviours.Telemetry; t != nil && t.Every > 0 && l.telTimer == nil {
		l.nextTel = now.Add(u.r.telemetryPhase(t))
		l.telTimer = time.AfterFunc(time.Until(l.nextTel), func() { u.telemetryTick(l) })
	}
	u.mu.Unlock()

	if reconnected {
		u.r.m(mReconnect).Record(now.Sub(wasDown))
	} else {
		u.r.m(mLogin).Record(now.Sub(l.started))
	}
}

// retryLater schedules the next attempt of bringUp after the policy delay.
func (u *user) retryLater(l *life, cause error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.current(l) {
		return
	}
	u.r.log.Debug("user attempt failed", "user", u.index, "err", cause)
	delay := u.r.backoff(l.attempts)
	l.attempts++
	l.state = retrying
	l.retryTimer = time.AfterFunc(delay, func() {
		u.mu.Lock()
		if !u.current(l) {
			u.mu.Unlock()
			return
		}
		l.work.Add(1)
		u.mu.Unlock()
		u.r.goWork(func() {
			defer l.work.Done()
			u.bringUp(l)
		})
	})
}

// login is the SDK's setSession sequence (contract §6.1): GET /v1/sdk/me for
// the canonical id, then GET /v1/sdk/sos to rehydrate.
func (u *user) login(ctx context.Context) error {
	for _, step := range u.r.sc.Behaviours.Login {
		switch step {
		case "me":
			var me contract.Me
			t0 := time.Now()
			class, err := u.r.http.call(ctx, u.sess, "GET", contract.PathMe, nil, is2xx, &me)
			if err == nil {
				canonical := strings.TrimSpace(me.User.ExternalUserID)
				if canonical == "" || strings.TrimSpace(me.User.ID) == "" {
					class, err = "invalid_response", errors.New("GET /v1/sdk/me: user.id or user.external_user_id missing")
				} else {
					u.setCanonical(canonical)
				}
			}
			if !u.r.observe(mMe, t0, class, err) {
				return err
			}
		case "sos_rehydrate":
			var body contract.IncidentBody
			t0 := time.Now()
			class, err := u.r.http.call(ctx, u.sess, "GET", contract.PathSOS, nil, is2xx, &body)
			if !u.r.observe(mSOSGet, t0, class, err) {
				return err
			}
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.canonical == "" {
		// Without /me the canonical id is the external id; the SDK itself
		// cannot connect without /me (contract §1.4).
		u.setCanonicalLocked(u.sess.ExternalUserID)
	}
	return nil
}

func (u *user) setCanonical(id string) {
	u.mu.Lock()
	u.setCanonicalLocked(id)
	u.mu.Unlock()
}

func (u *user) setCanonicalLocked(id string) {
	u.canonical = id
	u.telTopic = contract.TelemetryTopic(id)
	u.evTopic = contract.EventsTopic(id)
}

// connect opens a fresh MQTT 5 connection with clean start and subscribes
// to the user's event topic, measuring both (contract §3.1).
func (u *user) connect(ctx context.Context, l *life) (*paho.Client, error) {
	r := u.r
	connect := r.dial.metrics(u.sess.Index)
	t0 := time.Now()
	conn, err := r.dial.dial(ctx, u.sess.Index)
	if err != nil {
		connect.Error(classifyNetError(err))
		return nil, fmt.Errorf("connect: %w", err)
	}
	var client *paho.Client
	client = paho.NewClient(paho.ClientConfig{
		ClientID: contract.ClientID(u.sess.AppID, u.sess.ExternalUserID),
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { u.onMessage(l, pr.Packet); return true, nil },
		},
		OnClientError: func(err error) { u.lost(l, client, err) },
		OnServerDisconnect: func(d *paho.Disconnect) {
			u.lost(l, client, fmt.Errorf("server DISCONNECT reason 0x%02X", d.ReasonCode))
		},
		PacketTimeout: r.sc.Fleet.ConnectTimeout,
	})
	receiveMax := uint16(r.sc.Fleet.ReceiveMaximum)
	ack, err := client.Connect(ctx, &paho.Connect{
		ClientID:     contract.ClientID(u.sess.AppID, u.sess.ExternalUserID),
		KeepAlive:    uint16(r.sc.Fleet.KeepAlive / time.Second),
		CleanStart:   true,
		Username:     contract.Username(u.sess.AppID, u.sess.ExternalUserID),
		UsernameFlag: true,
		Password:     []byte(u.sess.UserHash.Reveal()),
		PasswordFlag: true,
		Properties:   &paho.ConnectProperties{ReceiveMaximum: &receiveMax},
	})
	if err != nil {
		conn.Close()
		class := classifyNetError(err)
		if ack != nil && ack.ReasonCode >= 0x80 {
			class = connackClass(ack.ReasonCode)
		}
		connect.Error(class)
		return nil, fmt.Errorf("connect: %w", err)
	}
	connect.Record(time.Since(t0))

	u.mu.Lock()
	topic := u.evTopic
	u.mu.Unlock()
	t1 := time.Now()
	sa, err := client.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
	if err == nil && len(sa.Reasons) == 1 && sa.Reasons[0] >= 0x80 {
		err = fmt.Errorf("subscribe %s refused: reason 0x%02X", topic, sa.Reasons[0])
		r.m(mSubscribe).Error(fmt.Sprintf("suback_0x%02x", sa.Reasons[0]))
	} else if err != nil {
		r.m(mSubscribe).Error(classifyNetError(err))
	} else {
		r.m(mSubscribe).Record(time.Since(t1))
	}
	if err != nil {
		_ = client.Disconnect(&paho.Disconnect{ReasonCode: 0})
		return nil, err
	}
	return client, nil
}

// connackClass names a refused CONNECT: bad credentials and not-authorised
// are auth failures; anything else keeps its reason code.
func connackClass(code byte) string {
	switch code {
	case 0x86, 0x87, 0x04, 0x05:
		return "auth_refused"
	}
	return fmt.Sprintf("connack_0x%02x", code)
}

// lost handles an unsolicited loss of client: count it and reconnect per
// the policy. Losses of an old client, or after stop, are ignored.
func (u *user) lost(l *life, client *paho.Client, cause error) {
	u.mu.Lock()
	if !u.current(l) || l.client != client || l.state != online {
		u.mu.Unlock()
		return
	}
	l.client = nil
	l.cancelClient()
	l.state = retrying
	l.downSince = time.Now()
	u.r.removeOnline(u)
	u.r.online.Add(-1)
	u.r.disconnects.Inc()
	u.mu.Unlock()
	_ = client.Disconnect(&paho.Disconnect{ReasonCode: 0}) // release paho's goroutines
	u.retryLater(l, cause)
}

// telemetryTick publishes one telemetry message (closed model: one loop per
// user) and schedules the next from the intended time, not from now, so a
// slow broker cannot stretch the schedule.
func (u *user) telemetryTick(l *life) {
	t := u.r.sc.Behaviours.Telemetry
	u.mu.Lock()
	if !u.current(l) {
		u.mu.Unlock()
		return
	}
	intended := l.nextTel
	l.nextTel = intended.Add(jittered(t.Every, t.Jitter))
	l.telTimer.Reset(time.Until(l.nextTel))
	u.mu.Unlock()
	u.r.m(mLag).Record(time.Since(intended))
	u.publishTelemetry(intended)
}

// publishTelemetry sends one telemetry message for an arrival due at
// intended and records its PUBACK latency from that time.
func (u *user) publishTelemetry(intended time.Time) {
	r := u.r
	u.mu.Lock()
	l := u.life
	if l == nil || l.stopped || l.state != online || l.client == nil {
		u.mu.Unlock()
		r.unsent.Inc()
		return
	}
	if l.inFlight >= maxTelemetryInFlight {
		u.mu.Unlock()
		r.unsent.Inc()
		r.m(mTelPuback).Error("backpressure")
		return
	}
	l.inFlight++
	l.work.Add(1)
	client, clientCtx, topic := l.client, l.clientCtx, u.telTopic
	payload, err := json.Marshal(u.dev.telemetry(time.Now(), u.canonical, r.sc.Behaviours.Telemetry))
	u.mu.Unlock()
	defer func() {
		u.mu.Lock()
		l.inFlight--
		u.mu.Unlock()
		l.work.Done()
	}()
	if err != nil {
		r.m(mTelPuback).Error("internal")
		return
	}
	qos := byte(1)
	if tt := r.sc.Behaviours.Telemetry; tt != nil {
		qos = tt.QoS
	}
	r.publish(clientCtx, client, mTelPuback, intended, &paho.Publish{Topic: topic, QoS: qos, Payload: payload})
}

// onMessage receives what the broker sends on the user's event topic for
// life l. It looks the SOS up on l, not on u.life: stop detaches the life
// first and then drains its work, and an SOS ending in that window must
// still see its events. It runs on paho's goroutine and must not block.
func (u *user) onMessage(l *life, p *paho.Publish) {
	now := time.Now()
	var ev struct {
		IncidentID string `json:"incidentId"`
		ID         string `json:"id"`
		Status     string `json:"status"`
		State      string `json:"state"`
		Type       string `json:"type"`
	}
	if err := json.Unmarshal(p.Payload, &ev); err != nil {
		u.r.log.Debug("ignoring non-JSON event", "user", u.index)
		return
	}
	word := ev.Status
	if word == "" {
		word = ev.State
	}
	if word == "" {
		word = ev.Type
	}
	id := ev.IncidentID
	if id == "" {
		id = ev.ID
	}
	state := lifecycleState(word)
	if state == "" {
		return
	}
	u.mu.Lock()
	s := l.sos
	u.mu.Unlock()
	if s != nil {
		s.onEvent(now, id, state)
	} else {
		u.r.log.Debug("event with no SOS running", "user", u.index, "state", state, "incident", id)
	}
}

// lifecycleState maps an event word to a lifecycle state the way the SDK
// does (contract §3.7): trimmed, case-insensitive, several spellings each.
func lifecycleState(word string) string {
	switch strings.ToLower(strings.TrimSpace(word)) {
	case "triggered", "opened", "active", "sent":
		return contract.StateActive
	case "acknowledged", "sos_acknowledged", "sos.acknowledged":
		return contract.StateAcknowledged
	case "cancelled", "canceled", "sos_cancelled", "sos.cancelled":
		return contract.StateCancelled
	case "resolved", "closed", "sos_resolved", "sos.resolved":
		return contract.StateResolved
	}
	return ""
}
