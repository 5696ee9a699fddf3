package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// stopGrace bounds how long the end of a run waits for users to finish
// what they are doing (an SOS being cancelled, a publish awaiting its
// PUBACK) and disconnect.
const stopGrace = 20 * time.Second

// Config is what a run needs besides the scenario: where the target is and
// where measurements go.
type Config struct {
	Scenario *scenario.Scenario
	// HTTPURL is the API base URL, used verbatim (contract §2.1).
	HTTPURL string
	// HTTPURLs, when set, are several API base URLs (HTTPURL is then
	// ignored): user n (scenario.Session.Index) sends its requests to
	// HTTPURLs[n % len].
	HTTPURLs []string
	// MQTTURL is the broker URI: tcp://, ssl://, tls://, ws://, wss://
	// (contract §3.2).
	MQTTURL string
	// MQTTURLs, when set, are several brokers, as the addresses of a
	// broker cluster (MQTTURL is then ignored): user n connects to
	// MQTTURLs[n % len], and each connect also counts on the address's
	// own metric, scenario.MQTTConnectAt(host:port).
	MQTTURLs []string
	// TLS is used for ssl/tls/wss brokers and https; nil means the system
	// roots.
	TLS     *tls.Config
	Metrics *metrics.Registry
	// Logger receives debug detail; nil discards it.
	Logger *slog.Logger
}

// StageTiming is when a stage actually ran.
type StageTiming struct {
	Name  string    `json:"name"`
	Users int       `json:"users"`
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Result is how a run went, besides its metrics.
type Result struct {
	Start  time.Time     `json:"start"`
	End    time.Time     `json:"end"`
	Stages []StageTiming `json:"stages"`
	// Completed is false when the run was stopped before its last stage
	// ended (the context's cause says why).
	Completed bool `json:"completed"`
}

// Status is a live view of a running fleet, for progress displays.
type Status struct {
	Stage      string
	StageIndex int
	StageEnd   time.Time
	Target     int
	Online     int64
}

// Runner runs one scenario. Create it with New, call Run once.
type Runner struct{ r *runner }

type runner struct {
	sc      *scenario.Scenario
	log     *slog.Logger
	http    *sdkHTTP
	dial    *dialer
	backoff Backoff
	users   []*user
	reg     *metrics.Registry
	// latencies is filled by New and only read after, so lookups need no lock.
	latencies    map[string]*metrics.Latency
	online       *metrics.Gauge
	disconnects  *metrics.Counter
	unsent       *metrics.Counter
	dropped      *metrics.Counter
	droppedBy    sync.Map // reason -> *metrics.Counter
	loginTimeout time.Duration

	// work tracks every goroutine the run starts, so Run returns only when
	// all of it has stopped.
	work sync.WaitGroup

	onlineMu    sync.Mutex
	onlineUsers []*user

	status atomic.Pointer[Status]
	rr     atomic.Uint64 // round-robin cursor for fleet-wide telemetry
}

// New checks cfg and prepares the users (identities signed, nothing
// connected yet).
func New(cfg Config) (*Runner, error) {
	sc := cfg.Scenario
	if sc == nil || cfg.Metrics == nil {
		return nil, errors.New("fleet: Config.Scenario and Config.Metrics are required")
	}
	apis := cfg.HTTPURLs
	if len(apis) == 0 && cfg.HTTPURL != "" {
		apis = []string{cfg.HTTPURL}
	}
	if len(apis) == 0 {
		return nil, errors.New("fleet: Config.HTTPURL is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var sources []net.IP
	for _, a := range sc.Fleet.SourceIPs {
		sources = append(sources, net.IP(a.AsSlice()))
	}
	r := &runner{
		sc:           sc,
		log:          log,
		http:         newSDKHTTP(apis, cfg.TLS, sc.Fleet.HTTPTimeout, sc.Fleet.Users, sources),
		backoff:      newBackoff(sc.Fleet.Reconnect),
		reg:          cfg.Metrics,
		latencies:    map[string]*metrics.Latency{},
		online:       cfg.Metrics.Gauge(cOnline),
		disconnects:  cfg.Metrics.Counter(cDisconnects),
		unsent:       cfg.Metrics.Counter(cUnsent),
		dropped:      cfg.Metrics.Counter(cDropped),
		loginTimeout: sc.Fleet.HTTPTimeout + sc.Fleet.ConnectTimeout*2,
	}
	brokers := cfg.MQTTURLs
	if len(brokers) == 0 && cfg.MQTTURL != "" {
		brokers = []string{cfg.MQTTURL}
	}
	dial, err := newDialer(brokers, cfg.TLS, sources, cfg.Metrics)
	if err != nil {
		return nil, err
	}
	r.dial = dial
	for _, name := range r.metricNames() {
		r.latencies[name] = cfg.Metrics.Latency(name)
	}
	r.users = make([]*user, sc.Fleet.Users)
	for i := range r.users {
		sess, err := sc.Identity.Session(i)
		if err != nil {
			return nil, fmt.Errorf("fleet: user %d: %w", i, err)
		}
		r.users[i] = &user{r: r, index: i, sess: sess, onlinePos: -1, dev: newDevice(i, sc.Behaviours.Telemetry)}
	}
	return &Runner{r: r}, nil
}

// metricNames lists the latency metrics this scenario can produce, so they
// exist (and show as zero) even when nothing was recorded.
func (r *runner) metricNames() []string {
	b := r.sc.Behaviours
	names := []string{mConnect, mSubscribe, mReconnect, mLogin, mLag}
	for _, step := range b.Login {
		switch step {
		case "me":
			names = append(names, mMe)
		case "sos_rehydrate":
			names = append(names, mSOSGet)
		}
	}
	if b.Telemetry != nil {
		names = append(names, mTelPuback)
	}
	if b.SOS != nil {
		names = append(names, mSOSPuback, mDelivered, mAcked, mVisible, mCancelled, mResolved, mSOSGet, mSOSCancel, mSOSResolve)
	}
	if b.Contacts != nil {
		for _, a := range []string{"list", "create", "update", "delete"} {
			names = append(names, httpMetric("contacts_"+a))
		}
	}
	if b.Devices != nil {
		for _, a := range []string{"list", "upsert", "delete"} {
			names = append(names, httpMetric("devices_"+a))
		}
	}
	return names
}

// m returns a latency metric prepared by New.
func (r *runner) m(name string) *metrics.Latency {
	if l, ok := r.latencies[name]; ok {
		return l
	}
	return r.reg.Latency(name) // not expected; still never lose a sample
}

// Status returns the live state of the run.
func (rn *Runner) Status() Status {
	s := Status{}
	if p := rn.r.status.Load(); p != nil {
		s = *p
	}
	s.Online = rn.r.online.Value()
	return s
}

// Run runs the scenario until its stages end or ctx is done, then stops
// every user cleanly and returns. Whatever was measured is in the metrics
// registry in either case.
func (rn *Runner) Run(ctx context.Context) (Result, error) {
	r := rn.r
	defer r.http.close()
	res := Result{Start: time.Now()}

	streamsCtx, stopStreams := context.WithCancel(ctx)
	r.startStreams(streamsCtx, res.Start)
	res.Stages, res.Completed = r.control(ctx, res.Start)
	stopStreams()

	r.stopAll()
	done := make(chan struct{})
	go func() { r.work.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopGrace):
		r.log.Warn("some users did not stop in time", "grace", stopGrace)
	}
	res.End = time.Now()
	return res, nil
}

// goWork runs f in a goroutine the run waits for.
func (r *runner) goWork(f func()) {
	r.work.Add(1)
	go func() {
		defer r.work.Done()
		f()
	}()
}

// control drives the closed model: at each stage start the target number of
// online users becomes the stage's; users are started or stopped one at a
// time, at most connect_rate per second, until the target is met.
func (r *runner) control(ctx context.Context, start time.Time) ([]StageTiming, bool) {
	var timings []StageTiming
	started := 0 // users[0:started] have been started, in index order
	interval := time.Duration(float64(time.Second) / r.sc.Fleet.ConnectRate.PerSecond)
	next := start
	stageStart := start
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	wait := func(until time.Time) bool {
		if d := time.Until(until); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return false
			case <-timer.C:
			}
		}
		return ctx.Err() == nil
	}
	for i, st := range r.sc.Stages {
		stageEnd := stageStart.Add(st.For)
		name := st.Name
		r.status.Store(&Status{Stage: name, StageIndex: i, StageEnd: stageEnd, Target: st.Users})
		timing := StageTiming{Name: name, Users: st.Users, Start: time.Now()}
		for ctx.Err() == nil && time.Now().Before(stageEnd) {
			if started == st.Users {
				wait(stageEnd)
				continue
			}
			at := next
			if at.After(stageEnd) {
				at = stageEnd
			}
			if !wait(at) || !time.Now().Before(stageEnd) {
				continue
			}
			if started < st.Users {
				u := r.users[started]
				started++
				u.start()
			} else {
				started--
				u := r.users[started]
				r.goWork(u.stop)
			}
			// Pace from the schedule, but never bank unused time: after a
			// pause the rate is a ceiling, not a debt to repay in a burst.
			next = maxTime(next, time.Now().Add(-interval)).Add(interval)
		}
		timing.End = time.Now()
		timings = append(timings, timing)
		if ctx.Err() != nil {
			return timings, false
		}
		stageStart = stageEnd
	}
	return timings, true
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// stopAll stops every user still online, several at a time.
func (r *runner) stopAll() {
	const parallel = 64
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for _, u := range r.users {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			u.stop()
		}()
	}
	wg.Wait()
}

// startStreams starts one pacing goroutine per open-model behaviour.
func (r *runner) startStreams(ctx context.Context, start time.Time) {
	b := r.sc.Behaviours
	seed := uint64(start.UnixNano())
	stream := func(behaviour, process string, salt uint64, fire func(time.Time)) {
		curve := newRateCurve(r.sc, behaviour)
		if curve == nil {
			return
		}
		s := newSchedule(curve, process, seed+salt)
		s.shift(r.sc.Shard)
		r.goWork(func() {
			pace(ctx, start, s, fire)
		})
	}
	if b.SOS != nil {
		stream("sos", b.SOS.Arrivals, 1, func(at time.Time) {
			s := newSOSRun(r, at)
			// Reserve the user under its lock, so two arrivals never pick
			// the same idle user.
			u := r.pickUser(func(u *user) bool {
				if u.life.sos != nil {
					return false
				}
				s.stale = slices.Clone(u.incidents)
				u.life.sos = s
				return true
			})
			if u == nil {
				r.drop(r.noUserReason("no_idle_user"))
				return
			}
			r.goWork(func() { r.raiseSOS(u, s) })
		})
	}
	if b.Contacts != nil {
		m := newMix(b.Contacts.Mix)
		stream("contacts", b.Contacts.Arrivals, 2, func(at time.Time) {
			action := m.pick()
			r.httpArrival(at, func(u *user) bool {
				return (action != "update" && action != "delete") || len(u.contactIDs) > 0
			}, func(u *user) { r.contactAction(u, action, at) })
		})
	}
	if b.Devices != nil {
		m := newMix(b.Devices.Mix)
		stream("devices", b.Devices.Arrivals, 3, func(at time.Time) {
			action := m.pick()
			r.httpArrival(at, func(u *user) bool {
				return action != "delete" || len(u.deviceIDs) > 0
			}, func(u *user) { r.deviceAction(u, action, at) })
		})
	}
	if t := b.Telemetry; t != nil && t.Every == 0 {
		stream("telemetry", t.Arrivals, 4, func(at time.Time) {
			u := r.nextOnline()
			if u == nil {
				r.drop("no_user_online")
				return
			}
			r.goWork(func() {
				r.m(mLag).Record(time.Since(at))
				u.publishTelemetry(at)
			})
		})
	}
}

// httpArrival hands an HTTP action to a random online user, preferring one
// for which prefer holds (one that has a contact to update, say).
func (r *runner) httpArrival(at time.Time, prefer func(*user) bool, do func(*user)) {
	u := r.pickUser(prefer)
	if u == nil {
		u = r.pickUser(func(*user) bool { return true })
	}
	if u == nil {
		r.drop("no_user_online")
		return
	}
	r.goWork(func() {
		r.m(mLag).Record(time.Since(at))
		do(u)
	})
}

// noUserReason names why no user took an arrival: nobody online at all,
// or else reason.
func (r *runner) noUserReason(reason string) string {
	r.onlineMu.Lock()
	defer r.onlineMu.Unlock()
	if len(r.onlineUsers) == 0 {
		return "no_user_online"
	}
	return reason
}

// drop counts an arrival that no user could take.
func (r *runner) drop(reason string) {
	r.dropped.Inc()
	c, ok := r.droppedBy.Load(reason)
	if !ok {
		c, _ = r.droppedBy.LoadOrStore(reason, r.reg.Counter(cDropped+"."+reason))
	}
	c.(*metrics.Counter).Inc()
}

func (r *runner) addOnline(u *user) {
	r.onlineMu.Lock()
	u.onlinePos = len(r.onlineUsers)
	r.onlineUsers = append(r.onlineUsers, u)
	r.onlineMu.Unlock()
}

// removeOnline takes u out of the online set. Call with u.mu held.
func (r *runner) removeOnline(u *user) {
	r.onlineMu.Lock()
	defer r.onlineMu.Unlock()
	i := u.onlinePos
	if i < 0 {
		return
	}
	last := len(r.onlineUsers) - 1
	r.onlineUsers[i] = r.onlineUsers[last]
	r.onlineUsers[i].onlinePos = i
	r.onlineUsers[last] = nil
	r.onlineUsers = r.onlineUsers[:last]
	u.onlinePos = -1
}

// pickSamples is how many random online users pickUser tries before it
// scans them all.
const pickSamples = 8

// pickUser returns a random online user for which ok holds (checked with
// the user's lock held and its life online), or nil. It tries a few random
// users first, so an arrival costs O(1) while most users qualify, and scans
// everyone only when those fail. Users are locked only after onlineMu is
// released (the lock order elsewhere is user, then onlineMu).
func (r *runner) pickUser(ok func(*user) bool) *user {
	try := func(u *user) bool {
		u.mu.Lock()
		defer u.mu.Unlock()
		return u.life != nil && !u.life.stopped && u.life.state == online && ok(u)
	}
	var sample [pickSamples]*user
	r.onlineMu.Lock()
	n := len(r.onlineUsers)
	for i := range sample {
		if n > 0 {
			sample[i] = r.onlineUsers[rand.IntN(n)]
		}
	}
	r.onlineMu.Unlock()
	if n == 0 {
		return nil
	}
	for _, u := range sample {
		if try(u) {
			return u
		}
	}
	r.onlineMu.Lock()
	all := append([]*user(nil), r.onlineUsers...)
	r.onlineMu.Unlock()
	first := rand.IntN(max(len(all), 1))
	for i := range all {
		if u := all[(first+i)%len(all)]; try(u) {
			return u
		}
	}
	return nil
}

// nextOnline returns online users in turn, for fleet-wide telemetry.
func (r *runner) nextOnline() *user {
	r.onlineMu.Lock()
	defer r.onlineMu.Unlock()
	if len(r.onlineUsers) == 0 {
		return nil
	}
	return r.onlineUsers[int(r.rr.Add(1)%uint64(len(r.onlineUsers)))]
}

// observe records an operation that started at t0 under metric: its latency
// when err is nil, else an error of class. It reports whether it succeeded.
func (r *runner) observe(metric string, t0 time.Time, class string, err error) bool {
	if err != nil {
		r.m(metric).Error(class)
		return false
	}
	r.m(metric).Record(time.Since(t0))
	return true
}

// publishTimeout bounds the wait for a PUBACK.
const publishTimeout = 30 * time.Second

// publish sends p on client and records its PUBACK latency from intended
// under metric. clientCtx ends when the connection is lost. It reports
// success.
func (r *runner) publish(clientCtx context.Context, client *paho.Client, metric string, intended time.Time, p *paho.Publish) bool {
	ctx, cancel := context.WithTimeout(clientCtx, publishTimeout)
	defer cancel()
	resp, err := client.Publish(ctx, p)
	if err != nil {
		class := classifyNetError(err)
		switch {
		case resp != nil && resp.ReasonCode >= 0x80:
			class = fmt.Sprintf("puback_0x%02x", resp.ReasonCode)
		case clientCtx.Err() != nil, class == "network", class == "connection_reset":
			class = "connection_lost"
		}
		r.log.Debug("publish failed", "metric", metric, "class", class, "err", err)
		r.m(metric).Error(class)
		return false
	}
	r.m(metric).Record(time.Since(intended))
	return true
}

// telemetryPhase spreads users' first telemetry tick over one period so a
// ramp does not make them publish in lockstep.
func (r *runner) telemetryPhase(t *scenario.Telemetry) time.Duration {
	return time.Duration(rand.Int64N(int64(t.Every)))
}

// jittered returns d varied uniformly by ±fraction.
func jittered(d time.Duration, fraction float64) time.Duration {
	if fraction <= 0 {
		return d
	}
	return time.Duration(float64(d) * (1 + fraction*(2*rand.Float64()-1)))
}
