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
//     telemetry) is an arrival schedule computed from the run start; a
//     stream opens when the run's first login attempt ends. Each arrival is
//     counted in arrivals.scheduled and then either handed to an online
//     user (arrivals.started; its latency is measured from the intended
//     start) or dropped with a reason (arrivals.dropped.<reason>, and an
//     error of that class on the behaviour's metric): no user online, no
//     idle user, or more than lateBound (1 s) late.
//
// Every random choice comes from the run seed (scenario.Scenario.Seed, or
// one picked from the clock: Runner.Seed, Result.Seed) through one PCG
// source per arrival stream and per user (seed.go).
//
// A failed attempt to come online is an error of user.login (or, after a
// loss, mqtt.reconnect) with the failing step's class; a user stopped
// while still trying is an "unfinished" one, and a user never online in
// the run is counted in users.never_online.
//
// What users do is a table of behaviours (behaviours.go), one file each:
// login, telemetry, SOS, contacts, devices. Each says which metrics it
// records, when it fires (at login, per user on a timer, or on an arrival
// stream) and what it does; the runner and the user state machine are the
// same for all.
//
// An idle user costs no goroutine of ours: its timers are runtime timers
// (time.AfterFunc), and paho's goroutines per connection are the floor.
// Work runs in short-lived goroutines that a WaitGroup tracks. At the end
// Run stops every user and waits for that work, but for at most 20 s
// (stopGrace): past that it logs a warning and returns while the
// stragglers finish in the background.
package fleet
