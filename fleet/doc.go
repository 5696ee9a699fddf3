// Package fleet runs virtual users that behave like phones running the
// Eixam Connect SDK: each logs in over HTTP, holds its own MQTT 5
// connection, streams telemetry, raises and cancels SOS, and calls the
// contacts and devices endpoints, while every latency goes to metrics.
//
// Two load models run side by side and are kept apart:
//
//   - closed model: stages set how many users are online; users connect and
//     disconnect at the fleet's connect rate; per-user telemetry loops
//     (`telemetry.every`) belong here.
//   - open model: every `rate:` (SOS, contacts, devices, fleet-wide
//     telemetry) is an arrival schedule computed from the run start. Each
//     arrival is handed to an online user; its latency is measured from the
//     intended start, and an arrival nobody can take is counted as dropped.
//
// An idle user costs no goroutine of ours: its timers are runtime timers
// (time.AfterFunc), and paho's goroutines per connection are the floor.
// Work runs in short-lived goroutines that a WaitGroup tracks, so Run
// returns only when everything it started has stopped.
package fleet
