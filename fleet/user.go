package fleet

import (
	"github.com/eixamsim/eixamsim/errclass"

	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/scenario"
)

// user is one virtual phone. Its identity is fixed; each time the stages
// bring it online it gets a new life, which ends when it is stopped.
// What a behaviour keeps per user (known contact ids, say) it keeps
// itself, indexed by user.index and guarded by user.mu.
//
// Life states and transitions (guarded by user.mu):
//
//	(offline) --start--> starting --login+connect+subscribe ok--> online
//	starting  --failure--> retrying
//	retrying  --policy delay, attempt fails--> retrying
//	retrying  --policy delay, attempt ok--> online
//	online    --connection lost--> retrying (MQTT only: no new login)
//	any       --stop--> (offline): timers stopped, work drained, DISCONNECT sent
//
// starting is only a new life's first attempt: a retry stays retrying
// until it succeeds, so "retrying" counts every user between a failure
// and its next success.
type user struct {
	r     *runner
	index int
	sess  scenario.Session

	mu sync.Mutex
	// rng is the user's random source (position, tick phases, jitter,
	// backoff, its own perUser claims), derived from the run seed and the
	// user's index.
	rng  *rand.Rand
	life *life // nil while offline
	// started is set when the user is first started, and everOnline when
	// it first comes online, in any life: a user started and never online
	// is counted in users.never_online at the end of the run.
	started, everOnline bool
	onlinePos           int // index in runner.online.users, -1 if absent
	// staged is set while the stages keep the user in the fleet (from
	// start to stop); away is the churn timer of its return while it is
	// away (nil otherwise), roams how many times it roamed (each roam
	// moves its source address one on). lastEnd is closed when its last
	// life has ended (its connection closed, or left silent): a new life
	// waits for it, so that its CONNECT never meets the old session.
	staged  bool
	away    *time.Timer
	roams   int
	lastEnd chan struct{}
	// awayEvent is the incident the user left in (nil: churn, or not
	// away), awaySince when it left.
	awayEvent *eventRun
	awaySince time.Time
	// connects counts the CONNECTs the user has sent (the reaper tells a
	// takeover of its ghost by it from a keep-alive expiry).
	connects  atomic.Uint64
	canonical string
	evTopic   string
	dev       device
}

type lifeState int

const (
	starting lifeState = iota
	online
	retrying
)

// life is one online period of a user, from start to stop. Its fields are
// guarded by user.mu.
type life struct {
	state   lifeState
	stopped bool
	// done is closed when the life stops, so that work in progress (an
	// SOS holding its incident) ends early.
	done   chan struct{}
	client *paho.Client
	// phone is client's connection when churn is on (nil otherwise): how a
	// churned user ends it.
	phone *phoneConn
	// clientCtx ends when client's connection is lost, failing the
	// publishes still waiting for a PUBACK on it: paho keeps QoS 1
	// messages in its session past the connection, and this client will
	// never reconnect (the SDK builds a new one each time).
	clientCtx    context.Context
	cancelClient context.CancelFunc
	// loggedIn is set once the login behaviours succeeded in this life;
	// reconnects after that are MQTT-only, like the SDK's.
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
	// Add only under user.mu while the life is not stopped.
	work       sync.WaitGroup
	retryTimer *time.Timer
	// net and index let work on the life's connection record per-profile
	// metrics (network.go): the runner's links, the user's run index.
	net   *fleetNet
	index int
	// ticks are the per-user timers of perUser behaviours, armed when the
	// life first comes online; nil before.
	ticks []*ticker
	// events receives what arrives on the user's event topic, while a
	// behaviour listens (an SOS in progress); nil otherwise. Setting it is
	// how that behaviour reserves the user: a second one finds it taken.
	events func(now time.Time, p *paho.Publish)

	// Churn (fleet.churn): leave is the timer of the user's leaving,
	// armed when the life comes online; returning is set for a life that
	// is a return after leaving, coldStart when it returns as the SDK's
	// cold start (no GET /v1/sdk/me); gaugeOff once users.online no
	// longer counts it (a leaving user is gone at once).
	leave                          *time.Timer
	returning, coldStart, gaugeOff bool
	// after is the previous life's end (user.lastEnd), which bringUp
	// waits for; ended is this life's, closed by finish.
	after, ended chan struct{}
	// event is the incident this life returns from (nil otherwise), and
	// awaySince when the user left in it.
	event     *eventRun
	awaySince time.Time
}

// ticker is the timer of one perUser behaviour in one life.
type ticker struct {
	b     activeBehaviour
	timer *time.Timer
	next  time.Time  // when the next tick is due
	occ   occurrence // the tick being claimed, reused (guarded by user.mu)
}

// start puts the user in the fleet: it gets a new life and begins
// logging in (unless it is away: churn brings it back).
func (u *user) start() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.staged = true
	if u.life != nil || u.away != nil {
		return
	}
	u.beginLocked(false)
}

// beginLocked gives the user a new life, a return after leaving when
// returning is set. Call with u.mu held.
func (u *user) beginLocked(returning bool) {
	l := &life{state: starting, started: time.Now(), done: make(chan struct{}), net: u.r.net, index: u.sess.Index,
		returning: returning, after: u.lastEnd}
	l.coldStart = returning && u.r.churn != nil && (u.r.churn.sc == nil || u.r.churn.sc.Back == scenario.BackColdStart)
	if returning {
		l.event, l.awaySince = u.awayEvent, u.awaySince
	}
	u.awayEvent = nil
	u.life = l
	u.started = true
	l.work.Add(1)
	u.r.goWork(func() {
		defer l.work.Done()
		u.bringUp(l)
	})
}

// stop takes the user out of the fleet: a pending return is cancelled, and
// its life ends: no new work starts, work in progress is told to end early
// (l.done) and drained, then the MQTT client disconnects cleanly. It
// blocks until done and is safe to call when offline.
func (u *user) stop() {
	u.mu.Lock()
	u.staged = false
	stopTimer(u.away)
	u.away = nil
	l := u.life
	if l == nil {
		u.mu.Unlock()
		return
	}
	u.detachLocked(l)
	u.mu.Unlock()
	u.finish(l, scenario.LeaveClean)
}

// detachLocked ends life l as the user's: nothing new starts in it, work
// in progress is told to end (l.done), and it is no longer online. Call
// with u.mu held; finish then ends its connection.
func (u *user) detachLocked(l *life) {
	u.life = nil
	l.stopped = true
	close(l.done)
	u.countUnfinished(l)
	u.r.online.remove(u)
	stopTimer(l.retryTimer)
	stopTimer(l.leave)
	for _, t := range l.ticks {
		t.timer.Stop()
	}
	l.ended = make(chan struct{})
	u.lastEnd = l.ended
}

// finish ends a detached life: it waits for the work in progress, then
// ends the connection the leave mode's way (scenario.LeaveClean: a
// DISCONNECT, as at a ramp-down).
func (u *user) finish(l *life, mode string) {
	defer close(l.ended)
	l.work.Wait()

	u.mu.Lock()
	client, phone, counted := l.client, l.phone, !l.gaugeOff
	l.client, l.phone = nil, nil
	if l.cancelClient != nil {
		l.cancelClient()
	}
	u.mu.Unlock()
	if client != nil {
		if counted {
			u.r.m.online.Add(-1)
		}
		u.hangUp(client, phone, mode)
	}
	u.r.http.release(u.sess.Index) // the life's HTTP connections end with it (network on)
}

// countUnfinished counts a life stopped while it was still trying to come
// online as an "unfinished" error: of user.login before its first
// connection, of mqtt.reconnect after a loss. An attempt that was still
// running is neither a sample nor another error. Call with u.mu held.
func (u *user) countUnfinished(l *life) {
	switch {
	case l.state == online:
	case !l.everOnline:
		u.r.net.count(u.sess.Index, u.r.m.login, classUnfinished)
	default:
		u.r.net.count(u.sess.Index, u.r.m.reconnect, classUnfinished)
	}
}

// classUnfinished is the error class of a login or reconnect still in
// progress when its user was stopped.
const classUnfinished = errclass.Unfinished

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// current reports whether l is still the user's live life. Call with u.mu held.
func (u *user) current(l *life) bool { return u.life == l && !l.stopped }

// connected reports whether l is the user's live life and connected. Call
// with u.mu held.
func (u *user) connected(l *life) bool {
	return u.current(l) && l.state == online && l.client != nil
}

// bringUp runs the SDK start-up sequence for a life: the login behaviours
// (once per life) and then the MQTT connection with its subscription. On
// failure it schedules a retry per the reconnect policy.
func (u *user) bringUp(l *life) {
	defer func() { u.r.gate.open(time.Now()) }() // the first attempt's end opens the arrival streams
	if l.after != nil {
		select {
		case <-l.after: // the previous life's connection has ended
		case <-l.done:
			return
		}
	}
	if !l.loggedIn && len(u.r.loginSteps) > 0 {
		// Wait for a login slot before the attempt's timeout starts: the
		// cap queues logins here rather than at the backend, and the wait
		// still counts in user.login (measured from l.started).
		select {
		case u.r.logins <- struct{}{}:
		case <-l.done: // stopped while queued: stop counted it unfinished
			return
		}
		u.mu.Lock()
		ok := u.current(l)
		u.mu.Unlock()
		if !ok {
			<-u.r.logins
			return
		}
	}
	u.countAttempt(l)
	ctx, cancel := context.WithTimeout(context.Background(), u.r.loginTimeout)
	defer cancel()
	if !l.loggedIn {
		err := u.login(ctx, l)
		if len(u.r.loginSteps) > 0 {
			<-u.r.logins
		}
		if err != nil {
			u.attemptFailed(l, err)
			return
		}
	}
	u.mu.Lock()
	ok := u.current(l)
	u.mu.Unlock()
	if !ok {
		return
	}
	client, conn, err := u.connect(ctx, l)
	if err != nil {
		u.attemptFailed(l, err)
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
	l.phone, _ = conn.(*phoneConn)
	l.clientCtx, l.cancelClient = context.WithCancel(context.Background())
	wasDown, reconnected := l.downSince, l.everOnline
	l.state, l.attempts, l.downSince, l.everOnline = online, 0, time.Time{}, true
	u.everOnline = true
	u.r.online.add(u)
	u.r.m.online.Add(1)
	if l.ticks == nil {
		u.armTicks(l, now)
	}
	returned := l.returning && !reconnected
	if u.r.churn != nil && l.leave == nil {
		u.armLeave(l)
	}
	u.mu.Unlock()

	if returned {
		u.r.churn.returned.Inc()
		if l.event != nil {
			l.event.back(u, now, now.Sub(l.awaySince))
		}
	}
	if reconnected {
		u.r.net.record(u.sess.Index, u.r.m.reconnect, now.Sub(wasDown))
	} else {
		u.r.net.record(u.sess.Index, u.r.m.login, now.Sub(l.started))
	}
}

// attemptFailed counts a failed attempt to bring l online — an error of
// user.login before the life's first connection, of mqtt.reconnect after
// a loss, with the failing step's class — and schedules the next attempt.
// A failure after the life was stopped is not counted: stop counted the
// life as unfinished.
func (u *user) attemptFailed(l *life, err error) {
	u.mu.Lock()
	current, reconnecting := u.current(l), l.everOnline
	u.mu.Unlock()
	if !current {
		return
	}
	m := u.r.m.login
	if reconnecting {
		m = u.r.m.reconnect
	}
	u.r.net.fail(u.sess.Index, m, classOf(err), err)
	if l.event != nil && !reconnecting {
		l.event.failed(classOf(err))
	}
	u.retryLater(l, err)
}

// login runs the atLogin behaviours in table order, each claimed under
// the user's lock and run without it. The first error fails the attempt.
func (u *user) login(ctx context.Context, l *life) error {
	for _, b := range u.r.loginSteps {
		u.mu.Lock()
		o := &occurrence{intended: time.Now(), rng: u.rng}
		if !u.current(l) {
			u.mu.Unlock()
			return nil
		}
		w := b.claim(o, u, l)
		u.mu.Unlock()
		if w == nil {
			continue
		}
		if err := w(ctx); err != nil {
			return err
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	l.loggedIn = true
	if u.canonical == "" {
		// Without /me the canonical id is the external id; the SDK itself
		// cannot connect without /me (contract §1.4).
		u.setCanonicalLocked(u.sess.ExternalUserID)
	}
	return nil
}

// armTicks starts the per-user timers of the perUser behaviours for life
// l, each first due at a random phase within one period so a ramp does not
// make users act in lockstep. Call with u.mu held.
func (u *user) armTicks(l *life, now time.Time) {
	l.ticks = make([]*ticker, 0, len(u.r.perUser))
	for _, b := range u.r.perUser {
		t := &ticker{b: b, next: now.Add(time.Duration(u.rng.Int64N(int64(b.when().every))))}
		t.timer = time.AfterFunc(t.next.Sub(now), func() { u.tick(l, t) })
		l.ticks = append(l.ticks, t)
	}
}

// tick fires one perUser occurrence and schedules the next from the
// intended time, not from now, so a slow target cannot stretch the
// schedule. The user's lock is taken once: to reschedule and to claim.
func (u *user) tick(l *life, t *ticker) {
	tr := t.b.when()
	u.mu.Lock()
	if !u.current(l) {
		u.mu.Unlock()
		return
	}
	intended := t.next
	t.next = intended.Add(jittered(tr.every, tr.jitter, u.rng))
	t.timer.Reset(time.Until(t.next))
	t.occ = occurrence{intended: intended, rng: u.rng}
	w := t.b.claim(&t.occ, u, l)
	if w != nil {
		l.work.Add(1)
	}
	u.mu.Unlock()
	u.r.m.lag.Record(time.Since(intended))
	if w != nil {
		defer l.work.Done()
		_ = w(context.Background())
	}
}

// jittered returns d varied uniformly by ±fraction, drawn from rng.
func jittered(d time.Duration, fraction float64, rng *rand.Rand) time.Duration {
	if fraction <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + fraction*(2*rng.Float64()-1)))
}

// retryLater schedules the next attempt of bringUp after the policy delay.
func (u *user) retryLater(l *life, cause error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if !u.current(l) {
		return
	}
	u.r.log.Debug("user attempt failed", "user", u.index, "err", cause)
	delay := u.r.backoff(l.attempts, u.rng)
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

// setCanonical sets the user's canonical id (from GET /v1/sdk/me) and the
// topics derived from it.
func (u *user) setCanonical(id string) {
	u.mu.Lock()
	u.setCanonicalLocked(id)
	u.mu.Unlock()
}

func (u *user) setCanonicalLocked(id string) {
	u.canonical = id
	u.evTopic = contract.EventsTopic(id)
}

// connect opens a fresh MQTT 5 connection with clean start and subscribes
// to the user's event topic, measuring both (contract §3.1). Its error
// carries the failing step's class (see classOf).
func (u *user) connect(ctx context.Context, l *life) (*paho.Client, net.Conn, error) {
	r := u.r
	t0 := time.Now()
	connect := r.dial.metrics(u.sess.Index)
	u.mu.Lock()
	shift := u.roams
	u.mu.Unlock()
	conn, err := r.dial.dial(ctx, u.sess.Index, shift, r.churn != nil)
	if err != nil {
		err = fmt.Errorf("connect: %w", err)
		connect.Fail(classifyNetError(err), err)
		return nil, nil, classed(classifyNetError(err), err)
	}
	// hungUp ends when the connection fails before the user is online
	// (from then on lost handles it), so that a broker hanging up during
	// SUBSCRIBE is seen as that at once, not as a timeout later: paho
	// waits for the SUBACK until its packet timeout even when the
	// connection is gone.
	hungUp, hangUp := context.WithCancelCause(ctx)
	// The callbacks outlive connect but need hangUp only during it: they
	// reach it through hang, cleared on return, so that an online user's
	// client does not keep this connect's contexts (and the login
	// timeout's) reachable.
	var hang atomic.Pointer[context.CancelCauseFunc]
	hang.Store(&hangUp)
	defer func() { hang.Store(nil); hangUp(nil) }()
	hangUpNow := func(err error) {
		if h := hang.Load(); h != nil {
			(*h)(err)
		}
	}
	var client *paho.Client
	ping := newPinger(r.m.ping, r.net.twin(u.sess.Index, scenario.MQTTPing))
	client = paho.NewClient(paho.ClientConfig{
		ClientID: contract.ClientID(u.sess.AppID, u.sess.ExternalUserID),
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) { u.onMessage(l, pr.Packet); return true, nil },
		},
		OnClientError: func(err error) {
			if cause := ping.Failure(); cause != nil {
				err = fmt.Errorf("%w (%w)", cause, err)
			}
			hangUpNow(err)
			u.lost(l, client, err)
		},
		OnServerDisconnect: func(d *paho.Disconnect) {
			err := fmt.Errorf("server DISCONNECT reason 0x%02X", d.ReasonCode)
			hangUpNow(err)
			u.lost(l, client, err)
		},
		PacketTimeout: r.sc.Fleet.ConnectTimeout,
		PingHandler:   ping, // keep-alive on a runtime timer, not a goroutine per connection
	})
	receiveMax := uint16(r.sc.Fleet.ReceiveMaximum)
	u.connects.Add(1)
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
		err = fmt.Errorf("connect: %w", err)
		connect.Fail(class, err)
		return nil, nil, classed(class, err)
	}
	connect.Record(time.Since(t0))

	u.mu.Lock()
	topic := u.evTopic
	u.mu.Unlock()
	t1 := time.Now()
	sa, err := client.Subscribe(hungUp, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1}}})
	class := ""
	switch {
	case sa != nil && len(sa.Reasons) == 1 && sa.Reasons[0] >= 0x80:
		// paho returns an error together with a refusing SUBACK; the
		// reason code is what the broker said.
		class = errclass.Suback(sa.Reasons[0])
		err = fmt.Errorf("subscribe %s refused: reason 0x%02X", topic, sa.Reasons[0])
	case err != nil && context.Cause(hungUp) != nil && ctx.Err() == nil:
		class = classConnectionLost
		err = fmt.Errorf("subscribe %s: connection lost: %w", topic, context.Cause(hungUp))
	case err != nil:
		class = classifyNetError(err)
		err = fmt.Errorf("subscribe %s: %w", topic, err)
	}
	if err != nil {
		r.net.fail(u.sess.Index, r.m.subscribe, class, err)
		_ = client.Disconnect(&paho.Disconnect{ReasonCode: 0})
		return nil, nil, classed(class, err)
	}
	r.net.record(u.sess.Index, r.m.subscribe, time.Since(t1))
	return client, conn, nil
}

// classConnectionLost is the error class of an operation whose connection
// was lost (or hung up by the broker) before it was answered.
const classConnectionLost = errclass.ConnectionLost

// connackClass names a refused CONNECT: bad credentials and not-authorised
// are auth failures; anything else keeps its reason code.
func connackClass(code byte) string {
	switch code {
	case 0x86, 0x87, 0x04, 0x05:
		return errclass.AuthRefused
	}
	return errclass.Connack(code)
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
	u.r.online.remove(u)
	u.r.m.online.Add(-1)
	u.r.m.disconnects.Inc()
	u.mu.Unlock()
	_ = client.Disconnect(&paho.Disconnect{ReasonCode: 0}) // release paho's goroutines
	u.retryLater(l, cause)
}

// onMessage hands what the broker sends on the user's event topic for
// life l to the behaviour listening in that life, if any. It reads l, not
// u.life: stop detaches the life first and then drains its work, and work
// ending in that window must still see its events. It runs on paho's
// goroutine and must not block.
func (u *user) onMessage(l *life, p *paho.Publish) {
	now := time.Now()
	u.mu.Lock()
	events := l.events
	u.mu.Unlock()
	if events == nil {
		u.r.log.Debug("event with no behaviour listening", "user", u.index, "topic", p.Topic)
		return
	}
	events(now, p)
}
