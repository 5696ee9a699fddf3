package fleet

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

// A behaviour is one thing the virtual users do: log in, publish
// telemetry, raise an SOS, call an HTTP endpoint. Each lives in its own
// file (behaviour_<name>.go) and has one row in behaviourTable; the runner,
// the user state machine and the metric set-up know nothing more about it.
//
// Adding a behaviour: its scenario block (scenario/behaviours.go), a new
// behaviour_<name>.go implementing this interface, one row below.
//
// A behaviour resolves its metric handles once, when it is built, so they
// exist and show as zero even when nothing is recorded; which metrics it
// emits is its scenario row's (scenario.Metrics), and
// TestMetricNamesAreInTheCatalogue checks that what New creates is that.
type behaviour interface {
	// when says when the behaviour fires.
	when() trigger
	// claim offers one occurrence to user u in life l, with u's lock held:
	// it reads or reserves what the occurrence needs from the user and
	// returns the work to do, or nil when u cannot take it (for an
	// arrival, another user is then tried). The work runs without the
	// lock, counted by l.work. claim must not block, and must not keep o
	// past its return (the work copies what it needs).
	claim(o *occurrence, u *user, l *life) work
	// missed counts an arrival of the behaviour that was dropped (no user
	// online, no idle user, too late) as an error of class on the
	// behaviour's own metric, so that a gate on that metric sees the
	// operations that were never made. Only onArrival behaviours are
	// told; it runs on the stream's goroutine, without any lock.
	missed(o *occurrence, class string)
}

// work is what an occurrence does once claimed. ctx bounds a login step
// (the whole login attempt); other work has its own bounds and gets
// context.Background(). An error fails the login attempt it belongs to;
// other behaviours record their errors in their metrics and return nil.
type work func(ctx context.Context) error

// occurrence is one firing of a behaviour.
type occurrence struct {
	// intended is when the occurrence was due; latencies of open-model
	// behaviours count from it. For a login step it is the attempt's start.
	intended time.Time
	// fallback is set when every online user declined the arrival once
	// and it is offered again (only with trigger.fallback): take it now if
	// at all possible.
	fallback bool
	// choice is what the behaviour chose for this occurrence at its first
	// claim (a contacts action, say), kept for the next users it is
	// offered to. "" until then.
	choice string
	// rng is the random source for choices made in claim (and missed):
	// the arrival stream's, or for a login step or a perUser tick the
	// user's. Use it only there, not in the work.
	rng *rand.Rand
}

// triggerKind is when a behaviour fires.
type triggerKind int

const (
	// atLogin: once per life, in table order, before the MQTT connection;
	// the work's error fails the attempt, which is retried per policy.
	atLogin triggerKind = iota
	// perUser: each user, while its life lasts, every trigger.every
	// ± trigger.jitter (closed model); the first tick is spread uniformly
	// over one period. The timer keeps running while the user is
	// reconnecting: claim sees l.state != online.
	perUser
	// onArrival: the open-model arrival stream of the behaviour's rate
	// (scenario.Behaviours.RateOf of its table name, per stage); each
	// arrival is offered to online users until one claims it, or is
	// counted as dropped.
	onArrival
)

// trigger says when a behaviour fires.
type trigger struct {
	kind triggerKind
	// every is the per-user period (perUser), > 0; jitter varies each
	// period by ±jitter (fraction 0..1).
	every  time.Duration
	jitter float64
	// process spaces arrivals (onArrival): scenario.ArrivalsConstant or
	// scenario.ArrivalsPoisson.
	process string
	// fallback (onArrival): the behaviour prefers some users but can run
	// for any; an arrival every online user declined is offered again with
	// occurrence.fallback set before it is dropped.
	fallback bool
}

// env is what a behaviour is built from: the resolved scenario and the
// run's shared services.
type env struct {
	sc    *scenario.Scenario
	reg   *metrics.Registry
	http  *sdkHTTP
	log   *slog.Logger
	users int // number of users; per-user state is indexed by user.index
}

// behaviourRow is one row of the behaviour table.
type behaviourRow struct {
	// name is the behaviour's scenario key (behaviours.<name>), and its key
	// in stages[].rates for an open-model rate.
	name string
	// build returns the behaviour as the scenario configures it, or nil
	// when the scenario leaves it off.
	build func(env) behaviour
}

// behaviourTable lists every behaviour. A row's position seeds its arrival
// stream, so appending a row changes no other stream.
func behaviourTable() []behaviourRow {
	return []behaviourRow{
		{"login", newLogin},
		{"telemetry", newTelemetry},
		{"sos", newSOS},
		{"contacts", newContacts},
		{"devices", newDevices},
		// behaviours.telemetry.relay: a perUser behaviour of its own, so
		// its ticks (one peer each) do not share the telemetry period.
		{"telemetry.relay", newRelay},
		// behaviours.protection's native service start: a login step of its
		// own after the SDK's (its device SOS work runs in the sos flow).
		{"protection", newProtectionStart},
	}
}

// activeBehaviour is a behaviour the scenario turns on, with its row.
type activeBehaviour struct {
	behaviour
	name string
	row  int // position in behaviourTable
}

// buildBehaviours returns the behaviours e.sc turns on, in table order.
func buildBehaviours(e env) []activeBehaviour {
	var out []activeBehaviour
	for i, row := range behaviourTable() {
		if b := row.build(e); b != nil {
			out = append(out, activeBehaviour{behaviour: b, name: row.name, row: i})
		}
	}
	return out
}
