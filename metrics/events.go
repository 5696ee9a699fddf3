package metrics

import "time"

// Event is how one incident of the scenario (its events) went, as
// summary.json's events[]: who it took away, when they were back, what
// the recovery cost. Recovery times are seconds from the event.
type Event struct {
	Name string    `json:"name"`
	At   time.Time `json:"at"`
	// AtS is the event's time in seconds since the run's start (the
	// charts' x axis); null when the run ended before it.
	AtS       *float64 `json:"at_s"`
	Affected  int      `json:"users_affected"`
	Back      int      `json:"users_back"`
	NeverBack int      `json:"users_never_back"`
	// Recovery holds, for "50", "90", "99" and "100" (% of the affected
	// users), the seconds until that many were online again; null for a
	// share that never came back.
	Recovery map[string]*float64 `json:"recovery_s"`
	// Window is the recovery's length: from the event to the last return,
	// or to the run's end while some were still away.
	Window float64 `json:"recovery_window_s"`
	// LoginsPerS and ReconnectsPerS are the whole fleet's login and
	// reconnect attempts per second during the window.
	LoginsPerS     float64          `json:"logins_per_s"`
	ReconnectsPerS float64          `json:"reconnect_attempts_per_s"`
	ErrorsBy       map[string]int64 `json:"errors_by_class"`
	// TelemetryUnsent counts the per-user telemetry ticks that fell due
	// while the affected users were away.
	TelemetryUnsent int64 `json:"telemetry_unsent"`
	// SOSNotRaised is the open-model SOS alerts the affected users would
	// have raised while away (an expectation from the SOS rate).
	SOSNotRaised float64 `json:"sos_not_raised"`
}

// RecoveryShares are the keys of Event.Recovery in order.
var RecoveryShares = []string{"50", "90", "99", "100"}
