package fleet

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

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
	// Steps, when set, decides the stages while the run goes (a capacity
	// search) instead of the scenario's stages, which then only bound the
	// run's length (see StageSource).
	Steps StageSource
	// MaxLoginsInFlight bounds how many users of this process run their
	// login calls (GET /v1/sdk/me, the SOS rehydrate) at once; 0 means
	// DefaultMaxLoginsInFlight. Users beyond it wait in the simulator,
	// and the wait counts in user.login, which is measured from the
	// user's intended start.
	MaxLoginsInFlight int
}

// DefaultMaxLoginsInFlight is Config.MaxLoginsInFlight when unset: enough
// for 5,000 logins a second per process at 50 ms each, few enough that a
// high fleet.connect_rate queues logins here instead of opening thousands
// of concurrent requests that time out at the backend.
const DefaultMaxLoginsInFlight = 256

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
	// Seed is the seed every random choice of the run came from: the
	// scenario's, or one picked from the clock when it gives none (see
	// Runner.Seed). Never 0.
	Seed uint64 `json:"seed"`
	// Events is how each of the scenario's incidents went, in its order.
	Events []metrics.Event `json:"events,omitempty"`
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
	sc           *scenario.Scenario
	seed         uint64 // the run seed, never 0
	log          *slog.Logger
	http         *sdkHTTP
	dial         *dialer
	net          *fleetNet // the users' mobile links; nil when fleet.network is off
	backoff      Backoff
	loginTimeout time.Duration // bound on one login+connect attempt
	// logins holds one token per login in flight (Config.MaxLoginsInFlight).
	logins chan struct{}
	m      runMetrics
	users  []*user
	online onlineSet
	gate   *streamGate

	// The scenario's behaviours by trigger, each in table order.
	loginSteps, perUser, arrivals []activeBehaviour

	// work tracks every goroutine the run starts; Run waits for it, up to
	// stopGrace.
	work sync.WaitGroup
	// pacers tracks the arrival streams' pacing goroutines (also in work):
	// Run waits for them to hand out what was due before it stops the
	// users.
	pacers sync.WaitGroup
	status atomic.Pointer[Status]
	churn  *churn      // fleet.churn or events; nil with neither
	events []*eventRun // the scenario's incidents
	steps  StageSource // nil: the scenario's stages
	board  *stepBoard  // with steps: the step in progress, for the streams
}

// runMetrics are the metrics of the user life cycle and the schedule,
// which every run records whatever its behaviours.
type runMetrics struct {
	connect, subscribe, reconnect, login, lag, ping *metrics.Latency
	online                                          *metrics.Gauge
	disconnects, neverOnline                        *metrics.Counter
	arrivals                                        arrivalCounters
}

func newRunMetrics(reg *metrics.Registry) runMetrics {
	return runMetrics{
		connect:     reg.Latency(scenario.MQTTConnect),
		subscribe:   reg.Latency(scenario.MQTTSubscribe),
		reconnect:   reg.Latency(scenario.MQTTReconnect),
		login:       reg.Latency(scenario.UserLogin),
		lag:         reg.Latency(scenario.ScheduleLag),
		ping:        reg.Latency(scenario.MQTTPing),
		online:      reg.Gauge(scenario.UsersOnline),
		disconnects: reg.Counter(scenario.MQTTDisconnects),
		neverOnline: reg.Counter(scenario.UsersNeverOnline),
		arrivals:    newArrivalCounters(reg),
	}
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
	seed := runSeed(sc, time.Now())
	nw, err := newFleetNet(sc.Fleet.Network, seed, sc.Identity.Offset, sc.Fleet.Users, cfg.Metrics)
	if err != nil {
		return nil, err
	}
	r := &runner{
		sc:           sc,
		seed:         seed,
		gate:         newStreamGate(),
		log:          log,
		net:          nw,
		http:         newSDKHTTP(apis, cfg.TLS, sc.Fleet.HTTPTimeout, sc.Fleet.Users, sources, nw),
		backoff:      newBackoff(sc.Fleet.Reconnect),
		loginTimeout: sc.Fleet.HTTPTimeout + sc.Fleet.ConnectTimeout*2,
		m:            newRunMetrics(cfg.Metrics),
		churn:        newChurn(sc, cfg.Metrics),
		events:       newEvents(sc, seed, cfg.Metrics),
		steps:        cfg.Steps,
		logins:       make(chan struct{}, maxLogins(cfg.MaxLoginsInFlight)),
	}
	brokers := cfg.MQTTURLs
	if len(brokers) == 0 && cfg.MQTTURL != "" {
		brokers = []string{cfg.MQTTURL}
	}
	dial, err := newDialer(brokers, cfg.TLS, sources, cfg.Metrics)
	if err != nil {
		return nil, err
	}
	dial.net = nw
	r.dial = dial
	for _, b := range buildBehaviours(env{sc: sc, reg: cfg.Metrics, http: r.http, log: log, users: sc.Fleet.Users}) {
		switch b.when().kind {
		case atLogin:
			r.loginSteps = append(r.loginSteps, b)
		case perUser:
			r.perUser = append(r.perUser, b)
		case onArrival:
			r.arrivals = append(r.arrivals, b)
		}
	}
	r.users = make([]*user, sc.Fleet.Users)
	for i := range r.users {
		sess, err := sc.Identity.Session(i)
		if err != nil {
			return nil, fmt.Errorf("fleet: user %d: %w", i, err)
		}
		rng := newRand(r.seed, domainUser, i)
		r.users[i] = &user{r: r, index: i, sess: sess, onlinePos: -1, rng: rng, dev: newDevice(i, sc.Behaviours.Telemetry, rng)}
	}
	return &Runner{r: r}, nil
}

// maxLogins is the login cap for Config.MaxLoginsInFlight n.
func maxLogins(n int) int {
	if n <= 0 {
		return DefaultMaxLoginsInFlight
	}
	return n
}

// Seed returns the seed of the run's random choices: the scenario's, or —
// when it gives none — one picked from the clock in New (1..
// scenario.MaxSeed). Running the scenario again with that seed gives the
// same arrival schedules, jitter, positions and choices.
func (rn *Runner) Seed() uint64 { return rn.r.seed }

// Status returns the live state of the run.
func (rn *Runner) Status() Status {
	s := Status{}
	if p := rn.r.status.Load(); p != nil {
		s = *p
	}
	s.Online = rn.r.m.online.Value()
	return s
}

// Run runs the scenario until its stages end or ctx is done, then stops
// every user cleanly and returns. Whatever was measured is in the metrics
// registry in either case.
//
// Stopping waits for every goroutine the run started (an SOS being
// cancelled, a publish awaiting its PUBACK) for at most stopGrace (20 s);
// past that Run logs a warning and returns while the stragglers finish in
// the background, still recording into the registry.
func (rn *Runner) Run(ctx context.Context) (Result, error) {
	r := rn.r
	defer r.http.close()
	res := Result{Start: time.Now(), Seed: r.seed}

	streamsCtx, stopStreams := context.WithCancel(ctx)
	r.startStreams(streamsCtx, res.Start)
	stopEvents := r.scheduleEvents(res.Start)
	res.Stages, res.Completed = r.control(ctx, res.Start)
	stopEvents()
	stopStreams()
	r.pacers.Wait()

	eventsEnd := time.Now()
	r.stopAll()
	done := make(chan struct{})
	go func() { r.work.Wait(); close(done) }()
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-done:
	case <-grace.C:
		r.log.Warn("some users did not stop in time", "grace", stopGrace)
	}
	if r.churn != nil {
		r.churn.reaper.close()
	}
	for _, u := range r.users {
		u.mu.Lock()
		if u.started && !u.everOnline {
			r.m.neverOnline.Inc()
		}
		u.mu.Unlock()
	}
	if len(r.events) > 0 {
		res.Events = r.eventResults(eventsEnd)
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
